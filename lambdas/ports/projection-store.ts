/**
 * The projection (DESIGN §1): every ledger entry as one append-only row of a
 * query database, with its payload decrypted where the tenant's keys allow.
 * Written only by the projector, read by the query handlers, and rebuildable
 * from the ledger at any time. Two ports, because two database roles use them:
 * `ProjectionWriter` (the projector role) and `ProjectionReader` (the API's
 * read-only role). `ChangeCursorStore` keeps the local change tailer's cursors
 * beside the rows, so dropping the database rebuilds both together.
 *
 * Contract for every adapter:
 * - Rows are keyed by `(tenant, position)` and never change once written,
 *   except the shredding purge, which only turns decrypted payloads into
 *   `null` (state `shredded`). The database itself refuses anything else.
 * - `insert` is idempotent: a row already stored with the same entry bytes is
 *   left alone (whatever its payload); one with *other* bytes is reported in
 *   `conflicts` and never overwritten. Rows may arrive in any order.
 * - `projectedThrough` is the highest position p such that every position
 *   0..p of the tenant is stored (−1 when position 0 is not). It only grows,
 *   and `insert` advances it over gaps once they are filled.
 * - Reads see only positions ≤ the `asOf` bound they are given; callers pass
 *   at most `projectedThrough`, so an answer is a consistent prefix of the log.
 * - A tenant whose payloads were purged stays purged: rows inserted for it
 *   later are stored `shredded` too.
 * - Tenants are isolated: nothing of tenant A is visible through tenant B.
 * - A database that does not answer: `ProjectionUnavailableError`.
 */
import type { Operation } from '../core/ledger-entry.js';

/** How a row's payload is held: SYSTEM payloads in clear, others decrypted or purged. */
export type PayloadState = 'clear' | 'decrypted' | 'shredded';

/** One projected ledger entry: the entry's fields, its bytes, and the payload it carries. */
export interface ProjectedEntry {
  readonly tenant: string;
  readonly position: number;
  readonly recordId: string;
  readonly revision: number;
  readonly operation: Operation;
  readonly stream: string;
  readonly actor: string;
  readonly correlationId: string;
  readonly idempotencyKey: string;
  readonly generation: number;
  /** RFC 3339 UTC with nine fractional digits, exactly as in the entry (text order = time order). */
  readonly timestamp: string;
  /** Lowercase hex. */
  readonly prevHash: string;
  /** Lowercase hex SHA-256(0x00 ‖ entry). */
  readonly leafHash: string;
  /** The canonical entry bytes (what the leaf hash commits to). */
  readonly entry: Uint8Array;
  /** The entry's `payload` member: the encrypted envelope, or a SYSTEM entry's clear payload. */
  readonly envelope: unknown;
  /** The plaintext as UTF-8 JSON text (clear or decrypted), null once shredded. */
  readonly payload: string | null;
  readonly payloadState: PayloadState;
}

/** What `insert` did. */
export interface ProjectionInsertResult {
  /** Positions already stored with other entry bytes (nothing was overwritten). */
  readonly conflicts: readonly number[];
  /** The tenant's `projectedThrough` after the insert. */
  readonly projectedThrough: number;
}

/** What the projector needs. */
export interface ProjectionWriter {
  /** Inserts rows of one tenant idempotently and advances its `projectedThrough`, atomically. */
  insert(tenant: string, rows: readonly ProjectedEntry[]): Promise<ProjectionInsertResult>;
  /** Stored rows with `from ≤ position < to`, ascending, page by page (cross-verification). */
  rows(tenant: string, from: number, to: number): AsyncIterable<ProjectedEntry>;
  /** Nulls every decrypted payload of the tenant, now and for rows inserted later; returns how many were purged. */
  purgePayloads(tenant: string): Promise<number>;
}

/** Options of a paged read; `limit` is 1..1000. */
export interface PageOptions<After> {
  /** Upper bound on positions read (≤ projectedThrough). */
  readonly asOf: number;
  readonly after?: After;
  readonly limit: number;
}

/** What the query handlers need (a read-only role). */
export interface ProjectionReader {
  projectedThrough(tenant: string): Promise<number>;
  /**
   * Polls until `projectedThrough(tenant) ≥ position` and returns it, or
   * throws `ProjectionBehindError` once `timeoutMs` passed.
   */
  waitFor(tenant: string, position: number, timeoutMs: number): Promise<number>;
  /** The record's latest revision at positions ≤ `asOf`. */
  record(tenant: string, recordId: string, asOf: number): Promise<ProjectedEntry | undefined>;
  /** The record's revisions at positions ≤ `asOf`, ascending, after position `after`. */
  history(tenant: string, recordId: string, page: PageOptions<number>): Promise<ProjectedEntry[]>;
  /**
   * Records as of `asOf`: each record's latest revision ≤ `asOf`, unless it is
   * a DELETE, ordered by record id (bytewise) after `after`; with `stream`,
   * only records whose latest revision is in that stream.
   */
  records(tenant: string, page: PageOptions<string> & { readonly stream?: string }): Promise<ProjectedEntry[]>;
  /** The greatest position whose timestamp is ≤ `timestamp` (nine-digit RFC 3339 UTC), −1 when none. */
  positionAt(tenant: string, timestamp: string): Promise<number>;
}

/**
 * The local change tailer's cursors: per consumer and tenant, the next
 * position to deliver. `put` never moves a cursor backwards; a fresh store
 * answers 0 (deliver from the start).
 */
export interface ChangeCursorStore {
  /** The cursor of each consumer named, 0 for those without one. */
  get(tenant: string, consumers: readonly string[]): Promise<Map<string, number>>;
  put(consumer: string, tenant: string, next: number): Promise<void>;
}
