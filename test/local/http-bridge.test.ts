import { request, type IncomingMessage } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startHttpServer, type Dispatch, type HttpServer } from '../../lambdas/local/http-bridge.js';

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Starts a bridge whose dispatch records each event and answers with `reply`. */
async function bridge(reply: Dispatch = async () => ({ statusCode: 204 }), maxBodyBytes = 1024, onError = vi.fn()) {
  const events: APIGatewayProxyEventV2[] = [];
  server = await startHttpServer({ port: 0, maxBodyBytes, onError, dispatch: (event) => { events.push(event); return reply(event); } });
  return { url: server.url, events, onError };
}

/** Sends a request with node:http (exact control over headers and chunks) and collects the response. */
function send(url: string, options: { method?: string; path?: string; headers?: Record<string, string | string[]>; chunks?: Buffer[] }) {
  return new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
    const req = request(`${url}${options.path ?? '/'}`, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

describe('startHttpServer', () => {
  it('turns a request into a payload v2.0 event: method, paths, query, lower-case headers, cookies, JSON body', async () => {
    // Prepare
    const { url, events } = await bridge();
    // Act
    await fetch(`${url}/v1/tenants/acme/records?stream=policies&tag=a&tag=b%20c`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'req-1', 'X-Trace': 't1', Cookie: 'a=1; b=2' },
      body: JSON.stringify({ stream: 'policies', payload: { title: 'Ünïcode' } }),
    });
    // Assess
    const [event] = events;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/v1/tenants/acme/records',
      rawQueryString: 'stream=policies&tag=a&tag=b%20c',
      queryStringParameters: { stream: 'policies', tag: 'a,b c' },
      cookies: ['a=1', 'b=2'],
      headers: { 'content-type': 'application/json', 'idempotency-key': 'req-1', 'x-trace': 't1' },
      requestContext: { http: { method: 'POST', path: '/v1/tenants/acme/records', sourceIp: '127.0.0.1' }, stage: '$default' },
      body: '{"stream":"policies","payload":{"title":"Ünïcode"}}',
      isBase64Encoded: false,
    });
    expect(event?.headers.cookie).toBeUndefined();
    expect(event?.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event?.requestContext.time).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
  });

  it('joins duplicate headers with commas and leaves out an absent query and body', async () => {
    // Prepare
    const { url, events } = await bridge();
    // Act
    await send(url, { path: '/healthz', headers: { 'X-Tag': ['one', 'two'] } });
    // Assess
    const [event] = events;
    expect(event?.headers['x-tag']).toBe('one,two');
    expect([event?.rawQueryString, event?.queryStringParameters, event?.body, event?.isBase64Encoded]).toEqual(['', undefined, undefined, false]);
  });

  it.each([
    ['binary content', 'application/octet-stream', Buffer.from('plain text')],
    ['bytes that are not UTF-8', 'text/plain', Buffer.from([0xff, 0xfe, 0x00, 0x41])],
  ])('sends %s base64-encoded', async (_label, contentType, bytes) => {
    // Prepare
    const { url, events } = await bridge();
    // Act
    await send(url, { method: 'PUT', headers: { 'content-type': contentType }, chunks: [bytes] });
    // Assess
    expect(events[0]?.isBase64Encoded).toBe(true);
    expect(Buffer.from(events[0]?.body ?? '', 'base64')).toEqual(bytes);
  });

  it('writes back status, headers, cookies and a base64 body as bytes', async () => {
    // Prepare
    const reply: APIGatewayProxyStructuredResultV2 = {
      statusCode: 201,
      headers: { 'content-type': 'application/octet-stream', 'idempotent-replayed': 'true' },
      cookies: ['s=1; HttpOnly', 't=2'],
      body: Buffer.from([0, 1, 2, 255]).toString('base64'),
      isBase64Encoded: true,
    };
    const { url } = await bridge(async () => reply);
    // Act
    const res = await send(url, { method: 'POST', headers: { 'content-type': 'application/json' }, chunks: [Buffer.from('{}')] });
    // Assess
    expect(res.status).toBe(201);
    expect(res.headers).toMatchObject({ 'content-type': 'application/octet-stream', 'idempotent-replayed': 'true', 'content-length': '4' });
    expect(res.headers['set-cookie']).toEqual(['s=1; HttpOnly', 't=2']);
    expect(res.headers['apigw-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it.each([
    ['declared by Content-Length', [Buffer.alloc(2048, 1)]],
    ['found while streaming a chunked body', [Buffer.alloc(600, 1), Buffer.alloc(600, 1), Buffer.alloc(600, 1)]],
  ])('answers 413 problem+json to a body over the limit %s, without dispatching', async (_label, chunks) => {
    // Prepare
    const { url, events } = await bridge(undefined, 1000);
    const chunked: Record<string, string> = chunks.length > 1 ? { 'transfer-encoding': 'chunked' } : {};
    // Act
    const res = await send(url, { method: 'POST', headers: { 'content-type': 'application/json', ...chunked }, chunks });
    // Assess
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body.toString())).toEqual({
      type: 'urn:govledger:problem:body-too-large', title: 'Request body too large', status: 413, detail: 'the request body exceeds 1000 bytes',
    });
    expect(events).toEqual([]);
  });

  it('answers 413 while the client is still sending, long before the body ends', async () => {
    // Prepare
    const { url, events } = await bridge(undefined, 1000);
    let sent = 0;
    // Act: a client that would send 64 MiB, one 64 KiB chunk per tick, until it gets an answer
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/v1/tenants/acme/records`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, agent: false });
      let answered = false;
      req.on('response', (res) => { answered = true; resolve(res.statusCode ?? 0); res.resume(); req.destroy(); });
      req.on('error', (error) => { if (!answered) reject(error); });
      const pump = (): void => {
        if (answered || sent >= 64 << 20) return;
        sent += 64 << 10;
        req.write(Buffer.alloc(64 << 10), () => setImmediate(pump));
      };
      pump();
    });
    // Assess
    expect(status).toBe(413);
    expect(sent).toBeLessThan(64 << 20);
    expect(events).toEqual([]);
  });

  it('accepts a body of exactly the limit', async () => {
    // Prepare
    const { url, events } = await bridge(undefined, 1000);
    // Act
    const res = await send(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, chunks: [Buffer.alloc(500, 0x61), Buffer.alloc(500, 0x61)] });
    // Assess
    expect(res.status).toBe(204);
    expect(events[0]?.body).toBe('a'.repeat(1000));
  });

  it.each([
    ['throws', (): Promise<APIGatewayProxyStructuredResultV2> => { throw new Error('secret detail'); }],
    ['rejects', () => Promise.reject(new Error('secret detail'))],
    ['returns a non-string body', async () => ({ statusCode: 200, body: { not: 'a string' } as unknown as string })],
  ])('answers a generic 500 problem when dispatch %s, tells onError, and keeps serving', async (_label, reply) => {
    // Prepare
    const { url, onError } = await bridge(reply);
    // Act
    const res = await send(url, { path: '/v1/tenants/acme/records/r1' });
    const next = await send(url, { path: '/healthz' });
    // Assess
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe('application/problem+json');
    const problem = JSON.parse(res.body.toString()) as { type: string; status: number; detail: string };
    expect(problem).toMatchObject({ type: 'urn:govledger:problem:internal-error', title: 'Internal server error', status: 500 });
    expect(problem.detail).toContain(String(res.headers['apigw-requestid']));
    expect(res.body.toString()).not.toContain('secret');
    expect(onError).toHaveBeenCalledTimes(2);
    expect((onError.mock.calls[0] as [Error, APIGatewayProxyEventV2])[1].requestContext.requestId).toBe(res.headers['apigw-requestid']);
    expect(next.status).toBe(500);
  });

  it('drops a request whose client aborts mid-body without dispatching, and keeps serving', async () => {
    // Prepare
    const { url, events } = await bridge(undefined, 1 << 20);
    const req = request(`${url}/v1/tenants/acme/records`, { method: 'POST', headers: { 'content-length': '100000' } });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(1000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Act
    req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await send(url, { path: '/healthz' });
    // Assess
    expect(events.map((e) => e.rawPath)).toEqual(['/healthz']);
    expect(after.status).toBe(204);
  });

  it('survives a client that leaves while dispatch is running', async () => {
    // Prepare
    let finish: (() => void) | undefined;
    const slow: Dispatch = (event) => event.rawPath !== '/slow'
      ? Promise.resolve({ statusCode: 204 })
      : new Promise((resolve) => { finish = () => resolve({ statusCode: 200, body: 'late' }); });
    const { url, onError } = await bridge(slow);
    const req = request(`${url}/slow`);
    req.on('error', () => undefined).end();
    await vi.waitFor(() => expect(finish).toBeDefined());
    // Act
    req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    finish?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const after = await send(url, { path: '/healthz' });
    // Assess
    expect(after.status).toBe(204);
    expect(onError).not.toHaveBeenCalled();
  });

  it('refuses new connections after close, and close is idempotent', async () => {
    // Prepare
    const { url } = await bridge();
    await send(url, {});
    // Act
    await server?.close();
    await server?.close();
    // Assess
    await expect(send(url, {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
