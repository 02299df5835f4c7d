/**
 * The RFC 9162 §2.1.1 Merkle tree hasher: SHA-256 with domain separation, so a
 * leaf can never be confused with an interior node (unlike merkletreejs).
 *
 *   MTH({})      = SHA-256()
 *   leaf hash    = SHA-256(0x00 ‖ d)
 *   node hash    = SHA-256(0x01 ‖ left ‖ right)
 *
 * Speed note, measured on Node 20 (see bench/RESULTS.md): `crypto.hash` with a
 * string output encoding costs ~0.25 µs for 65 bytes while the `'buffer'` output
 * costs ~1.5 µs, so hashes are produced as binary (latin1) strings and copied into a
 * Buffer, and inputs are assembled in a reused scratch buffer. Both functions
 * return fresh 32-byte Buffers that callers may keep.
 */
import { hash } from 'node:crypto';

export const HASH_SIZE = 32;

/** Largest input the shared scratch buffer holds without reallocation. */
const SCRATCH_SIZE = 64 * 1024 + 1;
let scratch = Buffer.allocUnsafe(SCRATCH_SIZE);
const nodeInput = Buffer.allocUnsafe(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;
const NODE_PREFIX = Buffer.from([0x01]);

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1). Shared: copy before mutating. */
export const EMPTY_ROOT: Uint8Array = Buffer.from(hash('sha256', Buffer.alloc(0), 'binary'), 'binary');

/** Plain SHA-256 of `data`. */
export function sha256(data: Uint8Array): Buffer {
  return Buffer.from(hash('sha256', data, 'binary'), 'binary');
}

function leafInput(data: Uint8Array): Buffer {
  const n = data.length + 1;
  if (n > scratch.length) scratch = Buffer.allocUnsafe(n);
  scratch[0] = 0x00;
  scratch.set(data, 1);
  return scratch.subarray(0, n);
}

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ data). */
export function hashLeaf(data: Uint8Array): Buffer {
  return Buffer.from(hash('sha256', leafInput(data), 'binary'), 'binary');
}

/** The RFC 9162 leaf hash as lowercase hex (how entries and the API print it). */
export function hashLeafHex(data: Uint8Array): string {
  return hash('sha256', leafInput(data), 'hex');
}

/** RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    return Buffer.from(hash('sha256', Buffer.concat([NODE_PREFIX, left, right]), 'binary'), 'binary');
  }
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return Buffer.from(hash('sha256', nodeInput, 'binary'), 'binary');
}
