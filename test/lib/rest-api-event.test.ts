import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { apiEntry, notWired, NotWiredError } from '../../lambdas/entry/shared/api-entry.js';
import { restApiHandler, toHttpApiEvent, toRestApiResult } from '../../lambdas/entry/shared/rest-api-event.js';
import { appendRecordsHandler } from '../../lambdas/handlers/append-records.js';
import { healthzHandler } from '../../lambdas/handlers/healthz.js';
import { logReadHandlers } from '../../lambdas/handlers/log-reads.js';
import { routeById } from '../../lambdas/handlers/routes.js';
import type { AppendRequest } from '../../lambdas/services/ledger-service.js';
import { CommitmentReader } from '../../lambdas/services/commitment-reader.js';
import { LogPublisher } from '../../lambdas/services/log-publisher.js';
import { LogReader } from '../../lambdas/services/log-reader.js';
import { memoryLogger, tokenKit, type TokenKit } from '../handlers/http-fixtures.js';
import { LedgerLog, TestSigners } from '../support/ledger-log.js';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
const context = { awsRequestId: 'aws-req-1', functionName: 'govledger-test-x', getRemainingTimeInMillis: () => 10_000 } as Context;

/** A REST API (payload 1.0) proxy event, shaped as API Gateway sends it: paths still percent-encoded, headers as the client wrote them. */
function restEvent(method: string, resource: string, path: string, init: { headers?: Record<string, string[]>; query?: Record<string, string[]>; body?: string; base64?: boolean } = {}): APIGatewayProxyEvent {
  const headers = init.headers ?? {};
  return {
    resource,
    path,
    httpMethod: method,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.at(-1)!])),
    multiValueHeaders: headers,
    queryStringParameters: init.query ? Object.fromEntries(Object.entries(init.query).map(([k, v]) => [k, v.at(-1)!])) : null,
    multiValueQueryStringParameters: init.query ?? null,
    pathParameters: { tenant: 'acme' }, // API Gateway's own (encoded) values: never used
    stageVariables: null,
    body: init.body ?? null,
    isBase64Encoded: init.base64 ?? false,
    requestContext: {
      accountId: '123456789012', apiId: 'a1b2c3', domainName: 'a1b2c3.execute-api.eu-west-1.amazonaws.com', domainPrefix: 'a1b2c3', extendedRequestId: 'x',
      httpMethod: method, path: `/live${path}`, protocol: 'HTTP/1.1', requestId: 'req-42', requestTime: '09/Apr/2026:12:34:56 +0000', requestTimeEpoch: 1_775_738_096_000,
      resourceId: 'r1', resourcePath: resource, stage: 'live', authorizer: null,
      identity: { sourceIp: '203.0.113.9', userAgent: 'curl/8' } as APIGatewayProxyEvent['requestContext']['identity'],
    },
  };
}

let tokens: TokenKit;
let reader: LogReader;
let objects: MemoryObjectStore;
let ledger: MemoryLedgerStore;
beforeAll(async () => {
  tokens = await tokenKit();
  ledger = new MemoryLedgerStore();
  objects = new MemoryObjectStore();
  await new LedgerLog('acme').appendTo(ledger, 300);
  await new LogPublisher(ledger, objects, new TestSigners(), { logPrefix: 'ledger.example.com' }).publish('acme');
  reader = new LogReader(ledger, objects);
});

const readHandlers = (logger = memoryLogger()) =>
  logReadHandlers({ reader, commitments: new CommitmentReader(ledger, reader), verifierKeyFor: () => 'unused', verify: tokens.verify, logger });

describe('toHttpApiEvent', () => {
  it('rebuilds the payload 2.0 event: lowercased headers with repeats joined, cookies split out, query re-encoded, request context', () => {
    // Prepare
    const event = restEvent('GET', '/v1/tenants/{tenant}/entries/{position}', '/v1/tenants/acme/entries/7', {
      headers: { Accept: ['application/json'], 'X-Forwarded-For': ['203.0.113.9', '10.0.0.1'], Cookie: ['a=1; b=2'] },
      query: { treeSize: ['300'], tag: ['x y', 'z&w'] },
    });
    // Act
    const v2 = toHttpApiEvent(event, routeById('getEntry'));
    // Assess
    expect(v2).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/tenants/{tenant}/entries/{position}',
      rawPath: '/v1/tenants/acme/entries/7',
      rawQueryString: 'treeSize=300&tag=x%20y&tag=z%26w',
      headers: { accept: 'application/json', 'x-forwarded-for': '203.0.113.9,10.0.0.1' },
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { treeSize: '300', tag: 'x y,z&w' },
      pathParameters: { tenant: 'acme', position: '7' },
      isBase64Encoded: false,
      requestContext: { http: { method: 'GET', path: '/v1/tenants/acme/entries/7', sourceIp: '203.0.113.9', userAgent: 'curl/8', protocol: 'HTTP/1.1' }, requestId: 'req-42', stage: 'live', timeEpoch: 1_775_738_096_000 },
    });
    expect(v2.headers.cookie).toBeUndefined();
    expect(v2.body).toBeUndefined();
  });

  it('decodes path parameters itself, with the shared route table (REST APIs pass them still percent-encoded)', () => {
    // Act
    const v2 = toHttpApiEvent(restEvent('GET', '/v1/tenants/{tenant}/commitments/{idempotencyKey}', '/v1/tenants/acme/commitments/req%3A1%20b'), routeById('getCommitment'));
    // Assess
    expect(v2.pathParameters).toEqual({ tenant: 'acme', idempotencyKey: 'req:1 b' });
  });

  it.each([
    ['another route\'s path', 'GET', '/v1/tenants/acme/log/checkpoint'],
    ['an encoded slash smuggled into a parameter', 'GET', '/v1/tenants/acme/entries/7%2F8'],
    ['a dot-dot segment', 'GET', '/v1/tenants/acme/entries/..'],
    ['another method', 'POST', '/v1/tenants/acme/entries/7'],
  ])('refuses %s with NotFoundError, never reaching the handler', (_, method, path) => {
    // Act
    const convert = () => toHttpApiEvent(restEvent(method, '/v1/tenants/{tenant}/entries/{position}', path), routeById('getEntry'));
    // Assess
    expect(convert).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});

describe('toRestApiResult', () => {
  it('keeps status, headers and base64 bodies, and turns cookies into Set-Cookie values', () => {
    // Act
    const result = toRestApiResult({ statusCode: 201, headers: { 'Content-Type': 'application/octet-stream', 'X-N': 3 }, body: 'AAE=', isBase64Encoded: true, cookies: ['s=1; Secure', 't=2'] });
    // Assess
    expect(result).toEqual({ statusCode: 201, headers: { 'Content-Type': 'application/octet-stream', 'X-N': '3' }, multiValueHeaders: { 'Set-Cookie': ['s=1; Secure', 't=2'] }, body: 'AAE=', isBase64Encoded: true });
  });
});

describe('restApiHandler', () => {
  it('serves a tile byte for byte as base64 with isBase64Encoded, so API Gateway (binary media */*) returns the bytes', async () => {
    // Prepare
    const handler = restApiHandler(routeById('getTile'), readHandlers().getTile, memoryLogger());
    const event = restEvent('GET', '/v1/tenants/{tenant}/log/tile/{tile+}', '/v1/tenants/acme/log/tile/0/000', { headers: { Authorization: [`Bearer ${await tokens.mint()}`] } });
    // Act
    const result = await handler(event, context);
    // Assess
    expect(result).toMatchObject({ statusCode: 200, isBase64Encoded: true, headers: { 'content-type': 'application/octet-stream' } });
    expect(new Uint8Array(Buffer.from(result.body, 'base64'))).toEqual(await objects.get('acme/tile/0/000'));
  });

  it('hands the append handler the JSON body API Gateway base64-encoded, and the decoded headers', async () => {
    // Prepare
    const appended: AppendRequest[] = [];
    const handler = restApiHandler(routeById('appendRecords'), appendRecordsHandler({
      ledger: { append: async (request) => (appended.push(request), { replayed: false, records: [{ position: 0, leafHash: 'ab', timestamp: 't', recordId: 'd-1', revision: 1 }] }) },
      verify: tokens.verify,
      logger: memoryLogger(),
    }), memoryLogger());
    const body = JSON.stringify({ stream: 'decisions', recordId: 'd-1', payload: { decision: 'approve' } });
    const event = restEvent('POST', '/v1/tenants/{tenant}/records', '/v1/tenants/acme/records', {
      headers: { Authorization: [`Bearer ${await tokens.mint()}`], 'Content-Type': ['application/json'], 'Idempotency-Key': ['req-1'] },
      body: Buffer.from(body).toString('base64'),
      base64: true,
    });
    // Act
    const result = await handler(event, context);
    // Assess
    expect(result.statusCode).toBe(201);
    expect(result.headers).toMatchObject({ Location: '/v1/tenants/acme/records/d-1' });
    expect(appended).toEqual([expect.objectContaining({ tenant: 'acme', idempotencyKey: 'req-1', actor: 'alice', records: [expect.objectContaining({ recordId: 'd-1', payload: { decision: 'approve' } })] })]);
  });

  it('answers a request for another tenant 404 and a missing token 401, as problem+json, exactly like the local server', async () => {
    // Prepare
    const handler = restApiHandler(routeById('getCheckpoint'), readHandlers().getCheckpoint, memoryLogger());
    const path = '/v1/tenants/acme/log/checkpoint';
    // Act
    const other = await handler(restEvent('GET', '/v1/tenants/{tenant}/log/checkpoint', path, { headers: { Authorization: [`Bearer ${await tokens.mint({ tenants: ['beta'] })}`] } }), context);
    const anonymous = await handler(restEvent('GET', '/v1/tenants/{tenant}/log/checkpoint', path), context);
    // Assess
    expect(other).toMatchObject({ statusCode: 404, headers: { 'Content-Type': 'application/problem+json' } });
    expect(JSON.parse(other.body)).toMatchObject({ type: 'urn:govledger:problem:not-found', requestId: 'req-42' });
    expect(anonymous).toMatchObject({ statusCode: 401, headers: { 'WWW-Authenticate': 'Bearer realm="govledger"' } });
  });

  it('answers 404 problem+json, without calling the handler, when the path is not its route', async () => {
    // Prepare
    let called = false;
    const handler = restApiHandler(routeById('healthz'), healthzHandler({ logger: memoryLogger(), probes: { x: async () => { called = true; } } }), memoryLogger());
    // Act
    const result = await handler(restEvent('GET', '/healthz', '/healthz/extra'), context);
    // Assess
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body)).toMatchObject({ type: 'urn:govledger:problem:not-found' });
    expect(called).toBe(false);
  });
});

describe('apiEntry', () => {
  it('runs the route behind the Powertools middlewares and the REST bridge', async () => {
    // Prepare
    const handler = apiEntry('healthz', healthzHandler({ logger: memoryLogger(), probes: { ledger: async () => undefined, objects: async () => { throw new Error('down'); } } }));
    // Act
    const result = await handler(restEvent('GET', '/healthz', '/healthz'), context);
    // Assess
    expect(result).toMatchObject({ statusCode: 503, headers: { 'Retry-After': '1' } });
    expect(JSON.parse(result.body)).toEqual({ status: 'degraded', dependencies: { ledger: 'ok', objects: 'unavailable' } });
  });
});

describe('notWired', () => {
  it('stands in for a dependency the route never uses: any use throws NotWiredError naming it, awaiting it does not', async () => {
    // Prepare
    const reader = notWired<LogReader>('reader');
    const key = notWired<(tenant: string) => string>('verifierKeyFor');
    // Assess
    expect(() => reader.entry('acme', 0)).toThrow(NotWiredError);
    expect(() => reader.entry('acme', 0)).toThrow('reader.entry is not wired in this function');
    expect(() => key('acme')).toThrow('verifierKeyFor.call is not wired');
    await expect(Promise.resolve(reader)).resolves.toBe(reader);
  });
});
