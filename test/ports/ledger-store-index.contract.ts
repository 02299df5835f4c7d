import { beforeEach, describe, expect, it } from 'vitest';
import type { LedgerStore } from '../../lambdas/ports/ledger-store.js';
import { head, idem, rejection, type LedgerStoreUnderTest } from './ledger-store.contract.js';

/**
 * The `LedgerStore` contract for the batched index calls, `putIndex` and
 * `getIndex` (lambdas/ports/ledger-store.ts), run over every adapter next to
 * `ledgerStoreContract`. `makeStore` gives each test a fresh, empty store.
 *
 * @example
 * ```ts
 * ledgerIndexContract('MemoryLedgerStore', async () => ({ store: new MemoryLedgerStore() }));
 * ```
 */
export function ledgerIndexContract(name: string, makeStore: () => Promise<LedgerStoreUnderTest>): void {
  describe(`${name} (LedgerStore index contract)`, () => {
    let store: LedgerStore;
    beforeEach(async () => {
      const fresh = await makeStore();
      store = fresh.store;
      return fresh.cleanup;
    });

    it('getIndex finds what putIndex wrote: each record\'s latest head and every idempotency record, nothing for unknown ids', async () => {
      // Prepare
      const items = {
        tenant: 'acme',
        heads: [head('acme', 'r1', 1, 0), head('acme', 'r2', 1, 1), head('acme', 'r1', 2, 2)],
        idempotency: [idem('acme', 'k1', 0), idem('acme', 'k2', 1)],
      };
      // Act
      await store.putIndex(items);
      const found = await store.getIndex('acme', { recordIds: ['r1', 'r2', 'none'], keys: ['k1', 'k2', 'none'] });
      // Assess
      expect(found.heads).toEqual(new Map([['r1', head('acme', 'r1', 2, 2)], ['r2', head('acme', 'r2', 1, 1)]]));
      expect(found.idempotency).toEqual(new Map([['k1', idem('acme', 'k1', 0)], ['k2', idem('acme', 'k2', 1)]]));
      expect(await store.getHead('acme', 'r1')).toEqual(head('acme', 'r1', 2, 2));
      expect(await store.getHead('acme', 'r2')).toEqual(head('acme', 'r2', 1, 1));
      expect(await store.getIdempotency('acme', 'k2')).toEqual(idem('acme', 'k2', 1));
      expect(await store.getIndex('acme', { recordIds: [], keys: [] })).toEqual({ heads: new Map(), idempotency: new Map() });
    });

    it('never moves a head backwards, whichever of putIndex and putHead lands last (a late roll-forward)', async () => {
      // Prepare: r is at revision 3; s was created, then updated
      await store.putHead(head('acme', 'r', 3, 30));
      await store.putIndex({ tenant: 'acme', heads: [head('acme', 's', 1, 1)], idempotency: [] });
      await store.putHead(head('acme', 's', 2, 5));
      // Act: stale writes of older revisions arrive
      await store.putIndex({ tenant: 'acme', heads: [head('acme', 'r', 1, 10), head('acme', 'r', 2, 20), head('acme', 's', 1, 1)], idempotency: [] });
      await store.putHead(head('acme', 's', 1, 1));
      // Assess
      const found = await store.getIndex('acme', { recordIds: ['r', 's'], keys: [] });
      expect(found.heads.get('r')).toEqual(head('acme', 'r', 3, 30));
      expect(found.heads.get('s')).toEqual(head('acme', 's', 2, 5));
      await store.putIndex({ tenant: 'acme', heads: [head('acme', 'r', 4, 40)], idempotency: [] });
      expect(await store.getHead('acme', 'r')).toEqual(head('acme', 'r', 4, 40));
    });

    it('takes the same items again without change (a roll-forward after the writer\'s own)', async () => {
      // Prepare
      const items = { tenant: 'acme', heads: [head('acme', 'r', 1, 7)], idempotency: [idem('acme', 'k', 7)] };
      await store.putIndex(items);
      // Act
      await Promise.all([store.putIndex(items), store.putIndex(items)]);
      // Assess
      expect(await store.getIndex('acme', { recordIds: ['r'], keys: ['k'] })).toEqual({
        heads: new Map([['r', head('acme', 'r', 1, 7)]]),
        idempotency: new Map([['k', idem('acme', 'k', 7)]]),
      });
    });

    it('writes and reads more items than one engine request holds (130 records and keys)', async () => {
      // Prepare
      const ids = Array.from({ length: 130 }, (_, i) => `r${i}`);
      const heads = ids.map((id, i) => head('acme', id, i % 4 === 0 ? 2 : 1, i));
      const idempotency = ids.map((_, i) => idem('acme', `k${i}`, i));
      // Act
      await store.putIndex({ tenant: 'acme', heads, idempotency });
      const found = await store.getIndex('acme', { recordIds: ids, keys: idempotency.map((r) => r.key) });
      // Assess
      expect(found.heads.size).toBe(130);
      expect(found.idempotency.size).toBe(130);
      for (const h of heads) expect(found.heads.get(h.recordId)).toEqual(h);
      for (const r of idempotency) expect(found.idempotency.get(r.key)).toEqual(r);
    });

    it('keeps tenants apart, also when one id is a prefix of another (acme, acme-corp)', async () => {
      // Prepare
      await store.putIndex({ tenant: 'acme', heads: [head('acme', 'r', 1)], idempotency: [idem('acme', 'k')] });
      // Act
      const other = await store.getIndex('acme-corp', { recordIds: ['r'], keys: ['k'] });
      // Assess
      expect(other).toEqual({ heads: new Map(), idempotency: new Map() });
      expect(await store.getHead('acme-corp', 'r')).toBeUndefined();
    });

    it('refuses items of another tenant or a head at a bad position with RangeError, writing nothing', async () => {
      // Act
      const errors = [
        await rejection(store.putIndex({ tenant: 'acme', heads: [head('acme', 'r', 1)], idempotency: [idem('acme-corp', 'k')] })),
        await rejection(store.putIndex({ tenant: 'acme', heads: [head('acme', 'r', 1, -1)], idempotency: [idem('acme', 'k')] })),
      ];
      // Assess
      for (const error of errors) expect(error).toBeInstanceOf(RangeError);
      expect(await store.getIndex('acme', { recordIds: ['r'], keys: ['k'] })).toEqual({ heads: new Map(), idempotency: new Map() });
    });
  });
}
