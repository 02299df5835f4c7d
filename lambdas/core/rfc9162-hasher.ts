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
 * costs ~1.5 µs, so digests are produced as binary (latin1) strings and their 32
 * character codes written where they are needed. Leaf inputs (0x00 ‖ data) are
 * copied into a reused `LeafInput`, whose views are cached by length: a fresh
 * view per call costs more than the copy. `hashChildrenInPlace` hashes two
 * children stored back to back without copying them (compact ranges). The
 * Buffer-returning functions return fresh 32-byte Buffers that callers may keep.
 */
import { hash } from 'node:crypto';
import { CoreError } from './errors.js';

export const HASH_SIZE = 32;

const nodeInput = Buffer.allocUnsafe(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;
const NODE_PREFIX = Buffer.from([0x01]);

/**
 * Writes the 32 character codes of a `'binary'` (latin1) digest string, as
 * node:crypto returns it, into `out` at `offset`.
 */
export function writeDigest(digest: string, out: Uint8Array, offset: number): void {
  for (let i = 0; i < HASH_SIZE; i++) out[offset + i] = digest.charCodeAt(i);
}

function digestBuffer(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HASH_SIZE);
  writeDigest(hash('sha256', input, 'binary'), out, 0);
  return out;
}

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1). Shared: copy before mutating. */
export const EMPTY_ROOT: Uint8Array = digestBuffer(Buffer.alloc(0));

/** Plain SHA-256 of `data`. */
export function sha256(data: Uint8Array): Buffer {
  return digestBuffer(data);
}

/** Views cached per input buffer, beyond which the cache starts over. */
const MAX_CACHED_VIEWS = 4096;

/**
 * A reusable input for leaf hashes: holds 0x00 ‖ data, hashes it, and keeps
 * the data until the next `load`, so a verifier can hold entries back in it
 * instead of copying their fields. Views of each input length are cached: a
 * fresh view per hash costs more than copying the data in.
 *
 * @example
 * const input = new LeafInput();
 * input.load(entryBytes);
 * const leaf = input.digest();   // 32-character binary string
 * input.bytes[1 + offset];       // a byte of the entry, until the next load
 */
export class LeafInput {
  private buffer: Buffer;
  private views = new Map<number, Buffer>();
  private size = 1;

  constructor(capacity = 2048) {
    this.buffer = Buffer.allocUnsafe(Math.max(1, capacity));
    this.buffer[0] = 0x00;
  }

  /** Byte 0 is 0x00; the loaded data is at [1, 1 + length). Replaced when it must grow: read it after `load`. */
  get bytes(): Buffer {
    return this.buffer;
  }

  /** Length of the loaded data. */
  get length(): number {
    return this.size - 1;
  }

  /** Copies `data` in after the 0x00 prefix. */
  load(data: Uint8Array): void {
    const n = data.length + 1;
    if (n > this.buffer.length) {
      this.buffer = Buffer.allocUnsafe(Math.max(n, 2 * this.buffer.length));
      this.buffer[0] = 0x00;
      this.views = new Map();
    }
    this.buffer.set(data, 1);
    this.size = n;
  }

  /** The RFC 9162 leaf hash of the loaded data as a binary (latin1) string of 32 characters. */
  digest(): string {
    return hash('sha256', this.view(), 'binary');
  }

  /** The RFC 9162 leaf hash of the loaded data as lowercase hex. */
  hex(): string {
    return hash('sha256', this.view(), 'hex');
  }

  private view(): Buffer {
    let view = this.views.get(this.size);
    if (view === undefined) {
      if (this.views.size >= MAX_CACHED_VIEWS) this.views.clear();
      view = this.buffer.subarray(0, this.size);
      this.views.set(this.size, view);
    }
    return view;
  }
}

/** Shared by the functions below; entries are below 64 KiB, so it rarely grows. */
const scratch = new LeafInput(64 * 1024 + 1);

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ data). */
export function hashLeaf(data: Uint8Array): Buffer {
  scratch.load(data);
  const out = Buffer.allocUnsafe(HASH_SIZE);
  writeDigest(scratch.digest(), out, 0);
  return out;
}

/** The RFC 9162 leaf hash as lowercase hex (how entries and the API print it). */
export function hashLeafHex(data: Uint8Array): string {
  scratch.load(data);
  return scratch.hex();
}

/** RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    return digestBuffer(Buffer.concat([NODE_PREFIX, left, right]));
  }
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return digestBuffer(nodeInput);
}

/**
 * Hashes two children stored back to back without copying them: `input` is a
 * 65-byte view whose bytes [1, 33) hold the left child and [33, 65) the right
 * one. Byte 0 (whatever it belongs to) serves as the 0x01 prefix and is restored;
 * the node hash SHA-256(0x01 ‖ left ‖ right) replaces the left child.
 */
export function hashChildrenInPlace(input: Uint8Array): void {
  if (input.length !== 1 + 2 * HASH_SIZE) throw new CoreError('INVALID_HASH', `node input of ${input.length} bytes; expected ${1 + 2 * HASH_SIZE}`);
  const saved = input[0]!;
  input[0] = 0x01;
  const digest = hash('sha256', input, 'binary');
  input[0] = saved;
  writeDigest(digest, input, 1);
}
