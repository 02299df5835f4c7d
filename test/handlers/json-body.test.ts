import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import type { HttpEvent, HttpResponse } from '../../lambdas/handlers/http/http-types.js';
import { jsonBody, type JsonBodyOptions } from '../../lambdas/handlers/http/json-body.js';
import { jsonResponse, serializeResult } from '../../lambdas/handlers/http/json-response.js';
import { problemResponses } from '../../lambdas/handlers/http/problem-responses.js';
import { bodyOf, context, httpEvent, memoryLogger, type EventInit } from './http-fixtures.js';

/** Runs `jsonBody` behind the problem and response middlewares; returns the response and what the handler saw. */
async function run(init: EventInit, opts?: JsonBodyOptions) {
  let seen: HttpEvent | undefined;
  const handler = middy<HttpEvent, HttpResponse>()
    .use(problemResponses({ logger: memoryLogger() }))
    .use(jsonResponse())
    .use(jsonBody(opts))
    .handler((async (event: HttpEvent) => {
      seen = event;
      return { statusCode: 200, body: { ok: true } };
    }) as never);
  const response = await handler(httpEvent(init), context);
  return { response, seen };
}

const json = { 'Content-Type': 'application/json' };

describe('jsonBody', () => {
  it('parses a JSON body and keeps the bytes as received', async () => {
    // Prepare
    const text = '{"stream":"s","payload":{"t":"Ünïcode"}}';
    // Act
    const { response, seen } = await run({ headers: json, body: text });
    // Assess
    expect(response.statusCode).toBe(200);
    expect(seen?.parsedBody).toEqual({ stream: 's', payload: { t: 'Ünïcode' } });
    expect(seen?.rawBody?.equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('decodes a base64 body from API Gateway', async () => {
    // Prepare
    const text = '{"a":[1,2]}';
    // Act
    const { seen } = await run({ headers: json, body: Buffer.from(text).toString('base64'), isBase64Encoded: true });
    // Assess
    expect(seen?.parsedBody).toEqual({ a: [1, 2] });
    expect(seen?.rawBody?.toString('utf8')).toBe(text);
  });

  it.each([
    ['application/json; charset=utf-8'],
    ['Application/JSON;charset="UTF-8"'],
  ])('accepts Content-Type %s', async (contentType) => {
    // Act
    const { response } = await run({ headers: { 'content-type': contentType }, body: '{}' });
    // Assess
    expect(response.statusCode).toBe(200);
  });

  it.each([
    ['missing', {}],
    ['text/plain', { 'Content-Type': 'text/plain' }],
    ['form data', { 'Content-Type': 'application/x-www-form-urlencoded' }],
    ['another charset', { 'Content-Type': 'application/json; charset=latin1' }],
    ['a look-alike', { 'Content-Type': 'application/jsonp' }],
  ])('answers 415 for a %s Content-Type', async (_name, headers) => {
    // Act
    const { response, seen } = await run({ headers, body: '{}' });
    // Assess
    expect(response.statusCode).toBe(415);
    expect(bodyOf(response).type).toBe('urn:govledger:problem:unsupported-media-type');
    expect(seen).toBeUndefined();
  });

  it.each([
    ['truncated JSON', '{"a":'],
    ['trailing garbage', '{"a":1} x'],
    ['single quotes', "{'a':1}"],
    ['empty body', ''],
    ['whitespace only', '  \n'],
  ])('answers 400 malformed-json for %s', async (_name, body) => {
    // Act
    const { response } = await run({ headers: json, body });
    // Assess
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).type).toBe('urn:govledger:problem:malformed-json');
  });

  it('answers 400 malformed-json for a body that is not UTF-8', async () => {
    // Act
    const { response } = await run({ headers: json, body: Buffer.from([0x7b, 0xff, 0x7d]).toString('base64'), isBase64Encoded: true });
    // Assess
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).detail).toMatch(/UTF-8/);
  });

  it('answers 413 for a body over the limit, counting bytes not characters', async () => {
    // Prepare: 6 characters, 12 bytes
    const body = '"ÄÄÄÄ"';
    // Act
    const { response, seen } = await run({ headers: json, body }, { maxBytes: 8 });
    // Assess
    expect(response.statusCode).toBe(413);
    expect(bodyOf(response)).toMatchObject({ type: 'urn:govledger:problem:body-too-large', limit: 8 });
    expect(seen).toBeUndefined();
  });

  it('measures a base64 body by its decoded size', async () => {
    // Prepare: 10 bytes decoded, 16 characters encoded
    const body = Buffer.from('"12345678"').toString('base64');
    // Act
    const exact = await run({ headers: json, body, isBase64Encoded: true }, { maxBytes: 10 });
    const over = await run({ headers: json, body, isBase64Encoded: true }, { maxBytes: 9 });
    // Assess
    expect(exact.response.statusCode).toBe(200);
    expect(over.response.statusCode).toBe(413);
  });

  it('refuses nesting deeper than maxDepth before parsing, ignoring brackets inside strings', async () => {
    // Prepare
    const deep = `${'['.repeat(5)}${']'.repeat(5)}`;
    const stringy = JSON.stringify({ a: '[[[[[[[[[[' });
    // Act
    const refused = await run({ headers: json, body: deep }, { maxDepth: 4 });
    const accepted = await run({ headers: json, body: stringy }, { maxDepth: 4 });
    // Assess
    expect(refused.response.statusCode).toBe(400);
    expect(bodyOf(refused.response)).toMatchObject({ type: 'urn:govledger:problem:validation-failed', errors: [{ path: '/body' }] });
    expect(accepted.response.statusCode).toBe(200);
  });

  it('refuses a __proto__ key anywhere, which validators would silently drop', async () => {
    // Act
    const { response } = await run({ headers: json, body: '{"payload":{"a":{"__proto__":{"admin":true}}}}' });
    // Assess
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).errors).toEqual([{ path: '/body', message: 'the key "__proto__" is not allowed' }]);
  });

  it.each([[{ maxBytes: 0 }], [{ maxBytes: 1.5 }], [{ maxDepth: -1 }], [{ maxBytes: '10' as unknown as number }]])('refuses invalid options %j', (opts) => {
    // Act / Assess
    expect(() => jsonBody(opts)).toThrow(TypeError);
  });
});

describe('jsonResponse', () => {
  it('serializes JSON with Cache-Control: no-store', () => {
    // Act
    const response = serializeResult({ statusCode: 201, body: { a: 1 }, headers: { 'X-Correlation-Id': 'c' } }, 'no-store');
    // Assess
    expect(response).toEqual({ statusCode: 201, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'X-Correlation-Id': 'c' }, body: '{"a":1}' });
  });

  it('passes typed text through and base64-encodes bytes', () => {
    // Act
    const text = serializeResult({ statusCode: 200, body: 'vkey', headers: { 'content-type': 'text/plain' } }, 'no-store');
    const bytes = serializeResult({ statusCode: 200, body: new Uint8Array([1, 2, 3]), headers: { 'Content-Type': 'application/octet-stream' } }, 'no-store');
    // Assess
    expect(text.body).toBe('vkey');
    expect(bytes).toMatchObject({ body: 'AQID', isBase64Encoded: true });
  });

  it('lets a handler override Cache-Control, whatever the header case', () => {
    // Act
    const response = serializeResult({ statusCode: 200, body: {}, headers: { 'cache-control': 'public, max-age=60' } }, 'no-store');
    // Assess
    expect(response.headers).toEqual({ 'Content-Type': 'application/json', 'cache-control': 'public, max-age=60' });
  });

  it('answers a 500 problem when the handler returns something else than a result', async () => {
    // Prepare
    const handler = middy<HttpEvent, HttpResponse>().use(problemResponses({ logger: memoryLogger() })).use(jsonResponse()).handler((async () => 'oops') as never);
    // Act
    const response = await handler(httpEvent(), context);
    // Assess
    expect(response.statusCode).toBe(500);
  });
});
