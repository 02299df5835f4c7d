/**
 * The pure half of an append (DESIGN §3): given the tail and the index items
 * a group of requests needs, decide each request's fate (replay, 422, 409,
 * wait for an earlier request with the same key, or commit) and build the
 * batch item. No I/O: `LedgerService` reads before and writes after.
 *
 * Index items are read from the store *after* the tail is known, and the
 * tail's own items are laid over them (`withTail`): every batch before the
 * tail has its index items written before the next batch was put (the
 * service waits for them), so only the tail's can be missing from the store.
 * The planner therefore sees every committed head and Idempotency-Key.
 */
import { toHex } from '../core/bytes.js';
import { CompactRange } from '../core/compact-range.js';
import { chainEntries, genesisTip, type ChainTip, type EntryDraft } from '../core/ledger-entry.js';
import type { IdempotencyRecord, IndexItems, IndexLookup, LedgerBatch, RecordHead } from '../ports/ledger-store.js';
import { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES } from '../ports/ledger-store.js';
import { IdempotencyConflictError, RevisionConflictError } from './errors.js';
import type { AppendedRecord, AppendRequest, AppendResult } from './ledger-service.js';

/** A request with its record ids fixed and payloads sealed: stable across attempts. */
export interface PlanInput {
  readonly request: AppendRequest;
  readonly recordIds: readonly string[];
  /** Record ids the client named, whose heads must be read; ids the service generated (fresh UUIDs) have none. */
  readonly named: readonly string[];
  readonly payloads: readonly EntryDraft['payload'][];
  /** A SYSTEM entry: a fresh record id, no revision checks. */
  readonly system: boolean;
}

type Head = Omit<RecordHead, 'position'>;

/** What becomes of one request of a group. */
export type Outcome =
  | { readonly kind: 'replay'; readonly result: AppendResult }
  | { readonly kind: 'conflict'; readonly error: IdempotencyConflictError | RevisionConflictError }
  /** Its key is already planned earlier in the group: commit that one first, then replay. */
  | { readonly kind: 'again' }
  | { readonly kind: 'planned'; readonly drafts: readonly EntryDraft[]; readonly heads: readonly Head[] };

/** A planned request with what it will write. */
export interface Planned<P extends PlanInput = PlanInput> {
  readonly input: P;
  readonly drafts: readonly EntryDraft[];
  readonly heads: readonly Head[];
}

/** The batch to put, each committed request's answer, and the planned requests that did not fit. */
export interface BuiltBatch<P extends PlanInput = PlanInput> {
  readonly batch: LedgerBatch;
  readonly committed: readonly Planned<P>[];
  readonly records: readonly AppendedRecord[][];
  readonly rest: readonly Planned<P>[];
}

/**
 * The index items a group needs: every Idempotency-Key, and the heads of the record ids clients named.
 *
 * @example
 * const index = withTail(await store.getIndex(tenant, lookupOf(group)), tail);
 */
export function lookupOf(group: readonly PlanInput[]): IndexLookup {
  return { recordIds: [...new Set(group.flatMap((p) => p.named))], keys: group.map((p) => p.request.idempotencyKey) };
}

/** The store's index items with the tail's laid over them (heads: the higher revision; keys: the stored record first). */
export function withTail(index: IndexItems, tail: LedgerBatch | undefined): IndexItems {
  if (tail === undefined) return index;
  const heads = new Map(index.heads);
  for (const h of tail.heads) if ((heads.get(h.recordId)?.revision ?? -Infinity) < h.revision) heads.set(h.recordId, h);
  const idempotency = new Map(index.idempotency);
  for (const r of tail.idempotency) if (!idempotency.has(r.key)) idempotency.set(r.key, r);
  return { heads, idempotency };
}

/**
 * Decides every request of the group, in order: a committed key replays (or
 * is a 422 with another body), a key met earlier in the group waits, and
 * the rest are checked against the heads, each seeing the requests planned
 * before it (409 on a wrong expectedRevision or an operation that does not
 * fit the record's state).
 *
 * @example
 * const outcomes = planGroup(tenant, group, index); // outcomes[i] belongs to group[i]
 */
export function planGroup(tenant: string, group: readonly PlanInput[], index: IndexItems): Outcome[] {
  const heads = new Map<string, Head>(index.heads);
  const keys = new Set<string>();
  return group.map((input): Outcome => {
    const { request } = input;
    const previous = index.idempotency.get(request.idempotencyKey);
    if (previous !== undefined) return replayOf(request, previous);
    if (keys.has(request.idempotencyKey)) return { kind: 'again' };
    const local = new Map(heads);
    const drafts: EntryDraft[] = [];
    const next: Head[] = [];
    for (const [i, record] of request.records.entries()) {
      const recordId = input.recordIds[i]!;
      const head = local.get(recordId);
      const revision = head?.revision ?? 0;
      const live = head !== undefined && head.operation !== 'DELETE';
      const operation = input.system ? 'SYSTEM' : (record.operation ?? (live ? 'UPDATE' : 'CREATE'));
      if (record.expectedRevision !== undefined && record.expectedRevision !== revision) {
        return { kind: 'conflict', error: new RevisionConflictError(recordId, record.expectedRevision, revision) };
      }
      if (operation !== 'SYSTEM' && (operation === 'CREATE' ? live : !live)) {
        const state = operation === 'CREATE' ? 'already exists' : 'does not exist';
        return { kind: 'conflict', error: new RevisionConflictError(recordId, record.expectedRevision ?? revision, revision, state) };
      }
      const after = { tenant, recordId, revision: revision + 1, operation } as const;
      local.set(recordId, after);
      next.push(after);
      drafts.push({
        stream: record.stream, recordId, revision: after.revision, operation, actor: request.actor, correlationId: request.correlationId,
        idempotencyKey: request.idempotencyKey, signatures: [...(record.signatures ?? [])], payload: input.payloads[i]!,
      });
    }
    for (const [id, h] of local) heads.set(id, h);
    keys.add(request.idempotencyKey);
    return { kind: 'planned', drafts, heads: next };
  });
}

/** The committed answer for a retried request; a 422 for another body under the same key. */
function replayOf(request: AppendRequest, previous: IdempotencyRecord): Outcome {
  if (previous.requestHash !== request.requestHash) {
    const error = new IdempotencyConflictError(`Idempotency-Key ${JSON.stringify(request.idempotencyKey)} was used with another request body`);
    return { kind: 'conflict', error };
  }
  return { kind: 'replay', result: { records: JSON.parse(previous.response) as AppendedRecord[], replayed: true } };
}

/**
 * Chains the planned requests' entries onto the tail and builds the batch
 * item: as many requests, in order, as fit MAX_BATCH_ENTRIES and
 * MAX_BATCH_BYTES (at least the first, which the store refuses if it alone
 * is too large); the others come back in `rest` for a later batch. A prefix of
 * a chain is itself a valid chain, so the cut needs no rebuilding.
 *
 * @example
 * const { batch, records, rest } = buildBatch(tenant, tail, planned, clock());
 */
export function buildBatch<P extends PlanInput>(tenant: string, tail: LedgerBatch | undefined, planned: readonly Planned<P>[], nowNanos: bigint): BuiltBatch<P> {
  const tip: ChainTip = tail
    ? { tenant, size: tail.firstPosition + tail.entries.length, leafHash: tail.lastLeafHash, timestamp: tail.lastTimestamp, generation: tail.generation }
    : genesisTip(tenant);
  const { entries } = chainEntries(tip, planned.flatMap((p) => p.drafts), nowNanos);
  let take = 0;
  for (let count = 0, bytes = 0; take < planned.length; take++) {
    const mine = entries.slice(count, count + planned[take]!.drafts.length);
    count += mine.length;
    bytes += mine.reduce((sum, e) => sum + e.bytes.byteLength, 0);
    if (take > 0 && (count > MAX_BATCH_ENTRIES || bytes > MAX_BATCH_BYTES)) break;
  }
  const committed = planned.slice(0, take);
  const kept = entries.slice(0, committed.reduce((sum, p) => sum + p.drafts.length, 0));
  const range = tail ? CompactRange.from(0, tip.size, tail.range) : CompactRange.empty();
  for (const e of kept) range.append(e.leafHash);
  const records: AppendedRecord[][] = [];
  const idempotency: IdempotencyRecord[] = [];
  let offset = 0;
  for (const { input, drafts } of committed) {
    const mine = kept.slice(offset, offset + drafts.length).map((e) => ({
      position: e.entry.position, leafHash: toHex(e.leafHash), timestamp: e.entry.timestamp, recordId: e.entry.recordId, revision: e.entry.revision,
    }));
    records.push(mine);
    const { idempotencyKey: key, requestHash } = input.request;
    idempotency.push({ tenant, key, requestHash, response: JSON.stringify(mine), firstPosition: tip.size + offset, count: mine.length });
    offset += drafts.length;
  }
  const last = kept.at(-1)!;
  const batch: LedgerBatch = {
    tenant,
    firstPosition: tip.size,
    entries: kept.map((e) => e.bytes),
    range: range.hashes,
    lastLeafHash: toHex(last.leafHash),
    lastTimestamp: last.entry.timestamp,
    generation: tip.generation,
    heads: committed.flatMap((p) => p.heads).map((h, i) => ({ ...h, position: tip.size + i })),
    idempotency,
  };
  return { batch, committed, records, rest: planned.slice(take) };
}
