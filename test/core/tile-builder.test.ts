import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompactRange, rangeNodes, type NodeId } from '../../lambdas/core/compact-range.js';
import { InvalidRangeError } from '../../lambdas/core/errors.js';
import { ProofNodes, verifyConsistency, verifyInclusion } from '../../lambdas/core/merkle-proof.js';
import { hashChildren } from '../../lambdas/core/rfc9162-hasher.js';
import { TileBuilder } from '../../lambdas/core/tile-builder.js';
import {
  MissingTileError, TileLengthError, hashesFromTiles, tilePath, tilesForSize, tileWidth,
  type TileReader, type TileRef, type TileWrite,
} from '../../lambdas/core/tlog-tiles.js';

const code = (c: string) => expect.objectContaining({ code: c });
const hex = (hashes: readonly Uint8Array[]) => hashes.map((h) => Buffer.from(h).toString('hex'));
const full = (level: number, index: number): TileRef => ({ level, index, width: 256 });

// A tree of 70,000 random leaves, written in bursts by a writer that restarts
// between them, cross-checked against every node hash computed naively.
const SIZE = 70_000;
const BURSTS = [1, 2, 255, 256, 300, 511, 4_096, 65_535, 65_536, 65_537, 66_000, 69_999, SIZE];
const leaves = Array.from({ length: SIZE }, () => randomBytes(32));
const reference: Uint8Array[][] = [leaves];
for (let level = 0; reference[level]!.length > 1; level++) {
  const below = reference[level]!;
  reference.push(Array.from({ length: Math.floor(below.length / 2) }, (_, i) => hashChildren(below[2 * i]!, below[2 * i + 1]!)));
}
const nodeHash = (id: NodeId) => reference[id.level]![id.index]!;
const rootAt = (size: number) => CompactRange.from(0, size, rangeNodes(0, size).map(nodeHash)).root();

const store = new Map<string, Uint8Array>();
const writes: TileWrite[] = [];
const roots = new Map<number, Uint8Array>();
let range = CompactRange.empty();
for (const end of BURSTS) {
  // A restarted writer: the range and the partial tiles come back from storage.
  range = CompactRange.from(0, range.end, range.hashes);
  const builder = new TileBuilder(range.end, (ref) => store.get(tilePath(ref)));
  for (let i = range.end; i < end; i++) range.append(leaves[i]!, builder.visitor);
  if (builder.treeSize !== end) throw new Error(`builder reached ${builder.treeSize}, not ${end}`);
  for (const w of builder.changedTiles()) {
    writes.push(w);
    store.set(w.path, w.bytes);
  }
  roots.set(end, range.root());
}

describe('TileBuilder', () => {
  it('writes tiles that hold the RFC 9162 hashes of nodes at level 8L (tlog-tiles "Merkle Tree")', () => {
    // Act
    const tiles = tilesForSize(SIZE);
    // Assess
    for (const t of tiles) {
      const want = Buffer.concat(Array.from({ length: t.width }, (_, i) => nodeHash({ level: 8 * t.level, index: t.index * 256 + i })));
      expect(Buffer.from(store.get(tilePath(t))!).equals(want)).toBe(true);
    }
    expect(hex([roots.get(SIZE)!])).toEqual(hex([rootAt(SIZE)]));
  });

  it('writes every tile of every checkpoint size, each full tile exactly once and never changed', () => {
    // Act
    const fullWrites = writes.filter((w) => w.ref.width === 256).map((w) => w.path);
    // Assess
    expect(fullWrites).toHaveLength(new Set(fullWrites).size);
    expect(fullWrites.sort()).toEqual(tilesForSize(SIZE).filter((t) => t.width === 256).map(tilePath).sort());
    for (const size of BURSTS) for (const t of tilesForSize(size)) expect(store.has(tilePath(t))).toBe(true);
  });

  it('only ever widens a partial tile, keeping the previous hashes as its prefix', () => {
    // Prepare
    const latest = new Map<string, Uint8Array>();
    for (const w of writes) {
      const key = `${w.ref.level}/${w.ref.index}`;
      const before = latest.get(key);
      // Assess
      if (before !== undefined) {
        expect(w.bytes.length).toBeGreaterThan(before.length);
        expect(Buffer.from(w.bytes.subarray(0, before.length)).equals(before)).toBe(true);
      }
      latest.set(key, w.bytes);
    }
  });

  it('reports changes in ascending level then index, and none when nothing was appended', () => {
    // Prepare
    const range = CompactRange.empty();
    const builder = new TileBuilder(0, new Map());
    for (let i = 0; i < 65_540; i++) range.append(leaves[i]!, builder.visitor);
    // Act
    const refs = builder.changedTiles().map((w) => w.ref);
    const idle = new TileBuilder(SIZE, store).changedTiles();
    // Assess
    expect(refs).toEqual([...refs].sort((a, b) => a.level - b.level || a.index - b.index));
    expect(refs.at(-1)).toEqual({ level: 2, index: 0, width: 1 });
    expect(refs.filter((r) => r.level === 0)).toHaveLength(257);
    expect(idle).toEqual([]);
  });

  it('needs each partial tile of its starting size, at exactly its width', () => {
    // Prepare
    const partial = tilePath({ level: 0, index: 1, width: 44 });
    const short = new Map([[partial, new Uint8Array(43 * 32)]]);
    const long = new Map([[partial, new Uint8Array(45 * 32)]]);
    // Act
    const missing = () => new TileBuilder(300, new Map());
    const tooShort = () => new TileBuilder(300, short);
    const tooLong = () => new TileBuilder(300, long);
    // Assess
    expect(missing).toThrow(MissingTileError);
    expect(tooShort).toThrow(TileLengthError);
    expect(tooShort).toThrow(code('INVALID_TILE'));
    expect(tooLong).toThrow(TileLengthError);
  });

  it('refuses nodes out of append order and hashes of the wrong size', () => {
    // Prepare
    const builder = new TileBuilder(0, new Map());
    // Act
    const skip = () => builder.visitor({ level: 0, index: 1 }, leaves[1]!);
    const short = () => builder.visitor({ level: 0, index: 0 }, new Uint8Array(31));
    const ignored = () => builder.visitor({ level: 3, index: 9 }, leaves[1]!);
    // Assess
    expect(skip).toThrow(InvalidRangeError);
    expect(short).toThrow(code('INVALID_TILE'));
    expect(ignored).not.toThrow();
    expect(builder.changedTiles()).toEqual([]);
  });
});

describe('hashesFromTiles over the tiles TileBuilder wrote', () => {
  /** Tiles exactly as of `size`: the partial tiles a checkpoint of that size published. */
  const exact: TileReader = (ref) => store.get(tilePath(ref));
  /** Partial tiles deleted once full (tlog-tiles allows it): fall back to the full tile. */
  const fallback: TileReader = (ref) =>
    (store.has(tilePath(full(ref.level, ref.index))) ? store.get(tilePath(full(ref.level, ref.index))) : store.get(tilePath(ref)));
  /** Only the latest version of every tile: serves any older size by truncation. */
  const latest: TileReader = (ref) => store.get(tilePath({ ...ref, width: tileWidth(ref.level, ref.index, SIZE) }));

  const checkpoint = fc.constantFrom(...BURSTS);
  const anySize = fc.integer({ min: 1, max: SIZE });

  it.each([
    { name: 'tiles of that exact size', reader: exact, sizes: checkpoint },
    { name: 'full tiles standing in for deleted partial ones', reader: fallback, sizes: checkpoint },
    { name: 'the latest tiles, truncated to any older size', reader: latest, sizes: anySize },
  ])('rebuilds verifying inclusion proofs from $name', ({ reader, sizes }) => {
    fc.assert(fc.property(sizes, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (size, frac) => {
      // Prepare
      const index = Math.floor(frac * size);
      const nodes = ProofNodes.inclusion(index, size);
      // Act
      const hashes = hashesFromTiles(nodes.ids, size, reader);
      // Assess
      expect(hex(hashes)).toEqual(hex(nodes.ids.map(nodeHash)));
      verifyInclusion(index, size, leaves[index]!, nodes.rehash(hashes), roots.get(size) ?? rootAt(size));
    }), { numRuns: 150 });
  });

  it.each([
    { name: 'tiles of that exact size', reader: exact, sizes: checkpoint },
    { name: 'full tiles standing in for deleted partial ones', reader: fallback, sizes: checkpoint },
    { name: 'the latest tiles, truncated to any older size', reader: latest, sizes: anySize },
  ])('rebuilds verifying consistency proofs from $name', ({ reader, sizes }) => {
    fc.assert(fc.property(sizes, sizes, (a, b) => {
      // Prepare
      const [size1, size2] = a <= b ? [a, b] : [b, a];
      const nodes = ProofNodes.consistency(size1, size2);
      // Act
      const hashes = hashesFromTiles(nodes.ids, size2, reader);
      // Assess
      expect(hex(hashes)).toEqual(hex(nodes.ids.map(nodeHash)));
      const root1 = roots.get(size1) ?? rootAt(size1);
      verifyConsistency(size1, size2, nodes.rehash(hashes), root1, roots.get(size2) ?? rootAt(size2));
    }), { numRuns: 150 });
  });

  it('rebuilds the root of any size from the tiles of its compact range', () => {
    fc.assert(fc.property(fc.constantFrom(...BURSTS), (size) => {
      // Act
      const hashes = hashesFromTiles(rangeNodes(0, size), size, exact);
      // Assess
      expect(hex([CompactRange.from(0, size, hashes).root()])).toEqual(hex([roots.get(size)!]));
    }));
  });
});
