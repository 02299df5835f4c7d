/**
 * Reading a tenant's published transparency log (DESIGN §3 HTTP API: entries,
 * consistency proofs, checkpoint and tiles). Everything is answered relative
 * to the latest checkpoint: proofs are built only from published tiles
 * (`ProofNodes` names the nodes, `hashesFromTiles` rehashes them), reading the
 * O(log n) tiles a proof needs, never the whole log. A tile is always fetched
 * at its width in the latest checkpoint, which exists (tiles are written before
 * the checkpoint) and, since tiles only grow, holds the node hashes of every
 * smaller tree too; so proofs for any tree size up to the checkpoint work,
 * even sizes never published. Entry bytes come from the ledger, the source of
 * truth; a client checks them against the signed root through the proof.
 */
import { bytesEqual, toBase64, toHex } from '../core/bytes.js';
import type { NodeId } from '../core/compact-range.js';
import { CoreError } from '../core/errors.js';
import { ProofNodes, rootFromInclusionProof } from '../core/merkle-proof.js';
import { hashLeaf } from '../core/rfc9162-hasher.js';
import { hashesFromTiles, parseTilePath, tilePath, tilesForNodes, tileWidth, type TileRef } from '../core/tlog-tiles.js';
import type { LedgerStore } from '../ports/ledger-store.js';
import type { ObjectStore } from '../ports/object-store.js';
import {
  CheckpointNotFoundError,
  EntryNotPublishedError,
  InvalidProofRangeError,
  LedgerBehindCheckpointError,
  LogIncompleteError,
  LogRootMismatchError,
  PositionOutOfRangeError,
  TileNotFoundError,
  TilePathError,
  TreeSizeBeyondCheckpointError,
} from './log-errors.js';
import { checkTenant, readPublishedCheckpoint, readTiles, tileKey, type PublishedCheckpoint } from './log-layout.js';

/** `GET /v1/tenants/{tenant}/entries/{position}[?treeSize=N]`. */
export interface EntryWithProof {
  readonly position: number;
  /** Canonical entry bytes, standard base64. */
  readonly entry: string;
  /** Lowercase hex RFC 9162 leaf hash of those bytes. */
  readonly leafHash: string;
  /** With a tree size: the size and the inclusion proof in it, lowercase hex, leaf side first. */
  readonly treeSize?: number;
  readonly inclusionProof?: readonly string[];
}

/** `GET /v1/tenants/{tenant}/proofs/consistency?from=M&to=N`. */
export interface ConsistencyProof {
  readonly from: number;
  readonly to: number;
  readonly proof: readonly string[];
}

/**
 * Serves a tenant's published log (see the module doc). Errors are the
 * `LogError`s of log-errors.ts, plus the ports' "unavailable" errors.
 *
 * @example
 * ```ts
 * const reader = new LogReader(ledger, objects);
 * const { leafHash, inclusionProof } = await reader.entry('acme', 5, 1000);
 * ```
 */
export class LogReader {
  constructor(
    private readonly ledger: LedgerStore,
    private readonly objects: ObjectStore,
  ) {}

  /** The latest signed checkpoint, byte for byte as stored; CheckpointNotFoundError before the first publish. */
  async checkpoint(tenant: string): Promise<Uint8Array> {
    return (await this.#latest(tenant)).note;
  }

  /** Size of the latest signed checkpoint; CheckpointNotFoundError before the first publish. */
  async checkpointSize(tenant: string): Promise<number> {
    return (await this.#latest(tenant)).checkpoint.size;
  }

  /**
   * A tile or entry bundle by its tlog-tiles path (`tile/0/x001/234.p/7`,
   * `tile/entries/000`), byte for byte as stored. TilePathError for a path that
   * is not canonical, TileNotFoundError for one that is not stored.
   */
  async tile(tenant: string, path: string): Promise<Uint8Array> {
    checkTenant(tenant);
    try {
      parseTilePath(path);
    } catch (error) {
      throw new TilePathError(path, { cause: error });
    }
    const bytes = await this.objects.get(tileKey(tenant, path));
    if (bytes === undefined) throw new TileNotFoundError(path);
    return bytes;
  }

  /**
   * The entry at `position` of the published log and, with `treeSize`, its
   * inclusion proof in the tree of that size (1 ≤ treeSize ≤ checkpoint size).
   * At the checkpoint's own size the proof is checked against its root before
   * it is served (LogRootMismatchError when the ledger's entry is not the one
   * published).
   */
  async entry(tenant: string, position: number, treeSize?: number): Promise<EntryWithProof> {
    wholeNumber('position', position);
    if (treeSize !== undefined) wholeNumber('treeSize', treeSize);
    const { checkpoint } = await this.#latest(tenant);
    if (treeSize === undefined && position >= checkpoint.size) throw new EntryNotPublishedError(position, checkpoint.size);
    if (treeSize !== undefined) {
      if (treeSize > checkpoint.size) throw new TreeSizeBeyondCheckpointError(treeSize, checkpoint.size);
      if (position >= treeSize) throw new PositionOutOfRangeError(position, treeSize);
    }
    const batch = await this.ledger.batchAt(tenant, position);
    const bytes = batch?.entries[position - batch.firstPosition];
    if (bytes === undefined) throw new LedgerBehindCheckpointError(tenant, checkpoint.size);
    const leafHash = hashLeaf(bytes);
    const result = { position, entry: toBase64(bytes), leafHash: toHex(leafHash) };
    if (treeSize === undefined) return result;
    const nodes = ProofNodes.inclusion(position, treeSize);
    const proof = nodes.rehash(await this.#hashes(tenant, nodes.ids, treeSize, checkpoint.size));
    if (treeSize === checkpoint.size && !bytesEqual(rootFromInclusionProof(position, treeSize, leafHash, proof), checkpoint.rootHash)) {
      throw new LogRootMismatchError(treeSize, 'checkpoint', `the ledger's entry ${position} is not the published one`);
    }
    return { ...result, treeSize, inclusionProof: proof.map(toHex) };
  }

  /**
   * The RFC 9162 §2.1.4 proof that the tree of size `to` extends the tree of
   * size `from` (1 ≤ from ≤ to ≤ checkpoint size; equal sizes give []).
   */
  async consistency(tenant: string, from: number, to: number): Promise<ConsistencyProof> {
    wholeNumber('from', from);
    wholeNumber('to', to);
    if (from < 1) throw new InvalidProofRangeError(`from must be at least 1 (every tree extends the empty one), got ${from}`);
    if (from > to) throw new InvalidProofRangeError(`from ${from} is beyond to ${to}`);
    const { checkpoint } = await this.#latest(tenant);
    if (to > checkpoint.size) throw new TreeSizeBeyondCheckpointError(to, checkpoint.size);
    const nodes = ProofNodes.consistency(from, to);
    const proof = nodes.rehash(await this.#hashes(tenant, nodes.ids, to, checkpoint.size));
    return { from, to, proof: proof.map(toHex) };
  }

  async #latest(tenant: string): Promise<PublishedCheckpoint> {
    checkTenant(tenant);
    const published = await readPublishedCheckpoint(this.objects, tenant);
    if (published === undefined) throw new CheckpointNotFoundError(tenant);
    return published;
  }

  /** Hashes of `ids` in the tree of `treeSize`, from the tiles as of the `published` size. */
  async #hashes(tenant: string, ids: readonly NodeId[], treeSize: number, published: number): Promise<Uint8Array[]> {
    const atPublished = (ref: TileRef): TileRef => ({ ...ref, width: tileWidth(ref.level, ref.index, published) });
    const tiles = await readTiles(this.objects, tenant, tilesForNodes(ids, treeSize).map(atPublished));
    try {
      return hashesFromTiles(ids, treeSize, (ref) => tiles.get(tilePath(atPublished(ref))));
    } catch (error) {
      if (error instanceof CoreError) throw new LogIncompleteError(`published tiles of ${tenant} are malformed: ${error.message}`, { cause: error });
      throw error;
    }
  }
}

function wholeNumber(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidProofRangeError(`${name} must be a whole number, got ${value}`);
}
