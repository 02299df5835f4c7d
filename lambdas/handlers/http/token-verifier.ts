/**
 * Bearer token verification with jose: locally against one public key (the
 * key `govledger token` signs with), on AWS against the Cognito user pool's
 * JWKS. Both turn the claims into a `Principal`: `sub` → subject, `tenants`
 * (array of tenant ids) → tenants, `scope` (space-separated) → scopes.
 *
 * Contract of a `TokenVerifier`: resolves with the principal, rejects with
 * `UnauthorizedError` for a token it refuses (bad signature, expired, wrong
 * issuer/audience/client, malformed claims) and with
 * `AuthenticationUnavailableError` when the issuer's keys cannot be fetched.
 *
 * Both remember the tokens they accepted, by their full text (signature
 * included, so no other string matches), for `cacheTtlMs` and never past
 * the token's `exp`: a client sending the same token with every request pays
 * for one signature check per minute, not per request. Refusals are never
 * remembered. A token verified once stays accepted for up to the TTL even if
 * the issuer drops its key meanwhile (the JWKS itself is cached for longer).
 */
import QuickLRU from 'quick-lru';
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type CryptoKey, type FetchImplementation, type JWTPayload, type JWTVerifyGetKey, type KeyObject } from 'jose';
import * as z from 'zod';
import { AuthenticationUnavailableError, UnauthorizedError } from './http-errors.js';
import type { Principal } from './http-types.js';

export type TokenVerifier = (token: string) => Promise<Principal>;

export interface TokenVerifierOptions {
  /** Required `iss`. */
  readonly issuer: string;
  /** Required `aud` (ID tokens, local tokens). */
  readonly audience?: string | readonly string[];
  /** Required `client_id` (Cognito access tokens carry no `aud`). */
  readonly clientId?: string;
  /** Accepted `alg`s (local default EdDSA/Ed25519, JWKS default RS256 as Cognito signs). */
  readonly algorithms?: readonly string[];
  /** Clock skew tolerated on `exp`/`nbf`, seconds (default 5). */
  readonly clockToleranceSeconds?: number;
  /** How long an accepted token is remembered, ms, never past its `exp` (default 60 000; 0: verify every time). */
  readonly cacheTtlMs?: number;
  /** Accepted tokens remembered at most (default 10 000, least recently used dropped first). */
  readonly cacheEntries?: number;
}

const TEXT = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;
const claimsSchema = z.object({
  sub: z.string().regex(TEXT),
  tenants: z.array(z.string().max(255)).max(1000).default([]),
  scope: z.string().max(4096).default(''),
  client_id: z.string().optional(),
});

/** jose codes that mean "the key source failed", not "the token is bad". */
const UNAVAILABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

function checkOptions(name: string, options: TokenVerifierOptions): void {
  if (typeof options.issuer !== 'string' || options.issuer === '') throw new TypeError(`${name}: issuer is required`);
  if (options.audience === undefined && options.clientId === undefined) {
    throw new TypeError(`${name}: audience or clientId is required, or tokens minted for any client would pass`);
  }
}

/** A verified token's principal and its `exp` in epoch ms. */
type Verified = { readonly principal: Principal; readonly expiresAt: number };

/** Remembers accepted tokens (see the module doc); refusals pass through and are never remembered. */
function remembering(verify: (token: string) => Promise<Verified>, options: TokenVerifierOptions): TokenVerifier {
  const ttl = options.cacheTtlMs ?? 60_000;
  const max = options.cacheEntries ?? 10_000;
  if (!(Number.isFinite(ttl) && ttl >= 0) || !(Number.isSafeInteger(max) && max >= 1)) {
    throw new RangeError('cacheTtlMs must be ≥ 0 and cacheEntries a whole number ≥ 1');
  }
  const accepted = new QuickLRU<string, { principal: Principal; until: number }>({ maxSize: max });
  return async (token) => {
    const known = accepted.get(token);
    if (known !== undefined && Date.now() < known.until) return known.principal;
    const { principal, expiresAt } = await verify(token);
    const until = Math.min(Date.now() + ttl, expiresAt);
    if (until > Date.now()) accepted.set(token, { principal, until });
    else accepted.delete(token);
    return principal;
  };
}

function verifierFor(key: KeyObject | CryptoKey | Uint8Array | JWTVerifyGetKey, options: TokenVerifierOptions, algorithms: readonly string[], remote: boolean): TokenVerifier {
  return remembering(async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as KeyObject, {
        issuer: options.issuer,
        ...(options.audience !== undefined ? { audience: [options.audience].flat() } : {}),
        algorithms: [...algorithms],
        clockTolerance: options.clockToleranceSeconds ?? 5,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      if (remote && (!(error instanceof errors.JOSEError) || UNAVAILABLE.has(error.code))) {
        throw new AuthenticationUnavailableError('the token issuer\'s keys could not be fetched', { cause: error });
      }
      if (!(error instanceof errors.JOSEError)) throw error;
      const reason = error instanceof errors.JWTExpired ? 'the bearer token has expired' : 'the bearer token is invalid';
      throw new UnauthorizedError(reason, { cause: error, invalidToken: true });
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new UnauthorizedError('the bearer token\'s claims are malformed', { cause: claims.error, invalidToken: true });
    if (options.clientId !== undefined && claims.data.client_id !== options.clientId) {
      throw new UnauthorizedError('the bearer token was issued to another client', { invalidToken: true });
    }
    const principal: Principal = Object.freeze({
      subject: claims.data.sub,
      tenants: Object.freeze(claims.data.tenants),
      scopes: Object.freeze(claims.data.scope.split(' ').filter((s) => s !== '')),
    });
    return { principal, expiresAt: (payload.exp ?? 0) * 1000 };
  }, options);
}

/**
 * Verifies tokens signed by one known key (the embedded default).
 *
 * @example
 * const verify = localTokenVerifier(publicKey, { issuer: 'govledger-local', audience: 'govledger' });
 * const { subject, tenants, scopes } = await verify(token);
 */
export function localTokenVerifier(publicKey: KeyObject | CryptoKey | Uint8Array, options: TokenVerifierOptions): TokenVerifier {
  checkOptions('localTokenVerifier', options);
  return verifierFor(publicKey, options, options.algorithms ?? ['EdDSA', 'Ed25519'], false);
}

export interface JwksTokenVerifierOptions extends TokenVerifierOptions {
  /** JWKS fetch timeout, ms (default 3000). */
  readonly timeoutMs?: number;
  /** How long fetched keys are trusted, ms (default 10 minutes). */
  readonly cacheMaxAgeMs?: number;
  /** A fetch to use instead of the global one (tests). */
  readonly fetch?: FetchImplementation;
}

/**
 * Verifies tokens against a remote JWKS (Cognito:
 * `https://cognito-idp.<region>.amazonaws.com/<poolId>/.well-known/jwks.json`),
 * fetched once and cached across invocations of a warm Lambda.
 *
 * @example
 * const verify = jwksTokenVerifier(`${issuer}/.well-known/jwks.json`, { issuer, clientId });
 */
export function jwksTokenVerifier(url: string | URL, options: JwksTokenVerifierOptions): TokenVerifier {
  checkOptions('jwksTokenVerifier', options);
  const jwks = createRemoteJWKSet(new URL(url), {
    timeoutDuration: options.timeoutMs ?? 3000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    ...(options.fetch ? { [customFetch]: options.fetch } : {}),
  });
  return verifierFor(jwks, options, options.algorithms ?? ['RS256'], true);
}
