import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresChangeCursors } from '../../lambdas/adapters/postgres/postgres-change-cursors.js';
import { openPostgres } from '../../lambdas/adapters/postgres/postgres-database.js';
import { PostgresProjectionReader, PostgresProjectionWriter } from '../../lambdas/adapters/postgres/postgres-projection-store.js';
import { decodeEntry, type Entry } from '../../lambdas/core/ledger-entry.js';
import { ProjectionBehindError, ProjectionUnavailableError } from '../../lambdas/ports/errors.js';
import type { ProjectedEntry } from '../../lambdas/ports/projection-store.js';
import { Projector } from '../../lambdas/services/projector.js';
import { keyedLedger, type KeyedLedger } from '../services/projector-fixtures.js';
import { LedgerLog } from '../support/ledger-log.js';
import { startPostgres, type PostgresHandle, type TestDatabase } from '../support/postgres.js';
import { projectedRows } from './postgres-rows.js';

let pg: PostgresHandle;
let db: TestDatabase;
let fx: KeyedLedger;
let reader: PostgresProjectionReader;
let entries: Entry[];
let nanos = 1_790_000_000_000_000_000n;

beforeAll(async () => {
  pg = await startPostgres();
  db = await pg.database();
  fx = await keyedLedger({ clock: () => (nanos += 1_000_000_000n) }); // one second per append
  const streams = ['decisions', 'policies', 'evidence'];
  for (let i = 0; i < 24; i++) {
    const recordId = `r-${String(i % 7).padStart(2, '0')}`;
    const head = await fx.store.getHead('acme', recordId);
    const operation = head && head.operation !== 'DELETE' && i % 5 === 4 ? 'DELETE' : undefined;
    await fx.append('acme', [{ stream: streams[i % 3]!, recordId, ...(operation ? { operation } : {}), payload: { i } }]);
  }
  await fx.append('globex', [{ stream: 'decisions', recordId: 'r-00', payload: { other: 'tenant' } }]);
  const projector = new Projector(new PostgresProjectionWriter(db.projector), fx.keys);
  for (const tenant of ['acme', 'globex']) await projector.apply(await fx.changes(tenant));
  entries = (await fx.changes('acme')).map((c) => decodeEntry(c.entry).entry);
  reader = new PostgresProjectionReader(db.reader, { pollMs: 10 });
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  await fx?.cleanup();
});

/** The live records as of a position, replayed from the decoded ledger (independent of SQL). */
function replay(asOf: number, stream?: string): Array<[string, number]> {
  const latest = new Map<string, Entry>();
  for (const e of entries.filter((x) => x.position <= asOf)) latest.set(e.recordId, e);
  return [...latest.values()]
    .filter((e) => e.operation !== 'DELETE' && (stream === undefined || e.stream === stream))
    .sort((a, b) => (a.recordId < b.recordId ? -1 : 1))
    .map((e) => [e.recordId, e.position]);
}
const ids = (rows: readonly ProjectedEntry[]) => rows.map((r): [string, number] => [r.recordId, r.position]);

describe('PostgresProjectionReader', () => {
  it('answers records as of every position exactly as a replay of the ledger, with and without a stream filter', async () => {
    // Act / Assess
    for (let asOf = -1; asOf < entries.length; asOf++) {
      expect(ids(await reader.records('acme', { asOf, limit: 1000 }))).toEqual(replay(asOf));
      expect(ids(await reader.records('acme', { asOf, limit: 1000, stream: 'policies' }))).toEqual(replay(asOf, 'policies'));
    }
  });

  it('pages records by record id after a cursor, without gaps or repeats', async () => {
    // Prepare
    const asOf = entries.length - 1;
    const seen: Array<[string, number]> = [];
    // Act
    let after: string | undefined;
    for (;;) {
      const page = await reader.records('acme', { asOf, limit: 2, ...(after ? { after } : {}) });
      seen.push(...ids(page));
      if (page.length < 2) break;
      after = page.at(-1)!.recordId;
    }
    // Assess
    expect(seen).toEqual(replay(asOf));
  });

  it('answers a record\'s latest revision as of a position and its history in pages, oldest first', async () => {
    // Prepare
    const revisions = entries.filter((e) => e.recordId === 'r-01');
    // Act
    const current = await reader.record('acme', 'r-01', entries.length - 1);
    const early = await reader.record('acme', 'r-01', revisions[1]!.position);
    const before = await reader.record('acme', 'r-01', revisions[0]!.position - 1);
    const first = await reader.history('acme', 'r-01', { asOf: entries.length - 1, limit: 2 });
    const rest = await reader.history('acme', 'r-01', { asOf: entries.length - 1, limit: 10, after: first.at(-1)!.position });
    // Assess
    expect([current?.position, early?.position, before]).toEqual([revisions.at(-1)!.position, revisions[1]!.position, undefined]);
    expect([...first, ...rest].map((r) => [r.revision, r.operation])).toEqual(revisions.map((e) => [e.revision, e.operation]));
  });

  it('finds the last position at or before a time, to the nanosecond', async () => {
    // Prepare
    const e = entries[9]!;
    const oneNanoBefore = e.timestamp.replace(/(\d{9})Z$/, (_, d: string) => `${String(Number(d) - 1).padStart(9, '0')}Z`);
    // Act
    const at = await reader.positionAt('acme', e.timestamp);
    const just = await reader.positionAt('acme', oneNanoBefore);
    const early = await reader.positionAt('acme', '1970-01-01T00:00:00.000000000Z');
    // Assess
    expect([at, just, early]).toEqual([9, 8, -1]);
  });

  it('keeps tenants apart: the same record id of another tenant is invisible', async () => {
    // Act
    const mine = await reader.record('globex', 'r-00', 0);
    const acmeRecords = await reader.records('acme', { asOf: 100, limit: 1000 });
    const none = await reader.records('initech', { asOf: 100, limit: 1000 });
    // Assess
    expect(JSON.parse(mine!.payload!)).toEqual({ other: 'tenant' });
    expect(acmeRecords.every((r) => r.tenant === 'acme')).toBe(true);
    expect([none, await reader.projectedThrough('initech')]).toEqual([[], -1]);
  });

  it('waits for a position to be projected, and times out with ProjectionBehindError', async () => {
    // Prepare
    const writer = new PostgresProjectionWriter(db.projector);
    await fx.append('globex', [{ stream: 'decisions', recordId: 'r-01', payload: 2 }]);
    const late = await fx.changes('globex', 1);
    // Act
    const waiting = reader.waitFor('globex', 1, 2000);
    setTimeout(() => void new Projector(writer, fx.keys).apply(late), 100);
    const through = await waiting;
    const timedOut = await reader.waitFor('globex', 5, 50).then(() => undefined, (e: unknown) => e);
    // Assess
    expect(through).toBe(1);
    expect(timedOut).toBeInstanceOf(ProjectionBehindError);
    expect(timedOut).toMatchObject({ code: 'PROJECTION_BEHIND', position: 5, projectedThrough: 1 });
  });

  it('throws ProjectionUnavailableError when the database does not answer', async () => {
    // Prepare
    const down = new PostgresProjectionReader(openPostgres({ ...db.logins.reader, port: 1, connectTimeoutMs: 500 }));
    // Act
    const error = await down.projectedThrough('acme').then(() => undefined, (e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(ProjectionUnavailableError);
    expect(error).toMatchObject({ code: 'PROJECTION_UNAVAILABLE', cause: { code: 'ECONNREFUSED' } });
  });
});

describe('PostgresProjectionWriter.insert', () => {
  it('stores a call of more rows than one statement takes, skipping stored ones and reporting only those whose bytes differ', async () => {
    // Prepare: 2,500 rows (three INSERT statements in one transaction), the first 1,200 already stored
    const log = new LedgerLog('bulk');
    log.grow(2500);
    const rows = projectedRows(log, 0, 2500);
    const writer = new PostgresProjectionWriter(db.projector);
    await writer.insert('bulk', rows.slice(0, 1200));
    const forged = Uint8Array.from(rows[1100]!.entry);
    forged[forged.length - 2] = forged[forged.length - 2]! ^ 1;
    // Act
    const result = await writer.insert('bulk', rows.map((row) => (row.position === 1100 ? { ...row, entry: forged } : row)));
    // Assess
    expect(result).toEqual({ conflicts: [1100], projectedThrough: 2499 });
    const stored = await db.admin.selectFrom('govledger.entries').select(['position', 'entry']).where('tenant', '=', 'bulk').orderBy('position').execute();
    expect(stored.map((r) => r.position)).toEqual(rows.map((r) => r.position));
    expect(stored.every((r, i) => Buffer.from(r.entry).equals(rows[i]!.entry))).toBe(true);
    expect(await reader.projectedThrough('bulk')).toBe(2499);
  });
});

describe('PostgresChangeCursors', () => {
  it('answers 0 for unknown cursors, stores per consumer and tenant, and never moves back', async () => {
    // Prepare
    const cursors = new PostgresChangeCursors(db.projector);
    // Act
    const initial = await cursors.get('acme', ['projection', 'event-archive']);
    await cursors.put('projection', 'acme', 10);
    await cursors.put('projection', 'acme', 4);
    await cursors.put('event-archive', 'globex', 3);
    const after = await cursors.get('acme', ['projection', 'event-archive']);
    // Assess
    expect([...initial]).toEqual([['projection', 0], ['event-archive', 0]]);
    expect([...after]).toEqual([['projection', 10], ['event-archive', 0]]);
    expect((await cursors.get('globex', ['event-archive'])).get('event-archive')).toBe(3);
    await expect(cursors.put('projection', 'acme', -1)).rejects.toBeInstanceOf(RangeError);
  });

  it('cannot be moved by the reader role', async () => {
    // Act
    const error = await new PostgresChangeCursors(db.reader).put('projection', 'acme', 99).then(() => undefined, (e: { code?: string }) => e.code);
    // Assess
    expect(error).toBe('42501');
  });
});
