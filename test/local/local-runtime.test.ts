import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../lambdas/core/checkpoint.js';
import { fromHex } from '../../lambdas/core/bytes.js';
import { verifyConsistency, verifyInclusion } from '../../lambdas/core/merkle-proof.js';
import { hashLeaf } from '../../lambdas/core/rfc9162-hasher.js';
import { Ed25519NoteVerifier } from '../../lambdas/core/signed-note.js';
import type { Logger } from '../../lambdas/handlers/http/logger.js';
import { startLocalRuntime, type LocalRuntime } from '../../lambdas/local/local-runtime.js';
import { LocalTokenIssuer } from '../../lambdas/local/local-tokens.js';

const quiet: Logger = { warn: () => undefined, error: () => undefined };
let dir: string;
let env: NodeJS.ProcessEnv;
let runtime: LocalRuntime;
let token: string;
let adminToken: string;

async function call(path: string, init: RequestInit & { auth?: string | null } = {}) {
  const headers = new Headers(init.headers);
  const auth = init.auth === undefined ? token : init.auth;
  if (auth !== null) headers.set('authorization', `Bearer ${auth}`);
  const response = await fetch(`${runtime.url}${path}`, { ...init, headers });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return { status: response.status, headers: response.headers, text, json: type.includes('json') ? JSON.parse(text) : undefined };
}

const append = (key: string, body: unknown, tenant = 'acme') =>
  call(`/v1/tenants/${tenant}/records`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'idempotency-key': key } });

/** Waits until the published checkpoint covers `size` (the publisher lags appends by at most ~1 s). */
async function checkpointAt(size: number): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const r = await call('/v1/tenants/acme/log/checkpoint');
    if (r.status === 200 && r.text.split('\n')[1] === String(size)) return r.text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no checkpoint at size ${size}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'govledger-runtime-'));
  env = { GOVLEDGER_DATA_DIR: dir, PORT: '0', GOVLEDGER_LOG_PREFIX: 'govledger.test' };
  runtime = await startLocalRuntime({ env, logger: quiet });
  const issuer = await LocalTokenIssuer.open(dir);
  token = await issuer.mintToken({ tenants: ['acme'], scopes: ['records:write', 'records:read', 'proofs:read'], subject: 'user:alice' });
  adminToken = await issuer.mintToken({ tenants: ['acme'], scopes: ['admin', 'proofs:read'], subject: 'user:dpo' });
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the local server (npm start) over real HTTP', () => {
  it('appends, replays by Idempotency-Key, and refuses a reused key with another body', async () => {
    // Act
    const first = await append('k-1', { stream: 'decisions', recordId: 'd-1', payload: { decision: 'approve' } });
    const replay = await append('k-1', { stream: 'decisions', recordId: 'd-1', payload: { decision: 'approve' } });
    const reused = await append('k-1', { stream: 'decisions', recordId: 'd-1', payload: { decision: 'reject' } });
    // Assess
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ position: 0, recordId: 'd-1', revision: 1 });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual(first.json);
    expect(reused.status).toBe(422);
    expect(reused.json.type).toBe('urn:govledger:problem:idempotency-key-reused');
  });

  it('answers 409 on a stale expectedRevision and appends a batch at consecutive positions', async () => {
    // Act
    const stale = await append('k-2', { stream: 'decisions', recordId: 'd-1', expectedRevision: 5, payload: 1 });
    const batch = await append('k-3', { records: [{ stream: 'decisions', recordId: 'd-1', expectedRevision: 1, payload: 2 }, { stream: 'policies', payload: { p: 1 } }] });
    // Assess
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ type: 'urn:govledger:problem:revision-conflict', currentRevision: 1 });
    expect(batch.status).toBe(201);
    expect(batch.json.map((r: { position: number }) => r.position)).toEqual([1, 2]);
  });

  it('publishes a signed checkpoint that verifies with the served log key, and proofs that verify against it', async () => {
    // Prepare
    const note = await checkpointAt(3);
    const vkey = (await call('/v1/tenants/acme/log-key')).text.trim();
    // Act
    const checkpoint = openCheckpoint(note, new Ed25519NoteVerifier(vkey), { origin: 'govledger.test/acme' });
    const entry = await call('/v1/tenants/acme/entries/1?treeSize=3');
    const consistency = await call('/v1/tenants/acme/proofs/consistency?from=1&to=3');
    // Assess
    expect(checkpoint.size).toBe(3);
    const leaf = hashLeaf(Buffer.from(entry.json.entry, 'base64'));
    expect(Buffer.from(leaf).toString('hex')).toBe(entry.json.leafHash);
    expect(() => verifyInclusion(1, 3, leaf, entry.json.inclusionProof.map((h: string) => fromHex(h, 32)), checkpoint.rootHash)).not.toThrow();
    const first = await call('/v1/tenants/acme/entries/0');
    const root1 = hashLeaf(Buffer.from(first.json.entry, 'base64'));
    expect(() => verifyConsistency(1, 3, consistency.json.proof.map((h: string) => fromHex(h, 32)), root1, checkpoint.rootHash)).not.toThrow();
  });

  it('proves a request\'s commitment: positions, leaf hashes and inclusion proofs against the checkpoint; 404 for an unknown key', async () => {
    // Prepare
    const note = await checkpointAt(3);
    const vkey = (await call('/v1/tenants/acme/log-key')).text.trim();
    const checkpoint = openCheckpoint(note, new Ed25519NoteVerifier(vkey), { origin: 'govledger.test/acme' });
    // Act
    const batch = await call('/v1/tenants/acme/commitments/k-3');
    const unknown = await call('/v1/tenants/acme/commitments/never-sent');
    // Assess
    expect(batch.status).toBe(200);
    expect(batch.json).toMatchObject({ idempotencyKey: 'k-3', committed: true, treeSize: 3 });
    expect(batch.json.records.map((r: { position: number }) => r.position)).toEqual([1, 2]);
    for (const proof of batch.json.proofs) {
      expect(() => verifyInclusion(proof.position, 3, fromHex(proof.leafHash, 32), proof.inclusionProof.map((h: string) => fromHex(h, 32)), checkpoint.rootHash)).not.toThrow();
    }
    expect(unknown.status).toBe(404);
    expect(unknown.json.type).toBe('urn:govledger:problem:commitment-not-found');
  });

  it('keeps tenants apart and refuses missing tokens, with problem+json and no stack trace', async () => {
    // Act
    const other = await call('/v1/tenants/globex/log/checkpoint');
    const anonymous = await call('/v1/tenants/acme/log/checkpoint', { auth: null });
    const garbage = await call('/v1/tenants/acme/log/checkpoint', { auth: 'not-a-jwt' });
    const badJson = await call('/v1/tenants/acme/records', { method: 'POST', body: '{"stream":', headers: { 'content-type': 'application/json', 'idempotency-key': 'k-9' } });
    // Assess
    expect(other.status).toBe(404);
    expect(anonymous.status).toBe(401);
    expect(garbage.status).toBe(401);
    expect(badJson.status).toBe(400);
    for (const r of [other, anonymous, garbage, badJson]) {
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.text).not.toMatch(/\n\s+at /);
    }
  });

  it('serves record history from the projection, the OpenAPI document, and reports each dependency in /healthz', async () => {
    // Act
    const history = await call('/v1/tenants/acme/records/d-1/history?waitFor=2');
    const openapi = await call('/v1/openapi.json', { auth: null });
    const health = await call('/healthz', { auth: null });
    // Assess
    expect(history.json.revisions.map((r: { revision: number }) => r.revision)).toEqual([1, 2]);
    expect(Object.keys(openapi.json.paths)).toContain('/v1/tenants/{tenant}/records');
    expect(health.json).toEqual({ status: 'ok', dependencies: { ledger: 'ok', keys: 'ok', objects: 'ok', projection: 'ok' } });
  });

  it('keeps every record across a restart on the same data directory', async () => {
    // Act
    await runtime.stop();
    runtime = await startLocalRuntime({ env, logger: quiet });
    const next = await append('k-4', { stream: 'decisions', recordId: 'd-1', expectedRevision: 2, payload: 3 });
    // Assess
    expect(next.json).toMatchObject({ position: 3, revision: 3 });
  }, 60_000);

  it('admin: rotates the KEK (new writes use it) and crypto-shreds the tenant, each recorded as a SYSTEM entry', async () => {
    // Prepare
    const admin = (path: string, body: unknown) => call(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, auth: adminToken });
    const size = 4; // entries 0..3 from the tests above
    await checkpointAt(size);
    // Act
    const refused = await call('/v1/tenants/acme/admin/keys/rotate', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    const rotated = await admin('/v1/tenants/acme/admin/keys/rotate', { reason: 'yearly rotation' });
    const after = await append('k-5', { stream: 'decisions', payload: { after: 'rotation' } });
    await checkpointAt(size + 2);
    const written = await call(`/v1/tenants/acme/entries/${after.json.position}`);
    const shred = await admin('/v1/tenants/acme/admin/shred', { reason: 'contract ended' });
    const again = await admin('/v1/tenants/acme/admin/shred', { reason: 'twice' });
    const refusedWrite = await append('k-6', { stream: 'decisions', payload: 1 });
    // Assess
    expect(refused.status).toBe(403);
    expect(rotated.status).toBe(201);
    expect(rotated.json).toMatchObject({ kekVersion: 2, entry: { position: size, revision: 1 } });
    const stored = JSON.parse(Buffer.from(written.json.entry, 'base64').toString('utf8'));
    expect(stored.payload.kv).toBe(2);
    expect(shred.status).toBe(200);
    expect(shred.json).toMatchObject({ shredded: { tenant: 'acme', actor: 'user:dpo', reason: 'contract ended', kekVersions: [1, 2] }, entry: { position: size + 2 } });
    expect(again.json.entry).toBeNull();
    expect(refusedWrite.status).toBe(410);
    expect(refusedWrite.json.type).toBe('urn:govledger:problem:data-shredded');
    const note = await checkpointAt(size + 3);
    const system = await call(`/v1/tenants/acme/entries/${size + 2}`);
    const entry = JSON.parse(Buffer.from(system.json.entry, 'base64').toString('utf8'));
    expect(entry).toMatchObject({ operation: 'SYSTEM', actor: 'user:dpo', payload: { system: { kind: 'crypto-shred', details: { reason: 'contract ended' } } } });
    // every entry still verifies against the new checkpoint
    const vkey = (await call('/v1/tenants/acme/log-key')).text.trim();
    const checkpoint = openCheckpoint(note, new Ed25519NoteVerifier(vkey), { origin: 'govledger.test/acme' });
    const first = await call(`/v1/tenants/acme/entries/0?treeSize=${size + 3}`);
    expect(() => verifyInclusion(0, size + 3, hashLeaf(Buffer.from(first.json.entry, 'base64')), first.json.inclusionProof.map((h: string) => fromHex(h, 32)), checkpoint.rootHash)).not.toThrow();
  }, 60_000);
});
