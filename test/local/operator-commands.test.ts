import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand, DeleteItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSigningKey } from '../../lambdas/adapters/local/file-signing-key.js';
import { signCheckpoint } from '../../lambdas/core/checkpoint.js';
import type { Logger } from '../../lambdas/handlers/http/logger.js';
import { dynamoClientFor, s3ClientFor, type EndpointsInfo } from '../../lambdas/local/engines.js';
import { startLocalRuntime, type LocalRuntime } from '../../lambdas/local/local-runtime.js';
import { LocalTokenIssuer } from '../../lambdas/local/local-tokens.js';
import { drillCommand, verifyCommand } from '../../lambdas/local/operator-commands.js';
import { runOfKey } from '../../lambdas/services/event-archive.js';

const quiet: Logger = { warn: () => undefined, error: () => undefined };
let dir: string;
let env: NodeJS.ProcessEnv;
let runtime: LocalRuntime;
let token: string;
let endpoints: EndpointsInfo;

async function append(n: number): Promise<number> {
  const response = await fetch(`${runtime.url}/v1/tenants/acme/records`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `k-${n}` },
    body: JSON.stringify({ stream: 'decisions', recordId: `d-${n % 7}`, payload: { n } }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { position: number }).position;
}

/** Runs `govledger verify` as the CLI does (attached to the running server); returns its exit code, output and report. */
async function verify() {
  const lines: string[] = [];
  const code = await verifyCommand({ env, out: (l) => lines.push(l), progress: false, segmentSize: 10 });
  const location = /report: (\S+\.json)/.exec(lines.join('\n'))![1]!;
  return { code, text: lines.join('\n'), report: JSON.parse(readFileSync(location, 'utf8')) as { findings: Array<{ kind: string }>; cross: Array<{ kind: string; copy: string; position: number }>; repairs: Array<{ copy: string; from: number; to: number }> } };
}

const batchKey = (first: number) => ({ pk: { S: 'TENANT#acme' }, sk: { S: `B#${String(first).padStart(16, '0')}` } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'govledger-operator-'));
  env = { GOVLEDGER_DATA_DIR: dir, PORT: '0', GOVLEDGER_LOG_PREFIX: 'govledger.test' };
  runtime = await startLocalRuntime({ env, logger: quiet });
  token = await (await LocalTokenIssuer.open(dir)).mintToken({ tenants: ['acme'], scopes: ['records:write', 'records:read'], subject: 'user:alice' });
  for (let n = 0; n < 25; n++) await append(n);
  endpoints = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as EndpointsInfo;
  // The projection and the checkpoint catch up within a second.
  const read = await fetch(`${runtime.url}/v1/tenants/acme/records/d-3?waitFor=24&timeout=5000`, { headers: { authorization: `Bearer ${token}` } });
  expect(read.status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 1500));
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('govledger verify and drill against the running server', () => {
  it('verifies a clean system: exit 0, every copy compared position by position', async () => {
    const { code, text } = await verify();
    expect(code).toBe(0);
    expect(text).toMatch(/^acme: OK/);
    expect(text).toMatch(/projection: 25 positions compared, 0 re-derived/);
    expect(text).toMatch(/event-archive: 25 positions compared, 0 re-derived/);
  });

  it('a modified ledger entry (through the engine) is MODIFIED_ENTRY, exit 1, and the ledger is left as found', async () => {
    // Prepare: position 3's bytes changed inside its batch item
    const dynamodb = dynamoClientFor(endpoints.dynamodb);
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: endpoints.ledgerTable, Key: batchKey(3) }));
    const entries = Item!.entries!.L!;
    const original = entries[0]!.B!;
    const altered = Buffer.from(Buffer.from(original).toString('utf8').replace('"stream":"decisions"', '"stream":"decisionz"'));
    await dynamodb.send(new PutItemCommand({ TableName: endpoints.ledgerTable, Item: { ...Item!, entries: { L: [{ B: altered }, ...entries.slice(1)] } } as Record<string, AttributeValue> }));
    try {
      // Act
      const { code, report } = await verify();
      // Assess
      expect(code).toBe(1);
      expect(report.findings.map((f) => f.kind)).toEqual(['MODIFIED_ENTRY', 'ROOT_MISMATCH']);
      expect(report.cross.map((c) => [c.kind, c.copy, c.position])).toEqual([['COPY_MISMATCH', 'projection', 3], ['COPY_MISMATCH', 'event-archive', 3]]);
      const after = await dynamodb.send(new GetItemCommand({ TableName: endpoints.ledgerTable, Key: batchKey(3) }));
      expect(Buffer.from(after.Item!.entries!.L![0]!.B!)).toEqual(altered);
    } finally {
      await dynamodb.send(new PutItemCommand({ TableName: endpoints.ledgerTable, Item }));
      dynamodb.destroy();
    }
  });

  it('a changed projection row is COPY_MISMATCH and stays changed; a deleted event copy is re-derived from the ledger', async () => {
    // Prepare: as the superuser, past the append-only trigger
    const url = new URL(endpoints.postgres!);
    const admin = new pg.Client({ host: url.hostname, port: Number(url.port), database: 'govledger', user: 'postgres', password: readFileSync(join(dir, 'postgres-password'), 'utf8').trim() });
    await admin.connect();
    const s3 = s3ClientFor(endpoints.s3);
    /** The stored runs of acme's event archive: [first, last] of each object. */
    const runs = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: endpoints.bucket, Prefix: 'events/acme/' }))).Contents ?? []).map((o) => ({ key: o.Key!, ...runOfKey('acme', o.Key!)! }));
    const holding9 = (await runs()).find((r) => r.first <= 9 && r.last >= 9)!;
    try {
      await admin.query("SET session_replication_role = replica; UPDATE govledger.entries SET record_id = 'forged' WHERE tenant = 'acme' AND position = 5");
      await s3.send(new DeleteObjectCommand({ Bucket: endpoints.bucket, Key: holding9.key }));
      // Act
      const { code, report } = await verify();
      // Assess
      expect(code).toBe(1);
      expect(report.findings).toEqual([]);
      expect(report.cross.map((c) => [c.kind, c.copy, c.position])).toEqual([['COPY_MISMATCH', 'projection', 5]]);
      // Positions ≥ 25 are the SYSTEM entries earlier runs appended from this process: the server's tailer may not have delivered them yet, and re-deriving them is right too.
      const repaired = report.repairs.filter((r) => r.from < 25).flatMap((r) => Array.from({ length: r.to - r.from }, (_, i) => `${r.copy} ${r.from + i}`));
      expect(repaired).toEqual(Array.from({ length: holding9.last + 1 - holding9.first }, (_, i) => `event-archive ${holding9.first + i}`));
      expect((await admin.query("SELECT record_id FROM govledger.entries WHERE tenant = 'acme' AND position = 5")).rows[0].record_id).toBe('forged');
      expect((await runs()).some((r) => r.first <= 9 && r.last >= 9)).toBe(true);
    } finally {
      await admin.query("SET session_replication_role = replica; UPDATE govledger.entries SET record_id = 'd-5' WHERE tenant = 'acme' AND position = 5");
      await admin.end();
      s3.destroy();
    }
  });

  it('a deleted batch item and a checkpoint that does not verify are found', async () => {
    // Prepare: the last batch item deleted, and the checkpoint replaced by a copy whose size claims one entry more
    const dynamodb = dynamoClientFor(endpoints.dynamodb);
    const s3 = s3ClientFor(endpoints.s3);
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: endpoints.ledgerTable, Key: batchKey(24) }));
    const checkpoint = await (await s3.send(new GetObjectCommand({ Bucket: endpoints.bucket, Key: 'acme/checkpoint' }))).Body!.transformToString();
    const size = Number(checkpoint.split('\n')[1]);
    try {
      await dynamodb.send(new DeleteItemCommand({ TableName: endpoints.ledgerTable, Key: batchKey(24) }));
      const forged = checkpoint.replace(`\n${size}\n`, `\n${size + 1}\n`);
      await s3.send(new PutObjectCommand({ Bucket: endpoints.bucket, Key: 'acme/checkpoint', Body: forged }));
      // Act
      const { code, report } = await verify();
      // Assess
      expect(code).toBe(1);
      expect(report.findings.map((f) => f.kind)).toEqual(['BAD_SIGNATURE', 'DELETED_ENTRIES']);
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: endpoints.bucket, Key: 'acme/checkpoint', Body: checkpoint }));
      await dynamodb.send(new PutItemCommand({ TableName: endpoints.ledgerTable, Item }));
      dynamodb.destroy();
      s3.destroy();
    }
  });

  it('a forked checkpoint, validly signed over another tree, is ROOT_MISMATCH, and the next run still extends the last good checkpoint', async () => {
    // Prepare: the log's own key signs a checkpoint of the same size over a different root (what a fork looks like)
    const s3 = s3ClientFor(endpoints.s3);
    const checkpoint = await (await s3.send(new GetObjectCommand({ Bucket: endpoints.bucket, Key: 'acme/checkpoint' }))).Body!.transformToString();
    const size = Number(checkpoint.split('\n')[1]);
    const key = await FileSigningKey.open(dir, { create: false });
    const forked = await signCheckpoint({ origin: 'govledger.test/acme', size: size + 1, rootHash: new Uint8Array(32).fill(7) }, key.signerFor('govledger.test/acme'));
    try {
      await s3.send(new PutObjectCommand({ Bucket: endpoints.bucket, Key: 'acme/checkpoint', Body: forked }));
      // Act
      const { code, report } = await verify();
      // Assess
      expect(code).toBe(1);
      expect(report.findings.map((f) => f.kind)).toEqual(['ROOT_MISMATCH']);
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: endpoints.bucket, Key: 'acme/checkpoint', Body: checkpoint }));
      s3.destroy();
    }
    const next = await verify();
    expect(next.code).toBe(0);
    expect((next.report as unknown as { previous: { size: number } }).previous.size).toBe(size);
  });

  it('drills: restores copies of the ledger and event archive engines, reports RTO/RPO and records the drill', async () => {
    const lines: string[] = [];
    const code = await drillCommand({ env, out: (l) => lines.push(l), progress: false });
    const text = lines.join('\n');
    expect(code, text).toBe(0);
    expect(text).toMatch(/^ledger: OK — restored to .* in \d+\.\d s \(RTO\)/m);
    expect(text).toMatch(/^event-archive: OK/m);
    expect(text).toMatch(/acme: recovered \d+ entries, \d+ acknowledged by the restore point \(RPO: 0 lost\)/);
    expect(text).toMatch(/report \(acme\): .*\.json/);
  });
});
