import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_TOKEN_AUDIENCE, LOCAL_TOKEN_ISSUER, LocalTokenIssuer } from '../../lambdas/local/local-tokens.js';
import { KeyFileError } from '../../lambdas/ports/errors.js';

let dataDir: string;
beforeEach(() => { dataDir = mkdtempSync(join(tmpdir(), 'govledger-tokens-')); });
afterEach(() => { rmSync(dataDir, { recursive: true, force: true }); });

const verifyOptions = { issuer: LOCAL_TOKEN_ISSUER, audience: LOCAL_TOKEN_AUDIENCE, algorithms: ['EdDSA'] };
const keyPath = () => join(dataDir, 'keys', 'api-token.key');

describe('LocalTokenIssuer.mintToken', () => {
  it('mints an EdDSA JWT that verifies against publicKey() with the local issuer and audience', async () => {
    // Prepare
    const issuer = await LocalTokenIssuer.open(dataDir);
    // Act
    const token = await issuer.mintToken({ tenants: ['acme', 'globex'], scopes: ['records:write', 'records:read'], subject: 'alice', ttlSeconds: 600 });
    // Assess
    const { payload, protectedHeader } = await jwtVerify(token, issuer.publicKey(), verifyOptions);
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: issuer.keyId });
    expect(payload).toMatchObject({ iss: 'govledger-local', aud: 'govledger-api', sub: 'alice', tenants: ['acme', 'globex'], scope: 'records:write records:read' });
    expect(payload.exp).toBe((payload.iat ?? 0) + 600);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('defaults to a one-hour token for local-operator', async () => {
    // Prepare
    const issuer = await LocalTokenIssuer.open(dataDir);
    // Act
    const token = await issuer.mintToken({ tenants: ['acme'], scopes: ['admin'] });
    // Assess
    const { payload } = await jwtVerify(token, issuer.publicKey(), verifyOptions);
    expect([payload.sub, (payload.exp ?? 0) - (payload.iat ?? 0)]).toEqual(['local-operator', 3600]);
  });

  it('is rejected for another audience and verifies through the JWK set by kid', async () => {
    // Prepare
    const issuer = await LocalTokenIssuer.open(dataDir);
    const token = await issuer.mintToken({ tenants: ['acme'], scopes: ['proofs:read'] });
    // Act
    const wrongAudience = await jwtVerify(token, issuer.publicKey(), { ...verifyOptions, audience: 'someone-else' }).catch((error: unknown) => error);
    const viaJwks = await jwtVerify(token, createLocalJWKSet({ keys: [issuer.publicJwk()] }), verifyOptions);
    // Assess
    expect(wrongAudience).toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
    expect(viaJwks.payload.scope).toBe('proofs:read');
    expect(issuer.publicJwk()).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: issuer.keyId, alg: 'EdDSA', use: 'sig' });
    expect(issuer.publicJwk()).not.toHaveProperty('d');
  });

  it.each([
    ['no tenant', { tenants: [], scopes: ['admin'] }, 'tenants must list at least one non-empty tenant'],
    ['an empty tenant', { tenants: [''], scopes: ['admin'] }, 'tenants must list at least one non-empty tenant'],
    ['a scope with a space', { tenants: ['acme'], scopes: ['records:read admin'] }, 'invalid scope "records:read admin"'],
    ['an empty scope', { tenants: ['acme'], scopes: [''] }, 'invalid scope ""'],
    ['a zero TTL', { tenants: ['acme'], scopes: ['admin'], ttlSeconds: 0 }, 'ttlSeconds must be a whole number from 1 to 2592000'],
    ['a fractional TTL', { tenants: ['acme'], scopes: ['admin'], ttlSeconds: 1.5 }, 'ttlSeconds must be a whole number from 1 to 2592000'],
  ])('refuses %s', async (_label, options, message) => {
    // Prepare
    const issuer = await LocalTokenIssuer.open(dataDir);
    // Act
    const attempt = issuer.mintToken(options);
    // Assess
    await expect(attempt).rejects.toThrow(message);
  });
});

describe('LocalTokenIssuer.open', () => {
  it('creates keys/api-token.key with mode 0600 on first use', async () => {
    // Act
    const issuer = await LocalTokenIssuer.open(dataDir);
    // Assess
    expect(issuer.path).toBe(keyPath());
    expect(readFileSync(keyPath(), 'utf8')).toMatch(/^govledger-api-token-ed25519-v1:[A-Za-z0-9+/]{43}=\n$/);
    if (process.platform !== 'win32') {
      expect(statSync(keyPath()).mode & 0o777).toBe(0o600);
      expect(statSync(join(dataDir, 'keys')).mode & 0o777).toBe(0o700);
    }
  });

  it('reuses the key file: a token minted before a reopen verifies after it, and the file is unchanged', async () => {
    // Prepare
    const first = await LocalTokenIssuer.open(dataDir);
    const token = await first.mintToken({ tenants: ['acme'], scopes: ['records:read'] });
    const before = readFileSync(keyPath());
    // Act
    const second = await LocalTokenIssuer.open(dataDir);
    // Assess
    await expect(jwtVerify(token, second.publicKey(), verifyOptions)).resolves.toBeDefined();
    expect(second.keyId).toBe(first.keyId);
    expect(readFileSync(keyPath())).toEqual(before);
    expect(decodeProtectedHeader(token).kid).toBe(second.keyId);
  });

  it('does not create a key when create is false, and refuses a key file others can read', async () => {
    // Act
    const missing = LocalTokenIssuer.open(dataDir, { create: false });
    // Assess
    await expect(missing).rejects.toThrow(KeyFileError);
    await LocalTokenIssuer.open(dataDir);
    if (process.platform === 'win32') return;
    chmodSync(keyPath(), 0o644);
    await expect(LocalTokenIssuer.open(dataDir)).rejects.toThrow('permissions 644 let group or others access the key');
  });
});
