/**
 * Node addressing and compact ranges for RFC 9162 Merkle trees.
 *
 * A node (level, index) is the root of the perfect subtree over leaves
 * [index·2^level, (index+1)·2^level). A compact range [begin, end) is the
 * minimal list of such perfect-subtree roots that covers exactly those leaves,
 * left to right; it has at most 2·log2(n) hashes. A writer stores the compact
 * range [0, size) with the log tail and extends the tree leaf by leaf; a
 * parallel verifier computes one range per segment and merges them in order.
 * See transparency-dev/merkle docs/compact_ranges.md for the derivations.
 */
import { InvalidRangeError } from './errors.js';
import { bitLength, isIndex, lowBits, onesCount, shiftLeft, shiftRight, trailingZeros, xor } from './bits.js';
import { EMPTY_ROOT, HASH_SIZE, hashChildren } from './rfc9162-hasher.js';

/** The root of the perfect subtree over leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** Called for every node a range operation computes, e.g. to store tile hashes. */
export type NodeVisitor = (id: NodeId, hash: Uint8Array) => void;

/** The leaves [begin, end) a node covers. */
export function nodeCoverage(id: NodeId): [number, number] {
  return [shiftLeft(id.index, id.level), shiftLeft(id.index + 1, id.level)];
}

/**
 * Splits [begin, end) into its left and right parts: bit k of `left` set means
 * the range holds a level-k node on its left border (ascending levels), bit k of
 * `right` one on its right border (descending levels).
 * Paths to leaves begin−1 and end diverge at bit d; only nodes strictly below
 * that point lie inside the range: zero bits of (begin−1) masked to d bits on
 * the left, one bits of end masked to d bits on the right.
 */
export function decomposeRange(begin: number, end: number): { left: number; right: number } {
  if (begin === 0) return { left: 0, right: end };
  const xbegin = begin - 1;
  const d = bitLength(xor(xbegin, end)) - 1;
  const mask = 2 ** d - 1;
  return { left: lowBits(mask - lowBits(xbegin, d), d), right: lowBits(end, d) };
}

/** Number of nodes in the compact range [begin, end). */
export function rangeSize(begin: number, end: number): number {
  const { left, right } = decomposeRange(begin, end);
  return onesCount(left) + onesCount(right);
}

/** The node ids of the compact range [begin, end), left to right. */
export function rangeNodes(begin: number, end: number): NodeId[] {
  const ids: NodeId[] = [];
  let { left, right } = decomposeRange(begin, end);
  let pos = begin;
  while (left !== 0) {
    const level = trailingZeros(left);
    ids.push({ level, index: shiftRight(pos, level) });
    pos += 2 ** level;
    left -= 2 ** level;
  }
  while (right !== 0) {
    const level = bitLength(right) - 1;
    ids.push({ level, index: shiftRight(pos, level) });
    pos += 2 ** level;
    right -= 2 ** level;
  }
  return ids;
}

/**
 * A compact range: the hashes of `rangeNodes(begin, end)`. Mutable; `append`
 * and `merge` extend it to the right.
 *
 * @example
 * const range = CompactRange.empty();
 * for (const leaf of leafHashes) range.append(leaf);
 * range.root(); // RFC 9162 MTH of all leaves
 */
export class CompactRange {
  private constructor(
    private beginIndex: number,
    private endIndex: number,
    private readonly nodeHashes: Uint8Array[],
  ) {}

  /** An empty range starting at leaf `begin`. */
  static empty(begin = 0): CompactRange {
    if (!isIndex(begin)) throw new InvalidRangeError(`range begin ${begin} is not a tree index`);
    return new CompactRange(begin, begin, []);
  }

  /** Restores a range from stored hashes, checking that their count fits [begin, end). */
  static from(begin: number, end: number, hashes: readonly Uint8Array[]): CompactRange {
    if (!isIndex(begin) || !isIndex(end) || begin > end) {
      throw new InvalidRangeError(`[${begin}, ${end}) is not a range`);
    }
    const want = rangeSize(begin, end);
    if (hashes.length !== want) {
      throw new InvalidRangeError(`compact range [${begin}, ${end}) needs ${want} hashes, got ${hashes.length}`);
    }
    for (const h of hashes) {
      if (h.length !== 32) throw new InvalidRangeError('compact range hashes must be 32 bytes');
    }
    return new CompactRange(begin, end, [...hashes]);
  }

  get begin(): number {
    return this.beginIndex;
  }
  get end(): number {
    return this.endIndex;
  }
  /** The node hashes, left to right (a copy). */
  get hashes(): Uint8Array[] {
    return [...this.nodeHashes];
  }

  /**
   * Appends one leaf hash; the visitor sees the leaf and every node completed
   * by it. For a range from leaf 0 (the writer's and the verifier's hot path)
   * the new leaf merges once per trailing one bit of the old end, each time
   * with the last stored node, so no merge path needs computing.
   */
  append(leafHash: Uint8Array, visitor?: NodeVisitor): void {
    if (leafHash.length !== HASH_SIZE) throw new InvalidRangeError(`leaf hash of ${leafHash.length} bytes; expected ${HASH_SIZE}`);
    visitor?.({ level: 0, index: this.endIndex }, leafHash);
    if (this.beginIndex !== 0) {
      this.appendImpl(this.endIndex + 1, leafHash, [], visitor);
      return;
    }
    let seed = leafHash;
    let index = this.endIndex;
    for (let level = 1; index % 2 === 1; level++) {
      seed = hashChildren(this.nodeHashes.pop()!, seed);
      index = (index - 1) / 2;
      visitor?.({ level, index }, seed);
    }
    this.nodeHashes.push(seed);
    this.endIndex += 1;
  }

  /** Appends the adjacent range `other` ([this.end, other.end)). */
  merge(other: CompactRange, visitor?: NodeVisitor): void {
    if (other.beginIndex !== this.endIndex) {
      throw new InvalidRangeError(`ranges [${this.beginIndex}, ${this.endIndex}) and [${other.beginIndex}, ${other.endIndex}) are not adjacent`);
    }
    const [first, ...rest] = other.nodeHashes;
    if (first === undefined) return;
    this.appendImpl(other.endIndex, first, rest, visitor);
  }

  /**
   * Merges the seed (the leftmost node of the right range) with the trailing
   * nodes of this range and the leading nodes of the right one. Merging starts
   * at level low = trailingZeros(mid) and produces nodes that contain leaf mid;
   * such a node stays inside [begin, newEnd) while its level is below the
   * levels where the paths to leaves mid and newEnd, and to mid and begin−1,
   * diverge (bit length of their XOR, minus one). Bits [low, high) of mid
   * encode the path: a one bit merges with a node from the left, a zero bit
   * with the next node from the right.
   */
  private appendImpl(newEnd: number, seed: Uint8Array, rightHashes: Uint8Array[], visitor?: NodeVisitor): void {
    const mid = this.endIndex;
    const low = trailingZeros(mid);
    let high = 64;
    if (this.beginIndex !== 0) high = bitLength(xor(mid, this.beginIndex - 1));
    high = Math.min(high, bitLength(xor(mid, newEnd))) - 1;
    if (high < low) high = low;
    let index = shiftRight(mid, low);
    let leftCursor = this.nodeHashes.length;
    let rightCursor = 0;
    for (let level = low; level < high; level++) {
      if (index % 2 === 0) {
        const right = rightHashes[rightCursor++];
        if (right === undefined) throw new InvalidRangeError('corrupted compact range: too few right hashes');
        seed = hashChildren(seed, right);
      } else {
        const left = this.nodeHashes[--leftCursor];
        if (left === undefined) throw new InvalidRangeError('corrupted compact range: too few left hashes');
        seed = hashChildren(left, seed);
      }
      index = Math.floor(index / 2);
      visitor?.({ level: level + 1, index }, seed);
    }
    this.nodeHashes.length = leftCursor;
    this.nodeHashes.push(seed);
    for (let i = rightCursor; i < rightHashes.length; i++) this.nodeHashes.push(rightHashes[i]!);
    this.endIndex = newEnd;
  }

  /**
   * The RFC 9162 root of leaves [0, end): the nodes folded right to left
   * (MTH(D[n]) = HASH(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])) with k the largest
   * power of two below n, recursively). Only defined when begin is 0.
   */
  root(): Uint8Array {
    if (this.beginIndex !== 0) throw new InvalidRangeError('only a range starting at leaf 0 has a root');
    const n = this.nodeHashes.length;
    if (n === 0) return Buffer.from(EMPTY_ROOT);
    let seed = this.nodeHashes[n - 1]!;
    for (let i = n - 2; i >= 0; i--) seed = hashChildren(this.nodeHashes[i]!, seed);
    return seed;
  }

  /** A copy that can be extended independently. */
  clone(): CompactRange {
    return new CompactRange(this.beginIndex, this.endIndex, [...this.nodeHashes]);
  }
}
