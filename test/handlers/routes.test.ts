import { describe, expect, it } from 'vitest';
import { MethodNotAllowedError, NotFoundError } from '../../lambdas/handlers/http/http-errors.js';
import { allowedMethods, matchRoute, resolveRoute, routeById, ROUTES } from '../../lambdas/handlers/routes.js';

/** A concrete path for a route template. */
const concrete = (path: string) => path.replace('{tenant}', 'acme').replace('{recordId}', 'rec-1').replace('{position}', '42').replace('{idempotencyKey}', 'key-1').replace('{tile+}', '0/x001/234.p/5');

describe('ROUTES', () => {
  it('lists every v1 route of DESIGN §3, the admin key routes and the OpenAPI document, once each', () => {
    // Prepare
    const expected = [
      'POST /v1/tenants/{tenant}/records',
      'GET /v1/tenants/{tenant}/records',
      'GET /v1/tenants/{tenant}/records/{recordId}',
      'GET /v1/tenants/{tenant}/records/{recordId}/history',
      'GET /v1/tenants/{tenant}/entries/{position}',
      'GET /v1/tenants/{tenant}/proofs/consistency',
      'GET /v1/tenants/{tenant}/commitments/{idempotencyKey}',
      'GET /v1/tenants/{tenant}/log/checkpoint',
      'GET /v1/tenants/{tenant}/log/tile/{tile+}',
      'GET /v1/tenants/{tenant}/log-key',
      'POST /v1/tenants/{tenant}/admin/keys/rotate',
      'POST /v1/tenants/{tenant}/admin/shred',
      'GET /v1/openapi.json',
      'GET /healthz',
    ];
    // Act
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    // Assess
    expect([...keys].sort()).toEqual([...expected].sort());
    expect(new Set(ROUTES.map((r) => r.operationId)).size).toBe(ROUTES.length);
  });

  it('requires a token and at least one scope on every route but /healthz and /v1/openapi.json', () => {
    // Act
    const open = ROUTES.filter((r) => !r.auth).map((r) => r.path);
    // Assess
    expect(open.sort()).toEqual(['/healthz', '/v1/openapi.json']);
    for (const r of ROUTES) expect(r.scopes.length > 0).toBe(r.auth);
    expect(routeById('appendRecords').scopes).toEqual(['records:write']);
  });
});

describe('matchRoute', () => {
  it.each(ROUTES.map((r) => [r.operationId, r] as const))('matches %s on a concrete path', (_id, route) => {
    // Act
    const match = matchRoute(route.method, concrete(route.path));
    // Assess
    expect(match?.route).toBe(route);
  });

  it('extracts and percent-decodes path parameters', () => {
    // Act
    const record = matchRoute('GET', '/v1/tenants/acme/records/r%3A1%40x');
    const commitment = matchRoute('get', '/v1/tenants/acme/commitments/key%20with%20spaces');
    // Assess
    expect(record?.pathParameters).toEqual({ tenant: 'acme', recordId: 'r:1@x' });
    expect(commitment?.route.operationId).toBe('getCommitment');
    expect(commitment?.pathParameters).toEqual({ tenant: 'acme', idempotencyKey: 'key with spaces' });
  });

  it('binds a greedy {tile+} to the rest of the path, named without the plus', () => {
    // Act
    const match = matchRoute('GET', '/v1/tenants/acme/log/tile/entries/x001/234.p/5');
    // Assess
    expect(match?.route.operationId).toBe('getTile');
    expect(match?.pathParameters).toEqual({ tenant: 'acme', tile: 'entries/x001/234.p/5' });
  });

  it('tells /records/{recordId} from /records/{recordId}/history and /log/checkpoint from /log-key', () => {
    // Act
    const ids = ['/v1/tenants/a/records/r', '/v1/tenants/a/records/r/history', '/v1/tenants/a/log/checkpoint', '/v1/tenants/a/log-key'].map(
      (p) => matchRoute('GET', p)?.route.operationId,
    );
    // Assess
    expect(ids).toEqual(['getRecord', 'getRecordHistory', 'getCheckpoint', 'getLogKey']);
  });

  it.each([
    ['dot-dot segment', '/v1/tenants/acme/records/../records'],
    ['encoded dot-dot', '/v1/tenants/acme/records/%2e%2e'],
    ['dot segment', '/v1/tenants/./records'],
    ['encoded slash in a parameter', '/v1/tenants/acme/records/a%2Fb'],
    ['encoded backslash', '/v1/tenants/acme/records/a%5Cb'],
    ['NUL byte', '/v1/tenants/acme/records/a%00'],
    ['traversal inside a tile path', '/v1/tenants/acme/log/tile/0/../../../etc/passwd'],
    ['encoded traversal inside a tile path', '/v1/tenants/acme/log/tile/0/%2e%2e/x'],
    ['empty segment', '/v1/tenants//records'],
    ['trailing slash', '/v1/tenants/acme/records/'],
    ['malformed percent-encoding', '/v1/tenants/acme/records/%E0%A4%A'],
    ['relative path', 'v1/tenants/acme/records'],
    ['extra segment', '/v1/tenants/acme/records/r/history/more'],
    ['prefix only', '/v1/tenants/acme'],
    ['case differs', '/V1/tenants/acme/records'],
  ])('refuses a %s', (_name, path) => {
    // Act
    const match = matchRoute('GET', path);
    // Assess
    expect(match).toBeUndefined();
  });

  it('does not match a known path with a method it lacks', () => {
    // Act
    const match = matchRoute('DELETE', '/v1/tenants/acme/records');
    // Assess
    expect(match).toBeUndefined();
  });
});

describe('allowedMethods', () => {
  it('lists the methods of a known path and none for an unknown one', () => {
    // Act
    const records = allowedMethods('/v1/tenants/acme/records');
    const unknown = allowedMethods('/v1/nothing');
    // Assess
    expect(records).toEqual(['GET', 'POST']);
    expect(unknown).toEqual([]);
  });
});

describe('resolveRoute', () => {
  it('answers 405 with Allow for a known path and a wrong method', () => {
    // Act
    const act = () => resolveRoute('PUT', '/v1/tenants/acme/records/rec-1');
    // Assess
    expect(act).toThrow(MethodNotAllowedError);
    try {
      act();
    } catch (error) {
      expect((error as MethodNotAllowedError).headers).toEqual({ Allow: 'GET' });
    }
  });

  it('answers 404 for an unknown path, and for a traversal attempt', () => {
    // Act / Assess
    expect(() => resolveRoute('GET', '/v2/anything')).toThrow(NotFoundError);
    expect(() => resolveRoute('POST', '/v1/tenants/acme/../other/records')).toThrow(NotFoundError);
  });

  it('returns the match when there is one', () => {
    // Act
    const { route, pathParameters } = resolveRoute('POST', '/v1/tenants/acme/records');
    // Assess
    expect(route.operationId).toBe('appendRecords');
    expect(pathParameters).toEqual({ tenant: 'acme' });
  });
});
