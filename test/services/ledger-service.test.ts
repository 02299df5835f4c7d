import { describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../../lambdas/adapters/fake/memory-key-store.js';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { decodeEntry } from '../../lambdas/core/ledger-entry.js';
import { openJson, type Envelope } from '../../lambdas/core/payload-envelope.js';
import { IdempotencyConflictError, LedgerBusyError, RevisionConflictError } from '../../lambdas/services/errors.js';
import { KeyService } from '../../lambdas/services/key-service.js';
import { LedgerService } from '../../lambdas/services/ledger-service.js';
import { appendRequest, appendTwice, entriesOf, expectCompleteLog, useMasterKey, verifyStored } from '../support/ledger-appends.js';

const masterKey = useMasterKey();

const TENANT = 'acme';
const fast = { backoffMs: 1, maxAttempts: 200 };

function setup(options = fast) {
  const store = new MemoryLedgerStore();
  const keys = new KeyService(new MemoryKeyStore(), masterKey());
  return { store, keys, ledger: new LedgerService(store, keys, options) };
}

const request = appendRequest;

describe('LedgerService.append', () => {
  it('appends records at consecutive positions with revisions per record, encrypted and chained', async () => {
    // Prepare
    const { store, keys, ledger } = setup();
    // Act
    const first = await ledger.append(request('k1', [{ stream: 'policies', recordId: 'p-1', payload: { v: 1 } }]));
    const second = await ledger.append(request('k2', [
      { stream: 'policies', recordId: 'p-1', payload: { v: 2 } },
      { stream: 'policies', recordId: 'p-2', payload: { v: 1 } },
      { stream: 'policies', recordId: 'p-1', payload: { v: 3 } },
    ]));
    // Assess
    expect(first).toMatchObject({ replayed: false, records: [{ position: 0, recordId: 'p-1', revision: 1 }] });
    expect(second.records.map((r) => [r.position, r.recordId, r.revision])).toEqual([[1, 'p-1', 2], [2, 'p-2', 1], [3, 'p-1', 3]]);
    const stored = (await entriesOf(store)).map((b) => decodeEntry(b).entry);
    expect(stored.map((e) => e.operation)).toEqual(['CREATE', 'UPDATE', 'CREATE', 'UPDATE']);
    const payload = stored[3]!.payload as Envelope;
    expect(openJson(payload, await keys.dataKeyForRead(TENANT, payload.kid, payload.kv), { tenant: TENANT, recordId: 'p-1', idempotencyKey: 'k2' })).toEqual({ v: 3 });
    expect((await verifyStored(store)).ok).toBe(true);
    expect(await store.getHead(TENANT, 'p-1')).toMatchObject({ revision: 3, position: 3 });
  });

  it('answers a retry with the same key and body from the first commit, without a second entry', async () => {
    // Prepare
    const { store, ledger } = setup();
    const req = request('k1', [{ stream: 's', recordId: 'r', payload: { a: 1 } }]);
    const first = await ledger.append(req);
    // Act
    const again = await ledger.append(req);
    // Assess
    expect(again).toEqual({ records: first.records, replayed: true });
    expect(await entriesOf(store)).toHaveLength(1);
  });

  it('refuses a reused key with another body (422) and writes nothing', async () => {
    // Prepare
    const { store, ledger } = setup();
    await ledger.append(request('k1', [{ stream: 's', recordId: 'r', payload: { a: 1 } }]));
    // Act
    const attempt = ledger.append(request('k1', [{ stream: 's', recordId: 'r', payload: { a: 2 } }]));
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await entriesOf(store)).toHaveLength(1);
  });

  it('refuses a wrong expectedRevision (409) and an update of a missing record, writing nothing', async () => {
    // Prepare
    const { store, ledger } = setup();
    await ledger.append(request('k1', [{ stream: 's', recordId: 'r', payload: 1 }]));
    // Act
    const stale = ledger.append(request('k2', [{ stream: 's', recordId: 'r', expectedRevision: 0, payload: 2 }]));
    const missing = ledger.append(request('k3', [{ stream: 's', recordId: 'nope', operation: 'UPDATE', payload: 2 }]));
    const duplicate = ledger.append(request('k4', [{ stream: 's', recordId: 'r', operation: 'CREATE', payload: 2 }]));
    // Assess
    await expect(stale).rejects.toMatchObject({ code: 'REVISION_CONFLICT', expected: 0, actual: 1 });
    await expect(missing).rejects.toBeInstanceOf(RevisionConflictError);
    await expect(duplicate).rejects.toBeInstanceOf(RevisionConflictError);
    expect(await entriesOf(store)).toHaveLength(1);
    // an accepted expectedRevision goes through
    await expect(ledger.append(request('k5', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 3 }]))).resolves.toMatchObject({ records: [{ revision: 2 }] });
  });

  it('retries a lost race and lands at the next position', async () => {
    // Prepare: another writer takes position 1 between our tail read and our put
    const { store, keys, ledger } = setup();
    await ledger.append(request('k1', [{ stream: 's', recordId: 'a', payload: 1 }]));
    const rival = new LedgerService(store, keys, fast);
    // Act
    const [mine, theirs] = await Promise.all([
      ledger.append(request('k2', [{ stream: 's', recordId: 'b', payload: 2 }])),
      rival.append(request('k3', [{ stream: 's', recordId: 'c', payload: 3 }])),
    ]);
    // Assess
    expect([mine.records[0]!.position, theirs.records[0]!.position].sort()).toEqual([1, 2]);
    expect((await verifyStored(store)).ok).toBe(true);
  });

  it('settles a put that failed but persisted by its idempotency record: one entry, the same answer', async () => {
    // Prepare
    const { store, ledger } = setup();
    store.failButPersistNext('appendBatch');
    // Act
    const result = await ledger.append(request('k1', [{ stream: 's', recordId: 'r', payload: 1 }]));
    // Assess
    expect(result.records).toMatchObject([{ position: 0, revision: 1 }]);
    expect(await entriesOf(store)).toHaveLength(1);
  });

  it('rolls forward the index items of a writer that crashed after its batch', async () => {
    // Prepare: the batch lands, its head and idempotency record do not
    const { store, keys, ledger } = setup();
    store.crashAfterBatchNext();
    const first = await ledger.append(request('k1', [{ stream: 's', recordId: 'r', payload: 1 }]));
    // Act: the next writer (a fresh process) completes them before checking its own request
    const second = await new LedgerService(store, keys, fast).append(request('k2', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 2 }]));
    const retry = await ledger.append(request('k1', [{ stream: 's', recordId: 'r', payload: 1 }]));
    // Assess
    expect(second.records).toMatchObject([{ position: 1, revision: 2 }]);
    expect(retry).toEqual({ records: first.records, replayed: true });
    expect(await entriesOf(store)).toHaveLength(2);
  });

  it('gives up with LedgerBusyError after its attempts, having written nothing', async () => {
    // Prepare
    const { store, ledger } = setup({ backoffMs: 0, maxAttempts: 3 });
    for (let i = 0; i < 3; i++) store.failNext('appendBatch');
    // Act & Assess
    await expect(ledger.append(request('k1', [{ stream: 's', recordId: 'r', payload: 1 }]))).rejects.toBeInstanceOf(LedgerBusyError);
    expect(await entriesOf(store)).toHaveLength(0);
  });

  it('64 concurrent writers × 20 appends, with concurrent retries of the same keys: no gap, no duplicate, nothing lost', async () => {
    // Prepare: each writer is its own process (own key cache); every append is retried by a second caller
    const store = new MemoryLedgerStore();
    const keyStore = new MemoryKeyStore();
    const writers = Array.from({ length: 64 }, () => new LedgerService(store, new KeyService(keyStore, masterKey()), fast));
    // Act
    const acknowledged = await Promise.all(writers.map(async (w, i) => {
      const results = [];
      for (let j = 0; j < 20; j++) {
        results.push(...(await appendTwice(w, writers[(i + 1) % 64]!, request(`w${i}-${j}`, [{ stream: 's', recordId: `w${i}`, payload: { i, j } }]))));
      }
      return results;
    }));
    // Assess
    await expectCompleteLog(store, 1280, acknowledged.flat());
  }, 120_000);
});

describe('LedgerService with group commit', () => {
  const group = { ...fast, groupCommit: true };

  it('writes concurrent requests of one tenant as few batches, each request with its own answer', async () => {
    // Prepare
    const { store, keys } = setup();
    const ledger = new LedgerService(store, keys, group);
    // Act
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => ledger.append(request(`k${i}`, [{ stream: 's', recordId: `r${i}`, payload: { i } }]))));
    // Assess
    let batches = 0;
    for await (const _ of store.readBatches(TENANT, 0)) batches++;
    expect(batches).toBeLessThan(10);
    expect(results.map((r) => r.records[0]!.position).sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, p) => p));
    results.forEach((r, i) => expect(r.records[0]).toMatchObject({ recordId: `r${i}`, revision: 1 }));
    expect((await verifyStored(store)).ok).toBe(true);
  });

  it('rejects only the conflicting request of a group; the others commit', async () => {
    // Prepare
    const { store, keys } = setup();
    const ledger = new LedgerService(store, keys, group);
    await ledger.append(request('k0', [{ stream: 's', recordId: 'r', payload: 0 }]));
    // Act
    const outcomes = await Promise.allSettled([
      ledger.append(request('k1', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 1 }])),
      ledger.append(request('k2', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 2 }])),
      ledger.append(request('k3', [{ stream: 's', recordId: 'other', payload: 3 }])),
    ]);
    // Assess: k1 takes revision 2, so k2's expectation is stale; k3 is unaffected
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(RevisionConflictError);
    expect(await entriesOf(store)).toHaveLength(3);
  });

  it('answers the same key sent twice at once with one entry and the same records', async () => {
    // Prepare
    const { store, keys } = setup();
    const ledger = new LedgerService(store, keys, group);
    const req = request('k1', [{ stream: 's', recordId: 'r', payload: 1 }]);
    // Act
    const [a, b, c] = await Promise.all([ledger.append(req), ledger.append(req), ledger.append(req)]);
    // Assess
    expect(b.records).toEqual(a.records);
    expect(c.records).toEqual(a.records);
    expect([a, b, c].filter((r) => !r.replayed)).toHaveLength(1);
    expect(await entriesOf(store)).toHaveLength(1);
  });

  it('still never forks when two group-committing processes share the store', async () => {
    // Prepare
    const { store, keys } = setup();
    const [p1, p2] = [new LedgerService(store, keys, group), new LedgerService(store, keys, group)];
    // Act
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? p1 : p2).append(request(`k${i}`, [{ stream: 's', recordId: `r${i}`, payload: i }]))));
    // Assess
    const entries = (await entriesOf(store)).map((b) => decodeEntry(b).entry);
    expect(entries.map((e) => e.position)).toEqual(Array.from({ length: 40 }, (_, p) => p));
    expect((await verifyStored(store)).ok).toBe(true);
  });
});
