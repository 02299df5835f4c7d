/**
 * Projection benchmark (issue 6: the change stream and the PostgreSQL projection).
 *
 *   npm run bench -- projection                                # 100,000 entries
 *   BENCH_PROJECTION_N=20000 BENCH_RECORD=0 npx tsx bench/projection.ts   # quick
 *
 * A real embedded PostgreSQL (durable, as `npm start` runs it) with the
 * migrated projection schema, one fresh database per phase, written as the
 * `govledger_projector` role. The ledger: N entries appended through the real
 * `LedgerService` (group commit, batches of 100) with payloads sealed by the
 * real `KeyService` on a local master key, kept in the in-memory ledger store
 * so that reading the ledger costs next to nothing and the figures are the
 * projection's own. The projector gets a fresh `KeyService` over the same
 * keys, so it unwraps its data keys cold, as after a restart.
 *   catch-up  rebuild: the real `ChangeTailer` (default 500 changes per
 *             delivery, cursors in PostgreSQL) feeds the real `Projector`
 *             (decode, leaf hash check, decrypt, insert, cursor) until the
 *             projection holds all N entries;
 *   baseline  the same rows (every column, the same bytes, read back from the
 *             catch-up database) INSERTed into an empty `govledger.entries`
 *             with pg, 500 rows per multi-row INSERT, each its own transaction;
 *   live      BENCH_PROJECTION_LIVE_N entries (N / 5) appended at full speed by
 *             8 concurrent clients (requests of 10 records, group commit) while
 *             the tailer, notified after each append as in `npm start`, projects
 *             them: entries projected per second during the appends, and the
 *             lag once they stop. The appenders yield to the event loop after
 *             each request, as a server's I/O would.
 * projection_ratio = catch-up entries/s ÷ baseline entries/s (target ≥ 0.5),
 * best of BENCH_ROUNDS rounds (default 2), the phases alternating.
 * BENCH_RECORD=0 prints the figures without writing them to bench/RESULTS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import pg from 'pg';
import { MemoryKeyStore } from '../lambdas/adapters/fake/memory-key-store.js';
import { MemoryLedgerStore } from '../lambdas/adapters/fake/memory-ledger-store.js';
import { FileMasterKey } from '../lambdas/adapters/local/file-master-key.js';
import { provisionProjection, startEmbeddedPostgres, type EmbeddedPostgres, type ProjectionLogins } from '../lambdas/adapters/postgres/embedded-server.js';
import { openPostgres } from '../lambdas/adapters/postgres/postgres-database.js';
import { PostgresChangeCursors } from '../lambdas/adapters/postgres/postgres-change-cursors.js';
import { PostgresProjectionReader, PostgresProjectionWriter } from '../lambdas/adapters/postgres/postgres-projection-store.js';
import { ChangeTailer } from '../lambdas/services/change-tailer.js';
import { KeyService } from '../lambdas/services/key-service.js';
import { LedgerService, requestHash, type RecordInput } from '../lambdas/services/ledger-service.js';
import { Projector } from '../lambdas/services/projector.js';
import { recordResults } from './results.js';

const N = Number(process.env.BENCH_PROJECTION_N ?? 100_000);
const LIVE_N = Number(process.env.BENCH_PROJECTION_LIVE_N ?? Math.max(1000, Math.round(N / 5)));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const RECORD = process.env.BENCH_RECORD !== '0';
const TENANT = 'bench';
const CHUNK = 500; // the tailer's default changes per delivery
const COLUMNS = ['tenant', 'position', 'record_id', 'revision', 'operation', 'stream', 'actor', 'correlation_id', 'idempotency_key', 'generation', 'entry_timestamp', 'prev_hash', 'leaf_hash', 'entry', 'envelope', 'payload', 'payload_state'] as const;

let requests = 0;

/** Records `from … from+count-1`: ~560 B JSON payloads; one record in five is a later revision of an earlier one. */
function recordsFor(from: number, count: number): RecordInput[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { stream: i % 3 === 0 ? 'decisions' : 'audit', recordId: `r-${i % 5 === 4 ? i - 4 : i}`, payload: { decision: i % 2 ? 'approve' : 'reject', amount: i * 7, applicant: `a-${i}`, note: 'n'.repeat(480) } };
  });
}

async function appendRecords(ledger: LedgerService, tenant: string, records: RecordInput[]): Promise<void> {
  const body = JSON.stringify(records);
  await ledger.append({ tenant, idempotencyKey: `req-${++requests}`, requestHash: requestHash(body), actor: 'user:bench', correlationId: `c-${requests}`, records });
}

/** A ledger of `n` entries (requests of 100 records, one batch each) and the keys that sealed them. */
async function buildLedger(dir: string, n: number) {
  const master = await FileMasterKey.open(dir, { create: true });
  const store = new MemoryLedgerStore();
  const keyStore = new MemoryKeyStore();
  const ledger = new LedgerService(store, new KeyService(keyStore, master), { groupCommit: true });
  for (let from = 0; from < n; from += 100) await appendRecords(ledger, TENANT, recordsFor(from, Math.min(100, n - from)));
  /** A fresh KeyService over the same keys: the projector's, cold. */
  const projectorKeys = () => new KeyService(keyStore, master);
  return { store, keyStore, master, projectorKeys };
}

type Ledger = Awaited<ReturnType<typeof buildLedger>>;

let databases = 0;
async function freshDatabase(server: EmbeddedPostgres): Promise<ProjectionLogins> {
  return provisionProjection(server, `bench_${++databases}`);
}

/** Rebuilds the projection of `ledger` into an empty database; returns seconds and this process's CPU seconds. */
async function catchUp(server: EmbeddedPostgres, ledger: Ledger, n: number) {
  const logins = await freshDatabase(server);
  const db = openPostgres(logins.projector);
  try {
    const tailer = new ChangeTailer(ledger.store, [new Projector(new PostgresProjectionWriter(db), ledger.projectorKeys())], new PostgresChangeCursors(db));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await tailer.catchUp(TENANT);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await tailer.stop();
    const through = await new PostgresProjectionReader(db).projectedThrough(TENANT);
    if (through !== n - 1) throw new Error(`catch-up projected through ${through}, expected ${n - 1}`);
    return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, logins };
  } finally {
    await db.destroy();
  }
}

/** Every row of the catch-up database, as the values of a plain INSERT (the envelope as its jsonb text). */
async function storedRows(logins: ProjectionLogins): Promise<unknown[][]> {
  const client = new pg.Client(logins.projector);
  await client.connect();
  try {
    const { rows } = await client.query({ text: `SELECT ${COLUMNS.map((c) => (c === 'envelope' ? 'envelope::text' : c)).join(', ')} FROM govledger.entries ORDER BY tenant, position`, rowMode: 'array' });
    return rows as unknown[][];
  } finally {
    await client.end();
  }
}

/** The baseline: `rows` in multi-row INSERTs of CHUNK rows with pg, into an empty database; returns seconds. */
async function baseline(server: EmbeddedPostgres, rows: unknown[][]): Promise<{ seconds: number; cpuSeconds: number }> {
  const logins = await freshDatabase(server);
  const client = new pg.Client(logins.projector);
  await client.connect();
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let from = 0; from < rows.length; from += CHUNK) {
      const chunk = rows.slice(from, from + CHUNK);
      const tuples = chunk.map((_, r) => `(${COLUMNS.map((_, c) => `$${r * COLUMNS.length + c + 1}`).join(', ')})`);
      await client.query(`INSERT INTO govledger.entries (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, chunk.flat());
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const { rows: [count] } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM govledger.entries');
    if (count!.n !== rows.length) throw new Error(`baseline stored ${count!.n} rows, expected ${rows.length}`);
    return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await client.end();
  }
}

/** Appends `n` entries at full speed while the tailer projects them (see the module doc). */
async function live(server: EmbeddedPostgres, dir: string, n: number) {
  const master = await FileMasterKey.open(dir, { create: true });
  const keyStore = new MemoryKeyStore();
  const store = new MemoryLedgerStore();
  const ledger = new LedgerService(store, new KeyService(keyStore, master), { groupCommit: true });
  const logins = await freshDatabase(server);
  const db = openPostgres(logins.projector);
  const reader = new PostgresProjectionReader(db);
  let fail: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const tailer = new ChangeTailer(store, [new Projector(new PostgresProjectionWriter(db), new KeyService(keyStore, master))], new PostgresChangeCursors(db), {
    onError: (_, error) => fail(error),
  });
  try {
    await tailer.start();
    const clients = 8;
    const perRequest = 10;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < n) {
          const from = next;
          next += perRequest;
          await appendRecords(ledger, TENANT, recordsFor(from, Math.min(perRequest, n - from)));
          tailer.notify(TENANT);
          await turn();
        }
      }),
    );
    const appendSeconds = (performance.now() - t0) / 1000;
    const duringAppends = (await reader.projectedThrough(TENANT)) + 1;
    await Promise.race([reader.waitFor(TENANT, n - 1, 600_000), failed]);
    const allSeconds = (performance.now() - t0) / 1000;
    return { appendSeconds, duringAppends, allSeconds };
  } finally {
    await tailer.stop();
    await db.destroy();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'govledger-bench-projection-'));
  let server: EmbeddedPostgres | undefined;
  try {
    const [started, ledger] = await Promise.all([
      startEmbeddedPostgres({ dir: join(dir, 'postgres'), passwordFile: join(dir, 'postgres-password') }),
      (async () => {
        const t0 = performance.now();
        const built = await buildLedger(dir, N);
        console.log(`ledger: ${N} entries appended through LedgerService in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        return built;
      })(),
    ]);
    server = started;
    let c: Awaited<ReturnType<typeof catchUp>> | undefined;
    let b: Awaited<ReturnType<typeof baseline>> | undefined;
    let rows: unknown[][] | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const rebuilt = await catchUp(server, ledger, N);
      rows ??= await storedRows(rebuilt.logins);
      const inserted = await baseline(server, rows);
      console.log(`round ${round + 1}: catch-up ${(N / rebuilt.seconds).toFixed(0)} entries/s, baseline ${(N / inserted.seconds).toFixed(0)} rows/s`);
      if (!c || rebuilt.seconds < c.seconds) c = rebuilt;
      if (!b || inserted.seconds < b.seconds) b = inserted;
    }
    if (!c || !b || !rows) throw new Error('BENCH_ROUNDS must be ≥ 1');
    const bytes = rows.reduce((sum, row) => sum + (row[13] as Buffer).length + String(row[14]).length + String(row[15] ?? '').length, 0) / rows.length;
    const l = await live(server, dir, LIVE_N);
    const ratio = b.seconds / c.seconds;
    const lines = [
      `entries: ${N} (one tenant), ~${bytes.toFixed(0)} B per row in entry + envelope + payload; embedded PostgreSQL (durable), ${CHUNK} rows per delivery / INSERT; best of ${ROUNDS} rounds`,
      `catch-up  ${(c.seconds * 1000).toFixed(0).padStart(6)} ms  ${(N / c.seconds).toFixed(0).padStart(6)} entries/s  (ChangeTailer → Projector → PostgreSQL; CPU of this process ${((c.cpuSeconds / N) * 1e6).toFixed(0)} µs/entry)`,
      `baseline  ${(b.seconds * 1000).toFixed(0).padStart(6)} ms  ${(N / b.seconds).toFixed(0).padStart(6)} rows/s     (the same rows, multi-row INSERT with pg; CPU of this process ${((b.cpuSeconds / N) * 1e6).toFixed(0)} µs/row)`,
      `live: ${LIVE_N} entries appended by 8 clients at ${(LIVE_N / l.appendSeconds).toFixed(0)} entries/s; ${(l.duringAppends / l.appendSeconds).toFixed(0)} entries/s projected meanwhile (${l.duringAppends} of them); all projected ${((l.allSeconds - l.appendSeconds) * 1000).toFixed(0)} ms after the last append (${(LIVE_N / l.allSeconds).toFixed(0)} entries/s overall)`,
      `projection_ratio=${ratio.toFixed(2)}`,
    ];
    if (RECORD) recordResults('projection', `${process.env.BENCH_PROJECTION_N ? `BENCH_PROJECTION_N=${N} ` : ''}npm run bench -- projection`, lines);
    console.log(lines.join('\n'));
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
