/**
 * The MasterKey contract (lambdas/ports/master-key.ts), run over every adapter.
 * `make` returns a fresh, independent master key on each call.
 */
import { describe, expect, it } from 'vitest';
import { KeyUnavailableError } from '../../lambdas/ports/errors.js';
import type { MasterKey } from '../../lambdas/ports/master-key.js';

const acme = { tenant: 'acme', kekVersion: 1 } as const;

/** Every single-bit flip, plus truncations and garbage: none may unwrap. */
function corruptions(wrapped: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < wrapped.length; i++) {
    const copy = new Uint8Array(wrapped);
    copy[i] = (copy[i] ?? 0) ^ 0x01;
    out.push(copy);
  }
  out.push(wrapped.subarray(0, wrapped.length - 1), wrapped.subarray(1), new Uint8Array([1, 2, 3]));
  return out;
}

export function masterKeyContract(name: string, make: () => Promise<MasterKey>): void {
  describe(`MasterKey contract: ${name}`, () => {
    it('round-trips a fresh 32-byte KEK and names itself', async () => {
      // Prepare
      const master = await make();
      // Act
      const { plaintext, wrapped } = await master.generateKek(acme);
      const unwrapped = await master.unwrapKek(wrapped, acme);
      // Assess
      expect(master.keyId).toMatch(/\S/);
      expect(plaintext).toHaveLength(32);
      expect(unwrapped).toEqual(plaintext);
    });

    it('returns a different KEK and different wrapped bytes on every call', async () => {
      // Prepare
      const master = await make();
      // Act
      const a = await master.generateKek(acme);
      const b = await master.generateKek(acme);
      // Assess
      expect(a.plaintext).not.toEqual(b.plaintext);
      expect(a.wrapped).not.toEqual(b.wrapped);
    });

    it.each([
      ['another tenant', { tenant: 'globex', kekVersion: 1 }],
      ['another version', { tenant: 'acme', kekVersion: 2 }],
      ['a tenant that only differs in case', { tenant: 'ACME', kekVersion: 1 }],
    ])('refuses to unwrap for %s with KeyUnavailableError', async (_, other) => {
      // Prepare
      const master = await make();
      const { wrapped } = await master.generateKek(acme);
      // Act
      const result = master.unwrapKek(wrapped, other);
      // Assess
      await expect(result).rejects.toBeInstanceOf(KeyUnavailableError);
    });

    it('refuses a KEK wrapped by another master key', async () => {
      // Prepare
      const [mine, theirs] = [await make(), await make()];
      const { wrapped } = await theirs.generateKek(acme);
      // Act
      const result = mine.unwrapKek(wrapped, acme);
      // Assess
      expect(mine.keyId).not.toBe(theirs.keyId);
      await expect(result).rejects.toBeInstanceOf(KeyUnavailableError);
    });

    it('refuses every tampered, truncated or garbage wrapped form', async () => {
      // Prepare
      const master = await make();
      const { wrapped } = await master.generateKek(acme);
      // Act
      const results = await Promise.allSettled(corruptions(wrapped).map((bad) => master.unwrapKek(bad, acme)));
      // Assess
      expect(results.length).toBeGreaterThan(10);
      for (const result of results) {
        expect(result).toEqual({ status: 'rejected', reason: expect.any(KeyUnavailableError) });
      }
    });

    it('rejects an invalid context with RangeError before any key operation', async () => {
      // Prepare
      const master = await make();
      const { wrapped } = await master.generateKek(acme);
      // Act
      const generate = master.generateKek({ tenant: '', kekVersion: 1 });
      const unwrap = master.unwrapKek(wrapped, { tenant: 'acme', kekVersion: 0 });
      // Assess
      await expect(generate).rejects.toBeInstanceOf(RangeError);
      await expect(unwrap).rejects.toBeInstanceOf(RangeError);
    });

    it('serves concurrent generate and unwrap calls independently', async () => {
      // Prepare
      const master = await make();
      const contexts = Array.from({ length: 24 }, (_, k) => ({ tenant: `t${k % 6}`, kekVersion: 1 + (k % 4) }));
      // Act
      const generated = await Promise.all(contexts.map((c) => master.generateKek(c)));
      const unwrapped = await Promise.all(generated.map((g, k) => master.unwrapKek(g.wrapped, contexts[k]!)));
      // Assess
      unwrapped.forEach((kek, k) => expect(kek).toEqual(generated[k]!.plaintext));
      expect(new Set(generated.map((g) => Buffer.from(g.plaintext).toString('hex'))).size).toBe(contexts.length);
    });
  });
}
