import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ObjectImmutableError, type ObjectStore } from '../../lambdas/ports/object-store.js';

export interface ObjectStoreUnderTest {
  readonly store: ObjectStore;
  /**
   * False where write-once is emulated by read-then-put (s3rver ignores
   * `If-None-Match`): racing immutable puts of *different* bytes are then not
   * guaranteed to leave one winner, so that one test is skipped.
   */
  readonly atomicImmutable: boolean;
}

const BINARY = { contentType: 'application/octet-stream', immutable: true } as const;
const TEXT = { contentType: 'text/plain; charset=utf-8', immutable: false } as const;

/** Settles `promise` now, so no rejection goes unhandled while a test awaits something else. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (error: unknown) => error);
}

/**
 * The `ObjectStore` contract (lambdas/ports/object-store.ts), run over every
 * adapter (STYLE habit 2). `makeStore` gives each test a fresh, empty store.
 *
 * @example
 * ```ts
 * objectStoreContract('MemoryObjectStore', async () => ({ store: new MemoryObjectStore(), atomicImmutable: true }));
 * ```
 */
export function objectStoreContract(name: string, makeStore: () => Promise<ObjectStoreUnderTest>): void {
  describe(`${name} (ObjectStore contract)`, () => {
    let store: ObjectStore;
    let atomicImmutable: boolean;
    beforeEach(async () => {
      ({ store, atomicImmutable } = await makeStore());
    });

    it('returns undefined for a key that was never put', async () => {
      // Act
      const got = await store.get('acme/checkpoint');
      // Assess
      expect(got).toBeUndefined();
    });

    it('returns exactly the bytes put, for every byte value and for 1 MiB', async () => {
      // Prepare
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const big = new Uint8Array(randomBytes(1 << 20));
      // Act
      await store.put('acme/tile/0/000', all, BINARY);
      await store.put('acme/tile/entries/000', big, BINARY);
      // Assess
      expect(await store.get('acme/tile/0/000')).toStrictEqual(all);
      expect(Buffer.from((await store.get('acme/tile/entries/000'))!).equals(big)).toBe(true);
    });

    it('keeps keys that share a prefix apart (full and partial tiles, tenants)', async () => {
      // Prepare
      const keys = ['acme/tile/0/000', 'acme/tile/0/000.p/5', 'acme-corp/tile/0/000', 'acme/tile/0/x001/000'];
      // Act
      for (const [i, key] of keys.entries()) await store.put(key, new Uint8Array([i]), BINARY);
      // Assess
      for (const [i, key] of keys.entries()) expect(await store.get(key)).toStrictEqual(new Uint8Array([i]));
      expect(await store.get('acme/tile/0')).toBeUndefined();
    });

    it('overwrites a mutable object', async () => {
      // Prepare
      await store.put('acme/checkpoint', new TextEncoder().encode('one\n'), TEXT);
      // Act
      await store.put('acme/checkpoint', new TextEncoder().encode('two\n'), TEXT);
      // Assess
      expect(new TextDecoder().decode(await store.get('acme/checkpoint'))).toBe('two\n');
    });

    it('accepts an immutable object put again with identical bytes (a re-run after a crash)', async () => {
      // Prepare
      const bytes = new Uint8Array(randomBytes(64));
      await store.put('acme/tile/1/000', bytes, BINARY);
      // Act
      await store.put('acme/tile/1/000', bytes.slice(), BINARY);
      // Assess
      expect(await store.get('acme/tile/1/000')).toStrictEqual(bytes);
    });

    it('refuses other bytes for an immutable object with ObjectImmutableError and keeps the first', async () => {
      // Prepare
      const first = new Uint8Array(randomBytes(64));
      const other = first.slice();
      other[63] = (other[63]! + 1) % 256;
      await store.put('acme/tile/1/000', first, BINARY);
      // Act
      const error = await rejection(store.put('acme/tile/1/000', other, BINARY));
      // Assess
      expect(error).toBeInstanceOf(ObjectImmutableError);
      expect(error).toMatchObject({ code: 'OBJECT_IMMUTABLE', key: 'acme/tile/1/000' });
      expect(await store.get('acme/tile/1/000')).toStrictEqual(first);
    });

    it('accepts 8 concurrent immutable puts of identical bytes', async () => {
      // Prepare
      const bytes = new Uint8Array(randomBytes(32 * 256));
      // Act
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => store.put('acme/tile/0/001', bytes, BINARY)));
      // Assess
      expect(results.map((r) => r.status)).toEqual(Array(8).fill('fulfilled'));
      expect(await store.get('acme/tile/0/001')).toStrictEqual(bytes);
    });

    it('stores one of 8 concurrent immutable puts of different bytes and refuses every other', async (context) => {
      // Prepare
      if (!atomicImmutable) context.skip('write-once is emulated by read-then-put on this engine');
      const candidates = Array.from({ length: 8 }, () => new Uint8Array(randomBytes(32)));
      // Act
      const results = await Promise.allSettled(candidates.map((b) => store.put('acme/tile/0/002', b, BINARY)));
      // Assess
      const stored = await store.get('acme/tile/0/002');
      const winners = candidates.filter((c) => Buffer.from(c).equals(stored!));
      expect(winners).toHaveLength(1);
      results.forEach((r, i) => {
        if (candidates[i] !== winners[0]) expect(r).toMatchObject({ status: 'rejected', reason: expect.any(ObjectImmutableError) });
      });
    });

    it.each(['', '/acme/checkpoint', 'acme/', 'acme//tile', 'acme/../other', './acme', 'a'.repeat(1025)])(
      'refuses the key %j with RangeError',
      async (key) => {
        // Act
        const errors = [await rejection(store.get(key)), await rejection(store.put(key, new Uint8Array([1]), TEXT))];
        // Assess
        for (const error of errors) expect(error).toBeInstanceOf(RangeError);
      },
    );
  });
}
