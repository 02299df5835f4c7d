import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CompactRange, type NodeId, type NodeVisitor, decomposeRange, nodeCoverage, rangeNodes, rangeSize,
} from '../../lambdas/core/compact-range.js';
import { InvalidRangeError } from '../../lambdas/core/errors.js';
import { EMPTY_ROOT } from '../../lambdas/core/rfc9162-hasher.js';
import { REF_EMPTY_ROOT, ReferenceTree, leafData, refCompactRange, refPerfectNodesInside } from './reference-merkle.js';

// Published known answers, read from ../shared/vectors/rfc6962-8leaf.json:
// github.com/transparency-dev/merkle @ 417fb0c314750d94e53942e9f92e79b6d35915db,
// testonly/constants.go (LeafInputs, NodeHashes, RootHashes).
interface Rfc6962Vectors { leaves: string[]; rootsBySize: string[]; nodeHashesByLevel: string[][] }
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const rfc = JSON.parse(
  readFileSync(path.resolve(repoRoot, '..', 'shared', 'vectors', 'rfc6962-8leaf.json'), 'utf8'),
) as Rfc6962Vectors;

const MAX = Number.MAX_SAFE_INTEGER;
const N = 2000;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const key = (id: NodeId) => `${id.level}/${id.index}`;
const idOf = (k: string): NodeId => {
  const [level, index] = k.split('/').map(Number) as [number, number];
  return { level, index };
};

// One memoised reference table per window: leaves [0, N), and two windows of
// distinct leaves far beyond 2^32 (the second ends at the last safe index).
const low = new ReferenceTree(Array.from({ length: N }, (_, i) => leafData(i)));
const HIGH_BASE = 2 ** 40 + 12_345;
const TOP_BASE = MAX - 600;
const windows = [
  { name: 'leaves [0, 2000)', tree: low },
  { name: `leaves [2^40 + 12345, +600)`, tree: new ReferenceTree(Array.from({ length: 600 }, (_, i) => leafData(HIGH_BASE + i)), HIGH_BASE) },
  { name: 'leaves [2^53 − 601, 2^53 − 1)', tree: new ReferenceTree(Array.from({ length: 600 }, (_, i) => leafData(TOP_BASE + i)), TOP_BASE) },
];

/** The reference hashes of the compact range [begin, end), from the naive decomposition. */
const refRangeHashes = (tree: ReferenceTree, begin: number, end: number) => refCompactRange(begin, end).map((id) => hex(tree.nodeHash(id)));

function build(tree: ReferenceTree, begin: number, end: number, visitor?: NodeVisitor): CompactRange {
  const range = CompactRange.empty(begin);
  for (let i = begin; i < end; i++) range.append(tree.leaf(i), visitor);
  return range;
}

/** Records visitor calls; repeated nodes are kept apart. */
function recorder() {
  const seen = new Map<string, string>();
  const repeated: string[] = [];
  const visitor: NodeVisitor = (id, hash) => {
    if (seen.has(key(id))) repeated.push(key(id));
    seen.set(key(id), hex(hash));
  };
  return { seen, repeated, visitor };
}

/** Asserts that exactly `want` was reported, once each, with the reference hashes. */
function expectReported(rec: ReturnType<typeof recorder>, tree: ReferenceTree, want: Iterable<string>): void {
  const wanted = new Set(want);
  const missing = [...wanted].filter((k) => !rec.seen.has(k));
  const extra = [...rec.seen.keys()].filter((k) => !wanted.has(k));
  const wrong = [...rec.seen].filter(([k, h]) => wanted.has(k) && h !== hex(tree.nodeHash(idOf(k)))).map(([k]) => k);
  expect({ repeated: rec.repeated, missing, extra, wrong }).toEqual({ repeated: [], missing: [], extra: [], wrong: [] });
}

/** Nodes inside [begin, end) whose coverage contains both leaf split−1 and leaf split. */
function spanning(begin: number, split: number, end: number): string[] {
  const keys: string[] = [];
  for (let level = 1; 2 ** level <= end - begin; level++) {
    const index = Math.floor(split / 2 ** level);
    const [b, e] = [index * 2 ** level, (index + 1) * 2 ** level];
    if (b >= begin && e <= end && b < split) keys.push(`${level}/${index}`);
  }
  return keys;
}

/** A sorted triple a ≤ b ≤ c inside [lo, hi], with a = lo in about a third of the runs. */
function triple(lo: number, hi: number) {
  const point = fc.integer({ min: lo, max: hi });
  return fc.tuple(fc.oneof(fc.constant(lo), point), point, point).map((t) => t.sort((x, y) => x - y) as [number, number, number]);
}

/** begin ≤ end, anywhere in the safe range, biased to the 32-bit seam and the top. */
const safe = fc.oneof(
  fc.maxSafeNat(),
  fc.nat(5000),
  fc.tuple(fc.integer({ min: 0, max: 53 }), fc.integer({ min: -3, max: 3 })).map(([k, d]) => Math.min(MAX, Math.max(0, 2 ** k + d))),
);
const safeRange = fc.tuple(safe, safe).map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]);

describe('reference implementation', () => {
  it('reproduces the published RFC 6962 roots for sizes 0..8', () => {
    // Prepare
    const tree = new ReferenceTree(rfc.leaves.map((l) => Buffer.from(l, 'hex')));
    // Act
    const roots = rfc.rootsBySize.map((_, n) => hex(tree.root(n)));
    // Assess
    expect(roots).toEqual(rfc.rootsBySize);
  });
});

describe('nodeCoverage', () => {
  it('covers leaves [index·2^level, (index+1)·2^level)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 52 }).chain((level) => fc.tuple(fc.constant(level), fc.nat({ max: 2 ** (53 - level) - 1 }))), ([level, index]) => {
        // Act
        const [begin, end] = nodeCoverage({ level, index });
        // Assess
        expect([BigInt(begin), BigInt(end)]).toEqual([BigInt(index) << BigInt(level), BigInt(index + 1) << BigInt(level)]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('rangeNodes, rangeSize and decomposeRange', () => {
  it('match the greedy minimal decomposition for every range inside [0, 130]', () => {
    // Prepare
    const mismatches: string[] = [];
    // Act
    for (let end = 0; end <= 130; end++) {
      for (let begin = 0; begin <= end; begin++) {
        const want = refCompactRange(begin, end);
        if (JSON.stringify(rangeNodes(begin, end)) !== JSON.stringify(want) || rangeSize(begin, end) !== want.length) mismatches.push(`[${begin}, ${end})`);
      }
    }
    // Assess
    expect(mismatches).toEqual([]);
  });

  it('match the greedy minimal decomposition for ranges anywhere below 2^53', () => {
    fc.assert(
      fc.property(safeRange, ([begin, end]) => {
        // Prepare
        const want = refCompactRange(begin, end);
        // Act
        const nodes = rangeNodes(begin, end);
        const size = rangeSize(begin, end);
        const { left, right } = decomposeRange(begin, end);
        // Assess
        expect(nodes).toEqual(want);
        expect(size).toBe(want.length);
        const bits = (x: number) => [...BigInt(x).toString(2)].reverse().flatMap((c, k) => (c === '1' ? [k] : []));
        expect([...bits(left), ...bits(right).reverse()]).toEqual(want.map((id) => id.level));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('CompactRange.append', () => {
  it('reproduces the published RFC 6962 roots for sizes 0..8 and reports every published node', () => {
    // Prepare
    const range = CompactRange.empty();
    const rec = recorder();
    const roots = [hex(range.root())];
    // Act
    for (const leafHash of rfc.nodeHashesByLevel[0]!) {
      range.append(Buffer.from(leafHash, 'hex'), rec.visitor);
      roots.push(hex(range.root()));
    }
    // Assess
    expect(roots).toEqual(rfc.rootsBySize);
    expect(rec.repeated).toEqual([]);
    expect(Object.fromEntries(rec.seen)).toEqual(
      Object.fromEntries(rfc.nodeHashesByLevel.flatMap((nodes, level) => nodes.map((h, index) => [`${level}/${index}`, h]))),
    );
  });

  it('has the reference root and node hashes at every size 1..2000, reporting the nodes each leaf completes', () => {
    // Prepare
    const range = CompactRange.empty();
    const wrongRoots: number[] = [];
    const wrongHashes: number[] = [];
    const wrongReports: number[] = [];
    const rec = recorder();
    // Act
    for (let n = 1; n <= N; n++) {
      const reported: string[] = [];
      range.append(low.leaf(n - 1), (id, hash) => {
        reported.push(key(id));
        rec.visitor(id, hash);
      });
      // Leaf n−1 completes exactly the nodes whose coverage ends at n: levels 0..trailingZeros(n).
      const completed = [...Array(12).keys()].filter((l) => n % 2 ** l === 0).map((l) => `${l}/${n / 2 ** l - 1}`);
      if (JSON.stringify(reported) !== JSON.stringify(completed)) wrongReports.push(n);
      if (hex(range.root()) !== hex(low.root(n))) wrongRoots.push(n);
      if (JSON.stringify(range.hashes.map(hex)) !== JSON.stringify(refRangeHashes(low, 0, n))) wrongHashes.push(n);
    }
    // Assess
    expect(wrongRoots).toEqual([]);
    expect(wrongHashes).toEqual([]);
    expect(wrongReports).toEqual([]);
    expect(range.end).toBe(N);
    expectReported(rec, low, refPerfectNodesInside(0, N));
  });

  it.each(windows)('from any begin in $name, holds the reference node hashes and reports each completed node once', ({ tree }) => {
    fc.assert(
      fc.property(triple(tree.offset, tree.end), ([begin, , end]) => {
        // Prepare
        const rec = recorder();
        // Act
        const range = build(tree, begin, end, rec.visitor);
        // Assess
        expect([range.begin, range.end]).toEqual([begin, end]);
        expect(range.hashes.map(hex)).toEqual(refRangeHashes(tree, begin, end));
        expectReported(rec, tree, refPerfectNodesInside(begin, end));
      }),
      { numRuns: 40 },
    );
  });
});

describe('CompactRange.appendDigest', () => {
  const binary = (leaf: Uint8Array) => Buffer.from(leaf).toString('latin1');

  it.each(windows)('from any begin in $name, equals append: same node hashes, same root, same nodes reported', ({ tree }) => {
    fc.assert(
      fc.property(triple(tree.offset, tree.end), ([begin, , end]) => {
        // Prepare
        const rec = recorder();
        const digested = CompactRange.empty(begin);
        // Act
        for (let i = begin; i < end; i++) digested.appendDigest(binary(tree.leaf(i)), rec.visitor);
        // Assess
        expect(digested.hashes.map(hex)).toEqual(build(tree, begin, end).hashes.map(hex));
        if (begin === 0) expect(hex(digested.root())).toBe(hex(tree.root(end)));
        expectReported(rec, tree, refPerfectNodesInside(begin, end));
      }),
      { numRuns: 40 },
    );
  });

  it('rejects a digest that is not 32 characters with InvalidRangeError', () => {
    // Prepare
    const range = CompactRange.empty();
    // Act
    const act = () => range.appendDigest('too short');
    // Assess
    expect(act).toThrow(InvalidRangeError);
    expect(range.end).toBe(0);
  });
});

describe('CompactRange hands out copies of the hashes it updates in place', () => {
  it('hashes, root and visited nodes stay as they were while the range grows', () => {
    // Prepare
    const visited: Array<[string, Uint8Array]> = [];
    const range = build(low, 0, 100, (id, hash) => visited.push([key(id), hash]));
    const hashes = range.hashes;
    const root = range.root();
    const single = CompactRange.empty();
    single.append(low.leaf(0));
    const singleRoot = single.root();
    // Act
    for (let i = 100; i < 700; i++) range.append(low.leaf(i));
    single.append(low.leaf(1));
    // Assess
    expect(hashes.map(hex)).toEqual(refRangeHashes(low, 0, 100));
    expect(hex(root)).toBe(hex(low.root(100)));
    expect(hex(singleRoot)).toBe(hex(low.root(1)));
    expect(visited.filter(([k, h]) => hex(h) !== hex(low.nodeHash(idOf(k))))).toEqual([]);
  });

  it('from() copies the bytes it is given: changing them later does not change the range', () => {
    // Prepare
    const hashes = build(low, 0, 100).hashes.map((h) => Buffer.from(h));
    const range = CompactRange.from(0, 100, hashes);
    // Act
    for (const h of hashes) h.fill(0);
    // Assess
    expect(hex(range.root())).toBe(hex(low.root(100)));
  });
});

describe('CompactRange.merge', () => {
  it.each(windows)('[a, b) + [b, c) equals [a, c) built directly, in $name', ({ tree }) => {
    fc.assert(
      fc.property(triple(tree.offset, tree.end), ([a, b, c]) => {
        // Prepare
        const rec = recorder();
        const left = build(tree, a, b, rec.visitor);
        const right = build(tree, b, c, rec.visitor);
        const direct = build(tree, a, c);
        // Act
        left.merge(right, rec.visitor);
        // Assess
        expect([left.begin, left.end]).toEqual([a, c]);
        expect(left.hashes.map(hex)).toEqual(direct.hashes.map(hex));
        expect(left.hashes.map(hex)).toEqual(refRangeHashes(tree, a, c));
        if (a === 0) expect(hex(left.root())).toBe(hex(tree.root(c)));
        // Building both halves and merging computes every node inside [a, c) exactly once.
        expectReported(rec, tree, refPerfectNodesInside(a, c));
      }),
      { numRuns: 60 },
    );
  });

  it.each([
    { name: '[0, 1025)', tree: low, a: 0, c: 1025 },
    { name: '[1, 1000)', tree: low, a: 1, c: 1000 },
    { name: '[640, 2000)', tree: low, a: 640, c: 2000 },
    { name: '[2^40 + 12348, 2^40 + 12860)', tree: windows[1]!.tree, a: HIGH_BASE + 3, c: HIGH_BASE + 515 },
    { name: '[2^53 − 601, 2^53 − 2)', tree: windows[2]!.tree, a: TOP_BASE, c: MAX - 1 },
  ])('at every split point of $name, reports exactly the new nodes spanning the split', ({ tree, a, c }) => {
    // Prepare
    const failures: string[] = [];
    // Act
    for (let b = a; b <= c; b++) {
      const left = CompactRange.from(a, b, refCompactRange(a, b).map((id) => tree.nodeHash(id)));
      const right = CompactRange.from(b, c, refCompactRange(b, c).map((id) => tree.nodeHash(id)));
      const rec = recorder();
      left.merge(right, rec.visitor);
      try {
        expect(left.hashes.map(hex)).toEqual(refRangeHashes(tree, a, c));
        if (a === 0) expect(hex(left.root())).toBe(hex(tree.root(c)));
        expectReported(rec, tree, spanning(a, b, c));
      } catch {
        failures.push(`split ${b}`);
      }
    }
    // Assess
    expect(failures).toEqual([]);
  });

  it('accepts empty ranges on either side', () => {
    // Prepare
    const range = build(low, 5, 77);
    const want = range.hashes.map(hex);
    const empty = CompactRange.empty(5);
    // Act
    range.merge(CompactRange.empty(77));
    empty.merge(range);
    // Assess
    expect([range.begin, range.end, empty.begin, empty.end]).toEqual([5, 77, 5, 77]);
    expect(range.hashes.map(hex)).toEqual(want);
    expect(empty.hashes.map(hex)).toEqual(want);
  });

  it('leaves the merged-in range unchanged', () => {
    // Prepare
    const left = build(low, 0, 300);
    const right = build(low, 300, 555);
    const before = right.hashes.map(hex);
    // Act
    left.merge(right);
    // Assess
    expect([right.begin, right.end]).toEqual([300, 555]);
    expect(right.hashes.map(hex)).toEqual(before);
  });

  it.each([
    { name: 'a gap', other: [11, 20] },
    { name: 'an overlap', other: [9, 20] },
    { name: 'a range to the left', other: [0, 5] },
  ])('rejects $name with InvalidRangeError and keeps the range unchanged', ({ other }) => {
    // Prepare
    const range = build(low, 5, 10);
    const before = range.hashes.map(hex);
    // Act
    const act = () => range.merge(build(low, other[0]!, other[1]!));
    // Assess
    expect(act).toThrow(InvalidRangeError);
    expect([range.begin, range.end]).toEqual([5, 10]);
    expect(range.hashes.map(hex)).toEqual(before);
  });
});

describe('CompactRange.from', () => {
  const dummy = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i));

  it('accepts exactly rangeSize hashes and rejects one more or one fewer, anywhere below 2^53', () => {
    fc.assert(
      fc.property(safeRange, ([begin, end]) => {
        // Prepare
        const want = refCompactRange(begin, end).length;
        // Act
        const range = CompactRange.from(begin, end, dummy(want));
        // Assess
        expect([range.begin, range.end, range.hashes.length]).toEqual([begin, end, want]);
        expect(() => CompactRange.from(begin, end, dummy(want + 1))).toThrow(InvalidRangeError);
        if (want > 0) expect(() => CompactRange.from(begin, end, dummy(want - 1))).toThrow(InvalidRangeError);
      }),
      { numRuns: 500 },
    );
  });

  it('restores a range that extends like the original', () => {
    // Prepare
    const original = build(low, 3, 700);
    const restored = CompactRange.from(3, 700, original.hashes);
    // Act
    for (let i = 700; i < 1500; i++) restored.append(low.leaf(i));
    // Assess
    expect(restored.hashes.map(hex)).toEqual(refRangeHashes(low, 3, 1500));
  });

  it.each([31, 33, 0])('rejects a %i-byte hash with InvalidRangeError', (length) => {
    // Prepare
    const hashes = dummy(rangeSize(3, 700));
    hashes[1] = new Uint8Array(length);
    // Act
    const act = () => CompactRange.from(3, 700, hashes);
    // Assess
    expect(act).toThrow(InvalidRangeError);
  });

  it.each([
    [5, 4], [-1, 4], [0.5, 4], [0, 4.5], [0, 2 ** 53], [2 ** 53, 2 ** 53 + 2], [Number.NaN, 1],
  ])('rejects [%s, %s) with InvalidRangeError', (begin, end) => {
    // Act
    const act = () => CompactRange.from(begin, end, []);
    // Assess
    expect(act).toThrow(InvalidRangeError);
  });

  it('copies the array it is given', () => {
    // Prepare
    const hashes = dummy(rangeSize(0, 7));
    const range = CompactRange.from(0, 7, hashes);
    // Act
    hashes.pop();
    // Assess
    expect(range.hashes).toHaveLength(3);
  });
});

describe('CompactRange.empty', () => {
  it.each([-1, 0.5, 2 ** 53, Number.NaN])('rejects begin %s with InvalidRangeError', (begin) => {
    // Act
    const act = () => CompactRange.empty(begin);
    // Assess
    expect(act).toThrow(InvalidRangeError);
  });
});

describe('CompactRange.root', () => {
  it('is the empty root for an empty range at 0', () => {
    // Act
    const root = CompactRange.empty().root();
    // Assess
    expect(hex(root)).toBe(hex(REF_EMPTY_ROOT));
    expect(hex(root)).toBe(hex(EMPTY_ROOT));
  });

  it.each([
    { name: 'an empty range at 4', range: () => CompactRange.empty(4) },
    { name: '[1, 8)', range: () => build(low, 1, 8) },
    { name: 'a restored [2^40, 2^40 + 1)', range: () => CompactRange.from(2 ** 40, 2 ** 40 + 1, [low.leaf(0)]) },
  ])('throws InvalidRangeError for $name', ({ range }) => {
    // Prepare
    const r = range();
    // Act
    const act = () => r.root();
    // Assess
    expect(act).toThrow(InvalidRangeError);
  });
});

describe('CompactRange.clone and hashes', () => {
  it('clone is extended independently of the original', () => {
    // Prepare
    const original = build(low, 0, 100);
    const copy = original.clone();
    // Act
    for (let i = 100; i < 200; i++) copy.append(low.leaf(i));
    // Assess
    expect(original.end).toBe(100);
    expect(hex(original.root())).toBe(hex(low.root(100)));
    expect(hex(copy.root())).toBe(hex(low.root(200)));
  });

  it('hashes is a copy that cannot change the range', () => {
    // Prepare
    const range = build(low, 0, 100);
    // Act
    range.hashes.pop();
    range.hashes.push(new Uint8Array(32));
    // Assess
    expect(range.hashes.map(hex)).toEqual(refRangeHashes(low, 0, 100));
  });
});
