/**
 * Connecting to the projection database (Aurora PostgreSQL through RDS Proxy
 * on AWS, embedded PostgreSQL locally) and its table types for kysely.
 * One factory, `openPostgres`, for every role and both places: the caller
 * names host, port, user, and a password or a function returning one (an
 * RDS IAM auth token, fetched per new connection).
 */
import { Kysely, PostgresDialect, type ColumnType, type Generated } from 'kysely';
import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import { ProjectionUnavailableError } from '../../ports/errors.js';
import type { PayloadState } from '../../ports/projection-store.js';

/** `govledger.entries`: one row per ledger entry; append-only (database triggers). */
export interface EntriesTable {
  tenant: string;
  position: number;
  record_id: string;
  revision: number;
  operation: string;
  stream: string;
  actor: string;
  correlation_id: string;
  idempotency_key: string;
  generation: number;
  entry_timestamp: string;
  prev_hash: Uint8Array;
  leaf_hash: Uint8Array;
  entry: Uint8Array;
  /** jsonb: written as JSON text, read back parsed. */
  envelope: ColumnType<unknown, string, never>;
  payload: string | null;
  payload_state: PayloadState;
  projected_at: ColumnType<Date, never, never>;
}

/** `govledger.projection_cursors`: per tenant, the contiguous `projected_through` (−1: none). */
export interface ProjectionCursorsTable {
  tenant: string;
  projected_through: Generated<number>;
  updated_at: ColumnType<Date, never, Date>;
}

/** `govledger.change_cursors`: the local tailer's next position per consumer and tenant. */
export interface ChangeCursorsTable {
  consumer: string;
  tenant: string;
  next_position: number;
  updated_at: ColumnType<Date, never, Date>;
}

/** The tables kysely sees, by schema-qualified name. */
export interface ProjectionDatabase {
  'govledger.entries': EntriesTable;
  'govledger.projection_cursors': ProjectionCursorsTable;
  'govledger.change_cursors': ChangeCursorsTable;
}

/** How to reach the database as one role. */
export interface PostgresConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** A password, or a function called for each new connection (an RDS IAM auth token). */
  readonly password: string | (() => string | Promise<string>);
  /** TLS: `true` verifies against the system CAs; pass options for the RDS CA bundle. Default off (local). */
  readonly ssl?: boolean | ConnectionOptions;
  /** Pool size (default 5). */
  readonly max?: number;
  /** ms before a connection attempt fails (default 5000). */
  readonly connectTimeoutMs?: number;
}

/** A kysely instance over its own pool; `destroy()` ends the pool. */
export type ProjectionDb = Kysely<ProjectionDatabase>;

const INT8 = 20;
/** Positions, revisions and counts are int8: parse them as numbers (all stay below 2^53). */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary' ? (text: string) => Number(text) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * A pool for one role, wrapped in kysely. Idle connections that break (a
 * restart, a failover) are dropped and reported to `onError`, never thrown.
 *
 * @example
 * // AWS: RDS Proxy with IAM auth
 * const signer = new Signer({ hostname, port: 5432, username: 'govledger_reader' });
 * const db = openPostgres({ host: hostname, port: 5432, database: 'govledger', user: 'govledger_reader', password: () => signer.getAuthToken(), ssl: true });
 */
export function openPostgres(config: PostgresConnectionConfig, onError: (error: Error) => void = () => undefined): ProjectionDb {
  const pool = new pg.Pool({
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    ssl: config.ssl ?? false,
    max: config.max ?? 5,
    connectionTimeoutMillis: config.connectTimeoutMs ?? 5000,
    types,
  });
  pool.on('error', onError);
  return new Kysely<ProjectionDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/** SQLSTATE classes that mean "the database is not reachable now": connection (08), resources (53), operator intervention (57). */
const UNAVAILABLE_CLASSES = ['08', '53', '57'];
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** Whether an error from pg means the database is unavailable (rather than a bug in a query). */
export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || (code.length === 5 && UNAVAILABLE_CLASSES.includes(code.slice(0, 2))))) return true;
  const message = error instanceof Error ? error.message : '';
  return /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/i.test(message);
}

/**
 * Runs a database call, turning "unavailable" failures into
 * `ProjectionUnavailableError` (cause kept); others (SQL errors, privilege
 * refusals) pass through unchanged.
 */
export async function withPostgres<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isUnavailable(error)) throw new ProjectionUnavailableError(`projection database unavailable during ${what}`, { cause: error });
    throw error;
  }
}
