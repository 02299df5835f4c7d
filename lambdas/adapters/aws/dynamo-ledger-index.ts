/**
 * How the ledger table holds index items (`DynamoLedgerStore`'s heads and
 * idempotency records), next to the batches:
 *
 * - `H#<recordId>`: a record's latest revision, the one item whose content
 *   changes; written only by a conditional put that keeps the higher revision.
 * - `C#<recordId>`: a record's first revision. Its content never changes once
 *   its batch is stored, so it may be rewritten unconditionally, in a batch.
 * - `I#<Idempotency-Key>`: what a request committed; never changes either.
 *
 * A record's head is the higher revision of its `H#` and `C#` items. Items are
 * in the document client's native form; `pk` is the tenant's partition key.
 */
import type { IdempotencyRecord, IndexItems, IndexItemsOf, IndexLookup, RecordHead } from '../../ports/ledger-store.js';

type Item = Record<string, unknown>;

export const HEAD = 'H#';
export const FIRST_REVISION = 'C#';
export const IDEMPOTENCY = 'I#';

const str = (v: unknown): string => String(v);
/** Also accepts the SDK's `NumberValue` (clients built with `wrapNumbers`). */
const num = (v: unknown): number => Number(String(v));

/** The item of a head under `prefix` (`HEAD` or `FIRST_REVISION`). */
export const headItem = (pk: string, { recordId, revision, position, operation }: RecordHead, prefix: string): Item =>
  ({ pk, sk: prefix + recordId, recordId, revision, position, operation });

/** The item of an idempotency record. */
export const idempotencyItem = (pk: string, { key, requestHash, response, firstPosition, count }: IdempotencyRecord): Item =>
  ({ pk, sk: IDEMPOTENCY + key, key, requestHash, response, firstPosition, count });

/** An idempotency record from its item. */
export const toIdempotency = (tenant: string, i: Item): IdempotencyRecord =>
  ({ tenant, key: str(i.key), requestHash: str(i.requestHash), response: str(i.response), firstPosition: num(i.firstPosition), count: num(i.count) });

const toHead = (tenant: string, i: Item): RecordHead =>
  ({ tenant, recordId: str(i.recordId), revision: num(i.revision), position: num(i.position), operation: str(i.operation) as RecordHead['operation'] });

/**
 * A batch's index items split by how they may be written: `fixed` items
 * (first revisions, idempotency records; each key once) for an unconditional
 * batched put, and `later` heads (each record's highest revision above 1) for
 * conditional puts on `H#`.
 *
 * @example
 * const { fixed, later } = indexWrites(pkOf(batch.tenant), batch);
 */
export function indexWrites(pk: string, items: IndexItemsOf): { fixed: Item[]; later: RecordHead[] } {
  const latest = new Map<string, RecordHead>();
  for (const h of items.heads) if ((latest.get(h.recordId)?.revision ?? -Infinity) < h.revision) latest.set(h.recordId, h);
  const heads = [...latest.values()];
  const fixed = [
    ...heads.filter((h) => h.revision <= 1).map((h) => headItem(pk, h, FIRST_REVISION)),
    ...[...new Map(items.idempotency.map((r) => [r.key, r])).values()].map((r) => idempotencyItem(pk, r)),
  ];
  return { fixed, later: heads.filter((h) => h.revision > 1) };
}

/** The keys `getIndex` reads: `H#` and `C#` per record id, `I#` per key. */
export function indexKeys(pk: string, lookup: IndexLookup): Item[] {
  const sks = [...lookup.recordIds.flatMap((id) => [HEAD + id, FIRST_REVISION + id]), ...lookup.keys.map((key) => IDEMPOTENCY + key)];
  return sks.map((sk) => ({ pk, sk }));
}

/** The index items found, each record's head the higher revision of its `H#` and `C#` items. */
export function indexItemsOf(tenant: string, found: readonly Item[]): IndexItems {
  const heads = new Map<string, RecordHead>();
  const idempotency = new Map<string, IdempotencyRecord>();
  for (const item of found) {
    if (str(item.sk).startsWith(IDEMPOTENCY)) {
      const record = toIdempotency(tenant, item);
      idempotency.set(record.key, record);
    } else {
      const head = toHead(tenant, item);
      if ((heads.get(head.recordId)?.revision ?? -Infinity) < head.revision) heads.set(head.recordId, head);
    }
  }
  return { heads, idempotency };
}
