/**
 * C2SP tlog-tiles entry bundles (https://c2sp.org/tlog-tiles, "Log entries"):
 * bundle N holds entries N·256 … N·256+W−1, each a big-endian uint16 length
 * followed by that many bytes, so an entry has 1..65535 bytes (empty entries
 * are refused: a ledger entry is never empty). Entry i of a bundle hashes to
 * hash i of the level-0 tile with the same N and width.
 */
import { isIndex } from './bits.js';
import { EntryTooLargeError, InvalidEntryError, InvalidRangeError } from './errors.js';
import { InvalidTileError, TILE_WIDTH, entryBundlePath } from './tlog-tiles.js';

/** Largest entry a bundle can hold: its length must fit in 16 bits. */
export const MAX_ENTRY_SIZE = 0xffff;

/** A malformed entry bundle: bad length prefix, truncation, trailing bytes or wrong count. */
export class InvalidBundleError extends InvalidTileError {}

/** A bundle to store; `bytes` are its `width` encoded entries. */
export interface BundleWrite {
  readonly index: number;
  readonly width: number;
  readonly path: string;
  readonly bytes: Uint8Array;
}

function checkEntry(entry: Uint8Array): void {
  if (entry.length === 0) throw new InvalidEntryError('an entry bundle cannot hold an empty entry');
  if (entry.length > MAX_ENTRY_SIZE) throw new EntryTooLargeError(entry.length, MAX_ENTRY_SIZE + 1);
}

function encodeEntry(entry: Uint8Array): Uint8Array {
  checkEntry(entry);
  const out = new Uint8Array(2 + entry.length);
  out[0] = entry.length >>> 8;
  out[1] = entry.length & 0xff;
  out.set(entry, 2);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Encodes 1..256 entries as a bundle. Throws `InvalidEntryError` for an empty
 * entry, `EntryTooLargeError` above 65535 bytes, `InvalidBundleError` for a count
 * outside 1..256.
 *
 * @example
 * encodeBundle([new TextEncoder().encode('hi')]); // Uint8Array [0, 2, 104, 105]
 */
export function encodeBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length < 1 || entries.length > TILE_WIDTH) {
    throw new InvalidBundleError(`a bundle holds 1..${TILE_WIDTH} entries, not ${entries.length}`);
  }
  return concat(entries.map(encodeEntry));
}

/**
 * Decodes a bundle, strictly: every entry non-empty and complete, 1..256 entries,
 * exactly `expectedCount` when given (e.g. the width in the bundle's path) and
 * no trailing bytes. Throws `InvalidBundleError`. Entries are views into `bytes`.
 *
 * @example
 * decodeBundle(bytes, parseTilePath(path).ref.width);
 */
export function decodeBundle(bytes: Uint8Array, expectedCount?: number): Uint8Array[] {
  if (expectedCount !== undefined && (!Number.isInteger(expectedCount) || expectedCount < 1 || expectedCount > TILE_WIDTH)) {
    throw new InvalidBundleError(`expected count ${expectedCount} is not in 1..${TILE_WIDTH}`);
  }
  const limit = expectedCount ?? TILE_WIDTH;
  const entries: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length && entries.length < limit) {
    if (offset + 2 > bytes.length) throw new InvalidBundleError(`truncated length prefix at byte ${offset}`);
    const length = (bytes[offset]! << 8) | bytes[offset + 1]!;
    if (length === 0) throw new InvalidBundleError(`empty entry at byte ${offset}`);
    offset += 2;
    if (offset + length > bytes.length) {
      throw new InvalidBundleError(`entry ${entries.length} needs ${length} bytes, only ${bytes.length - offset} remain`);
    }
    entries.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  if (offset < bytes.length) throw new InvalidBundleError(`${bytes.length - offset} trailing bytes after ${entries.length} entries`);
  if (entries.length === 0) throw new InvalidBundleError('empty bundle');
  if (expectedCount !== undefined && entries.length !== expectedCount) {
    throw new InvalidBundleError(`bundle holds ${entries.length} entries; expected ${expectedCount}`);
  }
  return entries;
}

/**
 * Builds the entry bundles a batch of appends changes, in memory, alongside
 * `TileBuilder`. Construct it from the tree size the batch starts at and that
 * size's partial bundle (required when size mod 256 ≠ 0, refused otherwise),
 * `add` each entry in log order, then store `changedBundles()`.
 *
 * @example
 * const bundles = new EntryBundleBuilder(size, await store.get(entryBundlePath(Math.floor(size / 256), size % 256)));
 * for (const entry of batch) bundles.add(canonicalBytes(entry));
 * for (const { path, bytes } of bundles.changedBundles()) await store.put(path, bytes);
 */
export class EntryBundleBuilder {
  private readonly full: BundleWrite[] = [];
  private index: number;
  private parts: Uint8Array[] = [];
  private width: number;
  private readonly initialWidth: number;

  constructor(treeSize: number, partialBundle?: Uint8Array) {
    if (!isIndex(treeSize)) throw new InvalidRangeError(`size ${treeSize} is not a tree size`);
    this.index = Math.floor(treeSize / TILE_WIDTH);
    this.width = this.initialWidth = treeSize % TILE_WIDTH;
    if (this.width === 0) {
      if (partialBundle !== undefined && partialBundle.length > 0) {
        throw new InvalidBundleError(`a tree of size ${treeSize} has no partial bundle`);
      }
    } else {
      if (partialBundle === undefined) throw new InvalidBundleError(`partial bundle ${entryBundlePath(this.index, this.width)} is missing`);
      decodeBundle(partialBundle, this.width);
      this.parts.push(partialBundle.slice());
    }
  }

  /** The number of entries in the log once this batch is stored. */
  get treeSize(): number {
    return this.index * TILE_WIDTH + this.width;
  }

  /** Appends an entry (1..65535 bytes, else `InvalidEntryError` / `EntryTooLargeError`); returns its position. */
  add(entry: Uint8Array): number {
    const encoded = encodeEntry(entry);
    const position = this.treeSize;
    this.parts.push(encoded);
    if (++this.width === TILE_WIDTH) {
      this.full.push({ index: this.index, width: TILE_WIDTH, path: entryBundlePath(this.index, TILE_WIDTH), bytes: concat(this.parts) });
      this.index++;
      this.width = 0;
      this.parts = [];
    }
    return position;
  }

  /** Bundles completed in this batch (once each), then the partial bundle if it grew; fresh copies. */
  changedBundles(): BundleWrite[] {
    const out: BundleWrite[] = this.full.map((b) => ({ ...b, bytes: b.bytes.slice() }));
    const grew = this.full.length > 0 ? this.width > 0 : this.width > this.initialWidth;
    if (grew) out.push({ index: this.index, width: this.width, path: entryBundlePath(this.index, this.width), bytes: concat(this.parts) });
    return out;
  }
}
