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
import { EMPTY_ROOT, HASH_SIZE, hashChildren, hashChildrenInPlace, writeDigest } from './rfc9162-hasher.js';

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

/** Bytes before slot 0, so that slot 0 too has a byte in front to serve as the 0x01 node prefix. */
const PAD = HASH_SIZE;

/**
 * A compact range: the hashes of `rangeNodes(begin, end)`. Mutable; `append`
 * and `merge` extend it to the right.
 *
 * The hashes live back to back in one buffer (slot i at PAD + 32·i), so that
 * appending a leaf hashes each pair of merged nodes in place through a cached
 * 65-byte view (`hashChildrenInPlace`) and allocates nothing: the verifier's
 * hot path. Hashes handed out (`hashes`, `root`, visitor calls) are copies.
 *
 * @example
 * const range = CompactRange.empty();
 * for (const leaf of leafHashes) range.append(leaf);
 * range.root(); // RFC 9162 MTH of all leaves
 */
export class CompactRange {
  private store: Buffer;
  /** views[i]: the 65 bytes ending with slots i and i+1, for hashing them in place. */
  private views: Buffer[] = [];
  private count: number;

  private constructor(
    private beginIndex: number,
    private endIndex: number,
    hashes: readonly Uint8Array[],
  ) {
    this.store = Buffer.allocUnsafe(PAD + HASH_SIZE * Math.max(8, hashes.length * 2));
    this.count = hashes.length;
    hashes.forEach((h, i) => this.store.set(h, PAD + HASH_SIZE * i));
  }

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
    return new CompactRange(begin, end, hashes);
  }

  get begin(): number {
    return this.beginIndex;
  }
  get end(): number {
    return this.endIndex;
  }
  /** The node hashes, left to right (copies). */
  get hashes(): Uint8Array[] {
    return Array.from({ length: this.count }, (_, i) => this.hashAt(i));
  }

  /**
   * Appends one leaf hash; the visitor sees the leaf and every node completed
   * by it. The new leaf (level 0, index end) merges with the last stored node
   * while it is a right child (odd index) whose left sibling lies inside the
   * range: that sibling, of the same level and ending where the seed begins, is
   * then the last node of the range's decomposition. From leaf 0 this is once
   * per trailing one bit of the old end.
   */
  append(leafHash: Uint8Array, visitor?: NodeVisitor): void {
    if (leafHash.length !== HASH_SIZE) throw new InvalidRangeError(`leaf hash of ${leafHash.length} bytes; expected ${HASH_SIZE}`);
    visitor?.({ level: 0, index: this.endIndex }, leafHash);
    this.reserve(this.count + 1);
    const at = PAD + HASH_SIZE * this.count;
    for (let i = 0; i < HASH_SIZE; i++) this.store[at + i] = leafHash[i]!;
    this.mergeLeaf(visitor);
  }

  /**
   * `append` for a leaf hash given as node:crypto's 32-character `'binary'`
   * digest string: the verifier's hot path, written straight into place.
   */
  appendDigest(leafHash: string, visitor?: NodeVisitor): void {
    if (leafHash.length !== HASH_SIZE) throw new InvalidRangeError(`leaf hash of ${leafHash.length} characters; expected ${HASH_SIZE}`);
    this.reserve(this.count + 1);
    writeDigest(leafHash, this.store, PAD + HASH_SIZE * this.count);
    if (visitor !== undefined) visitor({ level: 0, index: this.endIndex }, this.hashAt(this.count));
    this.mergeLeaf(visitor);
  }

  /** Merges the leaf just stored after the last slot (see `append`). */
  private mergeLeaf(visitor: NodeVisitor | undefined): void {
    let slot = this.count;
    let index = this.endIndex;
    let width = 1;
    for (let level = 1; index % 2 === 1 && (index - 1) * width >= this.beginIndex; level++) {
      slot--;
      hashChildrenInPlace(this.views[slot] ?? this.view(slot));
      index = (index - 1) / 2;
      width *= 2;
      if (visitor !== undefined) visitor({ level, index }, this.hashAt(slot));
    }
    this.count = slot + 1;
    this.endIndex += 1;
  }

  /** Appends the adjacent range `other` ([this.end, other.end)). */
  merge(other: CompactRange, visitor?: NodeVisitor): void {
    if (other.beginIndex !== this.endIndex) {
      throw new InvalidRangeError(`ranges [${this.beginIndex}, ${this.endIndex}) and [${other.beginIndex}, ${other.endIndex}) are not adjacent`);
    }
    const [first, ...rest] = other.hashes;
    if (first === undefined) return;
    this.mergeRight(other.endIndex, first, rest, visitor);
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
  private mergeRight(newEnd: number, seed: Uint8Array, rightHashes: Uint8Array[], visitor?: NodeVisitor): void {
    const nodes = this.hashes;
    const mid = this.endIndex;
    const low = trailingZeros(mid);
    let high = 64;
    if (this.beginIndex !== 0) high = bitLength(xor(mid, this.beginIndex - 1));
    high = Math.min(high, bitLength(xor(mid, newEnd))) - 1;
    if (high < low) high = low;
    let index = shiftRight(mid, low);
    let leftCursor = nodes.length;
    let rightCursor = 0;
    for (let level = low; level < high; level++) {
      if (index % 2 === 0) {
        const right = rightHashes[rightCursor++];
        if (right === undefined) throw new InvalidRangeError('corrupted compact range: too few right hashes');
        seed = hashChildren(seed, right);
      } else {
        const left = nodes[--leftCursor];
        if (left === undefined) throw new InvalidRangeError('corrupted compact range: too few left hashes');
        seed = hashChildren(left, seed);
      }
      index = Math.floor(index / 2);
      visitor?.({ level: level + 1, index }, seed);
    }
    nodes.length = leftCursor;
    nodes.push(seed, ...rightHashes.slice(rightCursor));
    this.reserve(nodes.length);
    nodes.forEach((h, i) => this.store.set(h, PAD + HASH_SIZE * i));
    this.count = nodes.length;
    this.endIndex = newEnd;
  }

  /**
   * The RFC 9162 root of leaves [0, end): the nodes folded right to left
   * (MTH(D[n]) = HASH(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])) with k the largest
   * power of two below n, recursively). Only defined when begin is 0.
   */
  root(): Uint8Array {
    if (this.beginIndex !== 0) throw new InvalidRangeError('only a range starting at leaf 0 has a root');
    const n = this.count;
    if (n === 0) return Buffer.from(EMPTY_ROOT);
    let seed = this.hashAt(n - 1);
    for (let i = n - 2; i >= 0; i--) seed = hashChildren(this.hashAt(i), seed);
    return seed;
  }

  /** A copy that can be extended independently. */
  clone(): CompactRange {
    return new CompactRange(this.beginIndex, this.endIndex, this.hashes);
  }

  /** A copy of slot i. */
  private hashAt(i: number): Buffer {
    const at = PAD + HASH_SIZE * i;
    return Buffer.from(this.store.subarray(at, at + HASH_SIZE));
  }

  /** Grows the store to hold `slots` hashes. */
  private reserve(slots: number): void {
    if (PAD + HASH_SIZE * slots <= this.store.length) return;
    const grown = Buffer.allocUnsafe(PAD + HASH_SIZE * slots * 2);
    this.store.copy(grown, 0, 0, PAD + HASH_SIZE * this.count);
    this.store = grown;
    this.views = [];
  }

  private view(slot: number): Buffer {
    const at = PAD - 1 + HASH_SIZE * slot;
    const view = this.store.subarray(at, at + 1 + 2 * HASH_SIZE);
    this.views[slot] = view;
    return view;
  }
}
