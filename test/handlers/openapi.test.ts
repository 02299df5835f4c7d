import { describe, expect, it } from 'vitest';
import { openApiHandler } from '../../lambdas/handlers/get-openapi.js';
import { healthzHandler } from '../../lambdas/handlers/healthz.js';
import { buildOpenApiDocument } from '../../lambdas/handlers/openapi.js';
import { ROUTES } from '../../lambdas/handlers/routes.js';
import { bodyOf, context, httpEvent, memoryLogger } from './http-fixtures.js';

type Json = Record<string, any>;

/** Every `$ref` string anywhere in a value. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

/** Resolves a local JSON Pointer (`#/a/b`) against the document. */
function resolve(doc: Json, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);
}

const openApiPath = (path: string) => path.replace('{tile+}', '{tile}');

describe('buildOpenApiDocument', () => {
  it('is an OpenAPI 3.1 document that survives a JSON round trip unchanged', () => {
    // Act
    const doc = buildOpenApiDocument();
    const text = JSON.stringify(doc);
    // Assess
    expect(JSON.parse(text)).toEqual(doc);
    expect(doc.openapi).toBe('3.1.0');
    expect(text).not.toContain('"$schema"');
  });

  it('lists every route of the table, with its operationId and scopes, and nothing else', () => {
    // Prepare
    const doc = buildOpenApiDocument() as Json;
    // Act
    const operations = Object.entries(doc.paths as Json).flatMap(([path, methods]) => Object.entries(methods as Json).map(([method, op]) => ({ path, method, op: op as Json })));
    // Assess
    expect(operations).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      const op = doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
      expect(op?.operationId, `${route.method} ${route.path}`).toBe(route.operationId);
      expect(op.security).toEqual(route.auth ? [{ bearer: [...route.scopes] }] : []);
    }
  });

  it('declares exactly the path parameters of each template, as required', () => {
    // Prepare
    const doc = buildOpenApiDocument() as Json;
    for (const route of ROUTES) {
      // Act
      const op = doc.paths[openApiPath(route.path)][route.method.toLowerCase()];
      const declared = (op.parameters as Json[]).filter((p) => p.in === 'path');
      // Assess
      const expected = [...route.path.matchAll(/\{(\w+)\+?\}/g)].map((m) => m[1]);
      expect(declared.map((p) => p.name)).toEqual(expected);
      expect(declared.every((p) => p.required === true)).toBe(true);
    }
  });

  it('resolves every $ref inside the document', () => {
    // Prepare
    const doc = buildOpenApiDocument() as Json;
    // Act
    const unresolved = [...new Set(refs(doc))].filter((ref) => !ref.startsWith('#/') || resolve(doc, ref) === undefined);
    // Assess
    expect(refs(doc).length).toBeGreaterThan(10);
    expect(unresolved).toEqual([]);
  });

  it('documents the enforced append schema: strict objects, 1..100 records, required Idempotency-Key', () => {
    // Prepare
    const doc = buildOpenApiDocument() as Json;
    // Act
    const op = doc.paths['/v1/tenants/{tenant}/records'].post;
    const schemas = doc.components.schemas;
    // Assess
    expect(op.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/AppendBody' });
    expect(schemas.RecordInput).toMatchObject({ additionalProperties: false, required: ['stream', 'payload'] });
    expect(schemas.RecordBatch.properties.records).toMatchObject({ minItems: 1, maxItems: 100 });
    expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }));
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '404', '409', '413', '415', '422', '503']));
  });

  it('documents query parameters from the query schemas, required ones as required', () => {
    // Prepare
    const doc = buildOpenApiDocument() as Json;
    // Act
    const params = doc.paths['/v1/tenants/{tenant}/proofs/consistency'].get.parameters as Json[];
    // Assess
    expect(params.filter((p) => p.in === 'query').map((p) => [p.name, p.required])).toEqual([
      ['from', true],
      ['to', true],
    ]);
  });

  it('names the problem types each error status can carry', () => {
    // Act
    const op = (buildOpenApiDocument() as Json).paths['/v1/tenants/{tenant}/records'].post;
    // Assess
    expect(op.responses['409'].description).toContain('urn:govledger:problem:revision-conflict');
    expect(op.responses['409'].content).toHaveProperty(['application/problem+json']);
  });
});

describe('openApiHandler', () => {
  it('serves the document as JSON without a token', async () => {
    // Prepare
    const handler = openApiHandler({ logger: memoryLogger(), document: { serverUrl: 'http://127.0.0.1:8787' } });
    // Act
    const response = await handler(httpEvent({ method: 'GET', path: '/v1/openapi.json' }), context);
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['Content-Type']).toBe('application/json');
    expect(bodyOf(response)).toMatchObject({ openapi: '3.1.0', servers: [{ url: 'http://127.0.0.1:8787' }] });
  });
});

describe('healthzHandler', () => {
  const get = httpEvent({ method: 'GET', path: '/healthz' });

  it('answers 200 ok when every probe answers', async () => {
    // Prepare
    const handler = healthzHandler({ logger: memoryLogger(), probes: { ledger: async () => undefined, keys: async () => 'fine' } });
    // Act
    const response = await handler(get, context);
    // Assess
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ status: 'ok', dependencies: { ledger: 'ok', keys: 'ok' } });
  });

  it('answers 503 degraded with Retry-After when a probe fails or hangs, without its error text', async () => {
    // Prepare
    const logger = memoryLogger();
    const handler = healthzHandler({
      logger,
      timeoutMs: 20,
      probes: { ledger: async () => { throw new Error('connect ECONNREFUSED 10.0.0.7'); }, keys: () => new Promise(() => undefined), objects: async () => undefined },
    });
    // Act
    const response = await handler(get, context);
    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('1');
    expect(bodyOf(response)).toEqual({ status: 'degraded', dependencies: { ledger: 'unavailable', keys: 'unavailable', objects: 'ok' } });
    expect(response.body).not.toContain('10.0.0.7');
    expect(logger.lines.map((l) => l.fields.dependency).sort()).toEqual(['keys', 'ledger']);
  });
});
