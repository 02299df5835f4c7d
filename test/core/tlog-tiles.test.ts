import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lambdas/core/compact-range.js';
import { InvalidRangeError } from '../../lambdas/core/errors.js';
import { ProofNodes } from '../../lambdas/core/merkle-proof.js';
import { hashChildren, hashLeaf } from '../../lambdas/core/rfc9162-hasher.js';
import {
  InvalidTilePathError, MissingTileError, TileLengthError, entryBundlePath, hashesFromTiles, parseTilePath,
  partialTilesForSize, tileForNode, tilePath, tilesForNodes, tilesForSize, tileWidth, type TileRef,
} from '../../lambdas/core/tlog-tiles.js';

// Published vectors, gathered in ../shared/vectors/c2sp-tiles.json from
// github.com/C2SP/C2SP tlog-tiles.md (exact commit in the file's `source`).
interface Vectors {
  paths: { n: number; path: string }[];
  layouts: { size: number; levels: { level: number; full: number; partial: number }[] }[];
}
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const vectors = JSON.parse(
  readFileSync(path.resolve(repoRoot, '..', 'shared', 'vectors', 'c2sp-tiles.json'), 'utf8'),
) as Vectors;
const code = (c: string) => expect.objectContaining({ code: c });
const hex = (hashes: readonly Uint8Array[]) => hashes.map((h) => Buffer.from(h).toString('hex'));
const full = (level: number, index: number): TileRef => ({ level, index, width: 256 });

describe('tilePath and entryBundlePath', () => {
  it.each(vectors.paths)('encodes N = $n as $path (C2SP vectors)', ({ n, path: p }) => {
    // Act
    const tile = tilePath(full(3, n));
    const bundle = entryBundlePath(n, 256);
    // Assess
    expect(tile).toBe(`tile/3/${p}`);
    expect(bundle).toBe(`tile/entries/${p}`);
  });

  it('adds .p/<W> only to partial tiles and bundles', () => {
    // Act
    const paths = [tilePath({ level: 1, index: 1234067, width: 17 }), tilePath(full(0, 5)), entryBundlePath(1000, 1)];
    // Assess
    expect(paths).toEqual(['tile/1/x001/x234/067.p/17', 'tile/0/005', 'tile/entries/x001/000.p/1']);
  });

  it.each([
    { level: 0, index: 0, width: 0 }, { level: 0, index: 0, width: 257 }, { level: 64, index: 0, width: 1 },
    { level: -1, index: 0, width: 1 }, { level: 0, index: -1, width: 1 }, { level: 0, index: 1.5, width: 1 },
    { level: 0, index: 2 ** 53, width: 1 }, { level: 0, index: 0, width: 2.5 },
  ])('rejects the impossible tile %o', (ref) => {
    // Act
    const act = () => tilePath(ref);
    // Assess
    expect(act).toThrow(code('INVALID_TILE'));
  });
});

describe('parseTilePath', () => {
  it.each(vectors.paths)('parses $path back to N = $n (C2SP vectors)', ({ n, path: p }) => {
    // Act
    const tile = parseTilePath(`tile/0/${p}.p/9`);
    const bundle = parseTilePath(`tile/entries/${p}`);
    // Assess
    expect(tile).toEqual({ kind: 'tile', ref: { level: 0, index: n, width: 9 } });
    expect(bundle).toEqual({ kind: 'entries', ref: { level: 0, index: n, width: 256 } });
  });

  it('inverts tilePath and entryBundlePath for every tile', () => {
    // Prepare
    const refs = fc.record({
      level: fc.integer({ min: 0, max: 63 }),
      index: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.maxSafeNat()),
      width: fc.integer({ min: 1, max: 256 }),
    });
    fc.assert(fc.property(refs, fc.boolean(), (ref, entries) => {
      // Act
      const p = entries ? entryBundlePath(ref.index, ref.width) : tilePath(ref);
      const parsed = parseTilePath(p);
      // Assess
      expect(parsed).toEqual({ kind: entries ? 'entries' : 'tile', ref: entries ? { ...ref, level: 0 } : ref });
    }));
  });

  it('accepts an edited path only if it is the canonical encoding of what it parses to', () => {
    // Prepare: one-character edits of canonical paths; most break the syntax, some stay valid.
    const edit = fc.tuple(fc.nat(), fc.constantFrom('', '0', '1', '9', 'x', '/', '.', 'p'), fc.boolean());
    const tile = fc.record({ level: fc.nat(70), index: fc.nat(10 ** 7), width: fc.integer({ min: 1, max: 256 }) });
    fc.assert(fc.property(tile, edit, ({ level, index, width }, [at, ch, replace]) => {
      const p = level >= 64 ? entryBundlePath(index, width) : tilePath({ level, index, width });
      const i = at % (p.length + 1);
      const edited = p.slice(0, i) + ch + p.slice(replace ? i + 1 : i);
      // Act
      let reformatted: string;
      try {
        const { kind, ref } = parseTilePath(edited);
        reformatted = kind === 'entries' ? entryBundlePath(ref.index, ref.width) : tilePath(ref);
      } catch (e) {
        // Assess
        expect(e).toBeInstanceOf(InvalidTilePathError);
        return;
      }
      expect(reformatted).toBe(edited);
    }), { numRuns: 2000 });
  });

  it.each([
    'tile/0/0', 'tile/0/0000', 'tile/0/x000/001', 'tile/0/x000/x001/002', 'tile/0/001/002', 'tile/0/x001',
    'tile/0/x001/x002', 'tile/0/X001/000', 'tile/00/000', 'tile/01/000', 'tile/64/000', 'tile/-1/000',
    'tile/0/000.p/0', 'tile/0/000.p/256', 'tile/0/000.p/007', 'tile/0/000.p/', 'tile/0/000.p', 'tile/0/000.p/+5',
    'tile/entries/000.p/256', 'tile/entries/x000/000', 'tile/entries/0', 'tile/data/000', 'tile/8/0/000',
    '/tile/0/000', 'tile/0/000/', ' tile/0/000', 'tile/0/000\n', 'tile/0/000.p/1\n', 'tile//000', 'tile/0/',
    'tile/0/x009/x007/x199/x254/x740/x992/000', 'tile/0/x123/x456/x789/x012/x345/x678/901', '',
  ])('rejects %j', (p) => {
    // Act
    const act = () => parseTilePath(p);
    // Assess
    expect(act).toThrow(InvalidTilePathError);
    expect(act).toThrow(code('INVALID_TILE'));
  });

  it.each([
    { p: 'tile/0/000.p/256', why: /partial width not in 1..255/ },
    { p: 'tile/0/000.p/0', why: /partial width not in 1..255/ },
    { p: 'tile/64/000', why: /level above 63/ },
    { p: 'tile/0/x009/x007/x199/x254/x740/x992/000', why: /not a safe integer/ },
    { p: 'tile/0/x000/001', why: /not canonical \(expected tile\/0\/001\)/ },
  ])('says why $p is rejected', ({ p, why }) => {
    // Act
    const act = () => parseTilePath(p);
    // Assess
    expect(act).toThrow(why);
  });
});

describe('tilesForSize, tileWidth and partialTilesForSize', () => {
  it.each(vectors.layouts)('lays out a tree of size $size as C2SP tlog-tiles says', ({ size, levels }) => {
    // Act
    const tiles = tilesForSize(size);
    // Assess
    const found = [...new Set(tiles.map((t) => t.level))].map((level) => {
      const at = tiles.filter((t) => t.level === level);
      const partial = at.filter((t) => t.width < 256);
      expect(at.map((t) => t.index)).toEqual(at.map((_, i) => i));
      expect(partial.length).toBeLessThanOrEqual(1);
      return { level, full: at.length - partial.length, partial: partial[0]?.width ?? 0 };
    });
    expect(found).toEqual(levels);
  });

  it('agrees with tileWidth, which is 0 for tiles that do not exist yet', () => {
    fc.assert(fc.property(fc.nat(300_000), (size) => {
      // Act
      const tiles = tilesForSize(size);
      // Assess
      for (const t of tiles) expect(tileWidth(t.level, t.index, size)).toBe(t.width);
      const levels = tiles.length === 0 ? 0 : tiles.at(-1)!.level + 1;
      for (let level = 0; level <= levels; level++) {
        const next = tiles.filter((t) => t.level === level).length;
        expect(tileWidth(level, next, size)).toBe(0);
      }
      expect(partialTilesForSize(size)).toEqual(tiles.filter((t) => t.width < 256));
    }), { numRuns: 50 });
  });

  it('has no tiles for the empty tree and rejects sizes that are not tree sizes', () => {
    // Act
    const empty = tilesForSize(0);
    // Assess
    expect(empty).toEqual([]);
    expect(() => tilesForSize(-1)).toThrow(InvalidRangeError);
    expect(() => tileWidth(0, 0, 1.5)).toThrow(InvalidRangeError);
    expect(() => partialTilesForSize(2 ** 53)).toThrow(InvalidRangeError);
  });
});

describe('tileForNode', () => {
  it.each([
    { id: { level: 0, index: 300 }, want: { tile: full(0, 1), start: 44, count: 1 } },
    { id: { level: 9, index: 3 }, want: { tile: full(1, 0), start: 6, count: 2 } },
    { id: { level: 15, index: 1 }, want: { tile: full(1, 0), start: 128, count: 128 } },
    { id: { level: 16, index: 0 }, want: { tile: { level: 2, index: 0, width: 1 }, start: 0, count: 1 } },
    { id: { level: 0, index: 69_999 }, want: { tile: { level: 0, index: 273, width: 112 }, start: 111, count: 1 } },
    { id: { level: 12, index: 16 }, want: { tile: { level: 1, index: 1, width: 17 }, start: 0, count: 16 } },
  ])('locates node $id.level/$id.index of the size-70000 tree', ({ id, want }) => {
    // Act
    const where = tileForNode(id, 70_000);
    // Assess
    expect(where).toEqual(want);
  });

  it('maps every complete node to the run of level-8L hashes its subtree covers', () => {
    const nodes = fc.nat(2 ** 40).chain((size) => fc.record({
      size: fc.constant(size + 1),
      level: fc.integer({ min: 0, max: Math.floor(Math.log2(size + 1)) }),
      frac: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    }));
    fc.assert(fc.property(nodes, ({ size, level, frac }) => {
      const index = Math.floor(frac * Math.floor(size / 2 ** level));
      // Act
      const { tile, start, count } = tileForNode({ level, index }, size);
      // Assess
      const base = 8 * tile.level;
      expect(level - base).toBeGreaterThanOrEqual(0);
      expect(level - base).toBeLessThan(8);
      expect(tile.index * 256 + start).toBe(index * 2 ** (level - base));
      expect(count).toBe(2 ** (level - base));
      expect(start + count).toBeLessThanOrEqual(tile.width);
      expect(tile.width).toBe(tileWidth(tile.level, tile.index, size));
    }));
  });

  it.each([
    { id: { level: 0, index: 1 }, size: 1 }, { id: { level: 1, index: 0 }, size: 1 }, { id: { level: 8, index: 1 }, size: 511 },
    { id: { level: 53, index: 0 }, size: 2 ** 53 - 1 }, { id: { level: -1, index: 0 }, size: 8 }, { id: { level: 0, index: 0.5 }, size: 8 },
  ])('rejects node $id.level/$id.index, not complete at size $size', ({ id, size }) => {
    // Act
    const act = () => tileForNode(id, size);
    // Assess
    expect(act).toThrow(InvalidRangeError);
  });
});

describe('tilesForNodes', () => {
  it('lists each tile a proof needs once, ascending level then index', () => {
    // Prepare
    const ids = ProofNodes.inclusion(12_345, 70_000).ids;
    // Act
    const tiles = tilesForNodes([...ids, ...ids], 70_000);
    // Assess
    expect(tiles).toEqual([full(0, 48), { level: 0, index: 273, width: 112 }, full(1, 0), { level: 1, index: 1, width: 17 }]);
    expect(new Set(tiles.map(tilePath)).size).toBe(tiles.length);
    for (const id of ids) expect(tiles).toContainEqual(tileForNode(id, 70_000).tile);
  });
});

// A tree of 300 leaves and its tiles, laid out by hand from naively computed
// node hashes (tile (L, N) = nodes N·256 … of level 8L, tlog-tiles "Merkle Tree").
const leaves = Array.from({ length: 300 }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));
const reference: Uint8Array[][] = [leaves];
for (let level = 0; reference[level]!.length > 1; level++) {
  const below = reference[level]!;
  reference.push(Array.from({ length: Math.floor(below.length / 2) }, (_, i) => hashChildren(below[2 * i]!, below[2 * i + 1]!)));
}
const nodeHash = (id: NodeId) => reference[id.level]![id.index]!;
const store = new Map(tilesForSize(300).map((t) => [
  tilePath(t),
  Buffer.concat(reference[8 * t.level]!.slice(t.index * 256, t.index * 256 + t.width)),
]));
const exact = (ref: TileRef) => store.get(tilePath(ref));

describe('hashesFromTiles', () => {
  it('fetches each distinct tile once and returns copies, not views of the tile', () => {
    // Prepare
    const fetched: string[] = [];
    const ids = [{ level: 0, index: 5 }, { level: 0, index: 6 }, { level: 1, index: 3 }, { level: 8, index: 0 }];
    // Act
    const hashes = hashesFromTiles(ids, 300, (ref) => {
      fetched.push(tilePath(ref));
      return exact(ref);
    });
    hashes[0]!.fill(0);
    // Assess
    expect(fetched).toEqual(['tile/0/000', 'tile/1/000.p/1']);
    expect(hex([store.get('tile/0/000')!.subarray(5 * 32, 6 * 32)])).toEqual(hex([leaves[5]!]));
    expect(hex(hashes.slice(1))).toEqual(hex(ids.slice(1).map(nodeHash)));
  });

  it.each([
    { name: 'missing', bytes: undefined, error: MissingTileError },
    { name: 'one hash short', bytes: new Uint8Array(43 * 32), error: TileLengthError },
    { name: 'not whole hashes', bytes: new Uint8Array(44 * 32 + 1), error: TileLengthError },
    { name: 'longer than a full tile', bytes: new Uint8Array(257 * 32), error: TileLengthError },
    { name: 'empty', bytes: new Uint8Array(0), error: TileLengthError },
  ])('rejects a tile that is $name', ({ bytes, error }) => {
    // Act
    const act = () => hashesFromTiles([{ level: 0, index: 299 }], 300, () => bytes);
    // Assess
    expect(act).toThrow(error);
    expect(act).toThrow(code('INVALID_TILE'));
  });

  it('rejects a node that is not complete at the tree size', () => {
    // Act
    const act = () => hashesFromTiles([{ level: 2, index: 74 }], 299, exact);
    // Assess
    expect(act).toThrow(InvalidRangeError);
  });
});
