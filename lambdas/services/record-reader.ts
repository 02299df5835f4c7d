/**
 * Record queries over the projection (DESIGN §3): a record's current state,
 * its history, and every record as of a position or a time.
 *
 * - Every answer is a consistent prefix of the ledger and says which:
 *   `projectedThrough`, the position through which the projection was
 *   complete when the answer was read. Pages of one query are pinned to the
 *   first page's position (the cursor carries it).
 * - `waitFor` (a position) waits, at most `timeoutMs` (≤ 10 s), until the
 *   projection reaches it: read-your-writes. An `asOf` beyond the projection
 *   waits the same way. A timeout is `ProjectionBehindError` (503).
 * - A crypto-shredded payload is never served: `KeyShreddedError` (410).
 * - `proof: true` is a verified read: the row is checked against the
 *   ledger's entry (same leaf hash, every column what the bytes decode to,
 *   the payload the envelope commits to) and the answer carries the entry's
 *   inclusion proof against the latest checkpoint.
 */
import * as z from 'zod';
import { formatTimestamp } from '../core/ledger-entry.js';
import { ChangeConflictError, KeyShreddedError } from '../ports/errors.js';
import type { ProjectedEntry, ProjectionReader } from '../ports/projection-store.js';
import { ServiceInputError } from './errors.js';
import type { KeyService } from './key-service.js';
import { EntryNotPublishedError } from './log-errors.js';
import type { EntryWithProof, LogReader } from './log-reader.js';
import { rowMatchesEntry } from './projector.js';

/** A record revision as the API serves it. */
export interface RecordView {
  readonly recordId: string;
  readonly stream: string;
  readonly revision: number;
  readonly position: number;
  readonly operation: ProjectedEntry['operation'];
  readonly timestamp: string;
  readonly actor: string;
  readonly correlationId: string;
  readonly leafHash: string;
  readonly payload: unknown;
}

/** Read-your-writes options of every query. */
export interface WaitOptions {
  /** Wait until this position is projected. */
  readonly waitFor?: number;
  /** Longest wait, ms (default 2000, at most 10000). */
  readonly timeoutMs?: number;
}

/** `GET …/records/{recordId}`. */
export interface RecordAnswer {
  readonly projectedThrough: number;
  readonly record: RecordView;
  readonly proof?: Required<Pick<EntryWithProof, 'entry' | 'leafHash' | 'treeSize' | 'inclusionProof'>>;
}

/** `GET …/records/{recordId}/history`. */
export interface HistoryAnswer {
  readonly projectedThrough: number;
  readonly recordId: string;
  readonly revisions: readonly RecordView[];
  readonly nextCursor: string | null;
}

/** `GET …/records`. */
export interface ListAnswer {
  readonly projectedThrough: number;
  /** The position the answer is as of (−1: before the first entry). */
  readonly asOf: number;
  readonly records: readonly RecordView[];
  readonly nextCursor: string | null;
}

/** What verified reads need; plain reads need neither. */
export interface RecordReaderOptions {
  /** For `proof: true`: the published log and the keys that check payload commitments. */
  readonly log?: Pick<LogReader, 'checkpointSize' | 'entry'>;
  readonly keys?: Pick<KeyService, 'dataKeyForRead'>;
}

/** The longest a query may wait for `waitFor` (API Gateway gives a request 30 s). */
export const MAX_WAIT_MS = 10_000;
const DEFAULT_WAIT_MS = 2000;

const cursorSchema = z.discriminatedUnion('k', [
  z.strictObject({ k: z.literal('h'), asOf: z.int().min(-1), after: z.int().min(0) }),
  z.strictObject({ k: z.literal('l'), asOf: z.int().min(-1), after: z.string().min(1) }),
]);
type Cursor = z.infer<typeof cursorSchema>;

/**
 * Answers the record routes from a `ProjectionReader` (see the module doc).
 *
 * @example
 * const reader = new RecordReader(new PostgresProjectionReader(db), { log, keys });
 * const { record, projectedThrough } = (await reader.record('acme', 'd-1', { waitFor: 41 }))!;
 */
export class RecordReader {
  constructor(
    private readonly projection: ProjectionReader,
    private readonly options: RecordReaderOptions = {},
  ) {}

  /** The record's latest revision; undefined when it has none (yet). */
  async record(tenant: string, recordId: string, options: WaitOptions & { readonly proof?: boolean } = {}): Promise<RecordAnswer | undefined> {
    const through = await this.#through(tenant, options.waitFor, options.timeoutMs);
    const row = await this.projection.record(tenant, recordId, through);
    if (!row) return undefined;
    const record = view(row);
    if (!options.proof) return { projectedThrough: through, record };
    return { projectedThrough: through, record, proof: await this.#proof(row) };
  }

  /** Every revision, oldest first, `limit` per page; undefined when the record has none. */
  async history(tenant: string, recordId: string, options: WaitOptions & { readonly cursor?: string; readonly limit: number }): Promise<HistoryAnswer | undefined> {
    const cursor = options.cursor === undefined ? undefined : decodeCursor(options.cursor, 'h');
    const through = await this.#through(tenant, options.waitFor, options.timeoutMs);
    const asOf = cursor?.asOf ?? through;
    const rows = await this.projection.history(tenant, recordId, { asOf, limit: options.limit, ...(cursor ? { after: cursor.after } : {}) });
    if (rows.length === 0 && !cursor) return undefined;
    const last = rows.at(-1);
    const nextCursor = last && rows.length === options.limit ? encodeCursor({ k: 'h', asOf, after: last.position }) : null;
    return { projectedThrough: through, recordId, revisions: rows.map(view), nextCursor };
  }

  /** Live records as of a position, a time or now, by record id, `limit` per page. */
  async list(tenant: string, options: WaitOptions & { readonly asOf?: number | string; readonly stream?: string; readonly cursor?: string; readonly limit: number }): Promise<ListAnswer> {
    const cursor = options.cursor === undefined ? undefined : decodeCursor(options.cursor, 'l');
    const position = typeof options.asOf === 'number' ? options.asOf : -1;
    let through = await this.#through(tenant, Math.max(options.waitFor ?? -1, cursor?.asOf ?? -1, position), options.timeoutMs);
    // A time resolves once the wait is over, against what is projected by then.
    const at = typeof options.asOf === 'string' ? await this.#positionAt(tenant, options.asOf) : options.asOf;
    if (cursor && at !== undefined && at !== cursor.asOf) throw new ServiceInputError(`the cursor is for asOf position ${cursor.asOf}, not ${at}`);
    const asOf = cursor?.asOf ?? at ?? through;
    if (asOf > through) through = await this.#through(tenant, asOf, options.timeoutMs); // rows past a gap
    const rows = await this.projection.records(tenant, {
      asOf,
      limit: options.limit,
      ...(cursor ? { after: cursor.after } : {}),
      ...(options.stream !== undefined ? { stream: options.stream } : {}),
    });
    const last = rows.at(-1);
    const nextCursor = last && rows.length === options.limit ? encodeCursor({ k: 'l', asOf, after: last.recordId }) : null;
    return { projectedThrough: through, asOf, records: rows.map(view), nextCursor };
  }

  /** The projection's position, after waiting until it reaches `waitFor` (nothing to wait for below 0). */
  async #through(tenant: string, waitFor: number | undefined, timeoutMs = DEFAULT_WAIT_MS): Promise<number> {
    if (!(timeoutMs >= 0 && timeoutMs <= MAX_WAIT_MS)) throw new ServiceInputError(`timeout must be 0..${MAX_WAIT_MS} ms`);
    return waitFor === undefined || waitFor < 0 ? this.projection.projectedThrough(tenant) : this.projection.waitFor(tenant, waitFor, timeoutMs);
  }

  /** The last position at or before an RFC 3339 time (any offset, any precision; sub-nanoseconds truncate). */
  async #positionAt(tenant: string, time: string): Promise<number> {
    const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/.exec(time);
    const seconds = m ? Date.parse(`${m[1]}${m[3]!.toUpperCase()}`) : NaN;
    if (!m || Number.isNaN(seconds)) throw new ServiceInputError(`asOf ${JSON.stringify(time)} is not an RFC 3339 time`);
    const nanos = BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9));
    if (nanos < 0n) return -1; // before 1970: before every entry
    return this.projection.positionAt(tenant, formatTimestamp(nanos));
  }

  async #proof(row: ProjectedEntry): Promise<NonNullable<RecordAnswer['proof']>> {
    const { log, keys } = this.options;
    if (!log || !keys) throw new TypeError('RecordReader: proofs need the log reader and the key service');
    const size = await log.checkpointSize(row.tenant);
    if (row.position >= size) throw new EntryNotPublishedError(row.position, size);
    const published = await log.entry(row.tenant, row.position, size);
    if (published.leafHash !== row.leafHash || !(await rowMatchesEntry(row, keys))) throw new ChangeConflictError('projection', row.tenant, row.position);
    return { entry: published.entry, leafHash: published.leafHash, treeSize: size, inclusionProof: published.inclusionProof ?? [] };
  }
}

function view(row: ProjectedEntry): RecordView {
  if (row.payload === null) throw new KeyShreddedError(`the payload of record ${row.recordId} (position ${row.position}) was crypto-shredded`);
  const { recordId, stream, revision, position, operation, timestamp, actor, correlationId, leafHash } = row;
  return { recordId, stream, revision, position, operation, timestamp, actor, correlationId, leafHash, payload: JSON.parse(row.payload) };
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

function decodeCursor<K extends Cursor['k']>(text: string, kind: K): Extract<Cursor, { k: K }> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = cursorSchema.safeParse(value);
  if (!parsed.success || parsed.data.k !== kind || encodeCursor(parsed.data) !== text) throw new ServiceInputError('cursor: not a cursor this query returned');
  return parsed.data as Extract<Cursor, { k: K }>;
}
