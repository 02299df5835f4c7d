import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchTooLargeError, PositionTakenError } from '../../lambdas/ports/errors.js';
import { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES } from '../../lambdas/ports/ledger-store.js';
import type { IdempotencyRecord, LedgerBatch, LedgerStore, RecordHead } from '../../lambdas/ports/ledger-store.js';

export interface LedgerStoreUnderTest {
  readonly store: LedgerStore;
  readonly cleanup?: () => Promise<void>;
}

export function head(tenant: string, recordId: string, revision: number, position = revision): RecordHead {
  return { tenant, recordId, revision, position, operation: revision === 1 ? 'CREATE' : 'UPDATE' };
}

export function idem(tenant: string, key: string, firstPosition = 0, requestHash = 'ab'.repeat(32)): IdempotencyRecord {
  return { tenant, key, requestHash, response: JSON.stringify({ position: firstPosition }), firstPosition, count: 1 };
}

/** A batch of `count` random entries of `bytes` bytes each, with one head and one idempotency record. */
export function ledgerBatch(tenant: string, firstPosition: number, count = 3, bytes = 40): LedgerBatch {
  const last = firstPosition + count - 1;
  return {
    tenant,
    firstPosition,
    entries: Array.from({ length: count }, () => new Uint8Array(randomBytes(bytes))),
    range: [new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(32))],
    lastLeafHash: randomBytes(32).toString('hex'),
    lastTimestamp: `2026-01-02T03:04:05.${String(last % 1000).padStart(3, '0')}Z`,
    generation: 1,
    heads: [head(tenant, `rec-${last}`, 1, last)],
    idempotency: [idem(tenant, `key-${firstPosition}`, firstPosition)],
  };
}

/** Appends batches of the given sizes back to back from position 0. */
export async function appendAll(store: LedgerStore, tenant: string, sizes: number[], bytes = 40): Promise<LedgerBatch[]> {
  const batches: LedgerBatch[] = [];
  let next = 0;
  for (const size of sizes) {
    const batch = ledgerBatch(tenant, next, size, bytes);
    await store.appendBatch(batch);
    batches.push(batch);
    next += size;
  }
  return batches;
}

export async function collect(batches: AsyncIterable<LedgerBatch>): Promise<LedgerBatch[]> {
  const all: LedgerBatch[] = [];
  for await (const batch of batches) all.push(batch);
  return all;
}

/** The batch with entries and range as hex strings, which compare fast. */
export function hexed(batch: LedgerBatch): object {
  const hex = (list: readonly Uint8Array[]) => list.map((b) => Buffer.from(b).toString('hex'));
  return { ...batch, entries: hex(batch.entries), range: hex(batch.range) };
}

/** Settles `promise` now, so no rejection goes unhandled while a test awaits something else. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (error: unknown) => error);
}

/**
 * The `LedgerStore` contract (lambdas/ports/ledger-store.ts), run over every
 * adapter (STYLE habit 2). `makeStore` gives each test a fresh, empty store.
 *
 * @example
 * ```ts
 * ledgerStoreContract('MemoryLedgerStore', async () => ({ store: new MemoryLedgerStore() }));
 * ```
 */
export function ledgerStoreContract(name: string, makeStore: () => Promise<LedgerStoreUnderTest>): void {
  describe(`${name} (LedgerStore contract)`, () => {
    let store: LedgerStore;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup?.();
    });

    it('reads an empty log as no tail, no batches and no index items', async () => {
      // Act
      const tail = await store.readTail('acme');
      // Assess
      expect(tail).toBeUndefined();
      expect(await store.batchAt('acme', 0)).toBeUndefined();
      expect(await collect(store.readBatches('acme', 0))).toEqual([]);
      expect(await store.getHead('acme', 'rec-1')).toBeUndefined();
      expect(await store.getIdempotency('acme', 'key-1')).toBeUndefined();
    });

    it('returns an appended batch with exactly its bytes and fields from tail, batchAt and readBatches', async () => {
      // Prepare
      const batch = { ...ledgerBatch('acme', 0, 3), entries: [Uint8Array.from({ length: 256 }, (_, i) => i), new Uint8Array([0]), new Uint8Array([255, 0])] };
      // Act
      await store.appendBatch(batch);
      // Assess
      const tail = await store.readTail('acme');
      expect(tail).toEqual(batch);
      expect(tail?.entries[0]).toStrictEqual(batch.entries[0]);
      expect(tail?.range[1]).toStrictEqual(batch.range[1]);
      expect(await store.batchAt('acme', 2)).toEqual(batch);
      expect(await collect(store.readBatches('acme', 1))).toEqual([batch]);
    });

    it('refuses a second append at the same first position with PositionTakenError and keeps the first', async () => {
      // Prepare
      const first = ledgerBatch('acme', 0, 2);
      await store.appendBatch(first);
      // Act
      const error = await rejection(store.appendBatch(ledgerBatch('acme', 0, 5)));
      // Assess
      expect(error).toBeInstanceOf(PositionTakenError);
      expect(error).toMatchObject({ code: 'POSITION_TAKEN', tenant: 'acme', position: 0 });
      expect(await store.readTail('acme')).toEqual(first);
      expect(await store.batchAt('acme', 4)).toBeUndefined();
    });

    it('lets exactly one of 16 concurrent appends at one position win', async () => {
      // Prepare
      await appendAll(store, 'acme', [4]);
      const candidates = Array.from({ length: 16 }, () => ledgerBatch('acme', 4, 2));
      // Act
      const results = await Promise.allSettled(candidates.map((b) => store.appendBatch(b)));
      // Assess
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PositionTakenError);
      expect(await store.readTail('acme')).toEqual(candidates[won[0] ?? -1]);
    });

    it('finds the batch holding a position, at both edges, and nothing past the tail', async () => {
      // Prepare
      const [a, b, c] = await appendAll(store, 'acme', [3, 5, 1]); // [0,3) [3,8) [8,9)
      // Act
      const found = await Promise.all([0, 2, 3, 7, 8, 9, 1000].map((p) => store.batchAt('acme', p)));
      // Assess
      expect(found).toEqual([a, a, b, b, c, undefined, undefined]);
      await expect(store.batchAt('acme', -1)).rejects.toBeInstanceOf(RangeError);
      await expect(store.batchAt('acme', 1.5)).rejects.toBeInstanceOf(RangeError);
    });

    it('reads batches in order from the one holding a mid-batch position, across > 1 MB', async () => {
      // Prepare: 40 batches of 100 entries × 300 B = 1.2 MB, so DynamoDB pages
      const batches = await appendAll(store, 'acme', Array.from({ length: 40 }, () => 100), 300);
      // Act
      const read = await collect(store.readBatches('acme', 250));
      // Assess
      expect(read.map((b) => b.firstPosition)).toEqual(batches.slice(2).map((b) => b.firstPosition));
      expect(read.map(hexed)).toEqual(batches.slice(2).map(hexed)); // hex: deep-equal on 1 MB of bytes is slow
      expect(await collect(store.readBatches('acme', 4000))).toEqual([]);
    });

    it('refuses 101 entries or more than MAX_BATCH_BYTES with BatchTooLargeError and writes nothing', async () => {
      // Prepare
      const perEntry = MAX_BATCH_BYTES / MAX_BATCH_ENTRIES;
      const tooMany = ledgerBatch('acme', 0, MAX_BATCH_ENTRIES + 1, 1);
      const tooBig = ledgerBatch('acme', 0, MAX_BATCH_ENTRIES, perEntry + 1);
      // Act
      const errors = [await rejection(store.appendBatch(tooMany)), await rejection(store.appendBatch(tooBig))];
      // Assess
      for (const error of errors) expect(error).toMatchObject({ name: 'BatchTooLargeError', code: 'BATCH_TOO_LARGE' });
      expect(errors[0]).toBeInstanceOf(BatchTooLargeError);
      expect(await store.readTail('acme')).toBeUndefined();
      await store.appendBatch(ledgerBatch('acme', 0, MAX_BATCH_ENTRIES, perEntry)); // exactly at the limits
      expect((await store.readTail('acme'))?.entries).toHaveLength(MAX_BATCH_ENTRIES);
    });

    it('refuses an empty batch or one carrying another tenant\'s index items with RangeError', async () => {
      // Prepare
      const empty = { ...ledgerBatch('acme', 0), entries: [] };
      const foreign = { ...ledgerBatch('acme', 0), heads: [head('acme-corp', 'r', 1)] };
      // Act / Assess
      await expect(store.appendBatch(empty)).rejects.toBeInstanceOf(RangeError);
      await expect(store.appendBatch(foreign)).rejects.toBeInstanceOf(RangeError);
      expect(await store.readTail('acme')).toBeUndefined();
    });

    it('never moves a head backwards: revision 3 then 2 keeps 3; an equal revision keeps the first', async () => {
      // Prepare
      await store.putHead(head('acme', 'rec-1', 3, 30));
      // Act
      await store.putHead(head('acme', 'rec-1', 2, 20));
      await store.putHead(head('acme', 'rec-1', 3, 31));
      // Assess
      expect(await store.getHead('acme', 'rec-1')).toEqual(head('acme', 'rec-1', 3, 30));
      await store.putHead(head('acme', 'rec-1', 4, 40));
      expect(await store.getHead('acme', 'rec-1')).toEqual(head('acme', 'rec-1', 4, 40));
    });

    it('keeps the highest of concurrent head puts of revisions 1..10', async () => {
      // Act
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.putHead(head('acme', 'rec-1', 10 - i))));
      // Assess
      expect(await store.getHead('acme', 'rec-1')).toEqual(head('acme', 'rec-1', 10));
    });

    it('keeps the first idempotency record for a key', async () => {
      // Prepare
      const first = idem('acme', 'k1', 7, 'aa');
      await store.putIdempotency(first);
      // Act
      await store.putIdempotency(idem('acme', 'k1', 9, 'bb'));
      // Assess
      expect(await store.getIdempotency('acme', 'k1')).toEqual(first);
      expect(await store.getIdempotency('acme', 'k2')).toBeUndefined();
    });

    it('lists every tenant with a log once, and none without', async () => {
      // Prepare
      await appendAll(store, 'acme', [2, 2]);
      await appendAll(store, 'acme-corp', [1]);
      await store.putHead(head('globex', 'rec-1', 1)); // index items alone are no log
      // Act
      const tenants: string[] = [];
      for await (const tenant of store.tenants()) tenants.push(tenant);
      // Assess
      expect(tenants.sort()).toEqual(['acme', 'acme-corp']);
    });

    it('keeps tenants apart on every read, also when one id is a prefix of another (acme, acme-corp)', async () => {
      // Prepare
      const [a0, a1] = await appendAll(store, 'acme', [2, 2]);
      const corp = ledgerBatch('acme-corp', 0, 1);
      await store.appendBatch(corp);
      await store.putHead(head('acme', 'rec-1', 5));
      await store.putIdempotency(idem('acme-corp', 'k1'));
      // Act
      const reads = {
        tails: [await store.readTail('acme'), await store.readTail('acme-corp'), await store.readTail('acm')],
        at: [await store.batchAt('acme', 3), await store.batchAt('acme-corp', 0), await store.batchAt('acme-corp', 3)],
        all: [await collect(store.readBatches('acme', 0)), await collect(store.readBatches('acme-corp', 0))],
        heads: [await store.getHead('acme', 'rec-1'), await store.getHead('acme-corp', 'rec-1')],
        idem: [await store.getIdempotency('acme', 'k1'), await store.getIdempotency('acme-corp', 'k1')],
      };
      // Assess
      expect(reads).toEqual({
        tails: [a1, corp, undefined],
        at: [a1, corp, undefined],
        all: [[a0, a1], [corp]],
        heads: [head('acme', 'rec-1', 5), undefined],
        idem: [undefined, idem('acme-corp', 'k1')],
      });
    });
  });
}
