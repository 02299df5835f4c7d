/**
 * The writing side of C2SP tlog-tiles (https://c2sp.org/tlog-tiles): collects
 * the level-8L node hashes that `CompactRange.append` reports into the tiles a
 * batch of appends changes. Pure and in memory; an adapter stores the result.
 */
import { isIndex } from './bits.js';
import type { NodeVisitor } from './compact-range.js';
import { InvalidRangeError } from './errors.js';
import { HASH_SIZE } from './rfc9162-hasher.js';
import {
  InvalidTileError,
  MissingTileError,
  TILE_HEIGHT,
  TILE_WIDTH,
  TileLengthError,
  partialTilesForSize,
  tilePath,
  type TileReader,
  type TileRef,
  type TileWrite,
} from './tlog-tiles.js';

/** Partial tiles a writer starts from: a reader function, or a map keyed by `tilePath`. */
export type PartialTiles = TileReader | ReadonlyMap<string, Uint8Array>;

interface LevelState {
  index: number;
  width: number;
  readonly initialWidth: number;
  buf: Uint8Array;
}

/**
 * Builds the tiles a batch of appends changes, in memory. Construct it from the
 * tree size the batch starts at and that size's partial tiles (at most one per
 * level, named by `partialTilesForSize`), pass `visitor` to every `CompactRange.append` of the batch, then store
 * `changedTiles()`. Nodes must arrive in append order; a node at a level that is
 * a multiple of 8 but not the next one of its level raises `InvalidRangeError`.
 *
 * @example
 * const builder = new TileBuilder(range.end, (ref) => partials.get(tilePath(ref)));
 * for (const leaf of batch) range.append(leaf, builder.visitor);
 * for (const { path, bytes } of builder.changedTiles()) await store.put(path, bytes);
 */
export class TileBuilder {
  private readonly levels = new Map<number, LevelState>();
  private readonly full: TileWrite[] = [];

  constructor(private readonly startSize: number, partialTiles: PartialTiles) {
    if (!isIndex(startSize)) throw new InvalidRangeError(`size ${startSize} is not a tree size`);
    const read: TileReader = typeof partialTiles === 'function' ? partialTiles : (ref) => partialTiles.get(tilePath(ref));
    for (const ref of partialTilesForSize(startSize)) {
      const bytes = read(ref);
      if (bytes === undefined) throw new MissingTileError(ref);
      if (bytes.length !== ref.width * HASH_SIZE) throw new TileLengthError(ref, bytes.length, `${ref.width * HASH_SIZE}`);
      const buf = new Uint8Array(TILE_WIDTH * HASH_SIZE);
      buf.set(bytes);
      this.levels.set(ref.level, { index: ref.index, width: ref.width, initialWidth: ref.width, buf });
    }
  }

  /** Records level-8L node hashes; ignores other levels. */
  readonly visitor: NodeVisitor = (id, hash) => {
    if (id.level % TILE_HEIGHT !== 0) return;
    const level = id.level / TILE_HEIGHT;
    let state = this.levels.get(level);
    if (state === undefined) {
      const next = Math.floor(this.startSize / TILE_WIDTH ** level);
      state = { index: Math.floor(next / TILE_WIDTH), width: 0, initialWidth: 0, buf: new Uint8Array(TILE_WIDTH * HASH_SIZE) };
      this.levels.set(level, state);
    }
    const expected = state.index * TILE_WIDTH + state.width;
    if (id.index !== expected) {
      throw new InvalidRangeError(`tile builder expected node (${id.level}, ${expected}), got (${id.level}, ${id.index})`);
    }
    if (hash.length !== HASH_SIZE) throw new InvalidTileError(`node hash of ${hash.length} bytes`);
    state.buf.set(hash, state.width * HASH_SIZE);
    if (++state.width === TILE_WIDTH) {
      const ref = { level, index: state.index, width: TILE_WIDTH };
      this.full.push({ ref, path: tilePath(ref), bytes: state.buf });
      this.levels.set(level, { index: state.index + 1, width: 0, initialWidth: 0, buf: new Uint8Array(TILE_WIDTH * HASH_SIZE) });
    }
  };

  /** Leaves recorded so far: the tree size the changed tiles describe. */
  get treeSize(): number {
    const leaves = this.levels.get(0);
    return leaves === undefined ? this.startSize : leaves.index * TILE_WIDTH + leaves.width;
  }

  /**
   * Tiles whose content changed since construction, ascending level then index:
   * each tile completed in this batch once (full, immutable from now on) and each
   * partial tile that grew, at its new width. Bytes are fresh copies.
   */
  changedTiles(): TileWrite[] {
    const out: TileWrite[] = this.full.map((t) => ({ ...t, bytes: t.bytes.slice() }));
    for (const [level, s] of this.levels) {
      if (s.width === 0 || s.width === s.initialWidth) continue;
      const ref = { level, index: s.index, width: s.width };
      out.push({ ref, path: tilePath(ref), bytes: s.buf.slice(0, s.width * HASH_SIZE) });
    }
    return out.sort((a, b) => a.ref.level - b.ref.level || a.ref.index - b.ref.index);
  }
}
