import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyExistsError, KeyShreddedError, LegalHoldError } from '../../lambdas/ports/errors.js';
import type { KeyStore, LegalHold, ShredMarker, StoredDek, StoredKek } from '../../lambdas/ports/key-store.js';

export interface KeyStoreUnderTest {
  readonly store: KeyStore;
  readonly cleanup?: () => Promise<void>;
}

export function kek(tenant: string, version: number, wrapped: Uint8Array = randomBytes(60)): StoredKek {
  return { tenant, version, wrapped: new Uint8Array(wrapped), masterKeyId: 'local:test', createdAt: '2026-01-02T03:04:05Z' };
}

export function dek(tenant: string, id: string, kekVersion: number): StoredDek {
  const wrapped = { iv: randomBytes(12).toString('base64'), ct: randomBytes(48).toString('base64') };
  return { tenant, id, kekVersion, wrapped, createdAt: '2026-01-02T03:04:05Z' };
}

export function hold(tenant: string, id: string, recordId?: string): LegalHold {
  return { tenant, id, ...(recordId === undefined ? {} : { recordId }), reason: 'litigation', createdAt: '2026-01-02T03:04:05Z' };
}

/** Settles `promise` now, so no rejection goes unhandled while a test awaits something else. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (error: unknown) => error);
}

export function marker(tenant: string, kekVersions: number[] = [1]): ShredMarker {
  return { tenant, shreddedAt: '2026-02-03T04:05:06Z', actor: 'dpo@example.com', reason: 'erasure request', kekVersions };
}

/**
 * The `KeyStore` contract (lambdas/ports/key-store.ts), run over every adapter
 * (STYLE habit 2). `makeStore` gives each test a fresh, empty store.
 *
 * @example
 * ```ts
 * keyStoreContract('MemoryKeyStore', async () => ({ store: new MemoryKeyStore() }));
 * ```
 */
export function keyStoreContract(name: string, makeStore: () => Promise<KeyStoreUnderTest>): void {
  describe(`${name} (KeyStore contract)`, () => {
    let store: KeyStore;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup?.();
    });

    it('returns a stored KEK with exactly the bytes put, and undefined for unknown ones', async () => {
      // Prepare
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      // Act
      await store.putKek(kek('acme', 1, bytes));
      // Assess
      expect(await store.getKek('acme', 1)).toEqual(kek('acme', 1, bytes));
      expect((await store.getKek('acme', 1))?.wrapped).toStrictEqual(bytes);
      expect(await store.getKek('acme', 2)).toBeUndefined();
      expect(await store.latestKek('nobody')).toBeUndefined();
    });

    it('finds the highest version as latest whatever the insertion order (2, 10, 1)', async () => {
      // Prepare
      for (const v of [2, 10, 1]) await store.putKek(kek('acme', v));
      // Act
      const latest = await store.latestKek('acme');
      const all = await store.listKeks('acme');
      // Assess
      expect(latest?.version).toBe(10);
      expect(all.map((k) => k.version)).toEqual([1, 2, 10]);
    });

    it('refuses a second put of a KEK version with KeyExistsError and keeps the first', async () => {
      // Prepare
      const first = kek('acme', 1);
      await store.putKek(first);
      // Act
      const second = store.putKek(kek('acme', 1));
      // Assess
      await expect(second).rejects.toBeInstanceOf(KeyExistsError);
      expect(await store.getKek('acme', 1)).toEqual(first);
    });

    it('lets exactly one of ten concurrent puts of one KEK version win', async () => {
      // Prepare
      const candidates = Array.from({ length: 10 }, () => kek('acme', 3));
      // Act
      const results = await Promise.allSettled(candidates.map((k) => store.putKek(k)));
      // Assess
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(KeyExistsError);
      expect(await store.getKek('acme', 3)).toEqual(candidates[won[0] ?? -1]);
    });

    it('stores DEKs per id and KEK version, never overwriting', async () => {
      // Prepare
      const a = dek('acme', '2026-11', 1);
      const b = dek('acme', '2026-11', 2);
      // Act
      await store.putDek(a);
      await store.putDek(b);
      const again = store.putDek(dek('acme', '2026-11', 1));
      // Assess
      await expect(again).rejects.toBeInstanceOf(KeyExistsError);
      expect(await store.getDek('acme', '2026-11', 1)).toEqual(a);
      expect(await store.getDek('acme', '2026-11', 2)).toEqual(b);
      expect(await store.getDek('acme', '2026-12', 1)).toBeUndefined();
    });

    it('rejects KEK versions that do not fit 1..9999999999 with RangeError', async () => {
      // Act / Assess
      await expect(store.putKek(kek('acme', 0))).rejects.toBeInstanceOf(RangeError);
      await expect(store.putDek(dek('acme', 'x', 10_000_000_000))).rejects.toBeInstanceOf(RangeError);
      await expect(store.getKek('acme', 1.5)).rejects.toBeInstanceOf(RangeError);
    });

    it('adds, lists and removes holds; a duplicate id is KeyExistsError; removing twice is fine', async () => {
      // Prepare
      await store.putHold(hold('acme', 'h2', 'rec-7'));
      await store.putHold(hold('acme', 'h1'));
      // Act
      const duplicate = await rejection(store.putHold(hold('acme', 'h1')));
      const listed = await store.listHolds('acme');
      await store.removeHold('acme', 'h1');
      await store.removeHold('acme', 'h1');
      // Assess
      expect(duplicate).toBeInstanceOf(KeyExistsError);
      expect(listed).toEqual([hold('acme', 'h1'), hold('acme', 'h2', 'rec-7')]);
      expect(await store.listHolds('acme')).toEqual([hold('acme', 'h2', 'rec-7')]);
    });

    it('shreds without holds: every KEK and DEK is gone and the marker is recorded', async () => {
      // Prepare
      for (const v of [1, 2, 3]) await store.putKek(kek('acme', v));
      for (let i = 0; i < 30; i += 1) await store.putDek(dek('acme', `p${i}`, 1 + (i % 3)));
      // Act
      await store.shredTenant(marker('acme', [1, 2, 3]));
      // Assess
      expect(await store.getKek('acme', 1)).toBeUndefined();
      expect(await store.latestKek('acme')).toBeUndefined();
      expect(await store.listKeks('acme')).toEqual([]);
      for (let i = 0; i < 30; i += 1) expect(await store.getDek('acme', `p${i}`, 1 + (i % 3))).toBeUndefined();
      expect(await store.shredded('acme')).toEqual(marker('acme', [1, 2, 3]));
    });

    it('refuses new KEKs and DEKs for a shredded tenant with KeyShreddedError', async () => {
      // Prepare
      await store.shredTenant(marker('acme', []));
      // Act / Assess
      await expect(store.putKek(kek('acme', 1))).rejects.toBeInstanceOf(KeyShreddedError);
      await expect(store.putDek(dek('acme', 'p', 1))).rejects.toBeInstanceOf(KeyShreddedError);
      expect(await store.listKeks('acme')).toEqual([]);
    });

    for (const [kind, recordId] of [['tenant', undefined], ['record', 'rec-9']] as const) {
      it(`refuses to shred under a ${kind} hold with LegalHoldError and deletes nothing`, async () => {
        // Prepare
        await store.putKek(kek('acme', 1));
        await store.putDek(dek('acme', 'p', 1));
        await store.putHold(hold('acme', 'h1', recordId));
        // Act
        const shred = store.shredTenant(marker('acme'));
        // Assess
        await expect(shred).rejects.toBeInstanceOf(LegalHoldError);
        await expect(shred).rejects.toMatchObject({ code: 'LEGAL_HOLD', holds: ['h1'] });
        expect(await store.getKek('acme', 1)).toBeDefined();
        expect(await store.getDek('acme', 'p', 1)).toBeDefined();
        expect(await store.shredded('acme')).toBeUndefined();
      });
    }

    it('shreds idempotently: a second shred succeeds and the first marker stands', async () => {
      // Prepare
      await store.putKek(kek('acme', 1));
      await store.shredTenant(marker('acme', [1]));
      // Act
      await store.shredTenant({ ...marker('acme', []), shreddedAt: '2027-01-01T00:00:00Z' });
      // Assess
      expect(await store.shredded('acme')).toEqual(marker('acme', [1]));
      expect(await store.getKek('acme', 1)).toBeUndefined();
    });

    it('keeps tenants apart, also when one id is a prefix of another (acme, acme-corp)', async () => {
      // Prepare
      const corpKek = kek('acme-corp', 1);
      const corpDek = dek('acme-corp', 'p', 1);
      await store.putKek(kek('acme', 1));
      await store.putKek(kek('acme', 5));
      await store.putKek(corpKek);
      await store.putDek(dek('acme', 'p', 1));
      await store.putDek(corpDek);
      await store.putHold(hold('acme-corp', 'h1'));
      // Act
      await store.shredTenant(marker('acme', [1, 5]));
      // Assess
      expect(await store.listKeks('acme-corp')).toEqual([corpKek]);
      expect(await store.latestKek('acme-corp')).toEqual(corpKek);
      expect(await store.getDek('acme-corp', 'p', 1)).toEqual(corpDek);
      expect(await store.shredded('acme-corp')).toBeUndefined();
      expect(await store.listHolds('acme')).toEqual([]);
      expect(await store.listHolds('acme-corp')).toEqual([hold('acme-corp', 'h1')]);
      expect(await store.getKek('acme-corp', 5)).toBeUndefined();
      expect(await store.listKeks('acme')).toEqual([]);
    });
  });
}
