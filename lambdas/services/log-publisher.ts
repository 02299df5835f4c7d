/**
 * Publishing a tenant's ledger as a C2SP transparency log (DESIGN §2 "Tiles",
 * §1 "TRANSPARENCY"): tiles, entry bundles and, last, a signed checkpoint.
 *
 * One publish: read the published checkpoint (size S) → load the partial tiles
 * and bundle at S → rebuild the compact range [0, S) from those tiles and
 * check it against the published root → stream the ledger's batches from S,
 * hashing entries into the range (the `TileBuilder` visitor collects tile
 * hashes; `EntryBundleBuilder` the bundles) → after every batch, compare the
 * root with the ledger's own compact range stored in that batch → write the
 * changed objects → sign and write the checkpoint.
 *
 * Why rebuild the range from the tiles rather than take the batch's stored
 * one: the tiles are what clients fetch, so they must extend exactly; a range
 * rebuilt from them and checked against both the published root and, after
 * each batch, the ledger's range makes the ledger and the published log check
 * each other. Starting from the ledger's range would make that check vacuous.
 *
 * Safety: nothing is written for a batch before its root matched the ledger,
 * so an entry the ledger's writer did not hash (a tampered item) never reaches
 * an immutable tile and is never signed. Full tiles and bundles are immutable;
 * partial ones get their own path per width; the checkpoint is written last, so
 * a crash anywhere leaves the old checkpoint with all its objects valid, and a
 * re-run rewrites identical bytes and completes. Publishes are deterministic
 * functions of the ledger, so concurrent ones write identical objects.
 *
 * Concurrent publishers (two processes, two Lambdas) never move the checkpoint
 * backwards: it is written with a compare-and-swap (`putIfMatch`) against the
 * version just read. A stored checkpoint of our size or more wins (nothing is
 * written; the same size with another root is a LogRootMismatchError); a lost
 * swap re-reads and decides again. Each lost swap means the stored size grew,
 * so the loop ends; a bound (`casAttempts`) stops a writer that does not follow
 * this rule from keeping us busy. One publisher per tenant at a time
 * (`PublishScheduler`) still saves the duplicate work.
 *
 * After a restore (DESIGN §5) the ledger no longer extends the published
 * checkpoint: an alarm (LedgerBehindCheckpointError, LogRootMismatchError)
 * unless a valid recovery entry forks from exactly it (`recordedFork`). Then
 * the new generation is published from the retained prefix (`retainedTree`),
 * discarded write-once objects get a new version (`replaceDiscarded`), and
 * the old checkpoint is swapped for the new one, even a smaller one.
 */
import { bytesEqual, toHex } from '../core/bytes.js';
import { originFor, signCheckpoint } from '../core/checkpoint.js';
import { CompactRange, rangeNodes } from '../core/compact-range.js';
import { EntryBundleBuilder } from '../core/entry-bundle.js';
import { CoreError } from '../core/errors.js';
import { hashLeaf } from '../core/rfc9162-hasher.js';
import type { NoteSigner } from '../core/signed-note.js';
import { TileBuilder } from '../core/tile-builder.js';
import { entryBundlePath, hashesFromTiles, partialTilesForSize, TILE_WIDTH, tilePath } from '../core/tlog-tiles.js';
import type { LedgerBatch, LedgerStore } from '../ports/ledger-store.js';
import { ObjectImmutableError, ObjectStoreUnavailableError, type ObjectStore } from '../ports/object-store.js';
import { CheckpointInvalidError, LedgerBehindCheckpointError, LogIncompleteError, LogRootMismatchError } from './log-errors.js';
import {
  CHECKPOINT_CONTENT_TYPE, checkpointKey, checkTenant, parsePublishedCheckpoint, readPublishedCheckpoint, readTiles, TILE_CONTENT_TYPE, tileKey,
} from './log-layout.js';
import { recordedFork, replaceDiscarded, retainedTree } from './recovery-record.js';

/** Who signs checkpoints: one key name per origin (`FileSigningKey`, a KMS signer factory). */
export interface CheckpointSigners {
  signerFor(origin: string): NoteSigner;
}

export interface LogPublisherOptions {
  /** Origins are `<logPrefix>/<tenant>` (DESIGN §2). */
  readonly logPrefix: string;
  /** Entries held in memory before the verified full tiles and bundles are written (default 4096). */
  readonly flushEntries?: number;
  /** Stop after the batch that reaches this many new entries, so a huge backlog publishes in steps (default: no limit). */
  readonly maxEntries?: number;
  /** Parallel puts (default 8). */
  readonly putConcurrency?: number;
  /** Compare-and-swap attempts on the checkpoint before ObjectStoreUnavailableError (default 16). */
  readonly casAttempts?: number;
}

export interface PublishResult {
  /** The size and lowercase hex root of the latest checkpoint. */
  readonly size: number;
  readonly root: string;
  /** Whether this call wrote a new checkpoint. */
  readonly published: boolean;
}

/** What a publish carries from batch to batch: the tree at `size` and its partial objects. */
interface LogState {
  size: number;
  readonly range: CompactRange;
  /** Partial tiles at `size`, by tile path. */
  partials: Map<string, Uint8Array>;
  /** Partial bundle at `size`, when size mod 256 ≠ 0. */
  bundle: Uint8Array | undefined;
}

interface ObjectWrite {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly immutable: boolean;
}

/**
 * Publishes tenants' ledgers as C2SP tlog-tiles logs (see the module doc).
 *
 * @example
 * ```ts
 * const publisher = new LogPublisher(ledger, objects, signingKey, { logPrefix: 'ledger.example.com' });
 * const { size, root } = await publisher.publish('acme');
 * ```
 */
export class LogPublisher {
  readonly #flushEntries: number;
  readonly #maxEntries: number;
  readonly #putConcurrency: number;
  readonly #casAttempts: number;
  readonly #logPrefix: string;

  constructor(
    private readonly ledger: LedgerStore,
    private readonly objects: ObjectStore,
    private readonly signers: CheckpointSigners,
    options: LogPublisherOptions,
  ) {
    this.#logPrefix = options.logPrefix;
    this.#flushEntries = options.flushEntries ?? 16 * TILE_WIDTH;
    this.#maxEntries = options.maxEntries ?? Infinity;
    this.#putConcurrency = options.putConcurrency ?? 8;
    this.#casAttempts = options.casAttempts ?? 16;
    if (!(this.#flushEntries >= 1 && this.#maxEntries >= 1 && this.#putConcurrency >= 1 && this.#casAttempts >= 1)) {
      throw new RangeError('flushEntries, maxEntries, putConcurrency and casAttempts must be at least 1');
    }
  }

  /**
   * Publishes everything the ledger holds beyond the published checkpoint
   * (up to `maxEntries`). Idempotent; safe to re-run after any failure.
   * Throws LogRootMismatchError (nothing signed), CheckpointInvalidError,
   * LedgerBehindCheckpointError, LogIncompleteError, or the ports' errors.
   */
  async publish(tenant: string): Promise<PublishResult> {
    checkTenant(tenant);
    const origin = originFor(this.#logPrefix, tenant);
    const stored = await readPublishedCheckpoint(this.objects, tenant);
    const current = stored?.checkpoint;
    if (current !== undefined && current.origin !== origin) {
      throw new CheckpointInvalidError(`stored checkpoint of ${tenant} is for ${JSON.stringify(current.origin)}, not ${JSON.stringify(origin)}`);
    }
    try {
      return await this.#publishFrom(tenant, origin, await this.#load(tenant, current?.size ?? 0, current?.rootHash), current?.rootHash);
    } catch (error) {
      const forked = error instanceof LedgerBehindCheckpointError || (error instanceof LogRootMismatchError && error.against === 'ledger');
      const recovery = forked && stored !== undefined ? await recordedFork(this.ledger, tenant, stored) : undefined;
      if (recovery === undefined) throw error;
      return this.#publishFrom(tenant, origin, await retainedTree(this.ledger, this.objects, tenant, recovery, stored!.checkpoint.size), undefined, stored!.note);
    }
  }

  /**
   * Extends `state` with the ledger and writes what changed, then the
   * checkpoint. `root`: the published root at `state.size`, to check when
   * nothing is new. `replacing`: the old generation's checkpoint note, which
   * a recorded fork replaces (and whose objects it may give new versions).
   */
  async #publishFrom(tenant: string, origin: string, state: LogState, root: Uint8Array | undefined, replacing?: Uint8Array): Promise<PublishResult> {
    const start = state.size;
    const startPartials = new Set(replacing ? [] : [...state.partials.keys(), ...(state.bundle ? [bundlePath(start)] : [])]);
    const writes = await this.#extend(tenant, state, replacing !== undefined);
    if (state.size === start && root !== undefined) {
      if (start > 0) await this.#checkLedgerAt(tenant, start, root);
      return { size: start, root: toHex(root), published: false };
    }
    const partialWrites = [...state.partials].map(([path, bytes]) => ({ path, bytes, immutable: false }));
    if (state.bundle) partialWrites.push({ path: bundlePath(state.size), bytes: state.bundle, immutable: false });
    await this.#putAll(tenant, [...writes, ...partialWrites.filter((w) => !startPartials.has(w.path))], replacing !== undefined);
    return this.#writeCheckpoint(tenant, origin, state.size, state.range.root(), replacing);
  }

  /** The tree at the published size, rebuilt from its partial tiles and checked against the published root. */
  async #load(tenant: string, size: number, publishedRoot: Uint8Array | undefined): Promise<LogState> {
    const partials = await readTiles(this.objects, tenant, partialTilesForSize(size));
    const bundle = size % TILE_WIDTH === 0 ? undefined : await this.objects.get(tileKey(tenant, bundlePath(size)));
    if (size % TILE_WIDTH !== 0 && bundle === undefined) throw new LogIncompleteError(`bundle ${bundlePath(size)} of ${tenant} is missing`);
    let range: CompactRange;
    try {
      range = CompactRange.from(0, size, hashesFromTiles(rangeNodes(0, size), size, (ref) => partials.get(tilePath(ref))));
      new EntryBundleBuilder(size, bundle); // validates the partial bundle now rather than mid-publish
    } catch (error) {
      if (error instanceof CoreError) throw new LogIncompleteError(`published objects of ${tenant} at size ${size} are malformed: ${error.message}`, { cause: error });
      throw error;
    }
    if (publishedRoot !== undefined && !bytesEqual(range.root(), publishedRoot)) {
      throw new LogRootMismatchError(size, 'checkpoint', 'the published tiles do not hash to the published root');
    }
    return { size, range, partials, bundle };
  }

  /**
   * Appends the ledger's batches from `state.size` to the state, checking each
   * batch's root; returns the verified full tiles and bundles to write, having
   * written earlier ones whenever `flushEntries` accumulated.
   */
  async #extend(tenant: string, state: LogState, replace: boolean): Promise<ObjectWrite[]> {
    let tiles = new TileBuilder(state.size, state.partials);
    let bundles = new EntryBundleBuilder(state.size, state.bundle);
    let pending = 0;
    let added = 0;
    for await (const batch of this.ledger.readBatches(tenant, state.size)) {
      const skip = state.size - batch.firstPosition;
      if (skip < 0 || skip >= batch.entries.length) {
        throw new LogRootMismatchError(state.size, 'ledger', `batch at ${batch.firstPosition} does not hold position ${state.size}`);
      }
      for (const entry of batch.entries.slice(skip)) {
        state.range.append(hashLeaf(entry), tiles.visitor);
        bundles.add(entry);
      }
      state.size = batch.firstPosition + batch.entries.length;
      checkAgainstLedger(state.range, batch);
      pending += batch.entries.length - skip;
      added += batch.entries.length - skip;
      const last = added >= this.#maxEntries;
      if (pending >= this.#flushEntries || last) {
        const writes = carry(state, tiles, bundles);
        if (last) return writes;
        await this.#putAll(tenant, writes, replace);
        tiles = new TileBuilder(state.size, state.partials);
        bundles = new EntryBundleBuilder(state.size, state.bundle);
        pending = 0;
      }
    }
    return carry(state, tiles, bundles);
  }

  /** Nothing new: the ledger must still hold the published size, with the published root. */
  async #checkLedgerAt(tenant: string, size: number, root: Uint8Array): Promise<void> {
    const batch = await this.ledger.batchAt(tenant, size - 1);
    if (batch === undefined) throw new LedgerBehindCheckpointError(tenant, size);
    if (batch.firstPosition + batch.entries.length !== size) return; // mid-batch: checked once the batch is read
    checkRoot(size, root, batch);
  }

  /** Swaps in a checkpoint of `size` unless one of `size` or more is stored, or the `replacing` one (see the module doc). */
  async #writeCheckpoint(tenant: string, origin: string, size: number, root: Uint8Array, replacing?: Uint8Array): Promise<PublishResult> {
    const key = checkpointKey(tenant);
    let note: Uint8Array | undefined;
    for (let attempt = 1; attempt <= this.#casAttempts; attempt++) {
      const stored = await this.objects.getVersioned(key);
      const latest = stored && parsePublishedCheckpoint(tenant, stored.bytes).checkpoint;
      const replaced = replacing !== undefined && stored !== undefined && bytesEqual(stored.bytes, replacing);
      if (latest !== undefined && latest.size >= size && !replaced) {
        if (latest.size === size && !bytesEqual(latest.rootHash, root)) {
          throw new LogRootMismatchError(size, 'checkpoint', 'another publisher signed a different root at this size');
        }
        return { size: latest.size, root: toHex(latest.rootHash), published: false };
      }
      note ??= new TextEncoder().encode(await signCheckpoint({ origin, size, rootHash: root }, this.signers.signerFor(origin)));
      if ((await this.objects.putIfMatch(key, note, { contentType: CHECKPOINT_CONTENT_TYPE }, stored?.etag)) !== undefined) {
        return { size, root: toHex(root), published: true };
      }
    }
    throw new ObjectStoreUnavailableError(`the checkpoint of ${tenant} kept changing: ${this.#casAttempts} compare-and-swaps lost`);
  }

  /** Puts every write, at most `putConcurrency` at a time (`replace`: new versions of discarded write-once objects); rejects once all settled if any failed. */
  async #putAll(tenant: string, writes: readonly ObjectWrite[], replace: boolean): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let w = writes[next++]; w !== undefined; w = writes[next++]) {
        const key = tileKey(tenant, w.path);
        await this.objects.put(key, w.bytes, { contentType: TILE_CONTENT_TYPE, immutable: w.immutable }).catch((error: unknown) => {
          if (!(replace && error instanceof ObjectImmutableError)) throw error;
          return replaceDiscarded(this.objects, key, w.bytes, TILE_CONTENT_TYPE);
        });
      }
    };
    const results = await Promise.allSettled(Array.from({ length: Math.min(this.#putConcurrency, writes.length) }, worker));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

const bundlePath = (size: number): string => entryBundlePath(Math.floor(size / TILE_WIDTH), size % TILE_WIDTH);

/** The root after `batch` must equal the root of the compact range the ledger's writer stored with it. */
function checkAgainstLedger(range: CompactRange, batch: LedgerBatch): void {
  checkRoot(range.end, range.root(), batch);
}

function checkRoot(size: number, root: Uint8Array, batch: LedgerBatch): void {
  let stored: Uint8Array;
  try {
    stored = CompactRange.from(0, size, batch.range).root();
  } catch (error) {
    throw new LogRootMismatchError(size, 'ledger', `the stored compact range is malformed: ${(error as Error).message}`);
  }
  if (!bytesEqual(root, stored)) throw new LogRootMismatchError(size, 'ledger', 'entries do not hash to the stored compact range');
}

/**
 * Collects a chunk's verified writes: full tiles and bundles (immutable). The
 * partial ones at the new size move into `state`, to be written once, at the
 * end of the publish, since only the final size's partials are ever read.
 */
function carry(state: LogState, tiles: TileBuilder, bundles: EntryBundleBuilder): ObjectWrite[] {
  const changedTiles = tiles.changedTiles();
  const changedBundles = bundles.changedBundles();
  const changed = new Map(changedTiles.map((t) => [t.path, t.bytes]));
  state.partials = new Map(partialTilesForSize(state.size).map((ref) => {
    const path = tilePath(ref);
    return [path, changed.get(path) ?? state.partials.get(path)!];
  }));
  const partialBundle = changedBundles.find((b) => b.width < TILE_WIDTH);
  state.bundle = state.size % TILE_WIDTH === 0 ? undefined : partialBundle?.bytes ?? state.bundle;
  return [
    ...changedTiles.filter((t) => t.ref.width === TILE_WIDTH).map((t) => ({ path: t.path, bytes: t.bytes, immutable: true })),
    ...changedBundles.filter((b) => b.width === TILE_WIDTH).map((b) => ({ path: b.path, bytes: b.bytes, immutable: true })),
  ];
}
