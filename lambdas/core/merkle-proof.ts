/**
 * RFC 9162 inclusion and consistency proofs: which nodes a proof needs, how to
 * assemble it from their stored hashes, and how to verify it.
 *
 * The core does no I/O (STYLE habit 1): `inclusionNodes` / `consistencyNodes`
 * name the perfect-subtree nodes to fetch, an adapter fetches their hashes (from
 * tiles), and `ProofNodes.rehash` folds the ephemeral right-border nodes into
 * the proof. Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2, written in
 * the bit-decomposed form of transparency-dev/merkle proof/verify.go.
 */
import { bytesEqual } from './bytes.js';
import { InvalidProofError, InvalidRangeError } from './errors.js';
import { bitLength, isIndex, onesCount, shiftRight, trailingZeros, xor } from './bits.js';
import { rangeNodes, rangeSize, nodeCoverage, type NodeId } from './compact-range.js';
import { HASH_SIZE, hashChildren } from './rfc9162-hasher.js';

/**
 * The nodes whose hashes make up a proof. `ids[begin..end)`, when more than one,
 * cover the ephemeral node (a right-border subtree that is not perfect at this
 * tree size) lowest level first, and are folded into one hash by `rehash`.
 */
export class ProofNodes {
  constructor(
    readonly ids: readonly NodeId[],
    private readonly begin: number,
    private readonly end: number,
  ) {}

  /** Whether some of the fetched hashes are folded into one proof element. */
  get ephemeral(): boolean {
    return this.end - this.begin > 1;
  }

  /** Turns the hashes of `ids`, in order, into the proof. */
  rehash(hashes: readonly Uint8Array[]): Uint8Array[] {
    if (hashes.length !== this.ids.length) {
      throw new InvalidProofError(`expected ${this.ids.length} node hashes, got ${hashes.length}`);
    }
    if (!this.ephemeral) return [...hashes];
    const proof: Uint8Array[] = [];
    for (let i = 0; i < hashes.length; i++) {
      let h = hashes[i]!;
      if (i === this.begin) {
        for (i++; i < this.end; i++) h = hashChildren(hashes[i]!, h);
        i--;
      }
      proof.push(h);
    }
    return proof;
  }

  private skipFirst(): ProofNodes {
    const shift = this.begin < this.end ? 1 : 0;
    return new ProofNodes(this.ids.slice(1), this.begin - shift, this.end - shift);
  }

  /**
   * Nodes proving that node (level, index) is in the tree of `size` leaves,
   * the node itself first. The path from the node to the root leaves the path
   * to leaf `size` at the fork, `inner` levels up; below the fork the proof is
   * the siblings on the path, above it the nodes covering [end, size) (the
   * ephemeral node, lowest first) and then those covering [0, begin).
   */
  static forNode(level: number, index: number, size: number): ProofNodes {
    const inner = bitLength(xor(index, shiftRight(size, level))) - 1;
    const fork: NodeId = { level: level + inner, index: shiftRight(index, inner) };
    const [begin, end] = nodeCoverage(fork);
    const right = rangeSize(end, size);
    const ids: NodeId[] = [{ level, index }];
    for (let node: NodeId = { level, index }; node.level < fork.level; ) {
      ids.push({ level: node.level, index: node.index % 2 === 0 ? node.index + 1 : node.index - 1 });
      node = { level: node.level + 1, index: Math.floor(node.index / 2) };
    }
    ids.push(...rangeNodes(end, size).reverse());
    ids.push(...rangeNodes(0, begin).reverse());
    return right > 1
      ? new ProofNodes(ids, 1 + inner, 1 + inner + right)
      : new ProofNodes(ids, 0, 0);
  }

  /** Nodes of the inclusion proof of leaf `index` in the tree of `size` leaves. */
  static inclusion(index: number, size: number): ProofNodes {
    checkIndex(index, size);
    return ProofNodes.forNode(0, index, size).skipFirst();
  }

  /**
   * Nodes of the consistency proof from `size1` to `size2` (RFC 9162 §2.1.4):
   * the largest perfect subtree ending at size1 (omitted when size1 is a power
   * of two: the verifier knows it as root1), then its inclusion path in size2.
   */
  static consistency(size1: number, size2: number): ProofNodes {
    checkSizes(size1, size2);
    if (size1 === size2 || size1 === 0) return new ProofNodes([], 0, 0);
    const level = trailingZeros(size1);
    const index = shiftRight(size1 - 1, level);
    const nodes = ProofNodes.forNode(level, index, size2);
    return index === 0 ? nodes.skipFirst() : nodes;
  }
}

function checkIndex(index: number, size: number): void {
  if (!isIndex(index) || !isIndex(size)) throw new InvalidRangeError(`index ${index} and size ${size} must be tree indices`);
  if (index >= size) throw new InvalidRangeError(`index ${index} is beyond tree size ${size}`);
}

function checkSizes(size1: number, size2: number): void {
  if (!isIndex(size1) || !isIndex(size2)) throw new InvalidRangeError(`sizes ${size1} and ${size2} must be tree sizes`);
  if (size1 > size2) throw new InvalidRangeError(`size ${size1} is beyond size ${size2}`);
}

function checkHashes(proof: readonly Uint8Array[], ...hashes: Uint8Array[]): void {
  for (const h of proof) {
    if (h.length !== HASH_SIZE) throw new InvalidProofError(`proof hash of ${h.length} bytes; expected ${HASH_SIZE}`);
  }
  for (const h of hashes) {
    if (h.length !== HASH_SIZE) throw new InvalidProofError(`hash of ${h.length} bytes; expected ${HASH_SIZE}`);
  }
}

/**
 * An inclusion proof for `index` in a tree of `size` has `inner` elements below
 * the point where the paths to `index` and to `size−1` diverge (the bit length
 * of index XOR (size−1)), and one border element per one bit of index above it.
 */
function decomposeInclusion(index: number, size: number): { inner: number; border: number } {
  const inner = bitLength(xor(index, size - 1));
  return { inner, border: onesCount(shiftRight(index, inner)) };
}

/**
 * Folds proof[from, to) into seed along the path of `index` (bit i of index
 * says whether the node at that level is a right child). With `leftOnly`, only
 * left siblings are taken: the hash of the same subtree at the older size.
 */
function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], from: number, to: number, index: number, leftOnly = false): Uint8Array {
  let bits = index;
  for (let i = from; i < to; i++) {
    if (bits % 2 === 1) seed = hashChildren(proof[i]!, seed);
    else if (!leftOnly) seed = hashChildren(seed, proof[i]!);
    bits = Math.floor(bits / 2);
  }
  return seed;
}

/** Folds proof[from, …) into seed as left siblings along the right border. */
function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[], from: number): Uint8Array {
  for (let i = from; i < proof.length; i++) seed = hashChildren(proof[i]!, seed);
  return seed;
}

/** The root implied by an inclusion proof (RFC 9162 §2.1.3.2); throws on a malformed proof. */
export function rootFromInclusionProof(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  checkIndex(index, size);
  checkHashes(proof, leafHash);
  const { inner, border } = decomposeInclusion(index, size);
  if (proof.length !== inner + border) {
    throw new InvalidProofError(`inclusion proof for ${index} in ${size} has ${proof.length} hashes; expected ${inner + border}`);
  }
  return chainBorderRight(chainInner(leafHash, proof, 0, inner, index), proof, inner);
}

/**
 * Verifies that `leafHash` is leaf `index` of the tree of `size` with `root`.
 * Throws `InvalidProofError` (or `InvalidRangeError` for impossible indices).
 *
 * @example
 * verifyInclusion(5, 8, leafHash, proof, checkpoint.rootHash);
 */
export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  const calculated = rootFromInclusionProof(index, size, leafHash, proof);
  if (!bytesEqual(calculated, root)) throw new InvalidProofError('inclusion proof does not lead to the root');
}

/**
 * Verifies that the tree of `size2` with `root2` extends the tree of `size1`
 * with `root1` (RFC 9162 §2.1.4.2). Requires 0 < size1 ≤ size2: every tree
 * extends the empty one, so a proof from size 0 proves nothing and is refused. The proof is the suffix of the inclusion
 * proof of leaf size1−1 in size2 above level `shift` (the largest perfect
 * subtree ending at size1), preceded by that subtree's hash unless size1 is a
 * power of two. Chaining only the left siblings rebuilds root1; all of them,
 * root2.
 *
 * @example
 * verifyConsistency(previous.size, latest.size, proof, previous.rootHash, latest.rootHash);
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): void {
  checkSizes(size1, size2);
  checkHashes(proof);
  if (size1 === 0) throw new InvalidProofError('a consistency proof from the empty tree is meaningless');
  if (size1 === size2) {
    if (proof.length > 0) throw new InvalidProofError('sizes are equal but the proof is not empty');
    if (!bytesEqual(root1, root2)) throw new InvalidProofError('equal sizes with different roots');
    return;
  }
  if (proof.length === 0) throw new InvalidProofError('empty consistency proof');
  const decomposed = decomposeInclusion(size1 - 1, size2);
  const shift = trailingZeros(size1);
  const inner = decomposed.inner - shift;
  const [seed, start] = size1 === 2 ** shift ? [root1, 0] : [proof[0]!, 1];
  if (proof.length !== start + inner + decomposed.border) {
    throw new InvalidProofError(`consistency proof ${size1}→${size2} has ${proof.length} hashes; expected ${start + inner + decomposed.border}`);
  }
  const mask = shiftRight(size1 - 1, shift);
  const hash1 = chainBorderRight(chainInner(seed, proof, start, start + inner, mask, true), proof, start + inner);
  if (!bytesEqual(hash1, root1)) throw new InvalidProofError('consistency proof does not lead to the first root');
  const hash2 = chainBorderRight(chainInner(seed, proof, start, start + inner, mask), proof, start + inner);
  if (!bytesEqual(hash2, root2)) throw new InvalidProofError('consistency proof does not lead to the second root');
}
