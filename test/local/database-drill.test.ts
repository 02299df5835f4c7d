import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../lambdas/adapters/postgres/embedded-server.js';
import { OnlineBackupError, takeOnlineBackup } from '../../lambdas/adapters/postgres/online-backup.js';
import type { PostgresConnectionConfig } from '../../lambdas/adapters/postgres/postgres-database.js';
import type { Logger } from '../../lambdas/handlers/http/logger.js';
import { LocalDatabaseCopy, type LocalDatabaseCopyOptions } from '../../lambdas/local/database-drill-target.js';
import { postgresSuperuser } from '../../lambdas/local/engines.js';
import { startLocalRuntime, type LocalRuntime } from '../../lambdas/local/local-runtime.js';
import { LocalTokenIssuer } from '../../lambdas/local/local-tokens.js';
import { attachOrStartEngines, wireLocalServices, type CommandEngines, type LocalServices } from '../../lambdas/local/local-services.js';
import { drillCommand } from '../../lambdas/local/operator-commands.js';
import { runDrill } from '../../lambdas/services/verification/drill.js';
import { startPostgres, type PostgresHandle } from '../support/postgres.js';

const quiet: Logger = { warn: () => undefined, error: () => undefined };

/** Runs `sql` as the superuser `admin` (past the projection's append-only triggers). */
async function asSuperuser(admin: PostgresConnectionConfig, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client(admin);
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Whether a server still accepts connections at `admin`'s port. */
const accepts = (admin: PostgresConnectionConfig) => asSuperuser(admin, 'SELECT 1').then(() => true, () => false);

describe('takeOnlineBackup', () => {
  let live: PostgresHandle;
  let work: string;

  beforeAll(async () => {
    live = await startPostgres();
    work = await mkdtemp(join(tmpdir(), 'govledger-backup-'));
  }, 60_000);

  afterAll(async () => {
    await live?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('copies a consistent state while writes go on: every transaction whole or absent, everything committed before pg_backup_start present', async () => {
    // Prepare: transactions of 5 rows (5 statements each, 2 KiB apiece) written one after another by another connection, before, during and after the backup
    const admin = live.server.admin('postgres');
    await asSuperuser(admin, 'CREATE TABLE probe (txn int NOT NULL, k int NOT NULL, pad text NOT NULL, PRIMARY KEY (txn, k))');
    const writer = new pg.Client(admin);
    await writer.connect();
    const acknowledged: number[] = [];
    let writing = true;
    const writes = (async () => {
      for (let txn = 0; writing; txn++) {
        await writer.query('BEGIN');
        for (let k = 0; k < 5; k++) await writer.query('INSERT INTO probe VALUES ($1::int, $2::int, repeat(md5($1::text || $2::text), 64))', [txn, k]);
        await writer.query('COMMIT');
        acknowledged.push(txn);
      }
    })();
    /** Resolves once `n` transactions are acknowledged; rejects if the writer failed. */
    const until = (n: number) => Promise.race([writes.then(() => Promise.reject(new Error('the writer stopped'))), (async () => {
      while (acknowledged.length < n) await new Promise((resolve) => setTimeout(resolve, 5));
    })()]);
    await until(20);
    let beforeStart = -1;
    let duringBackup = 0;
    // Act
    const backup = await takeOnlineBackup({
      admin,
      target: join(work, 'copy'),
      onStarted: async () => {
        beforeStart = acknowledged.length;
        await until(beforeStart + 10);
      },
    }).finally(() => {
      duringBackup = acknowledged.length - beforeStart;
      writing = false;
    });
    await writes;
    await writer.end();
    // Assess: the copy is a backup, not a running cluster's directory
    expect(existsSync(join(backup.dir, 'postmaster.pid'))).toBe(false);
    expect(await readFile(join(backup.dir, 'backup_label'), 'utf8')).toMatch(/^START WAL LOCATION: .*\nCHECKPOINT LOCATION: /);
    expect((await readdir(join(backup.dir, 'pg_wal'))).filter((f) => /^[0-9A-F]{24}$/.test(f)).sort()).toEqual(backup.walSegments);
    expect(duringBackup).toBeGreaterThanOrEqual(10);
    // Assess: a server started on the copy recovers, and holds whole transactions only
    const passwordFile = join(work, 'password');
    await writeFile(passwordFile, `${String(admin.password)}\n`, { mode: 0o600 });
    const restored = await startEmbeddedPostgres({ dir: backup.dir, passwordFile, ephemeral: true });
    try {
      const { rows } = await asSuperuser(restored.admin('postgres'), 'SELECT txn, count(*)::int AS n FROM probe GROUP BY txn ORDER BY txn');
      const txns = rows.map((r: { txn: number }) => r.txn);
      expect(rows.filter((r: { n: number }) => r.n !== 5)).toEqual([]);
      expect(txns.slice(0, beforeStart)).toEqual(acknowledged.slice(0, beforeStart));
      expect(txns).toEqual(acknowledged.slice(0, txns.length));
      expect(existsSync(join(backup.dir, 'backup_label.old'))).toBe(true); // recovery started from the backup's label
    } finally {
      await restored.stop();
    }
  });

  it('fails with a typed error and leaves nothing behind when the server refuses the backup', async () => {
    // Prepare
    const target = join(work, 'refused');
    // Act
    const failure = await takeOnlineBackup({ admin: { ...live.server.admin('postgres'), password: 'wrong' }, target }).catch((error: unknown) => error);
    // Assess
    expect(failure).toBeInstanceOf(OnlineBackupError);
    expect((failure as OnlineBackupError).code).toBe('BACKUP_FAILED');
    expect(existsSync(target)).toBe(false);
  });
});

describe('the local drill of the projection database', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let runtime: LocalRuntime;
  let engines: CommandEngines;
  let services: LocalServices;
  let options: LocalDatabaseCopyOptions;

  /** Waits until the server's projection holds every ledger entry; returns the newest position. */
  async function projectedThroughTail(): Promise<number> {
    const tail = await services.ledgerStore.readTail('acme');
    return services.projection.waitFor('acme', tail!.firstPosition + tail!.entries.length - 1, 10_000);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'govledger-db-drill-'));
    env = { GOVLEDGER_DATA_DIR: dir, PORT: '0', GOVLEDGER_LOG_PREFIX: 'govledger.test' };
    runtime = await startLocalRuntime({ env, logger: quiet });
    engines = await attachOrStartEngines(env);
    services = await wireLocalServices(engines.dataDir, engines.clients, env, quiet, { groupCommit: false });
    // Through the API, so the server's change tailer projects them at once: three batches of four records
    const token = await (await LocalTokenIssuer.open(dir)).mintToken({ tenants: ['acme'], scopes: ['records:write'], subject: 'user:alice' });
    for (let i = 0; i < 3; i++) {
      const records = [0, 1, 2, 3].map((n) => ({ stream: 'decisions', recordId: `d-${i}-${n}`, payload: { i, n } }));
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `k-${i}` };
      expect((await fetch(`${runtime.url}/v1/tenants/acme/records`, { method: 'POST', headers, body: JSON.stringify({ records }) })).status).toBe(201);
    }
    await projectedThroughTail();
    const committed = async () => new Map([['acme', await services.projection.projectedThrough('acme')]]);
    options = { admin: await postgresSuperuser(dir, engines.clients.postgres.reader), keys: services.keys, committed };
  }, 120_000);

  afterAll(async () => {
    await services?.close();
    await engines?.close();
    await runtime?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('govledger drill restores the database from an online backup: OK, every acknowledged entry recovered', async () => {
    // Act
    const lines: string[] = [];
    const code = await drillCommand({ env, out: (l) => lines.push(l), progress: false });
    // Assess
    const text = lines.join('\n');
    expect(code).toBe(0);
    expect(text).toMatch(/^database: OK — restored to \S+ in \d+\.\d s \(RTO\)$/m);
    const report = JSON.parse(await readFile(/report \(acme\): (\S+\.json)/.exec(text)![1]!, 'utf8')) as { targets: Array<{ target: string; recovered: number; acknowledged: number; findings: unknown[] }> };
    expect(report.targets.map((t) => t.target)).toEqual(['ledger', 'event-archive', 'database']);
    expect(report.targets.find((t) => t.target === 'database')).toMatchObject({ recovered: 12, acknowledged: 12, findings: [] });
    expect(await readdir(join(dir, 'drills'))).toEqual([]);
  });

  it('a restored database that lacks rows committed before the backup fails the drill loudly, and is torn down', async () => {
    // Prepare: the scratch copy loses position 5 and the two newest rows (as the superuser, past the append-only trigger)
    const through = await projectedThroughTail();
    let scratch: PostgresConnectionConfig | undefined;
    const damaged = new LocalDatabaseCopy(dir, {
      ...options,
      onRecovered: async (admin) => {
        scratch = admin;
        await asSuperuser(admin, `SET session_replication_role = replica; DELETE FROM govledger.entries WHERE tenant = 'acme' AND (position = 5 OR position >= ${through - 1})`);
      },
    });
    const deps = { live: services.ledgerStore, objects: services.objects, reports: services.reports, logPrefix: services.logPrefix, verifierFor: services.verifierFor };
    // Act
    const [report] = await runDrill(deps, [damaged], ['acme']);
    // Assess
    expect(report!.ok).toBe(false);
    expect(report!.findings).toEqual([
      { kind: 'RESTORE_FAILED', target: 'database', message: `database: acme: the restored database lacks 3 rows between positions 5 and ${through}, committed (through position ${through}) before the backup began` },
    ]);
    expect(await readdir(join(dir, 'drills'))).toEqual([]);
    expect(await accepts(scratch!)).toBe(false);
    expect(await accepts(options.admin)).toBe(true);
  });

  it('teardown stops the scratch server and removes the copy after a restore that failed midway, and again', async () => {
    // Prepare
    let scratch: PostgresConnectionConfig | undefined;
    const target = new LocalDatabaseCopy(dir, {
      ...options,
      onRecovered: async (admin) => {
        scratch = admin;
        throw new Error('disk full');
      },
    });
    // Act
    await expect(target.restore()).rejects.toThrow('disk full');
    const running = await accepts(scratch!);
    await target.teardown();
    await target.teardown();
    // Assess
    expect(running).toBe(true);
    expect(await accepts(scratch!)).toBe(false);
    expect(await readdir(join(dir, 'drills'))).toEqual([]);
  });
});
