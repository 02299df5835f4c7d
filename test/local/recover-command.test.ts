import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, ListObjectsCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toHex } from '../../lambdas/core/bytes.js';
import { openCheckpoint } from '../../lambdas/core/checkpoint.js';
import { CompactRange } from '../../lambdas/core/compact-range.js';
import { decodeEntry, type Entry } from '../../lambdas/core/ledger-entry.js';
import type { Logger } from '../../lambdas/handlers/http/logger.js';
import { dynamoClientFor, s3ClientFor, type EndpointsInfo } from '../../lambdas/local/engines.js';
import { startLocalRuntime, type LocalRuntime } from '../../lambdas/local/local-runtime.js';
import { LocalTokenIssuer } from '../../lambdas/local/local-tokens.js';
import { verifyCommand, withServices } from '../../lambdas/local/operator-commands.js';
import { recoverCommand } from '../../lambdas/local/recover-command.js';
import { eventPrefix, runOfKey } from '../../lambdas/services/event-archive.js';
import { LogReader } from '../../lambdas/services/log-reader.js';
import { restoreTenant, tenantItems } from '../services/recovery-fixtures.js';

const quiet: Logger = { warn: () => undefined, error: () => undefined };
const reason = 'PITR after a corrupted table';
let dir: string;
let env: NodeJS.ProcessEnv;
let runtime: LocalRuntime;
let token: string;
const snapshots = new Map<string, Array<Record<string, AttributeValue>>>();
const oldNotes = new Map<string, string>();

const endpoints = (): EndpointsInfo => JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as EndpointsInfo;
const api = (tenant: string, path: string, init: RequestInit = {}) =>
  fetch(`${runtime.url}/v1/tenants/${tenant}/${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });

async function append(tenant: string, n: number): Promise<number> {
  const response = await api(tenant, 'records', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `${tenant}-${n}` },
    body: JSON.stringify({ stream: 'decisions', recordId: `d-${n % 7}`, payload: { n } }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { position: number }).position;
}

const checkpointOf = async (tenant: string): Promise<string> => (await api(tenant, 'log/checkpoint')).text();

async function waitForCheckpoint(tenant: string, size: number): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const note = await checkpointOf(tenant);
    if (note.split('\n')[1] === String(size)) return note;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the checkpoint of ${tenant} did not reach ${size}`);
}

async function entryAt(tenant: string, position: number): Promise<Entry> {
  const body = (await (await api(tenant, `entries/${position}`)).json()) as { entry: string };
  return decodeEntry(fromBase64(body.entry)!).entry;
}

interface Report {
  ok: boolean;
  findings: Array<{ kind: string; message: string }>;
  cross: Array<{ kind: string; copy: string; position: number }>;
  repairs: Array<{ copy: string; from: number; to: number }>;
  recoveries: unknown[];
}

/** `govledger verify --tenant T` as the CLI runs it: exit code, output and the JSON report. */
async function verify(tenant: string): Promise<{ code: number; text: string; report: Report }> {
  const lines: string[] = [];
  const code = await verifyCommand({ env, tenants: [tenant], out: (l) => lines.push(l), progress: false, segmentSize: 10 });
  const location = /report: (\S+\.json)/.exec(lines.join('\n'))![1]!;
  return { code, text: lines.join('\n'), report: JSON.parse(readFileSync(location, 'utf8')) as Report };
}

/** `govledger recover --tenant T --reason …` as the CLI runs it. */
async function recover(tenant: string): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await recoverCommand({ env, tenant, reason, actor: 'user:ops', out: (l) => lines.push(l) });
  return { code, text: lines.join('\n') };
}

/** Every copy position the downstream stores hold at or beyond `from`, removed through their engines (the documented step after a recovery). */
async function dropCopiesFrom(tenant: string, from: number): Promise<void> {
  const { postgres, s3: s3Endpoint, bucket } = endpoints();
  const url = new URL(postgres!);
  const admin = new pg.Client({ host: url.hostname, port: Number(url.port), database: 'govledger', user: 'postgres', password: readFileSync(join(dir, 'postgres-password'), 'utf8').trim() });
  await admin.connect();
  const s3 = s3ClientFor(s3Endpoint);
  try {
    await admin.query('SET session_replication_role = replica');
    await admin.query('DELETE FROM govledger.entries WHERE tenant = $1 AND position >= $2', [tenant, from]);
    const listed = await s3.send(new ListObjectsCommand({ Bucket: bucket, Prefix: eventPrefix(tenant) }));
    for (const { Key } of listed.Contents ?? []) {
      if ((runOfKey(tenant, Key!)?.last ?? -1) >= from) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
    }
  } finally {
    await admin.end();
    s3.destroy();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'govledger-recover-'));
  env = { GOVLEDGER_DATA_DIR: dir, PORT: '0', GOVLEDGER_LOG_PREFIX: 'govledger.test' };
  runtime = await startLocalRuntime({ env, logger: quiet });
  token = await (await LocalTokenIssuer.open(dir)).mintToken({ tenants: ['acme', 'globex'], scopes: ['records:write', 'records:read', 'proofs:read'], subject: 'user:alice' });
  // The restore point: acme after 20 entries, globex after 10.
  for (let n = 0; n < 20; n++) await append('acme', n);
  for (let n = 0; n < 10; n++) await append('globex', n);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const dynamodb = dynamoClientFor(endpoints().dynamodb);
  for (const tenant of ['acme', 'globex']) snapshots.set(tenant, await tenantItems(dynamodb, endpoints().ledgerTable, tenant));
  dynamodb.destroy();
  for (let n = 20; n < 25; n++) await append('acme', n);
  for (let n = 10; n < 15; n++) await append('globex', n);
  oldNotes.set('acme', await waitForCheckpoint('acme', 25));
  oldNotes.set('globex', await waitForCheckpoint('globex', 15));
}, 180_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('govledger recover after a point-in-time restore', () => {
  it('verifies both logs clean before the restore', async () => {
    expect((await verify('acme')).code).toBe(0);
    expect((await verify('globex')).code).toBe(0);
    // The server's tailer copies the runs' own SYSTEM entries (25 and 15) downstream.
    expect((await api('acme', 'records/d-1?waitFor=25&timeout=5000')).status).toBe(200);
    expect((await api('globex', 'records/d-1?waitFor=15&timeout=5000')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  });

  it('a restore that discards published positions is an exact TRUNCATED_LOG (exit 1), and no publish hides it', async () => {
    // Prepare: both partitions restored through the engine, the server restarted on the restored table (as after PITR)
    const dynamodb = dynamoClientFor(endpoints().dynamodb);
    for (const [tenant, items] of snapshots) await restoreTenant(dynamodb, endpoints().ledgerTable, tenant, items);
    dynamodb.destroy();
    await runtime.stop();
    runtime = await startLocalRuntime({ env, logger: quiet });
    // Act
    const { code, report } = await verify('acme');
    const taken = await append('acme', 100);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Assess
    expect(code).toBe(1);
    expect(report.findings).toEqual([{ kind: 'TRUNCATED_LOG', size: 20, checkpointSize: 25, message: 'the log has 20 entries but the checkpoint covers 25' }]);
    for (const copy of ['projection', 'event-archive']) {
      const extra = report.cross.filter((c) => c.copy === copy).map((c) => [c.kind, c.position]);
      expect(extra.slice(0, 5)).toEqual([20, 21, 22, 23, 24].map((p) => ['COPY_EXTRA', p]));
    }
    expect(taken).toBe(21); // after the run's own SYSTEM entry at 20
    expect(await checkpointOf('acme')).toBe(oldNotes.get('acme'));
  });

  it('a forged recovery with the wrong range does not explain the truncation, and recover refuses to record over it', async () => {
    // Prepare: globex restored to 10 of 15; a recovery entry claiming only 4 discarded positions
    await withServices(env, async (services) => {
      const proof = await new LogReader(services.ledgerStore, services.objects).consistency('globex', 10, 15);
      const retained = CompactRange.from(0, 10, (await services.ledgerStore.batchAt('globex', 9))!.range).root();
      const details = { generation: 1, discarded: { first: 10, count: 4 }, previousCheckpoint: oldNotes.get('globex')!, retainedRoot: toHex(retained), consistencyProof: [...proof.proof], reason: 'forged', actor: 'user:mallory' };
      await services.ledger.appendRecovery('globex', details, 'user:mallory');
    });
    // Act
    const { code, report } = await verify('globex');
    const refused = await recover('globex');
    // Assess
    expect(code).toBe(1);
    expect(report.findings.map((f) => f.kind)).toEqual(['INVALID_RECOVERY', 'TRUNCATED_LOG']);
    expect(report.findings[0]!.message).toContain('discards positions 10..13 but its checkpoint covers 15 entries');
    expect(report.recoveries).toEqual([]);
    expect(refused.code).toBe(1);
    expect(refused.text).toMatch(/^recover: refused \(RECOVERY_CONFLICT\): the recovery entry at position 10 of globex claims this fork but does not hold/);
    expect(await checkpointOf('globex')).toBe(oldNotes.get('globex'));
  });

  it('records the fork after the entries taken since the restore, with the next generation and the exact range, once', async () => {
    // Act
    const first = await recover('acme');
    const again = await recover('acme');
    // Assess
    expect(first.code).toBe(0);
    expect(first.text).toMatch(/^acme: recovery recorded at position 22, generation 1: positions 20\.\.24 of checkpoint 25 \(root [0-9a-f]{64}\) discarded\n {2}published generation 1: checkpoint at size 23/);
    expect(again.code).toBe(0);
    expect(again.text).toMatch(/^acme: recovery already recorded at position 22,/);
    const entry = await entryAt('acme', 22);
    expect(entry).toMatchObject({ operation: 'SYSTEM', generation: 1, recordId: 'system-recovery', actor: 'user:ops' });
    expect(entry.payload).toMatchObject({ system: { kind: 'recovery', details: { generation: 1, discarded: { first: 20, count: 5 }, previousCheckpoint: oldNotes.get('acme'), reason } } });
    expect([(await entryAt('acme', 20)).generation, (await entryAt('acme', 21)).generation]).toEqual([0, 0]);
    expect((await checkpointOf('acme')).split('\n')[1]).toBe('23');
  });

  it('continues the new generation, and verify accepts the recorded fork: exit 0 with the recovery in the report once the copies of the discarded positions are rebuilt', async () => {
    // Prepare: three more requests, published by the server
    for (const n of [101, 102, 103]) await append('acme', n);
    const published = await waitForCheckpoint('acme', 26);
    // Act: the downstream copies still hold the discarded generation at 20..24
    const stale = await verify('acme');
    await dropCopiesFrom('acme', 20);
    const rebuilt = await verify('acme');
    // Assess
    const old = openCheckpoint(oldNotes.get('acme')!, (await withServices(env, async (s) => s.verifierFor('govledger.test/acme'))), { origin: 'govledger.test/acme' });
    const item = { position: 22, generation: 1, discarded: { first: 20, count: 5 }, previousCheckpoint: { size: 25, root: toHex(old.rootHash) }, reason, actor: 'user:ops' };
    expect((await entryAt('acme', 25)).generation).toBe(1);
    expect(published.split('\n')[1]).toBe('26');
    expect(stale.code).toBe(1);
    expect({ findings: stale.report.findings, recoveries: stale.report.recoveries }).toEqual({ findings: [], recoveries: [item] });
    for (const copy of ['projection', 'event-archive']) {
      expect(stale.report.cross.filter((c) => c.copy === copy && c.position < 25).map((c) => [c.kind, c.position])).toEqual([20, 21, 22, 23, 24].map((p) => ['COPY_MISMATCH', p]));
    }
    expect(rebuilt.code).toBe(0);
    expect({ ok: rebuilt.report.ok, findings: rebuilt.report.findings, cross: rebuilt.report.cross, recoveries: rebuilt.report.recoveries }).toEqual({ ok: true, findings: [], cross: [], recoveries: [item] });
    expect(rebuilt.report.repairs.filter((r) => r.copy === 'projection')[0]).toMatchObject({ from: 20 });
    expect(rebuilt.text).toMatch(/recovery at position 22: generation 1, positions 20\.\.24 of checkpoint 25 discarded/);
  });
});
