/**
 * A naive RFC 9162 §2.1 Merkle tree, written straight from the RFC's recursive
 * definitions (MTH, PATH, PROOF/SUBPROOF) to cross-check the bit-twiddling core
 * (STYLE habit 5; the idea of transparency-dev/merkle testonly/reference_test.go).
 *
 * Deliberately independent of lambdas/core: it hashes with node:crypto
 * `createHash` and uses plain arithmetic. The only concession to speed is that
 * MTH(D[a:b]) is memoised, so a test file can build one table and query it often.
 *
 * PATH and SUBPROOF are generic over the subtree "hash" so the same recursion can
 * yield hashes, leaf ranges (symbolic, for trees of up to 2^53 − 1 leaves), or
 * hashes of a tree whose leaves are all equal (MTH then depends only on the size).
 */
import { createHash } from 'node:crypto';

/** MTH of the leaves [begin, end), in whatever form the caller wants. */
export type SubtreeHash<T> = (begin: number, end: number) => T;

/** SHA-256 of the concatenated parts. */
export function refSha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** MTH({}) = SHA-256() (RFC 9162 §2.1.1). */
export const REF_EMPTY_ROOT: Uint8Array = refSha256();

/** MTH({d}) = SHA-256(0x00 ‖ d). */
export function refHashLeaf(data: Uint8Array): Uint8Array {
  return refSha256(Uint8Array.of(0x00), data);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function refHashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return refSha256(Uint8Array.of(0x01), left, right);
}

/** k: the largest power of two smaller than n (n > 1), RFC 9162 §2.1.1. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * PATH(m, D[begin:end]) (RFC 9162 §2.1.3.1):
 *   PATH(0, {d(0)}) = {}
 *   PATH(m, D_n) = PATH(m, D[0:k]) : MTH(D[k:n])       for m < k
 *   PATH(m, D_n) = PATH(m − k, D[k:n]) : MTH(D[0:k])   for m ≥ k
 */
export function refPath<T>(m: number, begin: number, end: number, mth: SubtreeHash<T>): T[] {
  const n = end - begin;
  if (n === 1) return [];
  const k = splitPoint(n);
  if (m < k) return [...refPath(m, begin, begin + k, mth), mth(begin + k, end)];
  return [...refPath(m - k, begin + k, end, mth), mth(begin, begin + k)];
}

/**
 * SUBPROOF(m, D[begin:end], b) (RFC 9162 §2.1.4.1):
 *   SUBPROOF(m, D[m], true)  = {}
 *   SUBPROOF(m, D[m], false) = {MTH(D[m])}
 *   SUBPROOF(m, D_n, b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])            for m ≤ k
 *   SUBPROOF(m, D_n, b) = SUBPROOF(m − k, D[k:n], false) : MTH(D[0:k])    for m > k
 */
export function refSubproof<T>(m: number, begin: number, end: number, b: boolean, mth: SubtreeHash<T>): T[] {
  const n = end - begin;
  if (m === n) return b ? [] : [mth(begin, end)];
  const k = splitPoint(n);
  if (m <= k) return [...refSubproof(m, begin, begin + k, b, mth), mth(begin + k, end)];
  return [...refSubproof(m - k, begin + k, end, false, mth), mth(begin, begin + k)];
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m ≤ n. */
export function refProof<T>(m: number, n: number, mth: SubtreeHash<T>): T[] {
  return refSubproof(m, 0, n, true, mth);
}

/** The leaf range itself, for comparing proof shapes on huge trees. */
export const rangeOf: SubtreeHash<[number, number]> = (begin, end) => [begin, end];

/**
 * The minimal left-to-right list of perfect subtrees covering [begin, end),
 * greedily: from each position take the largest aligned subtree that fits.
 */
export function refCompactRange(begin: number, end: number): { level: number; index: number }[] {
  const nodes: { level: number; index: number }[] = [];
  for (let pos = begin; pos < end; ) {
    let level = 0;
    while (pos % 2 ** (level + 1) === 0 && pos + 2 ** (level + 1) <= end) level++;
    nodes.push({ level, index: pos / 2 ** level });
    pos += 2 ** level;
  }
  return nodes;
}

/** Every perfect subtree (level, index) lying inside [begin, end), as "level/index" keys. */
export function refPerfectNodesInside(begin: number, end: number): Set<string> {
  const keys = new Set<string>();
  for (let level = 0; 2 ** level <= end - begin; level++) {
    for (let index = Math.ceil(begin / 2 ** level); (index + 1) * 2 ** level <= end; index++) keys.add(`${level}/${index}`);
  }
  return keys;
}

/**
 * Leaves d[offset .. offset + data.length) of a tree, with a memoised MTH over
 * any sub-range of them. With offset 0, `root(n)` is the RFC root of size n.
 */
export class ReferenceTree {
  readonly leafHashes: Uint8Array[];
  private readonly memo = new Map<number, Uint8Array>();

  constructor(
    leafData: readonly Uint8Array[],
    readonly offset = 0,
  ) {
    this.leafHashes = leafData.map(refHashLeaf);
  }

  get end(): number {
    return this.offset + this.leafHashes.length;
  }

  /** Leaf hash of absolute index i. */
  leaf(i: number): Uint8Array {
    const h = this.leafHashes[i - this.offset];
    if (h === undefined) throw new RangeError(`leaf ${i} is outside the reference window`);
    return h;
  }

  /** MTH(D[begin:end]) by the RFC 9162 §2.1.1 recursion (memoised). */
  readonly mth: SubtreeHash<Uint8Array> = (begin, end) => {
    if (begin < this.offset || end > this.end || begin > end) throw new RangeError(`[${begin}, ${end}) is outside the reference window`);
    const key = (begin - this.offset) * (this.leafHashes.length + 1) + (end - this.offset);
    const cached = this.memo.get(key);
    if (cached !== undefined) return cached;
    const n = end - begin;
    let h: Uint8Array;
    if (n === 0) h = REF_EMPTY_ROOT;
    else if (n === 1) h = this.leaf(begin);
    else {
      const k = splitPoint(n);
      h = refHashChildren(this.mth(begin, begin + k), this.mth(begin + k, end));
    }
    this.memo.set(key, h);
    return h;
  };

  /** MTH of the first n leaves (offset 0 only). */
  root(n: number): Uint8Array {
    if (this.offset !== 0) throw new RangeError('only a window starting at leaf 0 has roots');
    return this.mth(0, n);
  }

  /** Hash of node (level, index): MTH of the leaves it covers. */
  nodeHash(id: { level: number; index: number }): Uint8Array {
    return this.mth(id.index * 2 ** id.level, (id.index + 1) * 2 ** id.level);
  }

  /** PATH(m, D[n]): the inclusion proof of leaf m in the tree of size n. */
  path(m: number, n: number): Uint8Array[] {
    return refPath(m, 0, n, this.mth);
  }

  /** PROOF(m, D[n]): the consistency proof from size m to size n. */
  proof(m: number, n: number): Uint8Array[] {
    return refProof(m, n, this.mth);
  }
}

/**
 * MTH of a tree whose leaves all hash to `leafHash`: by the RFC recursion it
 * depends only on the size, so trees of up to 2^53 − 1 leaves are cheap.
 */
export class UniformReferenceTree {
  private readonly memo = new Map<number, Uint8Array>();

  constructor(readonly leafHash: Uint8Array) {}

  /** MTH of any n leaves. */
  ofSize(n: number): Uint8Array {
    const cached = this.memo.get(n);
    if (cached !== undefined) return cached;
    let h: Uint8Array;
    if (n === 0) h = REF_EMPTY_ROOT;
    else if (n === 1) h = this.leafHash;
    else {
      const k = splitPoint(n);
      h = refHashChildren(this.ofSize(k), this.ofSize(n - k));
    }
    this.memo.set(n, h);
    return h;
  }

  readonly mth: SubtreeHash<Uint8Array> = (begin, end) => this.ofSize(end - begin);
}

/** Distinct leaf data for leaf i: its decimal index in UTF-8, tagged. */
export function leafData(i: number): Uint8Array {
  return new TextEncoder().encode(`govledger test leaf ${i}`);
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const isTreeSize = (x: number) => Number.isSafeInteger(x) && x >= 0;
const lsb = (x: number) => x % 2 === 1;
const half = (x: number) => Math.floor(x / 2);

/**
 * The inclusion verification algorithm of RFC 9162 §2.1.3.2, step by step
 * (fn, sn, r). Hashes must be 32 bytes (the core's contract).
 */
export function refVerifyInclusion(index: number, size: number, leafHash: Uint8Array, path: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!isTreeSize(index) || !isTreeSize(size) || index >= size) return false; // step 1
  if ([leafHash, ...path].some((h) => h.length !== 32)) return false;
  let fn = index; // step 2
  let sn = size - 1;
  let r = leafHash; // step 3
  for (const p of path) { // step 4
    if (sn === 0) return false; // 4a
    if (lsb(fn) || fn === sn) { // 4b
      r = refHashChildren(p, r);
      while (!lsb(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      r = refHashChildren(r, p);
    }
    [fn, sn] = [half(fn), half(sn)]; // 4c
  }
  return sn === 0 && sameBytes(r, root); // step 5
}

/**
 * The consistency verification algorithm of RFC 9162 §2.1.4.2, step by step
 * (fn, sn, fr, sr), for 0 < first < second. For first = second, PROOF is empty
 * (SUBPROOF(m, D[m], true) = {}) and the roots must match; first = 0 is refused
 * (the core's contract: it proves nothing).
 */
export function refVerifyConsistency(first: number, second: number, path: readonly Uint8Array[], firstHash: Uint8Array, secondHash: Uint8Array): boolean {
  if (!isTreeSize(first) || !isTreeSize(second) || first === 0 || first > second) return false;
  if (path.some((h) => h.length !== 32)) return false;
  if (first === second) return path.length === 0 && sameBytes(firstHash, secondHash);
  if (path.length === 0) return false; // step 1
  let power = 1;
  while (power < first) power *= 2;
  const proof = power === first ? [firstHash, ...path] : [...path]; // step 2
  let fn = first - 1; // step 3
  let sn = second - 1;
  while (lsb(fn)) [fn, sn] = [half(fn), half(sn)]; // step 4
  let fr = proof[0]!; // step 5
  let sr = proof[0]!;
  for (const c of proof.slice(1)) { // step 6
    if (sn === 0) return false; // 6a
    if (lsb(fn) || fn === sn) { // 6b
      fr = refHashChildren(c, fr);
      sr = refHashChildren(c, sr);
      while (!lsb(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      sr = refHashChildren(sr, c);
    }
    [fn, sn] = [half(fn), half(sn)]; // 6c
  }
  return sameBytes(fr, firstHash) && sameBytes(sr, secondHash) && sn === 0; // step 7
}
