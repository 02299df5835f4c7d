import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompactRange } from '../../lambdas/core/compact-range.js';
import { EntryBundleBuilder, InvalidBundleError, MAX_ENTRY_SIZE, decodeBundle, encodeBundle } from '../../lambdas/core/entry-bundle.js';
import { EntryTooLargeError, InvalidEntryError, InvalidRangeError } from '../../lambdas/core/errors.js';
import { hashLeaf } from '../../lambdas/core/rfc9162-hasher.js';
import { TileBuilder } from '../../lambdas/core/tile-builder.js';
import { entryBundlePath, tilePath, tilesForSize, type TileRef } from '../../lambdas/core/tlog-tiles.js';

const code = (c: string) => expect.objectContaining({ code: c });
const bytes = (...b: number[]) => new Uint8Array(b);
const hex = (list: readonly Uint8Array[]) => list.map((b) => Buffer.from(b).toString('hex'));
const entry = fc.uint8Array({ minLength: 1, maxLength: 300 });

describe('encodeBundle', () => {
  it('prefixes each entry with its big-endian uint16 length (C2SP tlog-tiles "Log entries")', () => {
    // Act
    const encoded = encodeBundle([bytes(0x68, 0x69), new Uint8Array(258).fill(7)]);
    // Assess
    expect([...encoded.subarray(0, 6)]).toEqual([0x00, 0x02, 0x68, 0x69, 0x01, 0x02]);
    expect(encoded.length).toBe(4 + 2 + 258);
  });

  it('accepts an entry of exactly 65535 bytes', () => {
    // Prepare
    const big = new Uint8Array(MAX_ENTRY_SIZE).fill(1);
    // Act
    const encoded = encodeBundle([big]);
    // Assess
    expect([...encoded.subarray(0, 2)]).toEqual([0xff, 0xff]);
    expect(decodeBundle(encoded, 1)[0]!.length).toBe(MAX_ENTRY_SIZE);
  });

  it.each([
    { name: 'an empty entry', entries: [bytes(1), bytes()], error: InvalidEntryError },
    { name: 'an entry of 65536 bytes', entries: [new Uint8Array(MAX_ENTRY_SIZE + 1)], error: EntryTooLargeError },
    { name: 'no entries', entries: [], error: InvalidBundleError },
    { name: '257 entries', entries: Array.from({ length: 257 }, () => bytes(1)), error: InvalidBundleError },
  ])('rejects $name', ({ entries, error }) => {
    // Act
    const act = () => encodeBundle(entries);
    // Assess
    expect(act).toThrow(error);
  });
});

describe('decodeBundle', () => {
  it('inverts encodeBundle for 1..256 entries', () => {
    fc.assert(fc.property(fc.array(entry, { minLength: 1, maxLength: 256 }), fc.boolean(), (entries, withCount) => {
      // Act
      const decoded = decodeBundle(encodeBundle(entries), withCount ? entries.length : undefined);
      // Assess
      expect(hex(decoded)).toEqual(hex(entries));
    }), { numRuns: 200 });
  });

  it('rejects every strict prefix and every extension of a bundle whose count is known', () => {
    fc.assert(fc.property(fc.array(entry, { minLength: 1, maxLength: 8 }), fc.uint8Array({ minLength: 1, maxLength: 4 }), (entries, extra) => {
      // Prepare
      const encoded = encodeBundle(entries);
      for (let cut = 0; cut < encoded.length; cut++) {
        // Act
        const act = () => decodeBundle(encoded.subarray(0, cut), entries.length);
        // Assess
        expect(act).toThrow(InvalidBundleError);
      }
      expect(() => decodeBundle(Buffer.concat([encoded, extra]), entries.length)).toThrow(InvalidBundleError);
    }), { numRuns: 50 });
  });

  it.each([
    { name: 'a truncated length prefix', input: bytes(0, 1, 9, 0), count: undefined, why: /truncated length/ },
    { name: 'a truncated body', input: bytes(0, 3, 9, 9), count: undefined, why: /needs 3 bytes, only 2/ },
    { name: 'a zero-length entry', input: bytes(0, 1, 9, 0, 0), count: undefined, why: /empty entry at byte 3/ },
    { name: 'trailing bytes', input: bytes(0, 1, 9, 0, 1, 8), count: 1, why: /3 trailing bytes/ },
    { name: 'fewer entries than expected', input: bytes(0, 1, 9), count: 2, why: /holds 1 entries; expected 2/ },
    { name: 'no bytes at all', input: bytes(), count: undefined, why: /empty bundle/ },
    { name: 'an impossible expected count', input: bytes(0, 1, 9), count: 0, why: /not in 1..256/ },
    { name: 'more than 256 entries', input: encode257(), count: undefined, why: /1 trailing bytes after 256/ },
  ])('rejects $name', ({ input, count, why }) => {
    // Act
    const act = () => decodeBundle(input, count);
    // Assess
    expect(act).toThrow(InvalidBundleError);
    expect(act).toThrow(why);
    expect(act).toThrow(code('INVALID_TILE'));
  });
});

function encode257(): Uint8Array {
  return Buffer.concat([encodeBundle(Array.from({ length: 256 }, () => bytes(1))), bytes(0)]);
}

describe('EntryBundleBuilder', () => {
  it('writes bundles across restarts that match the level-0 tiles entry by entry', () => {
    // Prepare: a writer restarting between bursts, with tiles built alongside.
    const entries = Array.from({ length: 1_100 }, (_, i) => randomBytes(1 + (i % 40)));
    const store = new Map<string, Uint8Array>();
    const written: string[] = [];
    let range = CompactRange.empty();
    for (const end of [1, 255, 256, 257, 512, 700, 1_023, 1_100]) {
      const size = range.end;
      const partial = size % 256 === 0 ? undefined : store.get(entryBundlePath(Math.floor(size / 256), size % 256));
      const bundles = new EntryBundleBuilder(size, partial);
      const tiles = new TileBuilder(size, store);
      // Act
      for (let i = size; i < end; i++) {
        expect(bundles.add(entries[i]!)).toBe(i);
        range.append(hashLeaf(entries[i]!), tiles.visitor);
      }
      expect(bundles.treeSize).toBe(end);
      for (const w of [...bundles.changedBundles(), ...tiles.changedTiles()]) {
        written.push(w.path);
        store.set(w.path, w.bytes);
      }
      range = CompactRange.from(0, range.end, range.hashes);
    }
    // Assess
    const fullBundles = written.filter((p) => p.startsWith('tile/entries/') && !p.includes('.p/'));
    expect(fullBundles).toEqual(['tile/entries/000', 'tile/entries/001', 'tile/entries/002', 'tile/entries/003']);
    for (const tile of tilesForSize(1_100).filter((t: TileRef) => t.level === 0)) {
      const decoded = decodeBundle(store.get(entryBundlePath(tile.index, tile.width))!, tile.width);
      const start = tile.index * 256;
      expect(hex(decoded)).toEqual(hex(entries.slice(start, start + tile.width)));
      const leafHashes = store.get(tilePath(tile))!;
      expect(hex(decoded.map(hashLeaf))).toEqual(hex(Array.from({ length: tile.width }, (_, i) => leafHashes.subarray(32 * i, 32 * (i + 1)))));
    }
  });

  it('writes a full bundle once, then the new partial bundle, and nothing when idle', () => {
    // Prepare
    const start = new EntryBundleBuilder(254, encodeBundle(Array.from({ length: 254 }, () => bytes(1))));
    const idle = new EntryBundleBuilder(254, encodeBundle(Array.from({ length: 254 }, () => bytes(1))));
    // Act
    for (let i = 0; i < 3; i++) start.add(bytes(2, 3));
    // Assess
    expect(start.changedBundles().map((b) => [b.index, b.width, b.path])).toEqual([[0, 256, 'tile/entries/000'], [1, 1, 'tile/entries/001.p/1']]);
    expect(decodeBundle(start.changedBundles()[0]!.bytes, 256).slice(253).map((e) => [...e])).toEqual([[1], [2, 3], [2, 3]]);
    expect(idle.changedBundles()).toEqual([]);
  });

  it.each([
    { name: 'a missing partial bundle', size: 5, partial: undefined, error: InvalidBundleError },
    { name: 'a partial bundle of the wrong width', size: 5, partial: encodeBundle([bytes(1)]), error: InvalidBundleError },
    { name: 'a partial bundle where none exists', size: 512, partial: encodeBundle([bytes(1)]), error: InvalidBundleError },
    { name: 'a size that is not a tree size', size: -1, partial: undefined, error: InvalidRangeError },
  ])('refuses $name', ({ size, partial, error }) => {
    // Act
    const act = () => new EntryBundleBuilder(size, partial);
    // Assess
    expect(act).toThrow(error);
  });

  it('refuses empty and oversized entries without changing its bundles', () => {
    // Prepare
    const builder = new EntryBundleBuilder(0);
    // Act
    const empty = () => builder.add(bytes());
    const big = () => builder.add(new Uint8Array(MAX_ENTRY_SIZE + 1));
    // Assess
    expect(empty).toThrow(InvalidEntryError);
    expect(big).toThrow(EntryTooLargeError);
    expect(builder.treeSize).toBe(0);
    expect(builder.changedBundles()).toEqual([]);
  });
});
