/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the Merkle tree served as
 * static tiles of height 8. Tile (L, N) holds the hashes of tree nodes
 * N·256 … N·256+W−1 of level 8L, 32 bytes each; full tiles (W = 256) are
 * immutable, partial ones (1 ≤ W ≤ 255) are only replaced by wider ones.
 *
 * Pure (STYLE habit 1): `tilesForNodes` names the tiles a proof or root needs,
 * an adapter fetches them, `hashesFromTiles` rehashes the node hashes. The
 * writing side is `tile-builder.ts`; entry bundles are in `entry-bundle.ts`.
 */
import { isIndex } from './bits.js';
import { nodeCoverage, type NodeId } from './compact-range.js';
import { CoreError, InvalidRangeError } from './errors.js';
import { HASH_SIZE, hashChildren } from './rfc9162-hasher.js';

/** Tile height: a tile spans 8 tree levels (tlog-tiles "Merkle Tree"). */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile, and entries in a full bundle. */
export const TILE_WIDTH = 256;
/** Highest tile level the spec allows in a path. */
export const MAX_TILE_LEVEL = 63;

/** Tile (level, index) as of some tree size: `width` hashes, 256 when full. */
export interface TileRef {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/** A tile to store: `bytes` are `width` concatenated 32-byte hashes. */
export interface TileWrite {
  readonly ref: TileRef;
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** Where a node's hash lives: the run `[start, start+count)` of `tile`'s hashes folds into it. */
export interface NodeLocation {
  readonly tile: TileRef;
  readonly start: number;
  readonly count: number;
}

/** Returns a tile's bytes, or undefined when it is not available. */
export type TileReader = (ref: TileRef) => Uint8Array | undefined;

/** A malformed tile, tile path or entry bundle (`INVALID_TILE`). */
export class InvalidTileError extends CoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_TILE', message, options);
  }
}

/** A path that is not a canonical tlog-tiles tile or bundle path. */
export class InvalidTilePathError extends InvalidTileError {
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`invalid tile path ${JSON.stringify(path)}: ${reason}`);
    this.path = path;
  }
}

/** Tile bytes whose length does not fit the tile asked for. */
export class TileLengthError extends InvalidTileError {
  readonly ref: TileRef;
  readonly length: number;
  constructor(ref: TileRef, length: number, expected: string) {
    super(`tile ${tilePath(ref)} has ${length} bytes; expected ${expected}`);
    this.ref = ref;
    this.length = length;
  }
}

/** A tile that is needed but was not provided. */
export class MissingTileError extends InvalidTileError {
  readonly ref: TileRef;
  constructor(ref: TileRef) {
    super(`tile ${tilePath(ref)} is missing`);
    this.ref = ref;
  }
}

function checkRef(ref: TileRef): void {
  const { level, index, width } = ref;
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL || !isIndex(index)) {
    throw new InvalidTileError(`tile (${level}, ${index}) is out of range`);
  }
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new InvalidTileError(`tile width ${width} is not in 1..${TILE_WIDTH}`);
  }
}

/** N as zero-padded 3-digit groups, all but the last prefixed with `x` (1234067 → `x001/x234/067`). */
function formatIndex(n: number): string {
  let digits = n.toString();
  digits = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups = digits.match(/\d{3}/g)!;
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function formatSuffix(n: number, width: number): string {
  return width === TILE_WIDTH ? formatIndex(n) : `${formatIndex(n)}.p/${width}`;
}

/**
 * The path of a hash tile: `tile/<L>/<N>` when full, `tile/<L>/<N>.p/<W>` when partial.
 *
 * @example
 * tilePath({ level: 1, index: 1234067, width: 17 }); // 'tile/1/x001/x234/067.p/17'
 */
export function tilePath(ref: TileRef): string {
  checkRef(ref);
  return `tile/${ref.level}/${formatSuffix(ref.index, ref.width)}`;
}

/**
 * The path of entry bundle `index` holding `width` entries (tlog-tiles "Log entries").
 *
 * @example
 * entryBundlePath(1000, 256); // 'tile/entries/x001/000'
 */
export function entryBundlePath(index: number, width: number): string {
  checkRef({ level: 0, index, width });
  return `tile/entries/${formatSuffix(index, width)}`;
}

/** A parsed path; an entry bundle covers the same leaves as level-0 tile `ref.index`. */
export interface ParsedTilePath {
  readonly kind: 'tile' | 'entries';
  readonly ref: TileRef;
}

const PATH = /^tile\/(entries|\d+)\/((?:x\d{3}\/)*\d{3})(?:\.p\/(\d+))?$/;

/**
 * Parses a tile or entry bundle path, strictly: only the canonical encoding
 * `tilePath` / `entryBundlePath` produce is accepted (no leading zeros in L or
 * W, no empty leading `x000` group, 1 ≤ W ≤ 255, L ≤ 63, N a safe integer).
 * Throws `InvalidTilePathError`.
 *
 * @example
 * parseTilePath('tile/0/x001/000.p/3'); // { kind: 'tile', ref: { level: 0, index: 1000, width: 3 } }
 */
export function parseTilePath(path: string): ParsedTilePath {
  const m = PATH.exec(path);
  if (m === null) throw new InvalidTilePathError(path, 'expected tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]');
  const [, levelText, indexText, widthText] = m as unknown as [string, string, string, string | undefined];
  const kind = levelText === 'entries' ? 'entries' : 'tile';
  const level = kind === 'entries' ? 0 : Number(levelText);
  const index = Number(indexText.replaceAll('x', '').replaceAll('/', ''));
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (level > MAX_TILE_LEVEL) throw new InvalidTilePathError(path, `level above ${MAX_TILE_LEVEL}`);
  if (!isIndex(index)) throw new InvalidTilePathError(path, 'index is not a safe integer');
  if (widthText !== undefined && (width < 1 || width >= TILE_WIDTH)) {
    throw new InvalidTilePathError(path, `partial width not in 1..${TILE_WIDTH - 1}`);
  }
  const ref = { level, index, width };
  const canonical = kind === 'entries' ? entryBundlePath(index, width) : tilePath(ref);
  if (canonical !== path) throw new InvalidTilePathError(path, `not canonical (expected ${canonical})`);
  return { kind, ref };
}

/**
 * Hashes in tile (level, index) for a tree of `size` leaves: the level has
 * floor(size / 256^level) nodes at tree level 8·level; 0 if the tile does not exist.
 *
 * @example
 * tileWidth(1, 1, 70_000); // 17
 */
export function tileWidth(level: number, index: number, size: number): number {
  if (!isIndex(size) || !isIndex(index) || !isIndex(level)) throw new InvalidRangeError('tile level, index and size must be indices');
  const nodes = Math.floor(size / TILE_WIDTH ** level);
  return Math.max(0, Math.min(TILE_WIDTH, nodes - index * TILE_WIDTH));
}

/**
 * Every tile of a tree of `size` leaves, ascending level then index: per level
 * floor(size / 256^(L+1)) full tiles and a partial one of width
 * floor(size / 256^L) mod 256 when non-zero (tlog-tiles "Partial Tiles").
 * Linear in size / 256: for layouts and tests; readers use `tilesForNodes`.
 *
 * @example
 * tilesForSize(256); // [{ level: 0, index: 0, width: 256 }, { level: 1, index: 0, width: 1 }]
 */
export function tilesForSize(size: number): TileRef[] {
  if (!isIndex(size)) throw new InvalidRangeError(`size ${size} is not a tree size`);
  const tiles: TileRef[] = [];
  for (let level = 0; Math.floor(size / TILE_WIDTH ** level) > 0; level++) {
    const nodes = Math.floor(size / TILE_WIDTH ** level);
    const full = Math.floor(nodes / TILE_WIDTH);
    for (let index = 0; index < full; index++) tiles.push({ level, index, width: TILE_WIDTH });
    if (nodes % TILE_WIDTH !== 0) tiles.push({ level, index: full, width: nodes % TILE_WIDTH });
  }
  return tiles;
}

/**
 * The partial tiles of a tree of `size` leaves, at most one per level,
 * ascending: what a writer loads before appending (see `TileBuilder`).
 *
 * @example
 * partialTilesForSize(70_000).map(tilePath); // ['tile/0/273.p/112', 'tile/1/001.p/17', 'tile/2/000.p/1']
 */
export function partialTilesForSize(size: number): TileRef[] {
  if (!isIndex(size)) throw new InvalidRangeError(`size ${size} is not a tree size`);
  const tiles: TileRef[] = [];
  for (let level = 0; Math.floor(size / TILE_WIDTH ** level) > 0; level++) {
    const nodes = Math.floor(size / TILE_WIDTH ** level);
    if (nodes % TILE_WIDTH !== 0) tiles.push({ level, index: Math.floor(nodes / TILE_WIDTH), width: nodes % TILE_WIDTH });
  }
  return tiles;
}

/**
 * Where the hash of node `id` lives in the tree of `treeSize` leaves. A node at
 * level l = 8L + k (0 ≤ k < 8) roots the perfect subtree over level-8L nodes
 * [index·2^k, (index+1)·2^k): a run of 2^k hashes inside level-L tile
 * floor(index·2^k / 256), since 2^k divides 256. Throws `InvalidRangeError`
 * if the node is not complete at `treeSize`.
 *
 * @example
 * tileForNode({ level: 9, index: 3 }, 70_000); // { tile: { level: 1, index: 0, width: 256 }, start: 6, count: 2 }
 */
export function tileForNode(id: NodeId, treeSize: number): NodeLocation {
  const { level, index } = id;
  if (!isIndex(level) || level > 52 || !isIndex(index) || !isIndex(treeSize)) {
    throw new InvalidRangeError(`node (${level}, ${index}) in size ${treeSize} is out of range`);
  }
  if (nodeCoverage(id)[1] > treeSize) {
    throw new InvalidRangeError(`node (${level}, ${index}) is not complete at tree size ${treeSize}`);
  }
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const count = 2 ** (level % TILE_HEIGHT);
  const first = index * count;
  const tileIndex = Math.floor(first / TILE_WIDTH);
  const width = tileWidth(tileLevel, tileIndex, treeSize);
  return { tile: { level: tileLevel, index: tileIndex, width }, start: first % TILE_WIDTH, count };
}

/**
 * The distinct tiles, ascending level then index, holding the hashes of `ids`
 * at `treeSize` (e.g. `ProofNodes.inclusion(i, n).ids`, or `rangeNodes(0, n)`
 * for a root): a proof reads O(log n) tiles, never the whole log.
 *
 * @example
 * const tiles = tilesForNodes(ProofNodes.inclusion(5, size).ids, size);
 */
export function tilesForNodes(ids: readonly NodeId[], treeSize: number): TileRef[] {
  const byPath = new Map<string, TileRef>();
  for (const id of ids) {
    const { tile } = tileForNode(id, treeSize);
    byPath.set(tilePath(tile), tile);
  }
  return [...byPath.values()].sort((a, b) => a.level - b.level || a.index - b.index);
}

/**
 * The hashes of `ids`, in order, read from tiles as of `treeSize`. `getTile` is
 * called once per distinct tile and returns its bytes, or undefined
 * (`MissingTileError`). It may return a wider version of the same tile, e.g. the
 * full tile when a partial one is gone (tlog-tiles lets clients fetch the full
 * tile as a fallback): tiles only grow by appending, so the prefix is used.
 * Bytes that are shorter than `width` hashes, not whole hashes, or longer than
 * a full tile raise `TileLengthError`. Runs of 2^k hashes are folded pairwise
 * with `hashChildren`, level by level; the hashes are fresh Buffers, never views
 * of a tile. They are not authenticated here:
 * verify the proof built from them against a signed root.
 *
 * @example
 * const nodes = ProofNodes.inclusion(index, size);
 * const proof = nodes.rehash(hashesFromTiles(nodes.ids, size, (ref) => cache.get(tilePath(ref))));
 * verifyInclusion(index, size, leafHash, proof, root);
 */
export function hashesFromTiles(ids: readonly NodeId[], treeSize: number, getTile: TileReader): Uint8Array[] {
  const fetched = new Map<string, Uint8Array>();
  return ids.map((id) => {
    const { tile, start, count } = tileForNode(id, treeSize);
    const path = tilePath(tile);
    let bytes = fetched.get(path);
    if (bytes === undefined) {
      bytes = getTile(tile);
      if (bytes === undefined) throw new MissingTileError(tile);
      const n = bytes.length;
      if (n % HASH_SIZE !== 0 || n < tile.width * HASH_SIZE || n > TILE_WIDTH * HASH_SIZE) {
        throw new TileLengthError(tile, n, `${tile.width * HASH_SIZE} (or a wider version of the tile)`);
      }
      fetched.set(path, bytes);
    }
    let run: Uint8Array[] = [];
    for (let i = start; i < start + count; i++) run.push(Buffer.from(bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)));
    while (run.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i < run.length; i += 2) next.push(hashChildren(run[i]!, run[i + 1]!));
      run = next;
    }
    return run[0]!;
  });
}
