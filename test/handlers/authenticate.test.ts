import middy from '@middy/core';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../lambdas/handlers/http/authenticate.js';
import { AuthenticationUnavailableError, UnauthorizedError } from '../../lambdas/handlers/http/http-errors.js';
import type { HttpEvent, HttpResponse } from '../../lambdas/handlers/http/http-types.js';
import { jsonResponse } from '../../lambdas/handlers/http/json-response.js';
import { problemResponses } from '../../lambdas/handlers/http/problem-responses.js';
import { jwksTokenVerifier, localTokenVerifier, type TokenVerifier } from '../../lambdas/handlers/http/token-verifier.js';
import { routeById, type Route } from '../../lambdas/handlers/routes.js';
import { AUDIENCE, bodyOf, context, httpEvent, ISSUER, memoryLogger, tokenKit, type TokenKit } from './http-fixtures.js';

let kit: TokenKit;
beforeAll(async () => {
  kit = await tokenKit();
});

/** Runs `authenticate` for a route; the handler echoes the principal. */
async function call(authorization: string | undefined, options: { route?: Route; tenant?: string | null; verify?: TokenVerifier } = {}) {
  const route = options.route ?? routeById('appendRecords');
  const handler = middy<HttpEvent, HttpResponse>()
    .use(problemResponses({ logger: memoryLogger() }))
    .use(jsonResponse())
    .use(authenticate({ verify: options.verify ?? kit.verify, route }))
    .handler((async (event: HttpEvent) => ({ statusCode: 200, body: event.principal })) as never);
  const tenant = options.tenant === undefined ? 'acme' : options.tenant;
  const event = httpEvent({
    headers: authorization === undefined ? {} : { Authorization: authorization },
    ...(tenant === null ? {} : { pathParameters: { tenant } }),
  });
  return handler(event, context);
}

describe('authenticate', () => {
  it('admits a valid token and attaches its principal', async () => {
    // Prepare
    const token = await kit.mint({ sub: 'alice', tenants: ['acme', 'beta'], scope: 'records:write  records:read' });
    // Act
    const response = await call(`Bearer ${token}`);
    // Assess
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ subject: 'alice', tenants: ['acme', 'beta'], scopes: ['records:write', 'records:read'] });
  });

  it('accepts the scheme name in any case', async () => {
    // Act
    const response = await call(`bearer ${await kit.mint()}`);
    // Assess
    expect(response.statusCode).toBe(200);
  });

  it.each([
    ['no Authorization header', undefined],
    ['another scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ['an empty bearer', 'Bearer'],
  ])('answers 401 with a Bearer challenge for %s', async (_name, authorization) => {
    // Act
    const response = await call(authorization);
    // Assess
    expect(response.statusCode).toBe(401);
    expect(response.headers?.['WWW-Authenticate']).toBe('Bearer realm="govledger"');
    expect(bodyOf(response).type).toBe('urn:govledger:problem:unauthorized');
  });

  it('answers 401 invalid_token for a malformed token', async () => {
    // Act
    const response = await call('Bearer not a token');
    // Assess
    expect(response.statusCode).toBe(401);
    expect(response.headers?.['WWW-Authenticate']).toContain('error="invalid_token"');
  });

  it('answers 401 invalid_token for an expired token, saying so', async () => {
    // Prepare
    const token = await kit.mint({ expiresIn: -3600 });
    // Act
    const response = await call(`Bearer ${token}`);
    // Assess
    expect(response.statusCode).toBe(401);
    expect(response.headers?.['WWW-Authenticate']).toContain('error="invalid_token"');
    expect(bodyOf(response).detail).toBe('the bearer token has expired');
  });

  it('answers 401 for a token signed with another key', async () => {
    // Prepare
    const other = await tokenKit();
    // Act
    const response = await call(`Bearer ${await other.mint()}`);
    // Assess
    expect(response.statusCode).toBe(401);
    expect(bodyOf(response).detail).toBe('the bearer token is invalid');
  });

  it('answers 401 for an unsigned (alg none) token', async () => {
    // Prepare
    const token = new UnsecuredJWT({ tenants: ['acme'], scope: 'records:write' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('mallory').setExpirationTime('1h').encode();
    // Act
    const response = await call(`Bearer ${token}`);
    // Assess
    expect(response.statusCode).toBe(401);
  });

  it.each([
    ['another issuer', { issuer: 'someone-else' }],
    ['another audience', { audience: 'another-api' }],
    ['a tenants claim that is not a list', { tenants: 'acme' }],
  ])('answers 401 for %s', async (_name, claims) => {
    // Act
    const response = await call(`Bearer ${await kit.mint(claims)}`);
    // Assess
    expect(response.statusCode).toBe(401);
  });

  it('answers 403 insufficient_scope when a required scope is missing', async () => {
    // Prepare
    const token = await kit.mint({ scope: 'records:read proofs:read' });
    // Act
    const response = await call(`Bearer ${token}`);
    // Assess
    expect(response.statusCode).toBe(403);
    expect(bodyOf(response).type).toBe('urn:govledger:problem:insufficient-scope');
    expect(response.headers?.['WWW-Authenticate']).toBe('Bearer realm="govledger", error="insufficient_scope", scope="records:write"');
  });

  it('does not treat admin as a wildcard scope', async () => {
    // Act
    const response = await call(`Bearer ${await kit.mint({ scope: 'admin' })}`);
    // Assess
    expect(response.statusCode).toBe(403);
  });

  it('answers another tenant with the very same 404 as a missing resource, before checking scopes', async () => {
    // Prepare
    const token = await kit.mint({ tenants: ['acme'], scope: '' });
    // Act
    const other = await call(`Bearer ${token}`, { tenant: 'globex' });
    // Assess
    expect(other.statusCode).toBe(404);
    expect(bodyOf(other)).toEqual({ type: 'urn:govledger:problem:not-found', title: 'Not found', status: 404, detail: 'no such resource', requestId: 'req-0001' });
  });

  it('answers 404 when a tenant route arrives without its tenant parameter', async () => {
    // Act
    const response = await call(`Bearer ${await kit.mint()}`, { tenant: null });
    // Assess
    expect(response.statusCode).toBe(404);
  });

  it('checks only scopes on a route without a tenant', async () => {
    // Prepare
    const route: Route = { method: 'GET', path: '/v1/admin', operationId: 'admin', scopes: ['admin'], auth: true };
    // Act
    const admitted = await call(`Bearer ${await kit.mint({ tenants: [], scope: 'admin' })}`, { route, tenant: null });
    // Assess
    expect(admitted.statusCode).toBe(200);
  });

  it('answers 503 with Retry-After when the verifier cannot reach the issuer', async () => {
    // Prepare
    const verify: TokenVerifier = async () => {
      throw new AuthenticationUnavailableError('down');
    };
    // Act
    const response = await call('Bearer abc', { verify });
    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('1');
  });

  it.each([
    [{ verify: undefined, route: routeById('appendRecords') }],
    [{ verify: async () => ({ subject: '', tenants: [], scopes: [] }), route: { path: '/x', scopes: 'admin' as never } }],
    [{ verify: async () => ({ subject: '', tenants: [], scopes: [] }), route: undefined }],
  ])('refuses invalid options %#', (opts) => {
    // Act / Assess
    expect(() => authenticate(opts)).toThrow(TypeError);
  });
});

describe('localTokenVerifier', () => {
  it('refuses to be built without an audience or client id', async () => {
    // Prepare
    const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    // Act / Assess
    expect(() => localTokenVerifier(publicKey, { issuer: ISSUER })).toThrow(TypeError);
    expect(() => localTokenVerifier(publicKey, { issuer: '', audience: AUDIENCE })).toThrow(TypeError);
  });

  it('refuses a token that never expires', async () => {
    // Prepare
    const token = await new SignJWT({ tenants: ['acme'] }).setProtectedHeader({ alg: 'EdDSA' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('bob').sign(kit.privateKey);
    // Act
    const result = kit.verify(token);
    // Assess
    await expect(result).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('treats a token without tenants or scope as granting nothing', async () => {
    // Prepare
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('bob').setExpirationTime('5m').sign(kit.privateKey);
    // Act
    const principal = await kit.verify(token);
    // Assess
    expect(principal).toEqual({ subject: 'bob', tenants: [], scopes: [] });
  });
});

describe('jwksTokenVerifier', () => {
  const URL_ = 'https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json';

  async function cognito() {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const fetch = async () => new Response(JSON.stringify({ keys: [jwk] }), { headers: { 'content-type': 'application/json' } });
    const mint = (claims: Record<string, unknown>) =>
      new SignJWT({ token_use: 'access', scope: 'records:read', tenants: ['acme'], ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setSubject('carol').setExpirationTime('5m').sign(privateKey);
    return { fetch, mint };
  }

  it('verifies a Cognito-style access token against the JWKS, checking client_id', async () => {
    // Prepare
    const { fetch, mint } = await cognito();
    const verify = jwksTokenVerifier(URL_, { issuer: ISSUER, clientId: 'app-1', fetch });
    // Act
    const principal = await verify(await mint({ client_id: 'app-1' }));
    const refused = verify(await mint({ client_id: 'app-2' }));
    // Assess
    expect(principal).toEqual({ subject: 'carol', tenants: ['acme'], scopes: ['records:read'] });
    await expect(refused).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('reports an unreachable JWKS as unavailable, not as a bad token', async () => {
    // Prepare
    const { mint } = await cognito();
    const verify = jwksTokenVerifier(URL_, { issuer: ISSUER, clientId: 'app-1', fetch: async () => { throw new TypeError('fetch failed'); } });
    // Act
    const result = verify(await mint({ client_id: 'app-1' }));
    // Assess
    await expect(result).rejects.toBeInstanceOf(AuthenticationUnavailableError);
  });
});
