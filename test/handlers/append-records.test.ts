import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../../lambdas/adapters/fake/memory-key-store.js';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { FileMasterKey } from '../../lambdas/adapters/local/file-master-key.js';
import { appendRecordsHandler, type AppendRecordsDeps } from '../../lambdas/handlers/append-records.js';
import { IdempotencyConflictError, LedgerBusyError, RevisionConflictError } from '../../lambdas/services/errors.js';
import { KeyService } from '../../lambdas/services/key-service.js';
import { LedgerService, type AppendRequest, type AppendResult, type AppendedRecord } from '../../lambdas/services/ledger-service.js';
import { bodyOf, context, httpEvent, memoryLogger, tokenKit, type TokenKit } from './http-fixtures.js';

let kit: TokenKit;
let dir: string;
beforeAll(async () => {
  kit = await tokenKit();
  dir = mkdtempSync(join(tmpdir(), 'govledger-handlers-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const appended = (position: number, recordId = `rec-${position}`): AppendedRecord => ({
  position,
  leafHash: 'ab'.repeat(32),
  timestamp: '2026-01-01T00:00:00.000000000Z',
  recordId,
  revision: 1,
});

/** A LedgerService stand-in that records requests and answers with `answer`. */
function fakeLedger(answer: (request: AppendRequest) => Promise<AppendResult> = async (r) => ({ records: r.records.map((_, i) => appended(i)), replayed: false })) {
  const requests: AppendRequest[] = [];
  return { requests, append: async (request: AppendRequest) => (requests.push(request), answer(request)) };
}

interface PostOptions {
  readonly headers?: Record<string, string>;
  readonly tenant?: string;
  readonly token?: string | null;
  readonly scope?: string;
  readonly deps?: Partial<AppendRecordsDeps>;
  readonly raw?: string;
}

async function post(body: unknown, options: PostOptions = {}) {
  const ledger = fakeLedger();
  const logger = memoryLogger();
  const handler = appendRecordsHandler({ ledger, verify: kit.verify, logger, newCorrelationId: () => 'corr-generated', ...options.deps });
  const token = options.token === undefined ? await kit.mint({ scope: options.scope ?? 'records:write' }) : options.token;
  const tenant = options.tenant ?? 'acme';
  const event = httpEvent({
    path: `/v1/tenants/${tenant}/records`,
    pathParameters: { tenant },
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'key-1', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...options.headers },
    body: options.raw ?? JSON.stringify(body),
  });
  const response = await handler(event, context);
  return { response, ledger, logger, body: bodyOf(response) };
}

const record = { stream: 'decisions', recordId: 'rec-1', payload: { approved: true } };

describe('appendRecordsHandler', () => {
  it('appends one record: 201 with the record, Location and the correlation id', async () => {
    // Prepare
    const raw = JSON.stringify(record);
    // Act
    const { response, ledger, body } = await post(undefined, { raw, headers: { 'X-Correlation-Id': 'corr-7' } });
    // Assess
    expect(response.statusCode).toBe(201);
    expect(body).toEqual(appended(0));
    expect(response.headers).toMatchObject({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'X-Correlation-Id': 'corr-7', Location: '/v1/tenants/acme/records/rec-0' });
    expect(response.headers?.['Idempotent-Replayed']).toBeUndefined();
    expect(ledger.requests).toEqual([
      { tenant: 'acme', idempotencyKey: 'key-1', requestHash: createHash('sha256').update(raw).digest('hex'), actor: 'alice', correlationId: 'corr-7', records: [record] },
    ]);
  });

  it('appends a batch: 201 with the list, records in order', async () => {
    // Prepare
    const records = [record, { stream: 'policies', payload: 1, operation: 'CREATE', expectedRevision: 0 }];
    // Act
    const { response, ledger, body } = await post({ records });
    // Assess
    expect(response.statusCode).toBe(201);
    expect(body).toEqual([appended(0), appended(1)]);
    expect(response.headers?.Location).toBeUndefined();
    expect(ledger.requests[0]?.records).toEqual(records);
  });

  it('hashes the body bytes as received, so a re-serialized retry is a different request', async () => {
    // Act
    const compact = await post(undefined, { raw: '{"stream":"s","payload":1}' });
    const spaced = await post(undefined, { raw: '{ "stream": "s", "payload": 1 }' });
    // Assess
    expect(compact.ledger.requests[0]?.requestHash).toBe(createHash('sha256').update('{"stream":"s","payload":1}').digest('hex'));
    expect(spaced.ledger.requests[0]?.requestHash).not.toBe(compact.ledger.requests[0]?.requestHash);
  });

  it('generates a correlation id when the client sends none', async () => {
    // Act
    const { response, ledger } = await post(record);
    // Assess
    expect(ledger.requests[0]?.correlationId).toBe('corr-generated');
    expect(response.headers?.['X-Correlation-Id']).toBe('corr-generated');
  });

  it('marks a replay with Idempotent-Replayed: true and the same body', async () => {
    // Prepare
    const ledger = fakeLedger(async () => ({ records: [appended(4)], replayed: true }));
    // Act
    const { response, body } = await post(record, { deps: { ledger } });
    // Assess
    expect(response.statusCode).toBe(201);
    expect(response.headers?.['Idempotent-Replayed']).toBe('true');
    expect(body).toEqual(appended(4));
  });

  it.each([
    ['a revision conflict', new RevisionConflictError('rec-1', 1, 2), 409, 'revision-conflict'],
    ['a reused Idempotency-Key', new IdempotencyConflictError('key-1 was used with another body'), 422, 'idempotency-key-reused'],
    ['a busy ledger', new LedgerBusyError('busy'), 503, 'ledger-busy'],
  ])('maps %s to its problem', async (_name, error, status, name) => {
    // Prepare
    const ledger = fakeLedger(async () => {
      throw error;
    });
    // Act
    const { response, body } = await post(record, { deps: { ledger } });
    // Assess
    expect(response.statusCode).toBe(status);
    expect(response.headers?.['Content-Type']).toBe('application/problem+json');
    expect(body.type).toBe(`urn:govledger:problem:${name}`);
  });

  it('answers an unexpected failure with a generic 500 and logs it', async () => {
    // Prepare
    const ledger = fakeLedger(async () => {
      throw new Error('ConditionalCheckFailed on table ledger-prod');
    });
    // Act
    const { response, logger } = await post(record, { deps: { ledger } });
    // Assess
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('ledger-prod');
    expect(logger.lines[0]?.fields).toMatchObject({ error: { message: 'ConditionalCheckFailed on table ledger-prod' } });
  });

  it.each([
    ['an unknown field', { ...record, extra: 1 }, '/body/extra'],
    ['an unknown field in a batch record', { records: [{ ...record, note: 'x' }] }, '/body/records/0/note'],
    ['a number for stream', { ...record, stream: 5 }, '/body/stream'],
    ['a missing payload', { stream: 's' }, '/body/payload'],
    ['a negative expectedRevision', { ...record, expectedRevision: -1 }, '/body/expectedRevision'],
    ['a string expectedRevision', { ...record, expectedRevision: '1' }, '/body/expectedRevision'],
    ['a SYSTEM operation', { ...record, operation: 'SYSTEM' }, '/body/operation'],
    ['an invalid recordId', { ...record, recordId: '../etc' }, '/body/recordId'],
    ['a batch of 101', { records: Array.from({ length: 101 }, () => record) }, '/body/records'],
    ['an empty batch', { records: [] }, '/body/records'],
    ['a batch beside record fields', { records: [record], stream: 's' }, '/body/stream'],
    ['a field named with a slash', { ...record, 'a/b': 1 }, '/body/a~1b'],
    ['a JSON array', [record], '/body'],
  ])('answers 400 validation-failed for %s, without calling the ledger', async (_name, body, path) => {
    // Act
    const { response, ledger, body: problem } = await post(body);
    // Assess
    expect(response.statusCode).toBe(400);
    expect(problem.type).toBe('urn:govledger:problem:validation-failed');
    expect((problem.errors as Array<{ path: string }>).map((e) => e.path)).toContain(path);
    expect(ledger.requests).toEqual([]);
  });

  it('answers 400 idempotency-key-missing without the header, or with an empty one', async () => {
    // Act
    const results = [await post(record, { headers: { 'Idempotency-Key': '' } }), await post(record, { headers: { 'idempotency-key': undefined as never } })];
    // Assess
    for (const { response, body } of results) {
      expect(response.statusCode).toBe(400);
      expect(body.type).toBe('urn:govledger:problem:idempotency-key-missing');
    }
  });

  it.each([
    ['256 characters', 'k'.repeat(256)],
    ['non-ASCII', 'clé'],
    ['a control character', 'a\tb'],
  ])('answers 400 validation-failed for an Idempotency-Key of %s', async (_name, key) => {
    // Act
    const { response, body, ledger } = await post(record, { headers: { 'Idempotency-Key': key } });
    // Assess
    expect(response.statusCode).toBe(400);
    expect(body.errors).toEqual([expect.objectContaining({ path: '/headers/Idempotency-Key' })]);
    expect(ledger.requests).toEqual([]);
  });

  it('accepts an Idempotency-Key of 255 characters', async () => {
    // Act
    const { response, ledger } = await post(record, { headers: { 'Idempotency-Key': 'k'.repeat(255) } });
    // Assess
    expect(response.statusCode).toBe(201);
    expect(ledger.requests[0]?.idempotencyKey).toHaveLength(255);
  });

  it.each([
    ['no token', { token: null }, 401],
    ['a read-only token', { scope: 'records:read proofs:read' }, 403],
    ['another tenant', { tenant: 'globex' }, 404],
  ])('refuses %s before parsing the body', async (_name, options, status) => {
    // Act
    const { response, ledger } = await post(undefined, { ...(options as PostOptions), raw: '{not json' });
    // Assess
    expect(response.statusCode).toBe(status);
    expect(ledger.requests).toEqual([]);
  });

  it('honours maxBodyBytes', async () => {
    // Act
    const { response } = await post({ ...record, payload: 'x'.repeat(200) }, { deps: { maxBodyBytes: 100 } });
    // Assess
    expect(response.statusCode).toBe(413);
  });
});

describe('appendRecordsHandler with the real LedgerService', () => {
  it('appends, replays the same body with Idempotent-Replayed, and refuses the key with another body', async () => {
    // Prepare
    const master = await FileMasterKey.open(dir, { create: true });
    const ledger = new LedgerService(new MemoryLedgerStore(), new KeyService(new MemoryKeyStore(), master));
    const deps = { ledger };
    // Act
    const first = await post(record, { deps });
    const replay = await post(record, { deps });
    const other = await post({ ...record, payload: { approved: false } }, { deps });
    // Assess
    expect(first.response.statusCode).toBe(201);
    expect(first.body).toMatchObject({ position: 0, recordId: 'rec-1', revision: 1 });
    expect(replay.response.headers?.['Idempotent-Replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(other.response.statusCode).toBe(422);
  });
});
