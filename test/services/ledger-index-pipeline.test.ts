import { describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../../lambdas/adapters/fake/memory-key-store.js';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import type { LedgerStore } from '../../lambdas/ports/ledger-store.js';
import { MAX_BATCH_BYTES } from '../../lambdas/ports/ledger-store.js';
import { RevisionConflictError } from '../../lambdas/services/errors.js';
import { KeyService } from '../../lambdas/services/key-service.js';
import { LedgerService } from '../../lambdas/services/ledger-service.js';
import { appendRequest as request, entriesOf, useMasterKey, verifyStored } from '../support/ledger-appends.js';

const masterKey = useMasterKey();

const group = { backoffMs: 1, maxAttempts: 50, groupCommit: true };

/**
 * `inner` with every call logged (`op`, then `op:done` once it returned), and
 * `putIndex` held while `hold` is set: the store as the service sees it.
 */
function recording(inner: LedgerStore) {
  const log: string[] = [];
  const control: { hold?: Promise<void> } = {};
  const store = new Proxy(inner, {
    get(target, op, receiver) {
      const value: unknown = Reflect.get(target, op, receiver);
      if (typeof value !== 'function') return value;
      if (op === 'readBatches' || op === 'tenants') return value.bind(target);
      return async (...args: unknown[]) => {
        log.push(String(op));
        if (op === 'putIndex') await control.hold;
        const result: unknown = await value.apply(target, args);
        log.push(`${String(op)}:done`);
        return result;
      };
    },
  });
  return { store, log, control, count: (op: string) => log.filter((entry) => entry === op).length };
}

function service(store: LedgerStore, options = group) {
  return new LedgerService(store, new KeyService(new MemoryKeyStore(), masterKey()), options);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('LedgerService round trips', () => {
  it('costs one index read, one put and one index write per batch, and reads the tail once', async () => {
    // Prepare
    const { store, count } = recording(new MemoryLedgerStore());
    const ledger = service(store);
    // Act
    await Promise.all(Array.from({ length: 32 }, (_, i) => ledger.append(request(`k${i}`, [{ stream: 's', payload: { i } }]))));
    await settle();
    // Assess
    const batches = count('appendBatch');
    expect(batches).toBeLessThanOrEqual(4);
    expect([count('getIndex'), count('putIndex'), count('readTail')]).toEqual([batches, batches, 1]);
    expect(['getHead', 'getIdempotency', 'putHead', 'putIdempotency'].map(count)).toEqual([0, 0, 0, 0]);
  });
});

describe('LedgerService index pipeline', () => {
  it('answers a retry from the tail before its index items are written, and puts the next batch only after they are', async () => {
    // Prepare: a's index write is held
    const inner = new MemoryLedgerStore();
    const { store, log, control } = recording(inner);
    const ledger = service(store);
    let release!: () => void;
    control.hold = new Promise((resolve) => (release = resolve));
    const first = request('a', [{ stream: 's', recordId: 'r', payload: 1 }]);
    const a = await ledger.append(first);
    // Act
    const retry = await ledger.append(first);
    const b = ledger.append(request('b', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 2 }]));
    await settle();
    const putsWhileHeld = log.filter((op) => op === 'appendBatch').length;
    release();
    // Assess
    expect(retry).toEqual({ records: a.records, replayed: true });
    expect(putsWhileHeld).toBe(1);
    expect((await b).records).toMatchObject([{ position: 1, recordId: 'r', revision: 2 }]);
    expect(log.indexOf('putIndex:done')).toBeLessThan(log.lastIndexOf('appendBatch'));
    await settle();
    expect(await inner.getIdempotency('acme', 'b')).toMatchObject({ firstPosition: 1 });
  });

  it('writes a failed index write again before the next put', async () => {
    // Prepare: the index write after a fails
    const inner = new MemoryLedgerStore();
    const { store, log } = recording(inner);
    const ledger = service(store);
    inner.failNext('putIndex');
    await ledger.append(request('a', [{ stream: 's', recordId: 'r', payload: 1 }]));
    await settle();
    expect(await inner.getHead('acme', 'r')).toBeUndefined();
    // Act
    const b = await ledger.append(request('b', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 2 }]));
    // Assess
    const secondPut = log.lastIndexOf('appendBatch');
    expect(log.slice(0, secondPut)).toContain('putIndex:done');
    expect(b.records).toMatchObject([{ position: 1, revision: 2 }]);
    expect(await inner.getIdempotency('acme', 'a')).toMatchObject({ firstPosition: 0 });
  });

  it('rolls a crashed writer\'s index items forward in a fresh group-committing process: 409 and replay still right', async () => {
    // Prepare: the batch lands, its index items never do
    const store = new MemoryLedgerStore();
    store.crashAfterBatchNext();
    const first = request('k1', [{ stream: 's', recordId: 'r', payload: 1 }]);
    const committed = await service(store).append(first);
    const fresh = service(store);
    // Act
    const outcomes = await Promise.allSettled([
      fresh.append(request('k2', [{ stream: 's', recordId: 'r', expectedRevision: 0, payload: 2 }])),
      fresh.append(request('k3', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 3 }])),
      fresh.append(first),
    ]);
    // Assess
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(RevisionConflictError);
    expect((outcomes[1] as PromiseFulfilledResult<unknown>).value).toMatchObject({ records: [{ position: 1, revision: 2 }] });
    expect((outcomes[2] as PromiseFulfilledResult<unknown>).value).toEqual({ records: committed.records, replayed: true });
    expect(await store.getHead('acme', 'r')).toMatchObject({ revision: 2 });
    expect(await entriesOf(store)).toHaveLength(2);
  });

  it('splits a group whose entries exceed MAX_BATCH_BYTES into batches that fit; every request commits', async () => {
    // Prepare: 8 entries of ~55 KB each, 440 KB together
    const store = new MemoryLedgerStore();
    const ledger = service(store);
    const big = (i: number) => request(`big-${i}`, [{ stream: 's', payload: { i, text: 'x'.repeat(40_000) } }]);
    // Act
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => ledger.append(big(i))));
    // Assess
    expect(results.map((r) => r.records[0]!.position).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const sizes: number[] = [];
    for await (const batch of store.readBatches('acme', 0)) sizes.push(batch.entries.reduce((sum, e) => sum + e.byteLength, 0));
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect((await verifyStored(store)).ok).toBe(true);
  });
});
