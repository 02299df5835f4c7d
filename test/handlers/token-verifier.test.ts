import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UnauthorizedError } from '../../lambdas/handlers/http/http-errors.js';
import { localTokenVerifier } from '../../lambdas/handlers/http/token-verifier.js';
import { AUDIENCE, ISSUER, tokenKit, type TokenKit } from './http-fixtures.js';

let kit: TokenKit;
let otherKey: CryptoKey;
beforeAll(async () => {
  kit = await tokenKit();
  ({ publicKey: otherKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' }));
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** Counts signature checks: jose verifies EdDSA through WebCrypto. */
function signatureChecks() {
  return vi.spyOn(globalThis.crypto.subtle, 'verify');
}

describe('token verifier cache', () => {
  it('checks a token\'s signature once while it is remembered, and answers the same principal', async () => {
    // Prepare
    const token = await kit.mint({ sub: 'alice', tenants: ['acme'], scope: 'records:write' });
    const checks = signatureChecks();
    // Act
    const principals = [await kit.verify(token), await kit.verify(token), await kit.verify(token)];
    // Assess
    expect(checks).toHaveBeenCalledTimes(1);
    expect(principals).toEqual(Array(3).fill({ subject: 'alice', tenants: ['acme'], scopes: ['records:write'] }));
    expect(Object.isFrozen(principals[0])).toBe(true);
  });

  it('checks the signature again once cacheTtlMs has passed', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['Date'] });
    const token = await kit.mint();
    const checks = signatureChecks();
    await kit.verify(token);
    // Act
    vi.setSystemTime(Date.now() + 59_000);
    await kit.verify(token);
    vi.setSystemTime(Date.now() + 2_000);
    await kit.verify(token);
    // Assess
    expect(checks).toHaveBeenCalledTimes(2);
  });

  it('never accepts a remembered token past its exp', async () => {
    // Prepare: exp in 30 s, TTL one hour
    vi.useFakeTimers({ toFake: ['Date'] });
    const token = await kit.mint({ expiresIn: 30 });
    await kit.verify(token);
    // Act: 30 s + the 5 s clock tolerance + 1 s later
    vi.setSystemTime(Date.now() + 36_000);
    const late = kit.verify(token);
    // Assess
    await expect(late).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(late).rejects.toThrow('expired');
  });

  it('does not remember refusals: a token with a bad signature is refused every time', async () => {
    // Prepare: a verifier for another key refuses the kit's tokens
    const other = localTokenVerifier(otherKey, { issuer: ISSUER, audience: AUDIENCE });
    const token = await kit.mint();
    const checks = signatureChecks();
    // Act
    const outcomes = await Promise.allSettled([other(token), other(token)]);
    // Assess
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(checks).toHaveBeenCalledTimes(2);
  });

  it('checks every time with cacheTtlMs 0, and refuses a bad cache size', async () => {
    // Prepare
    const { privateKey, publicKey: key } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const uncached = localTokenVerifier(key, { issuer: ISSUER, audience: AUDIENCE, cacheTtlMs: 0 });
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('bob').setExpirationTime('5m').sign(privateKey);
    const checks = signatureChecks();
    // Act
    const principals = [await uncached(token), await uncached(token)];
    // Assess
    expect(principals.map((p) => p.subject)).toEqual(['bob', 'bob']);
    expect(checks).toHaveBeenCalledTimes(2);
    expect(() => localTokenVerifier(key, { issuer: ISSUER, audience: AUDIENCE, cacheEntries: 0 })).toThrow(RangeError);
    expect(() => localTokenVerifier(key, { issuer: ISSUER, audience: AUDIENCE, cacheTtlMs: -1 })).toThrow(RangeError);
  });
});
