import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../lambdas/core/bytes.js';
import { openCheckpoint } from '../../lambdas/core/checkpoint.js';
import { verifyInclusion } from '../../lambdas/core/merkle-proof.js';
import { hashLeaf } from '../../lambdas/core/rfc9162-hasher.js';
import { Ed25519NoteVerifier } from '../../lambdas/core/signed-note.js';
import type { Logger } from '../../lambdas/handlers/http/logger.js';
import { recordHistoryResponseSchema, recordListResponseSchema, recordResponseSchema } from '../../lambdas/handlers/schemas.js';
import { startLocalRuntime, type LocalRuntime } from '../../lambdas/local/local-runtime.js';
import { LocalTokenIssuer } from '../../lambdas/local/local-tokens.js';

const quiet: Logger = { warn: () => undefined, error: () => undefined };
let dir: string;
let env: NodeJS.ProcessEnv;
let runtime: LocalRuntime;
const tokens: Record<string, string> = {};

/** A request to the running server as `who` (a key of `tokens`, or null for none). */
async function call(path: string, who: string | null = 'acme', init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (who !== null) headers.set('authorization', `Bearer ${tokens[who]}`);
  const response = await fetch(`${runtime.url}${path}`, { ...init, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text && (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined };
}

interface Appended { position: number; timestamp: string; recordId: string; revision: number }
async function append(key: string, body: unknown, tenant = 'acme'): Promise<Appended[]> {
  const r = await call(`/v1/tenants/${tenant}/records`, tenant, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'idempotency-key': key } });
  expect(r.status).toBe(201);
  return Array.isArray(r.json) ? r.json : [r.json];
}

/** Every page of a paginated route, following nextCursor (from `start`, if given). */
async function allPages(path: string, limit: number, start: string | null = null): Promise<Array<Record<string, any>>> {
  const pages = [];
  let cursor = start;
  do {
    const r = await call(`${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status, r.text).toBe(200);
    pages.push(r.json);
    cursor = r.json.nextCursor;
  } while (cursor);
  return pages;
}

const log: Appended[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'govledger-records-'));
  env = { GOVLEDGER_DATA_DIR: dir, PORT: '0', GOVLEDGER_LOG_PREFIX: 'govledger.test' };
  runtime = await startLocalRuntime({ env, logger: quiet });
  const issuer = await LocalTokenIssuer.open(dir);
  const scopes = ['records:write', 'records:read', 'proofs:read'];
  tokens.acme = await issuer.mintToken({ tenants: ['acme'], scopes, subject: 'user:alice' });
  tokens.globex = await issuer.mintToken({ tenants: ['globex'], scopes, subject: 'user:bob' });
  tokens.admin = await issuer.mintToken({ tenants: ['acme'], scopes: ['admin'], subject: 'user:dpo' });
  tokens.writer = await issuer.mintToken({ tenants: ['acme'], scopes: ['records:write'], subject: 'user:carol' });
  log.push(...(await append('a-1', { stream: 'decisions', recordId: 'd-1', payload: { v: 1 } })));
  log.push(...(await append('a-2', { records: [{ stream: 'policies', recordId: 'p-1', payload: { v: 'p1' } }, { stream: 'decisions', recordId: 'd-2', payload: { v: 2 } }] })));
  await new Promise((resolve) => setTimeout(resolve, 20)); // a time strictly between positions 2 and 3
  log.push(...(await append('a-3', { stream: 'decisions', recordId: 'd-1', payload: { v: 3 } })));
  log.push(...(await append('a-4', { stream: 'decisions', recordId: 'd-2', operation: 'DELETE', payload: null })));
  log.push(...(await append('a-5', { stream: 'decisions', recordId: 'd-1', payload: { v: 5 } })));
  await append('g-1', { stream: 'decisions', recordId: 'secret-plan', payload: { globex: true } }, 'globex');
}, 90_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('record routes over real HTTP against npm start\'s runtime', () => {
  it('reads a write back within a second without waitFor, and at once with waitFor', async () => {
    // Prepare
    const [written] = await append('ryw-1', { stream: 'notes', recordId: 'n-1', payload: { hello: 'world' } });
    const started = Date.now();
    // Act
    let plain = await call('/v1/tenants/acme/records/n-1');
    while (plain.status === 404 && Date.now() - started < 1000) plain = await call('/v1/tenants/acme/records/n-1');
    const lag = Date.now() - started;
    const [again] = await append('ryw-2', { stream: 'notes', recordId: 'n-1', payload: { hello: 'again' } });
    const waited = await call(`/v1/tenants/acme/records/n-1?waitFor=${again!.position}&timeout=2000`);
    // Assess
    expect(lag).toBeLessThan(1000);
    expect(plain.json.record).toMatchObject({ recordId: 'n-1', revision: 1, position: written!.position, payload: { hello: 'world' } });
    expect(waited.status).toBe(200);
    expect(waited.json.projectedThrough).toBeGreaterThanOrEqual(again!.position);
    expect(waited.json.record).toMatchObject({ revision: 2, operation: 'UPDATE', stream: 'notes', actor: 'user:alice', payload: { hello: 'again' } });
    expect(recordResponseSchema.safeParse(waited.json).error).toBeUndefined(); // the documented shape
  });

  it('answers every revision of a record, oldest first, across pages', async () => {
    // Act
    const pages = await allPages(`/v1/tenants/acme/records/d-1/history?waitFor=${log.at(-1)!.position}`, 2);
    // Assess
    const revisions = pages.flatMap((p) => p.revisions);
    expect(revisions.map((r: any) => [r.revision, r.position, r.payload])).toEqual([[1, 0, { v: 1 }], [2, 3, { v: 3 }], [3, 5, { v: 5 }]]);
    expect(pages.map((p) => p.revisions.length)).toEqual([2, 1]);
    expect(new Set(pages.map((p) => p.projectedThrough)).size).toBe(1);
    for (const page of pages) expect(recordHistoryResponseSchema.safeParse(page).error).toBeUndefined();
  });

  it('lists the records as of a position and as of a time, as a replay of the appends says', async () => {
    // Act
    const atTwo = await call('/v1/tenants/acme/records?asOf=2');
    const afterDelete = await call('/v1/tenants/acme/records?asOf=4&stream=decisions');
    const between = new Date(Date.parse(log[2]!.timestamp) + 5).toISOString(); // after position 2, before position 3
    const atTime = await call(`/v1/tenants/acme/records?asOf=${encodeURIComponent(between.replace('Z', '+00:00'))}`);
    const exact = await call(`/v1/tenants/acme/records?asOf=${log[3]!.timestamp}`);
    const before = await call('/v1/tenants/acme/records?asOf=1999-01-01T00:00:00Z');
    // Assess
    const summary = (r: { json: any }) => r.json.records.map((x: any) => [x.recordId, x.revision, x.payload]);
    expect([atTwo.json.asOf, summary(atTwo)]).toEqual([2, [['d-1', 1, { v: 1 }], ['d-2', 1, { v: 2 }], ['p-1', 1, { v: 'p1' }]]]);
    expect(summary(afterDelete)).toEqual([['d-1', 2, { v: 3 }]]); // d-2 deleted at 4, p-1 in another stream
    expect([atTime.json.asOf, summary(atTime)]).toEqual([2, summary(atTwo)]);
    expect(exact.json.asOf).toBe(3);
    expect([before.json.asOf, before.json.records]).toEqual([-1, []]);
    for (const r of [atTwo, afterDelete, atTime, exact, before]) expect(recordListResponseSchema.safeParse(r.json).error).toBeUndefined();
  });

  it('pages the list with a limit, pinned to the first page\'s position while writes go on', async () => {
    // Prepare
    const first = await call('/v1/tenants/acme/records?asOf=5&limit=1');
    await append('page-1', { stream: 'decisions', recordId: 'a-new', payload: 0 });
    // Act
    const rest = await allPages('/v1/tenants/acme/records', 1, first.json.nextCursor);
    // Assess
    const ids = [first.json, ...rest].flatMap((p) => p.records.map((r: any) => r.recordId));
    expect(ids).toEqual(['d-1', 'p-1']);
    expect(rest.every((p) => p.asOf === 5)).toBe(true);
  });

  it('verifies a read with proof=true: the served entry\'s inclusion proof holds against the signed checkpoint', async () => {
    // Prepare
    const position = log.at(-1)!.position;
    let answer = await call('/v1/tenants/acme/records/d-1?proof=true');
    for (let i = 0; i < 30 && answer.status === 404; i++) answer = await new Promise((r) => setTimeout(r, 100)).then(() => call('/v1/tenants/acme/records/d-1?proof=true'));
    const note = (await call('/v1/tenants/acme/log/checkpoint')).text;
    const vkey = (await call('/v1/tenants/acme/log-key')).text.trim();
    // Act
    const checkpoint = openCheckpoint(note, new Ed25519NoteVerifier(vkey), { origin: 'govledger.test/acme' });
    const { proof, record } = answer.json;
    const leaf = hashLeaf(Buffer.from(proof.entry, 'base64'));
    // Assess
    expect(answer.status).toBe(200);
    expect(recordResponseSchema.safeParse(answer.json).error).toBeUndefined();
    expect(record).toMatchObject({ recordId: 'd-1', position, revision: 3 });
    expect(Buffer.from(leaf).toString('hex')).toBe(record.leafHash);
    expect(checkpoint.size).toBe(proof.treeSize);
    expect(() => verifyInclusion(position, proof.treeSize, leaf, proof.inclusionProof.map((h: string) => fromHex(h, 32)), checkpoint.rootHash)).not.toThrow();
  });

  it('keeps tenants apart: another tenant\'s record answers exactly like a missing one', async () => {
    // Act
    const foreign = await call('/v1/tenants/globex/records/secret-plan', 'acme');
    const crossId = await call('/v1/tenants/acme/records/secret-plan', 'acme');
    const missing = await call('/v1/tenants/acme/records/never-written', 'acme');
    const list = await call('/v1/tenants/globex/records', 'acme');
    const own = await call('/v1/tenants/globex/records/secret-plan?waitFor=0', 'globex');
    const noScope = await call('/v1/tenants/acme/records/d-1', 'writer');
    // Assess
    for (const r of [foreign, crossId, missing, list]) {
      expect(r.status).toBe(404);
      expect({ ...r.json, requestId: undefined }).toEqual({ ...missing.json, requestId: undefined });
    }
    expect(own.json.record.payload).toEqual({ globex: true });
    expect(noScope.status).toBe(403);
  });

  it.each([
    ['/v1/tenants/acme/records/d-1?proof=maybe', '/query/proof'],
    ['/v1/tenants/acme/records?limit=0', '/query/limit'],
    ['/v1/tenants/acme/records?limit=1001', '/query/limit'],
    ['/v1/tenants/acme/records?asOf=yesterday', '/query/asOf'],
    ['/v1/tenants/acme/records?asOf=-1', '/query/asOf'],
    ['/v1/tenants/acme/records?stream=no%20spaces', '/query/stream'],
    ['/v1/tenants/acme/records?sort=desc', '/query/sort'],
    ['/v1/tenants/acme/records/d-1?waitFor=soon', '/query/waitFor'],
    ['/v1/tenants/acme/records/d-1?waitFor=1&timeout=60000', '/query/timeout'],
    ['/v1/tenants/acme/records/d-1/history?cursor=!!', '/query/cursor'],
    ['/v1/tenants/acme/records/bad%20id', '/path/recordId'],
  ])('answers %s with a validation problem naming %s', async (path, pointer) => {
    // Act
    const r = await call(path);
    // Assess
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.json.type).toBe('urn:govledger:problem:validation-failed');
    expect(r.json.errors.map((e: { path: string }) => e.path)).toContain(pointer);
  });

  it('refuses a forged or foreign cursor, and a cursor for another asOf, with invalid-input', async () => {
    // Prepare
    const page = await call('/v1/tenants/acme/records/d-1/history?limit=1');
    const forged = Buffer.from(JSON.stringify({ k: 'l', asOf: 99, after: 'x', extra: 1 })).toString('base64url');
    const listPage = await call('/v1/tenants/acme/records?asOf=2&limit=1');
    // Act
    const answers = await Promise.all([
      call(`/v1/tenants/acme/records?cursor=${page.json.nextCursor}`), // a history cursor on the list
      call(`/v1/tenants/acme/records?cursor=${forged}`),
      call(`/v1/tenants/acme/records?asOf=3&cursor=${listPage.json.nextCursor}`),
    ]);
    // Assess
    for (const r of answers) expect([r.status, r.json.type]).toEqual([400, 'urn:govledger:problem:invalid-input']);
  });

  it('answers 503 projection-behind with Retry-After when waitFor times out', async () => {
    // Act
    const r = await call('/v1/tenants/acme/records/d-1?waitFor=100000&timeout=100');
    // Assess
    expect(r.status).toBe(503);
    expect(r.json.type).toBe('urn:govledger:problem:projection-behind');
    expect(r.headers.get('retry-after')).toBe('1');
  });

  it('answers 410 Gone for shredded payloads once the tenant is shredded, purges the database copy, and keeps SYSTEM records', async () => {
    // Prepare
    const { api, postgres } = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8'));
    expect(api).toBe(runtime.url);
    // Act
    const shred = await call('/v1/tenants/acme/admin/shred', 'admin', { method: 'POST', body: JSON.stringify({ reason: 'contract ended' }), headers: { 'content-type': 'application/json' } });
    const gone = await Promise.all(['/records/d-1', '/records/d-1/history', '/records'].map((p) => call(`/v1/tenants/acme${p}`)));
    const system = await call(`/v1/tenants/acme/records?stream=system&waitFor=${shred.json.entry.position}`);
    const url = new URL(postgres); // the superuser's URL; its password is in a file of the data directory
    url.password = readFileSync(join(dir, 'postgres-password'), 'utf8').trim();
    const client = new pg.Client({ connectionString: url.href });
    await client.connect();
    const { rows } = await client.query("SELECT payload_state, count(*)::int AS n FROM govledger.entries WHERE tenant = 'acme' GROUP BY 1 ORDER BY 1");
    await client.end();
    // Assess
    expect(shred.status).toBe(200);
    expect(shred.json.purgedPayloads).toBeGreaterThan(0);
    for (const r of gone) expect([r.status, r.json.type]).toEqual([410, 'urn:govledger:problem:data-shredded']);
    expect(system.json.records.map((r: any) => r.payload.system.kind)).toEqual(['crypto-shred']);
    expect(rows.map((r) => r.payload_state)).toEqual(['clear', 'shredded']);
    expect(await call('/v1/tenants/globex/records/secret-plan', 'globex')).toMatchObject({ status: 200 });
  });

  it('keeps the projection across a restart and goes on from where it stood', async () => {
    // Act
    await runtime.stop();
    runtime = await startLocalRuntime({ env, logger: quiet });
    const [next] = await append('g-2', { stream: 'decisions', recordId: 'secret-plan', payload: { globex: 2 } }, 'globex');
    const history = await call(`/v1/tenants/globex/records/secret-plan/history?waitFor=${next!.position}`, 'globex');
    // Assess
    expect(history.json.revisions.map((r: any) => [r.position, r.revision, r.payload])).toEqual([[0, 1, { globex: true }], [1, 2, { globex: 2 }]]);
  }, 60_000);
});
