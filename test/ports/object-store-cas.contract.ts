import { beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../lambdas/ports/object-store.js';
import { ObjectImmutableError } from '../../lambdas/ports/errors.js';
import type { ObjectStoreUnderTest } from './object-store.contract.js';

const TEXT = { contentType: 'text/plain; charset=utf-8' } as const;
const KEY = 'acme/checkpoint';
const bytes = (text: string) => new TextEncoder().encode(text);

/**
 * The `ObjectStore` compare-and-swap contract (`getVersioned`, `putIfMatch`;
 * lambdas/ports/object-store.ts), run over every adapter next to
 * `objectStoreContract`. `makeStore` gives each test a fresh, empty store.
 *
 * @example
 * ```ts
 * objectStoreCasContract('MemoryObjectStore', async () => ({ store: new MemoryObjectStore(), atomicImmutable: true }));
 * ```
 */
export function objectStoreCasContract(name: string, makeStore: () => Promise<ObjectStoreUnderTest>): void {
  describe(`${name} (ObjectStore compare-and-swap contract)`, () => {
    let store: ObjectStore;
    beforeEach(async () => {
      ({ store } = await makeStore());
    });

    it('creates a key expected absent, and getVersioned returns its bytes with the tag putIfMatch answered', async () => {
      // Act
      const tag = await store.putIfMatch(KEY, bytes('size 1'), TEXT, undefined);
      // Assess
      expect(tag).toEqual(expect.any(String));
      expect(await store.getVersioned(KEY)).toEqual({ bytes: bytes('size 1'), etag: tag });
      expect(await store.get(KEY)).toEqual(bytes('size 1'));
      expect(await store.getVersioned('acme/none')).toBeUndefined();
    });

    it('loses, changing nothing, when the key exists but was expected absent, or its tag is no longer current', async () => {
      // Prepare
      const first = (await store.putIfMatch(KEY, bytes('size 1'), TEXT, undefined))!;
      const second = (await store.putIfMatch(KEY, bytes('size 2'), TEXT, first))!;
      // Act
      const outcomes = [
        await store.putIfMatch(KEY, bytes('stale create'), TEXT, undefined),
        await store.putIfMatch(KEY, bytes('stale swap'), TEXT, first),
      ];
      // Assess
      expect(second).not.toBe(first);
      expect(outcomes).toEqual([undefined, undefined]);
      expect(await store.getVersioned(KEY)).toEqual({ bytes: bytes('size 2'), etag: second });
    });

    it('loses when the key it names a tag for is gone (never put)', async () => {
      // Prepare
      const tag = (await store.putIfMatch('acme-corp/checkpoint', bytes('x'), TEXT, undefined))!;
      // Act
      const outcome = await store.putIfMatch(KEY, bytes('y'), TEXT, tag);
      // Assess
      expect(outcome).toBeUndefined();
      expect(await store.get(KEY)).toBeUndefined();
    });

    it('lets exactly one of 8 concurrent swaps from the same tag win; the stored bytes are the winner\'s', async () => {
      // Prepare
      const tag = (await store.putIfMatch(KEY, bytes('size 0'), TEXT, undefined))!;
      // Act
      const tags = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putIfMatch(KEY, bytes(`size ${i + 1}`), TEXT, tag)));
      // Assess
      const won = tags.flatMap((t, i) => (t === undefined ? [] : [i]));
      expect(won).toHaveLength(1);
      expect(await store.getVersioned(KEY)).toEqual({ bytes: bytes(`size ${won[0]! + 1}`), etag: tags[won[0]!] });
    });

    it('lets exactly one of 8 concurrent creates of an absent key win', async () => {
      // Act
      const tags = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putIfMatch(KEY, bytes(`first ${i}`), TEXT, undefined)));
      // Assess
      expect(tags.filter((t) => t !== undefined)).toHaveLength(1);
    });

    it('supersedes a write-once object only through putIfMatch with its current tag, and it stays write-once for put', async () => {
      // Prepare: a full tile of a generation a recovery discarded
      const tile = 'acme/tile/0/000';
      await store.put(tile, bytes('old generation'), { contentType: 'application/octet-stream', immutable: true });
      const { etag } = (await store.getVersioned(tile))!;
      // Act
      const stale = await store.putIfMatch(tile, bytes('new generation'), TEXT, 'not-its-tag');
      const replaced = await store.putIfMatch(tile, bytes('new generation'), TEXT, etag);
      const plain = await store.put(tile, bytes('a third'), { contentType: 'application/octet-stream', immutable: true }).catch((e: unknown) => e);
      // Assess
      expect(stale).toBeUndefined();
      expect(replaced).toEqual(expect.any(String));
      expect(plain).toBeInstanceOf(ObjectImmutableError);
      expect(await store.get(tile)).toEqual(bytes('new generation'));
    });
  });
}
