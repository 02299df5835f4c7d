import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateProjection, MIGRATIONS } from '../../lambdas/adapters/postgres/postgres-migrations.js';
import { PostgresProjectionWriter } from '../../lambdas/adapters/postgres/postgres-projection-store.js';
import type { ProjectionDb } from '../../lambdas/adapters/postgres/postgres-database.js';
import { startPostgres, type PostgresHandle, type TestDatabase } from '../support/postgres.js';
import { LedgerLog } from '../support/ledger-log.js';
import { projectedRows } from './postgres-rows.js';

/**
 * SHA-256 of every shipped migration. A shipped migration is frozen: never
 * edit one (this list stops you); fix forward with a new migration and add its hash.
 */
const SHIPPED: Readonly<Record<string, string>> = {
  '2026-05-20T00-projection-entries': '3364d08caab42a5fdd7576c0879741e4b6275ada54d07c1c885048f7c293a60b',
};

let pg: PostgresHandle;
let db: TestDatabase;
const log = new LedgerLog('acme');
log.grow(4);

beforeAll(async () => {
  pg = await startPostgres();
  db = await pg.database();
  await new PostgresProjectionWriter(db.projector).insert('acme', projectedRows(log, 0, 4, 'decrypted'));
}, 60_000);
afterAll(() => pg?.stop());

/** The error a statement fails with (undefined when it succeeds). */
async function failure(db: ProjectionDb, statement: ReturnType<typeof sql>): Promise<{ code?: string; message: string } | undefined> {
  return statement.execute(db).then(() => undefined, (error: { code?: string; message: string }) => error);
}

describe('MIGRATIONS', () => {
  it('are frozen: every shipped migration keeps its exact text, in name (ISO date) order', () => {
    // Act
    const hashes = Object.fromEntries(MIGRATIONS.map((m) => [m.name, createHash('sha256').update(m.sql).digest('hex')]));
    // Assess
    expect(hashes).toEqual(SHIPPED);
    const names = MIGRATIONS.map((m) => m.name);
    expect(names).toEqual([...names].sort());
    for (const name of names) expect(name).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-[a-z0-9-]+$/);
  });

  it('migrate a second time without change, and build the tables and views', async () => {
    // Act
    const again = await migrateProjection(db.admin as Kysely<unknown>);
    const { rows } = await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'govledger' ORDER BY 1`.execute(db.admin);
    // Assess
    expect(again.results).toEqual([]);
    expect(rows.map((r) => r.name)).toEqual(['change_cursors', 'current_records', 'entries', 'kysely_migration', 'kysely_migration_lock', 'projection_cursors', 'record_history', 'shredded_tenants']);
  });
});

describe('append-only projection, enforced by PostgreSQL', () => {
  it('refuses the reader role any INSERT, UPDATE or DELETE, and lets it SELECT', async () => {
    // Act
    const errors = await Promise.all([
      failure(db.reader, sql`INSERT INTO govledger.projection_cursors (tenant) VALUES ('globex')`),
      failure(db.reader, sql`UPDATE govledger.entries SET payload = 'forged' WHERE tenant = 'acme'`),
      failure(db.reader, sql`DELETE FROM govledger.entries WHERE tenant = 'acme'`),
      failure(db.reader, sql`UPDATE govledger.projection_cursors SET projected_through = 99`),
      failure(db.reader, sql`SELECT govledger.purge_tenant_payloads('acme')`),
    ]);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM govledger.current_records`.execute(db.reader);
    // Assess
    for (const error of errors) expect(error).toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
    expect(rows[0]!.n).toBe(4);
  });

  it('refuses the projector role UPDATE and DELETE of projected rows', async () => {
    // Act
    const errors = await Promise.all([
      failure(db.projector, sql`UPDATE govledger.entries SET payload = 'forged' WHERE tenant = 'acme'`),
      failure(db.projector, sql`DELETE FROM govledger.entries WHERE tenant = 'acme'`),
      failure(db.projector, sql`SELECT govledger.purge_tenant_payloads('acme')`),
    ]);
    // Assess
    for (const error of errors) expect(error).toMatchObject({ code: '42501' });
  });

  it('refuses even the table owner UPDATE, DELETE and TRUNCATE, and a forged purge flag that changes more than the payload', async () => {
    // Act
    const errors = await Promise.all([
      failure(db.admin, sql`UPDATE govledger.entries SET stream = 'forged' WHERE tenant = 'acme'`),
      failure(db.admin, sql`DELETE FROM govledger.entries WHERE position = 0`),
      failure(db.admin, sql`TRUNCATE govledger.entries`),
    ]);
    const forged = await db.admin.connection().execute(async (conn) => {
      await sql`SELECT set_config('govledger.purge', 'on', false)`.execute(conn);
      return failure(conn, sql`UPDATE govledger.entries SET payload = NULL, payload_state = 'shredded', actor = 'mallory' WHERE tenant = 'acme'`);
    });
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM govledger.entries WHERE tenant = 'acme' AND payload_state = 'decrypted' AND stream = 'audit'`.execute(db.admin);
    // Assess
    for (const error of [...errors, forged]) expect(error?.message).toMatch(/govledger\.entries is append-only: (UPDATE|DELETE|TRUNCATE) refused/);
    expect(rows[0]!.n).toBe(4);
  });

  it('purges decrypted payloads only through the purge role\'s function, keeping every other column, and shreds later inserts too', async () => {
    // Prepare
    const own = await pg.database();
    const writer = new PostgresProjectionWriter(own.projector);
    const system = projectedRows(log, 0, 1, 'clear');
    await writer.insert('acme', [...system, ...projectedRows(log, 1, 3, 'decrypted')]);
    const before = await own.admin.selectFrom('govledger.entries').selectAll().orderBy('position').execute();
    // Act
    const purged = await new PostgresProjectionWriter(own.purger).purgePayloads('acme');
    const again = await new PostgresProjectionWriter(own.purger).purgePayloads('acme');
    await writer.insert('acme', projectedRows(log, 3, 4, 'decrypted'));
    // Assess
    const after = await own.admin.selectFrom('govledger.entries').selectAll().orderBy('position').execute();
    expect([purged, again]).toEqual([2, 0]);
    expect(after.map((r) => [r.payload_state, r.payload === null])).toEqual([['clear', false], ['shredded', true], ['shredded', true], ['shredded', true]]);
    const unchanged = (r: Record<string, unknown>) => ({ ...r, payload: undefined, payload_state: undefined });
    expect(after.slice(0, 3).map(unchanged)).toEqual(before.map(unchanged));
  });
});
