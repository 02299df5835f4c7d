/**
 * The event archive (DESIGN §1): a change-stream consumer that keeps a
 * durable, readable copy of every ledger entry in the event store and
 * announces it on the event bus.
 *
 * Layout (stable): one write-once object per run of consecutive positions
 * that one delivery carried, at most {@link MAX_RUN} of them:
 * `events/<tenant>/<first position, 16 digits>-<last position, 16 digits>.jsonl`,
 * each line the event record of one position, in order. The unit of
 * idempotence is `(tenant, position)`, not the object: a redelivery cut like
 * the first lands on the same key with the same bytes, one cut otherwise adds
 * an object whose records overlap the stored ones with equal bytes, and
 * readers take each position from whichever object holds it (objects that
 * disagree about a position are a finding, never a choice). A run, not one
 * object per entry, because a nightly cross-verification of 10⁶ entries read
 * 10⁶ objects (about 390 entries/s on the embedded S3 engine, 40 minutes); a
 * run is one request for up to a thousand. Sixteen digits hold every safe
 * integer, so key order is position order and a range is one listing from
 * `first − MAX_RUN` on.
 *
 * Each line is the event record, RFC 8785 JSON (stable bytes, so a
 * redelivery compares equal), ended by `\n`: `{"entry":"<base64 canonical entry
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
import { forEachLimited } from './for-each-limited.js';
import { checkTenant } from './log-layout.js';

/** The consumer's name (cursors, logs, findings). */
export const EVENT_ARCHIVE = 'event-archive';
/** The bus event type (EventBridge `DetailType`) of one ledger entry. */
export const ENTRY_EVENT_TYPE = 'govledger.entry';
/** The `v` of records this code writes and reads. */
export const EVENT_RECORD_VERSION = 1;
/** Content type of the stored runs (one record per line). */
export const EVENT_CONTENT_TYPE = 'application/x-ndjson';
/** The most positions one stored object holds. */
export const MAX_RUN = 1000;

const DIGITS = 16;
const KEY_NAME = /^(\d{16})-(\d{16})\.jsonl$/;
const pad = (position: number): string => String(position).padStart(DIGITS, '0');

/** `events/<tenant>/`: every key of the tenant's event store starts so. */
export const eventPrefix = (tenant: string): string => `events/${tenant}/`;

/** `events/<tenant>/<first, 16 digits>-<last, 16 digits>.jsonl`: the object of the run `[first, last]`. */
export const eventKey = (tenant: string, first: number, last: number): string => `${eventPrefix(tenant)}${pad(first)}-${pad(last)}.jsonl`;

/** The run a key names, or undefined for any other key under the prefix. */
export function runOfKey(tenant: string, key: string): { first: number; last: number } | undefined {
  const match = KEY_NAME.exec(key.slice(eventPrefix(tenant).length));
  if (!match || !key.startsWith(eventPrefix(tenant))) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  return Number.isSafeInteger(last) && first <= last ? { first, last } : undefined;
}

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
 * The `event-archive` consumer: per tenant, the changes' runs of consecutive
 * positions as write-once S3 objects, then one publish of all their events.
 *
 * - Idempotent by `(tenant, position)`: a redelivered change is written again
 *   (the same key and bytes when cut the same, accepted by the object
 *   store's write-once rule; else an overlapping object with equal records)
 *   and published again (the bus is at least once). Duplicates inside one
 *   call are written once; order does not matter.
 * - A run whose key already holds other bytes is `ChangeConflictError` (the
 *   object store's `ObjectImmutableError` as cause): nothing is overwritten
 *   and nothing of that call is published. A conflicting record in an object
 *   cut otherwise is found by cross-verification (`leafHashes`), never here.
 * - Copies are written before the bus hears of them, so a subscriber can
 *   fetch the copy an event names. A failed publish throws after the copies
 *   are stored; the redelivery finds them and publishes again.
 * - `leafHashes` recomputes SHA-256(0x00 ‖ entry) from each stored record,
 *   never trusting its `leafHash` field. A line that is not a record of that
 *   tenant and position (unreadable, or moved to another place) answers the
 *   leaf hash of its raw bytes, and a position two objects hold with other
 *   records answers a hash of both: what the store serves, so never the
 *   ledger's.
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
      const key = `${change.tenant}/${change.position}`;
      const seen = unique.get(key);
      if (seen && seen.detail !== detail) throw new ChangeConflictError(EVENT_ARCHIVE, change.tenant, change.position);
      unique.set(key, { change, detail });
    }
    const items = [...unique.values()].sort((a, b) => (a.change.tenant < b.change.tenant ? -1 : a.change.tenant > b.change.tenant ? 1 : a.change.position - b.change.position));
    const runs: Array<typeof items> = [];
    for (const item of items) {
      const run = runs.at(-1);
      const last = run?.at(-1)?.change;
      if (run && last && last.tenant === item.change.tenant && last.position + 1 === item.change.position && run.length < MAX_RUN) run.push(item);
      else runs.push([item]);
    }
    await forEachLimited(runs, this.#concurrency, async (run) => {
      const { tenant, position: first } = run[0]!.change;
      const last = first + run.length - 1;
      if (await this.#alreadyHeld(tenant, first, run.map((r) => r.detail))) return;
      const key = eventKey(tenant, first, last);
      try {
        await this.#objects.put(key, Buffer.from(run.map((r) => `${r.detail}\n`).join(''), 'utf8'), { contentType: EVENT_CONTENT_TYPE, immutable: true });
      } catch (error) {
        if (error instanceof ObjectImmutableError) throw new ChangeConflictError(EVENT_ARCHIVE, tenant, first, { cause: error });
        throw error;
      }
    });
    const events: LedgerEvent[] = items.map(({ change, detail }) => ({ type: ENTRY_EVENT_TYPE, detail, tenant: change.tenant, position: change.position }));
    if (events.length > 0) await this.#events.publish(events);
  }

  /**
   * Compares a run with the stored objects that overlap it: true when they
   * already hold every record of it (nothing to write); `ChangeConflictError`
   * at the first position one of them holds with other bytes.
   */
  async #alreadyHeld(tenant: string, first: number, details: readonly string[]): Promise<boolean> {
    const last = first + details.length - 1;
    const held = new Set<number>();
    for (const key of await this.#keysOverlapping(tenant, first, last + 1)) {
      const lines = await this.#linesOf(key);
      if (lines === undefined) continue;
      const run = runOfKey(tenant, key)!;
      for (let p = Math.max(first, run.first); p <= Math.min(last, run.last) && p - run.first < lines.length; p++) {
        if (!lines[p - run.first]!.equals(Buffer.from(details[p - first]!, 'utf8'))) throw new ChangeConflictError(EVENT_ARCHIVE, tenant, p);
        held.add(p);
      }
    }
    return held.size === details.length;
  }

  /** The stored object's lines as raw bytes, line i standing for the run's position first + i; undefined once deleted. */
  async #linesOf(key: string): Promise<Buffer[] | undefined> {
    const bytes = await this.#objects.get(key);
    if (bytes === undefined) return undefined;
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const lines: Buffer[] = [];
    for (let start = 0; start < body.length; ) {
      const end = body.indexOf(0x0a, start);
      lines.push(body.subarray(start, end === -1 ? body.length : end));
      start = end === -1 ? body.length : end + 1;
    }
    return lines;
  }

  /** Keys of the tenant's stored runs that may hold a position in `[from, to)`, in key order. */
  async #keysOverlapping(tenant: string, from: number, to: number): Promise<string[]> {
    const prefix = eventPrefix(tenant);
    // Objects holding `from` start at most MAX_RUN − 1 before it (longer runs are not written).
    const reach = from - MAX_RUN;
    const keys: string[] = [];
    for await (const key of this.#objects.list(prefix, reach >= 0 ? `${prefix}${pad(reach)}` : undefined)) {
      const run = runOfKey(tenant, key);
      if (!run) continue; // not a run's key: nothing at a position
      if (run.first >= to) break;
      if (run.last >= from) keys.push(key);
    }
    return keys;
  }

  async leafHashes(tenant: string, from: number, to: number): Promise<ReadonlyMap<number, string>> {
    checkTenant(tenant);
    const held = new Map<number, string>();
    if (to <= from) return held;
    const keys = await this.#keysOverlapping(tenant, from, to);
    await forEachLimited(keys, this.#concurrency, async (key) => {
      const lines = await this.#linesOf(key);
      if (lines === undefined) return; // deleted since the listing
      const { first, last } = runOfKey(tenant, key)!;
      // Line i stands for position first + i; lines past the key's last position are positions it does not name (an extra, if the ledger lacks them).
      for (let i = Math.max(0, from - first); i < lines.length && first + i < to; i++) {
        const position = first + i;
        const line = lines[i]!;
        const record = decodeEventRecord(line);
        const genuine = record !== undefined && record.tenant === tenant && record.position === position && position <= last;
        const served = hashLeafHex(genuine ? record.entry : line);
        const other = held.get(position);
        held.set(position, other === undefined || other === served ? served : hashLeafHex(Buffer.from(`${[other, served].sort().join(' ')}`)));
      }
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
