/**
 * The projection ports on PostgreSQL (schema in `postgres-migrations.ts`).
 * The writer runs as `govledger_projector` (the purge as `govledger_purger`),
 * the reader as `govledger_reader`: the database refuses what a role may not do.
 */
import { CompiledQuery, sql, type Transaction } from 'kysely';
import { bytesEqual, fromHex, toHex } from '../../core/bytes.js';
import type { Operation } from '../../core/ledger-entry.js';
import { ProjectionBehindError } from '../../ports/errors.js';
import type {
  PageOptions,
  ProjectedEntry,
  ProjectionInsertResult,
  ProjectionReader,
  ProjectionWriter,
} from '../../ports/projection-store.js';
import { withPostgres, type EntriesTable, type ProjectionDatabase, type ProjectionDb } from './postgres-database.js';

const ENTRIES = 'govledger.entries';
const CURSORS = 'govledger.projection_cursors';
const PAGE = 500;

type Row = Omit<EntriesTable, 'envelope' | 'projected_at'> & { envelope: unknown };

/**
 * `ProjectionWriter` on PostgreSQL. `insert` is one transaction that first
 * locks the tenant's cursor row, so one tenant's inserts (and its purge)
 * serialize and the contiguous cursor never misses rows committed beside it.
 *
 * @example
 * const writer = new PostgresProjectionWriter(openPostgres(projectorConfig));
 * const { conflicts, projectedThrough } = await writer.insert('acme', rows);
 */
export class PostgresProjectionWriter implements ProjectionWriter {
  constructor(private readonly db: ProjectionDb) {}

  async insert(tenant: string, rows: readonly ProjectedEntry[]): Promise<ProjectionInsertResult> {
    if (rows.some((r) => r.tenant !== tenant)) throw new RangeError(`insert: every row must belong to tenant ${tenant}`);
    return withPostgres('insert', () =>
      this.db.transaction().execute(async (tx) => {
        await tx.insertInto(CURSORS).values({ tenant }).onConflict((oc) => oc.doNothing()).execute();
        const { projected_through: before } = await tx.selectFrom(CURSORS).select('projected_through').where('tenant', '=', tenant).forUpdate().executeTakeFirstOrThrow();
        const conflicts = rows.length === 0 ? [] : await insertRows(tx, tenant, rows);
        const through = await contiguousThrough(tx, tenant, before);
        if (through > before) {
          await tx.updateTable(CURSORS).set({ projected_through: through, updated_at: sql<Date>`clock_timestamp()` }).where('tenant', '=', tenant).execute();
        }
        return { conflicts, projectedThrough: through };
      }),
    );
  }

  async *rows(tenant: string, from: number, to: number): AsyncGenerator<ProjectedEntry> {
    let next = from;
    for (;;) {
      const page = await withPostgres('rows', () =>
        this.db.selectFrom(ENTRIES).selectAll().where('tenant', '=', tenant).where('position', '>=', next).where('position', '<', to).orderBy('position').limit(PAGE).execute(),
      );
      for (const row of page) yield fromRow(row);
      if (page.length < PAGE) return;
      next = page.at(-1)!.position + 1;
    }
  }

  async purgePayloads(tenant: string): Promise<number> {
    const { rows } = await withPostgres('purge', () => sql<{ purged: number }>`SELECT govledger.purge_tenant_payloads(${tenant}) AS purged`.execute(this.db));
    return Number(rows[0]?.purged ?? 0);
  }
}

type InsertRow = Omit<EntriesTable, 'envelope' | 'projected_at'> & { envelope: string };
/** The columns an insert writes, in statement order. */
const INSERT_COLUMNS: ReadonlyArray<keyof InsertRow> = ['tenant', 'position', 'record_id', 'revision', 'operation', 'stream', 'actor', 'correlation_id', 'idempotency_key', 'generation', 'entry_timestamp', 'prev_hash', 'leaf_hash', 'entry', 'envelope', 'payload', 'payload_state'];
/** Rows per INSERT statement: far below PostgreSQL's 65,535 parameters (17 per row). */
const ROWS_PER_STATEMENT = 1000;
const insertStatements = new Map<number, string>();

/** The multi-row insert of `n` rows, skipping stored positions; its text built once per row count, with no query builder per row. */
function insertStatement(n: number): string {
  let text = insertStatements.get(n);
  if (text === undefined) {
    const width = INSERT_COLUMNS.length;
    const tuples = Array.from({ length: n }, (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(',')})`);
    text = `INSERT INTO ${ENTRIES} (${INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(',')} ON CONFLICT (tenant, position) DO NOTHING RETURNING position`;
    if (insertStatements.size >= 64) insertStatements.clear();
    insertStatements.set(n, text);
  }
  return text;
}

/** Inserts with one statement per ROWS_PER_STATEMENT rows, skipping stored positions; returns the skipped ones whose stored bytes differ. */
async function insertRows(tx: Transaction<ProjectionDatabase>, tenant: string, rows: readonly ProjectedEntry[]): Promise<number[]> {
  const inserted: Array<{ position: number }> = [];
  for (let from = 0; from < rows.length; from += ROWS_PER_STATEMENT) {
    const part = rows.slice(from, from + ROWS_PER_STATEMENT);
    const values = part.flatMap((e) => {
      const row = toRow(e);
      return INSERT_COLUMNS.map((column) => row[column]);
    });
    inserted.push(...(await tx.executeQuery<{ position: number }>(CompiledQuery.raw(insertStatement(part.length), values))).rows);
  }
  const fresh = new Set(inserted.map((r) => r.position));
  const skipped = rows.filter((r) => !fresh.has(r.position));
  if (skipped.length === 0) return [];
  const stored = await tx.selectFrom(ENTRIES).select(['position', 'entry']).where('tenant', '=', tenant).where('position', 'in', skipped.map((r) => r.position)).execute();
  const bytes = new Map(stored.map((s) => [s.position, s.entry]));
  return [...new Set(skipped.filter((r) => !bytesEqual(bytes.get(r.position) ?? new Uint8Array(), r.entry)).map((r) => r.position))];
}

/**
 * The end of the contiguous run after `before`: over the rows past it in
 * order, row k (from 1) continues the run exactly when position = before + k,
 * i.e. position − k = before; the run is the rows with that difference.
 */
async function contiguousThrough(tx: Transaction<ProjectionDatabase>, tenant: string, before: number): Promise<number> {
  const { rows } = await sql<{ through: number }>`
    SELECT coalesce(max(position), ${before}::bigint) AS through FROM (
      SELECT position, position - row_number() OVER (ORDER BY position) AS run
        FROM govledger.entries WHERE tenant = ${tenant} AND position > ${before}::bigint
    ) s WHERE run = ${before}::bigint`.execute(tx);
  return Number(rows[0]!.through);
}

/**
 * `ProjectionReader` on PostgreSQL, for the read-only API role. `waitFor`
 * polls the cursor every `pollMs` (no LISTEN: it would pin RDS Proxy connections).
 *
 * @example
 * const reader = new PostgresProjectionReader(openPostgres(readerConfig));
 * const through = await reader.waitFor('acme', 41, 2000);
 */
export class PostgresProjectionReader implements ProjectionReader {
  readonly #pollMs: number;

  constructor(private readonly db: ProjectionDb, options: { readonly pollMs?: number } = {}) {
    this.#pollMs = options.pollMs ?? 50;
  }

  async projectedThrough(tenant: string): Promise<number> {
    const row = await withPostgres('projectedThrough', () => this.db.selectFrom(CURSORS).select('projected_through').where('tenant', '=', tenant).executeTakeFirst());
    return row?.projected_through ?? -1;
  }

  async waitFor(tenant: string, position: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const through = await this.projectedThrough(tenant);
      if (through >= position) return through;
      const left = deadline - Date.now();
      if (left <= 0) throw new ProjectionBehindError(tenant, position, through);
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.#pollMs, left)));
    }
  }

  async record(tenant: string, recordId: string, asOf: number): Promise<ProjectedEntry | undefined> {
    const row = await withPostgres('record', () =>
      this.db.selectFrom(ENTRIES).selectAll().where('tenant', '=', tenant).where('record_id', '=', recordId).where('position', '<=', asOf).orderBy('position', 'desc').limit(1).executeTakeFirst(),
    );
    return row && fromRow(row);
  }

  async history(tenant: string, recordId: string, page: PageOptions<number>): Promise<ProjectedEntry[]> {
    const rows = await withPostgres('history', () =>
      this.db
        .selectFrom(ENTRIES)
        .selectAll()
        .where('tenant', '=', tenant)
        .where('record_id', '=', recordId)
        .where('position', '<=', page.asOf)
        .$if(page.after !== undefined, (q) => q.where('position', '>', page.after!))
        .orderBy('position')
        .limit(page.limit)
        .execute(),
    );
    return rows.map(fromRow);
  }

  async records(tenant: string, page: PageOptions<string> & { readonly stream?: string }): Promise<ProjectedEntry[]> {
    const rows = await withPostgres('records', () =>
      this.db
        .selectFrom((db) =>
          db
            .selectFrom(ENTRIES)
            .selectAll()
            .distinctOn('record_id')
            .where('tenant', '=', tenant)
            .where('position', '<=', page.asOf)
            .$if(page.after !== undefined, (q) => q.where('record_id', '>', page.after!))
            .orderBy('record_id')
            .orderBy('position', 'desc')
            .as('latest'),
        )
        .selectAll()
        .where('operation', '<>', 'DELETE')
        .$if(page.stream !== undefined, (q) => q.where('stream', '=', page.stream!))
        .orderBy('record_id')
        .limit(page.limit)
        .execute(),
    );
    return rows.map(fromRow);
  }

  async positionAt(tenant: string, timestamp: string): Promise<number> {
    const row = await withPostgres('positionAt', () =>
      this.db.selectFrom(ENTRIES).select('position').where('tenant', '=', tenant).where('entry_timestamp', '<=', timestamp).orderBy('entry_timestamp', 'desc').limit(1).executeTakeFirst(),
    );
    return row?.position ?? -1;
  }
}

function toRow(e: ProjectedEntry): InsertRow {
  return {
    tenant: e.tenant,
    position: e.position,
    record_id: e.recordId,
    revision: e.revision,
    operation: e.operation,
    stream: e.stream,
    actor: e.actor,
    correlation_id: e.correlationId,
    idempotency_key: e.idempotencyKey,
    generation: e.generation,
    entry_timestamp: e.timestamp,
    prev_hash: fromHex(e.prevHash, 32),
    leaf_hash: fromHex(e.leafHash, 32),
    entry: e.entry,
    envelope: JSON.stringify(e.envelope),
    payload: e.payload,
    payload_state: e.payloadState,
  };
}

function fromRow(r: Row): ProjectedEntry {
  return {
    tenant: r.tenant,
    position: r.position,
    recordId: r.record_id,
    revision: r.revision,
    operation: r.operation as Operation,
    stream: r.stream,
    actor: r.actor,
    correlationId: r.correlation_id,
    idempotencyKey: r.idempotency_key,
    generation: r.generation,
    timestamp: r.entry_timestamp,
    prevHash: toHex(r.prev_hash),
    leafHash: toHex(r.leaf_hash),
    entry: new Uint8Array(r.entry),
    envelope: r.envelope,
    payload: r.payload,
    payloadState: r.payload_state,
  };
}
