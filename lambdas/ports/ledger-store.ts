/**
 * The ledger store (DESIGN §3): per tenant, one item per accepted request, a
 * *batch* of 1..100 consecutive entries keyed by its first position, plus the
 * tree state after it. Per-record heads and idempotency records are separate
 * index items written after the batch ("roll forward").
 *
 * Contract for every adapter:
 * - `appendBatch` is one conditional put on the batch's first position: it
 *   succeeds only when no batch holds that position, so two writers deriving
 *   their position from the same tail can never both win. A lost race throws
 *   `PositionTakenError` (re-read the tail, retry with jitter). A put that
 *   returns is durable; a put that throws anything else may or may not have
 *   been persisted: re-read the tail to know ("failed but persisted").
 * - `readTail` is strongly consistent: the batch with the greatest first
 *   position, or undefined for an empty log.
 * - `batchAt(tenant, position)` returns the batch holding that position (the
 *   one with the greatest first position ≤ position), strongly consistent.
 * - `readBatches(tenant, from)` yields batches in position order from the one
 *   holding `from` (or, when none holds it, the first one after it: a gap in
 *   a damaged table never hides what follows), paginating as needed; it never
 *   loads the whole log.
 * - Index puts are idempotent and never move backwards: `putHead` keeps the
 *   higher revision when two writers race; `putIdempotency` keeps the first
 *   record for a key (a second one with another request hash is not written;
 *   the caller compares hashes and answers 422).
 * - `putIndex(items)` writes a stored batch's index items (its `heads` and
 *   `idempotency`) with the same guarantees, in as few round trips as the
 *   engine allows. It is not atomic: a throw may leave some written, and
 *   re-running it is safe. The items of a stored batch never change, so an
 *   adapter may rewrite one with identical content unconditionally (a record's
 *   first revision, an idempotency record); pass only items of a stored batch.
 * - `getIndex(tenant, lookup)` reads the heads and idempotency records of many
 *   ids at once, strongly consistent, as `getHead`/`getIdempotency` would;
 *   missing ones are absent from the maps.
 * - Tenants are isolated: nothing of tenant A is visible through tenant B.
 * - `tenants()` yields every tenant whose log holds a batch at position 0,
 *   each once, in no set order. It may scan the whole store: it is for
 *   rare discovery (the local change tailer at start), never per request.
 * - Transient faults are retried inside the adapter (bounded); then
 *   `LedgerUnavailableError`.
 *
 * Adapters: DynamoDB (the ledger table), an in-memory fake with fault hooks
 * (lost race, failed-but-persisted, crash between batch and index).
 */

/** One accepted request's entries and the tree state after them. */
export interface LedgerBatch {
  readonly tenant: string;
  readonly firstPosition: number;
  /** Canonical entry bytes, positions firstPosition.. in order; 1..100 of them. */
  readonly entries: readonly Uint8Array[];
  /** Compact range [0, firstPosition + entries.length) after this batch (binary hashes). */
  readonly range: readonly Uint8Array[];
  /** Lowercase hex leaf hash and timestamp of the last entry: the next batch links to them. */
  readonly lastLeafHash: string;
  readonly lastTimestamp: string;
  readonly generation: number;
  /** Index items this batch implies, rolled forward by the next writer if the writer crashed. */
  readonly heads: readonly RecordHead[];
  readonly idempotency: readonly IdempotencyRecord[];
}

/** A record's latest revision. */
export interface RecordHead {
  readonly tenant: string;
  readonly recordId: string;
  readonly revision: number;
  readonly position: number;
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'SYSTEM';
}

/** What a request with an Idempotency-Key committed, to answer its retries. */
export interface IdempotencyRecord {
  readonly tenant: string;
  readonly key: string;
  /** SHA-256 hex of the request body as received (a replay with another body is a 422). */
  readonly requestHash: string;
  /** The committed answer (positions, leaf hashes, timestamps, revisions), as the API returned it. */
  readonly response: string;
  readonly firstPosition: number;
  readonly count: number;
}

/** The index items a batch implies (`putIndex` takes a whole `LedgerBatch` too). */
export type IndexItemsOf = Pick<LedgerBatch, 'tenant' | 'heads' | 'idempotency'>;

/** What `getIndex` looks up: record ids (their heads) and Idempotency-Keys. */
export interface IndexLookup {
  readonly recordIds: readonly string[];
  readonly keys: readonly string[];
}

/** What `getIndex` found, by record id and by key. */
export interface IndexItems {
  readonly heads: ReadonlyMap<string, RecordHead>;
  readonly idempotency: ReadonlyMap<string, IdempotencyRecord>;
}

export interface LedgerStore {
  readTail(tenant: string): Promise<LedgerBatch | undefined>;
  appendBatch(batch: LedgerBatch): Promise<void>;
  batchAt(tenant: string, position: number): Promise<LedgerBatch | undefined>;
  readBatches(tenant: string, from: number): AsyncIterable<LedgerBatch>;
  putHead(head: RecordHead): Promise<void>;
  getHead(tenant: string, recordId: string): Promise<RecordHead | undefined>;
  putIdempotency(record: IdempotencyRecord): Promise<void>;
  getIdempotency(tenant: string, key: string): Promise<IdempotencyRecord | undefined>;
  putIndex(items: IndexItemsOf): Promise<void>;
  getIndex(tenant: string, lookup: IndexLookup): Promise<IndexItems>;
  tenants(): AsyncIterable<string>;
}

/** Limits every adapter enforces (an item must stay under DynamoDB's 400 KB). */
export const MAX_BATCH_ENTRIES = 100;
export const MAX_BATCH_BYTES = 350 * 1024;
