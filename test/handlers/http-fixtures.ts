/**
 * Test fixtures for the HTTP layer: API Gateway v2 events, a capturing
 * logger, and real EdDSA tokens minted with jose.
 */
import type { Context } from 'aws-lambda';
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { HttpEvent, HttpResponse } from '../../lambdas/handlers/http/http-types.js';
import type { Logger } from '../../lambdas/handlers/http/logger.js';
import { localTokenVerifier, type TokenVerifier } from '../../lambdas/handlers/http/token-verifier.js';

export const ISSUER = 'govledger-test';
export const AUDIENCE = 'govledger-api';

export interface EventInit {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
}

/** A payload v2.0 event as API Gateway (or the local bridge) delivers it. */
export function httpEvent(init: EventInit = {}): HttpEvent {
  const method = init.method ?? 'POST';
  const path = init.path ?? '/v1/tenants/acme/records';
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(init.query ?? {}).toString(),
    headers: Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    ...(init.query ? { queryStringParameters: init.query } : {}),
    ...(init.pathParameters ? { pathParameters: init.pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'req-0001',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
    isBase64Encoded: init.isBase64Encoded ?? false,
  };
}

export const context = {} as Context;

/** A logger that keeps what it was told. */
export function memoryLogger(): Logger & { lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  return {
    lines,
    error: (message, fields = {}) => lines.push({ level: 'error', message, fields: { ...fields } }),
    warn: (message, fields = {}) => lines.push({ level: 'warn', message, fields: { ...fields } }),
  };
}

/** The parsed body of a response. */
export function bodyOf(response: HttpResponse): Record<string, unknown> {
  return JSON.parse(response.body ?? 'null') as Record<string, unknown>;
}

export interface TokenKit {
  readonly privateKey: CryptoKey;
  readonly verify: TokenVerifier;
  mint(claims?: { sub?: string; tenants?: unknown; scope?: string; expiresIn?: number; issuer?: string; audience?: string }): Promise<string>;
}

/** A fresh EdDSA key pair, a verifier for it and a token minter. */
export async function tokenKit(): Promise<TokenKit> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const verify = localTokenVerifier(publicKey, { issuer: ISSUER, audience: AUDIENCE });
  const mint: TokenKit['mint'] = async (claims = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ tenants: claims.tenants ?? ['acme'], scope: claims.scope ?? 'records:write records:read proofs:read' })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer(claims.issuer ?? ISSUER)
      .setAudience(claims.audience ?? AUDIENCE)
      .setSubject(claims.sub ?? 'alice')
      .setIssuedAt(now - 60)
      .setExpirationTime(now + (claims.expiresIn ?? 600))
      .sign(privateKey);
  };
  return { privateKey, verify, mint };
}
