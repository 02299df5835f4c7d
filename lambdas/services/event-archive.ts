/**
 * The event archive (DESIGN §1): a change-stream consumer that keeps a
 * durable, readable copy of every ledger entry in the event store and
 * announces it on the event bus.
 *
 * Layout (stable): one object per entry at
 * `events/<tenant>/<position, 16 digits>.json`, write-once. One object per
 * entry, not per batch, because the unit of idempotence is `(tenant,
 * position)`: the stream and the local tailer may cut the same entries into
 * different batches, and a redelivered or repaired position must land on the
 * same key with the same bytes. Sixteen digits hold every safe integer, so
 * key order is position order and a range is one listing.
 *
 * Each object is the event record, RFC 8785 JSON (stable bytes, so a
 * redelivery compares equal): `{"entry":"<base64 canonical entry
 * bytes>","leafHash":"<hex>","position":n,"tenant":"…","v":1}`. The same text
 * is the bus event's detail, so an event and its stored copy are one format.
 * It carries no field derived from the entry beyond the leaf hash (no stream
 * or record id): a copy is verified by hashing its bytes, and every other
 * field is in those bytes.
 */
import canonicalize from 'canonicalize';
import { fromBase64, toBase64 } from '../core/bytes.js';
import { hashLeafHex } from '../core/rfc9162-hasher.js';
import type { ChangeCopy, LedgerChange } from '../ports/change-stream.js';
import { ChangeConflictError, ObjectImmutableError } from '../ports/errors.js';
import type { EventPublisher, LedgerEvent } from '../ports/event-publisher.js';
import type { ObjectStore } from '../ports/object-store.js';
import { checkTenant } from './log-layout.js';

/** The consumer's name (cursors, logs, findings). */
export const EVENT_ARCHIVE = 'event-archive';
/** The bus event type (EventBridge `DetailType`) of one ledger entry. */
export const ENTRY_EVENT_TYPE = 'govledger.entry';
/** The `v` of records this code writes and reads. */
export const EVENT_RECORD_VERSION = 1;
/** Content type of the stored records. */
export const EVENT_CONTENT_TYPE = 'application/json';

const DIGITS = 16;
const KEY_NAME = /^(\d{16})\.json$/;

/** `events/<tenant>/`: every key of the tenant's event store starts so. */
export const eventPrefix = (tenant: string): string => `events/${tenant}/`;

/** `events/<tenant>/<position, 16 digits>.json`. */
export const eventKey = (tenant: string, position: number): string => `${eventPrefix(tenant)}${String(position).padStart(DIGITS, '0')}.json`;

/** What one event record holds (the stored object and the bus event's detail). */
export interface EventRecord {
  readonly tenant: string;
  readonly position: number;
  /** Lowercase hex leaf hash as written; readers recompute it from `entry`. */
  readonly leafHash: string;
  /** The entry's canonical bytes. */
  readonly entry: Uint8Array;
}

/**
 * The record's stored bytes: RFC 8785 JSON, so equal records are equal bytes.
 *
 * @example
 * ```ts
 * encodeEventRecord({ tenant: 'acme', position: 0, leafHash, entry }); // {"entry":"eyJ…","leafHash":"…","position":0,"tenant":"acme","v":1}
 * ```
 */
export function encodeEventRecord(record: EventRecord): string {
  const { tenant, position, leafHash, entry } = record;
  return canonicalize({ v: EVENT_RECORD_VERSION, tenant, position, leafHash, entry: toBase64(entry) })!;
}

/** The record in `bytes`, or undefined when they are not exactly a v1 record (other keys, bad types, loose base64). */
export function decodeEventRecord(bytes: Uint8Array): EventRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { v, tenant, position, leafHash, entry, ...rest } = value as Record<string, unknown>;
  if (v !== EVENT_RECORD_VERSION || Object.keys(rest).length > 0) return undefined;
  if (typeof tenant !== 'string' || typeof leafHash !== 'string' || typeof entry !== 'string') return undefined;
  if (!Number.isSafeInteger(position) || (position as number) < 0) return undefined;
  const bytesOfEntry = fromBase64(entry);
  return bytesOfEntry && { tenant, position: position as number, leafHash, entry: bytesOfEntry };
}

/** Options of {@link EventArchive}. */
export interface EventArchiveOptions {
  /** Object puts and gets in flight at once per call (default 8). */
  readonly concurrency?: number;
}

/**
 * The `event-archive` consumer: for each change, the write-once S3 copy, then
 * one publish of all the changes' events.
 *
 * - Idempotent by `(tenant, position)`: a redelivered change puts the same
 *   bytes on the same key (accepted by the object store's write-once rule)
 *   and publishes again (the bus is at least once). Duplicates inside one
 *   call are written once; order does not matter.
 * - A change whose position already holds other bytes is
 *   `ChangeConflictError` (the object store's `ObjectImmutableError` as
 *   cause): nothing is overwritten and nothing of that call is published.
 * - Copies are written before the bus hears of them, so a subscriber can
 *   fetch the copy an event names. A failed publish throws after the copies
 *   are stored; the redelivery finds them and publishes again.
 * - `leafHashes` recomputes SHA-256(0x00 ‖ entry) from each stored copy,
 *   never trusting its `leafHash` field. A copy that is not a record of that
 *   tenant and position (unreadable, or moved to another key) answers the
 *   leaf hash of its raw bytes: what it serves, so never the ledger's.
 *
 * @example
 * ```ts
 * const archive = new EventArchive(objects, new EventBridgePublisher({ client, eventBusName }));
 * await archive.apply(changes);
 * const held = await archive.leafHashes('acme', 0, 1000); // position → recomputed leaf hash
 * ```
 */
export class EventArchive implements ChangeCopy {
  readonly name = EVENT_ARCHIVE;
  readonly #objects: ObjectStore;
  readonly #events: EventPublisher;
  readonly #concurrency: number;

  constructor(objects: ObjectStore, events: EventPublisher, options: EventArchiveOptions = {}) {
    this.#objects = objects;
    this.#events = events;
    this.#concurrency = options.concurrency ?? 8;
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) throw new RangeError(`concurrency must be ≥ 1, got ${this.#concurrency}`);
  }

  async apply(changes: readonly LedgerChange[]): Promise<void> {
    const unique = new Map<string, { change: LedgerChange; detail: string }>();
    for (const change of changes) {
      const detail = recordOf(change);
      const key = eventKey(change.tenant, change.position);
      const seen = unique.get(key);
      if (seen && seen.detail !== detail) throw new ChangeConflictError(EVENT_ARCHIVE, change.tenant, change.position);
      unique.set(key, { change, detail });
    }
    const items = [...unique];
    await forEachLimited(items, this.#concurrency, async ([key, { change, detail }]) => {
      try {
        await this.#objects.put(key, Buffer.from(detail, 'utf8'), { contentType: EVENT_CONTENT_TYPE, immutable: true });
      } catch (error) {
        if (error instanceof ObjectImmutableError) throw new ChangeConflictError(EVENT_ARCHIVE, change.tenant, change.position, { cause: error });
        throw error;
      }
    });
    const events: LedgerEvent[] = items.map(([, { change, detail }]) => ({ type: ENTRY_EVENT_TYPE, detail, tenant: change.tenant, position: change.position }));
    if (events.length > 0) await this.#events.publish(events);
  }

  async leafHashes(tenant: string, from: number, to: number): Promise<ReadonlyMap<number, string>> {
    checkTenant(tenant);
    const held = new Map<number, string>();
    if (to <= from) return held;
    const keys: Array<[number, string]> = [];
    for await (const key of this.#objects.list(eventPrefix(tenant), from > 0 ? eventKey(tenant, from - 1) : undefined)) {
      const match = KEY_NAME.exec(key.slice(eventPrefix(tenant).length));
      if (!match) continue; // not a record's key: nothing at a position
      const position = Number(match[1]);
      if (position >= to) break;
      if (position >= from) keys.push([position, key]);
    }
    await forEachLimited(keys, this.#concurrency, async ([position, key]) => {
      const bytes = await this.#objects.get(key);
      if (bytes === undefined) return; // deleted since the listing
      const record = decodeEventRecord(bytes);
      const genuine = record !== undefined && record.tenant === tenant && record.position === position;
      held.set(position, hashLeafHex(genuine ? record.entry : bytes));
    });
    return new Map([...held].sort(([a], [b]) => a - b));
  }
}

/** The change's record text; a change whose leaf hash is not its bytes' is a caller bug (RangeError). */
function recordOf(change: LedgerChange): string {
  checkTenant(change.tenant);
  if (!Number.isSafeInteger(change.position) || change.position < 0) throw new RangeError(`bad position ${change.position}`);
  const leafHash = hashLeafHex(change.entry);
  if (leafHash !== change.leafHash) throw new RangeError(`change ${change.tenant}/${change.position} carries leaf hash ${change.leafHash}, its bytes hash to ${leafHash}`);
  return encodeEventRecord({ ...change, leafHash });
}

/** Runs `work` over `items`, at most `limit` at a time; after a failure no new item starts, and it rethrows once started work settled. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      await work(items[next++]!).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
