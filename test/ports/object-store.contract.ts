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
  /**
   * False where `list` follows the engine's directory walk (s3rver): byte
   * order within one flat level, not across sibling names that prefix one
   * another, so that one listing is compared as a set. Default true.
   */
  readonly listsInByteOrder?: boolean;
}

const BINARY = { contentType: 'application/octet-stream', immutable: true } as const;
const TEXT = { contentType: 'text/plain; charset=utf-8', immutable: false } as const;

/** Settles `promise` now, so no rejection goes unhandled while a test awaits something else. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (error: unknown) => error);
}

/** Every key a `list` yields, in order. */
export async function listed(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
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
    let listsInByteOrder: boolean;
    beforeEach(async () => {
      let ordered: boolean | undefined;
      ({ store, atomicImmutable, listsInByteOrder: ordered } = await makeStore());
      listsInByteOrder = ordered ?? true;
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

    it('lists the keys under a prefix in ascending order, after startAfter (exclusive)', async () => {
      // Prepare
      const keys = ['events/acme/0000000000000002', 'events/acme/0000000000000000', 'events/acme/0000000000000001', 'events/acme-corp/0000000000000000', 'events/b/0'];
      for (const key of keys) await store.put(key, new Uint8Array([1]), BINARY);
      // Act
      const all = await listed(store.list('events/acme/'));
      const after = await listed(store.list('events/acme/', 'events/acme/0000000000000000'));
      const between = await listed(store.list('events/acme/', 'events/acme/00000000000000015'));
      const everything = await listed(store.list(''));
      // Assess
      expect(all).toEqual(['events/acme/0000000000000000', 'events/acme/0000000000000001', 'events/acme/0000000000000002']);
      expect(after).toEqual(all.slice(1));
      expect(between).toEqual(all.slice(2));
      expect(await listed(store.list('events/acme/', all[2]))).toEqual([]);
      expect(listsInByteOrder ? everything : [...everything].sort()).toEqual([...keys].sort());
      expect(await listed(store.list('events/none/'))).toEqual([]);
    });

    it('lists a prefix that is not a whole segment, and stops reading when the caller stops', async () => {
      // Prepare
      for (let i = 0; i < 12; i += 1) await store.put(`acme/tile/0/${String(i).padStart(3, '0')}`, new Uint8Array([i]), BINARY);
      // Act
      const some = await listed(store.list('acme/tile/0/00'));
      const first: string[] = [];
      for await (const key of store.list('acme/tile/')) {
        first.push(key);
        if (first.length === 2) break;
      }
      // Assess
      expect(some).toEqual(Array.from({ length: 10 }, (_, i) => `acme/tile/0/00${i}`));
      expect(first).toEqual(['acme/tile/0/000', 'acme/tile/0/001']);
    });

    it.each(['/events', 'events//', 'events/../x', './'])('refuses the list prefix %j with RangeError', async (prefix) => {
      // Act
      const error = await rejection(listed(store.list(prefix)));
      // Assess
      expect(error).toBeInstanceOf(RangeError);
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
