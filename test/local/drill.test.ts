import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedgerStore } from '../../lambdas/adapters/aws/dynamo-ledger-store.js';
import { S3ObjectStore } from '../../lambdas/adapters/aws/s3-object-store.js';
import { FileReportSink } from '../../lambdas/adapters/local/file-report-sink.js';
import { LocalLedgerCopy } from '../../lambdas/local/drill-targets.js';
import { startEngines, type Engines } from '../../lambdas/local/engines.js';
import type { RestoreTarget } from '../../lambdas/ports/restore-target.js';
import { LogPublisher } from '../../lambdas/services/log-publisher.js';
import { runDrill, type DrillDeps } from '../../lambdas/services/verification/drill.js';
import { LedgerLog, TestSigners } from '../support/ledger-log.js';

const PREFIX = 'drill.example';
const TABLE = 'govledger-ledger';
const signers = new TestSigners();
let dir: string;
let engines: Engines;
let live: DynamoLedgerStore;
let log: LedgerLog;
let deps: DrillDeps;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'govledger-drill-'));
  engines = await startEngines(dir, { env: {} });
  live = new DynamoLedgerStore({ client: DynamoDBDocumentClient.from(engines.dynamodb.client), tableName: TABLE });
  const objects = new S3ObjectStore({ client: engines.s3.client, bucket: engines.bucket, conditionalPuts: 'read-first' });
  log = new LedgerLog('acme');
  await log.appendTo(live, 450);
  await new LogPublisher(live, objects, signers, { logPrefix: PREFIX }).publish('acme');
  deps = { live, objects, reports: new FileReportSink(join(dir, 'reports')), logPrefix: PREFIX, verifierFor: (o) => signers.verifierFor(o) };
}, 60_000);

afterAll(async () => {
  await engines?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the local backup-restore drill', () => {
  it('restores a copy of the live ledger into a scratch engine, verifies it, reports RTO/RPO and removes the scratch copy', async () => {
    // Act
    const [report] = await runDrill(deps, [new LocalLedgerCopy(dir, TABLE)], ['acme']);
    // Assess
    expect(report!.findings).toEqual([]);
    expect(report!.ok).toBe(true);
    expect(report!.tenants).toEqual({ acme: { recovered: 450, acknowledged: 450 } });
    expect(report!.rtoMs).toBeGreaterThan(0);
    expect(await readdir(join(dir, 'drills'))).toEqual([]);
  });

  it('fails loudly when the restored copy lacks entries acknowledged before the restore point', async () => {
    // Prepare: a backup taken at 450 entries, then 50 more acknowledged; the stale backup is restored as if it were current
    const backup = join(dir, 'backup-450');
    await cp(join(dir, 'dynamodb'), backup, { recursive: true, filter: (src) => !src.endsWith('/LOCK') });
    await log.appendTo(live, 500);
    // Act
    const [report] = await runDrill(deps, [new LocalLedgerCopy(dir, TABLE, { source: backup })], ['acme']);
    // Assess
    expect(report!.ok).toBe(false);
    expect(report!.findings).toContainEqual(expect.objectContaining({ kind: 'RESTORE_LOST_ACKNOWLEDGED', tenant: 'acme', restored: 450, acknowledged: 500 }));
    expect(await readdir(join(dir, 'drills'))).toEqual([]);
  });

  it('finds a restored ledger that differs from the live one, and tears down even when the restore itself fails', async () => {
    // Prepare: a backup that lost batch 100..199 (deleted through its engine), and a target that throws mid-restore
    const damagedDir = await mkdtemp(join(tmpdir(), 'govledger-damaged-'));
    await cp(join(dir, 'dynamodb'), join(damagedDir, 'dynamodb'), { recursive: true, filter: (src) => !src.endsWith('/LOCK') });
    const scratch = await startEngines(damagedDir, { env: {} });
    await scratch.dynamodb.client.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: 'TENANT#acme' }, sk: { S: `B#${'100'.padStart(16, '0')}` } } }));
    await scratch.stop();
    const damaged = new LocalLedgerCopy(dir, TABLE, { source: join(damagedDir, 'dynamodb') });
    let tornDown = 0;
    const failing: RestoreTarget = { name: 'database', restore: () => Promise.reject(new Error('PITR window exceeded')), teardown: async () => void tornDown++ };
    // Act
    const [ledgerReport, dbReport] = await runDrill(deps, [damaged, failing], ['acme']);
    // Assess
    expect(ledgerReport!.ok).toBe(false);
    expect(ledgerReport!.findings).toContainEqual(expect.objectContaining({ kind: 'RESTORE_UNVERIFIED', detail: 'DELETED_ENTRIES' }));
    expect(ledgerReport!.findings.filter((f) => f.kind === 'RESTORE_DIFFERS').map((f) => 'position' in f && f.position)).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i));
    expect(dbReport!.findings).toEqual([{ kind: 'RESTORE_FAILED', target: 'database', message: 'database: PITR window exceeded' }]);
    expect(tornDown).toBe(1);
    expect(await readdir(join(dir, 'drills'))).toEqual([]);
  });
});

