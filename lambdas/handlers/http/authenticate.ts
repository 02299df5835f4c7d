/**
 * `authenticate`: middy middleware that admits a request to a route. In
 * order: a `Bearer` token must be present (401) and verify (401, or 503 when
 * the issuer's keys are unreachable) → the `{tenant}` path parameter must be
 * one of the token's tenants, else 404 with the same detail as a missing
 * resource, so other tenants' existence never leaks → every scope the route
 * requires must be granted (403). Sets `event.principal`.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import type { Route } from '../routes.js';
import { InsufficientScopeError, NotFoundError, UnauthorizedError } from './http-errors.js';
import { header, type HttpEvent, type HttpResponse } from './http-types.js';
import type { TokenVerifier } from './token-verifier.js';

export interface AuthenticateOptions {
  /** Verifies a bearer token (see `localTokenVerifier`, `jwksTokenVerifier`). */
  readonly verify?: TokenVerifier;
  /** The route served: its scopes are required; a `{tenant}` in its path is checked. */
  readonly route?: Pick<Route, 'path' | 'scopes'>;
}

const defaults: AuthenticateOptions = { verify: undefined, route: undefined };
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * @example
 * middy(handler).use(authenticate({ verify, route: routeById('appendRecords') }));
 */
export function authenticate(opts: AuthenticateOptions): MiddlewareObj<HttpEvent, HttpResponse> {
  const options = { ...defaults, ...opts };
  const verify = options.verify;
  if (typeof verify !== 'function') throw new TypeError('authenticate: verify must be a function');
  const scopes = options.route?.scopes;
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) throw new TypeError('authenticate: route.scopes must be a string array');
  if (typeof options.route?.path !== 'string') throw new TypeError('authenticate: route.path must be a string');
  const tenantScoped = options.route.path.includes('{tenant}');

  const authenticateBefore = async (request: Request<HttpEvent, HttpResponse>): Promise<void> => {
    const { event } = request;
    const authorization = header(event, 'authorization');
    if (authorization === undefined || !/^Bearer( |$)/i.test(authorization) || authorization.slice(6).trim() === '') throw new UnauthorizedError();
    const token = BEARER.exec(authorization)?.[1];
    if (token === undefined) throw new UnauthorizedError('the Authorization header must be "Bearer <token>"', { invalidToken: true });
    const principal = await verify(token);
    const tenant = event.pathParameters?.tenant;
    if (tenantScoped && (tenant === undefined || !principal.tenants.includes(tenant))) throw new NotFoundError();
    const missing = scopes.filter((s) => !principal.scopes.includes(s));
    if (missing.length > 0) throw new InsufficientScopeError(scopes);
    event.principal = principal;
  };

  return { before: authenticateBefore };
}
