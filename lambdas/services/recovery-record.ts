/**
 * Recovery records (DESIGN §5 "Recovery audit trail"): how a `recovery`
 * SYSTEM entry is found and what makes one hold. Shared by the recovery
 * service (which writes it), the publisher (which republishes a forked log
 * only for a recorded fork) and the verification run (which accepts a fork
 * only when a recovery records it exactly).
 *
 * Finding one costs an index read, never a scan: every recovery entry has the
 * record id `system-recovery` (its head names the newest) and the
 * Idempotency-Key `recovery:<SHA-256 hex of the checkpoint note it forks
 * from>`, so the entry recording a fork from a given checkpoint is one
 * idempotency lookup away (the tail batch is consulted too, as its index
 * items may lag a crashed writer).
 */
import { bytesEqual, fromHex, toHex } from '../core/bytes.js';
import type { Checkpoint } from '../core/checkpoint.js';
import { CompactRange, rangeNodes } from '../core/compact-range.js';
import { encodeBundle } from '../core/entry-bundle.js';
import { CoreError } from '../core/errors.js';
import { decodeEntry, recoveryDetailsOf, type RecoveryDetails } from '../core/ledger-entry.js';
import { verifyConsistency } from '../core/merkle-proof.js';
import { HASH_SIZE, sha256 } from '../core/rfc9162-hasher.js';
import { hashesFromTiles, partialTilesForSize, TILE_WIDTH, tilePath, tilesForNodes, tileWidth, type TileRef } from '../core/tlog-tiles.js';
import type { LedgerBatch, LedgerStore } from '../ports/ledger-store.js';
import { ObjectStoreUnavailableError, type ObjectStore } from '../ports/object-store.js';
import { LogIncompleteError, LogRootMismatchError } from './log-errors.js';
import { readTiles, type PublishedCheckpoint } from './log-layout.js';

/** The record id of every recovery entry: its head is the newest recovery. */
export const RECOVERY_RECORD_ID = 'system-recovery';

/**
 * The Idempotency-Key of the recovery forking from `previousCheckpoint` (the note text).
 *
 * @example
 * recoveryKeyOf(note); // 'recovery:3f1c…'
 */
export function recoveryKeyOf(previousCheckpoint: string): string {
  return `recovery:${toHex(sha256(new TextEncoder().encode(previousCheckpoint)))}`;
}

/** A recovery entry as stored: where it stands, its own generation and what it records. */
export interface RecordedRecovery {
  readonly position: number;
  readonly generation: number;
  readonly details: RecoveryDetails;
}

/** What a recovery records, as reports and the recovery service tell it. */
export interface RecoverySummary {
  /** Position of the recovery entry. */
  readonly position: number;
  readonly generation: number;
  readonly discarded: { readonly first: number; readonly count: number };
  /** The checkpoint of the discarded log it forks from. */
  readonly previousCheckpoint: { readonly size: number; readonly root: string };
  readonly reason: string;
  readonly actor: string;
}

/**
 * A recovery's summary, given the (opened) checkpoint it forks from.
 *
 * @example
 * summaryOf(recovery, old); // { position: 22, generation: 1, discarded: { first: 20, count: 5 }, previousCheckpoint: { size: 25, root: '…' }, … }
 */
export function summaryOf(recovery: RecordedRecovery, old: Checkpoint): RecoverySummary {
  const { generation, discarded, reason, actor } = recovery.details;
  return { position: recovery.position, generation, discarded, previousCheckpoint: { size: old.size, root: toHex(old.rootHash) }, reason, actor };
}

/** The canonical bytes of the entry at `position`, or undefined when the ledger holds none. */
export async function entryAt(ledger: Pick<LedgerStore, 'batchAt'>, tenant: string, position: number): Promise<Uint8Array | undefined> {
  const batch = await ledger.batchAt(tenant, position);
  return batch?.entries[position - batch.firstPosition];
}

/** The recovery entry at `position`; undefined when the entry there is none (or malformed, or another tenant's). */
export async function recoveryAt(ledger: Pick<LedgerStore, 'batchAt'>, tenant: string, position: number): Promise<RecordedRecovery | undefined> {
  const bytes = await entryAt(ledger, tenant, position);
  if (bytes === undefined) return undefined;
  try {
    const { entry } = decodeEntry(bytes);
    const details = recoveryDetailsOf(entry.payload);
    return entry.tenant === tenant && entry.position === position && details ? { position, generation: entry.generation, details } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The recovery entry that forks from the checkpoint note `previousCheckpoint`, or undefined.
 *
 * @example
 * const recovery = await findRecovery(ledger, 'acme', new TextDecoder().decode(published.note));
 */
export async function findRecovery(
  ledger: Pick<LedgerStore, 'getIdempotency' | 'readTail' | 'batchAt'>,
  tenant: string,
  previousCheckpoint: string,
  tail?: LedgerBatch,
): Promise<RecordedRecovery | undefined> {
  const key = recoveryKeyOf(previousCheckpoint);
  const record = (await ledger.getIdempotency(tenant, key)) ?? (tail ?? (await ledger.readTail(tenant)))?.idempotency.find((r) => r.key === key);
  const found = record && (await recoveryAt(ledger, tenant, record.firstPosition));
  return found?.details.previousCheckpoint === previousCheckpoint ? found : undefined;
}

/**
 * The recovery entry that forks from exactly the stored checkpoint and holds
 * against it (the publisher's licence to replace it), or undefined.
 *
 * @example
 * const recovery = await recordedFork(ledger, 'acme', await readPublishedCheckpoint(objects, 'acme'));
 */
export async function recordedFork(ledger: Pick<LedgerStore, 'getIdempotency' | 'readTail' | 'batchAt'>, tenant: string, stored: PublishedCheckpoint): Promise<RecordedRecovery | undefined> {
  const recovery = await findRecovery(ledger, tenant, new TextDecoder().decode(stored.note));
  return recovery !== undefined && recoveryProblem(recovery, stored.checkpoint) === undefined ? recovery : undefined;
}

/** The newest recovery entry (the head of its record, the tail's own head first), or undefined. */
export async function latestRecovery(ledger: Pick<LedgerStore, 'getHead' | 'batchAt'>, tenant: string, tail: LedgerBatch | undefined): Promise<RecordedRecovery | undefined> {
  const head = tail?.heads.find((h) => h.recordId === RECOVERY_RECORD_ID) ?? (await ledger.getHead(tenant, RECOVERY_RECORD_ID));
  return head && recoveryAt(ledger, tenant, head.position);
}

const GENERATION_KEY = Buffer.from(',"generation":', 'latin1');

/**
 * An entry's generation read from its canonical bytes without parsing them:
 * in RFC 8785 form the first `,"generation":` is the top-level key (it sorts
 * before `payload`, and a JSON string never holds an unescaped quote, so
 * neither `actor` nor `correlationId` can contain it). NaN when absent.
 *
 * @example
 * generationOf(batch.entries[0]); // 1
 */
export function generationOf(bytes: Uint8Array): number {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = buffer.indexOf(GENERATION_KEY);
  if (at < 0) return Number.NaN;
  let end = at + GENERATION_KEY.length;
  while (end < buffer.length && buffer[end]! >= 0x30 && buffer[end]! <= 0x39) end++;
  return end === at + GENERATION_KEY.length ? Number.NaN : Number(buffer.toString('latin1', at + GENERATION_KEY.length, end));
}

/**
 * What is wrong with a recovery record, given the (opened) checkpoint it
 * forks from; undefined when it holds: its generation is its entry's, it
 * retains at least one entry and stands after them, its discarded range ends
 * exactly at the old checkpoint's size, and its consistency proof leads from
 * its retained root to the old checkpoint's root (RFC 9162 §2.1.4.2). Pure.
 *
 * @example
 * const problem = recoveryProblem(recovery, openCheckpoint(recovery.details.previousCheckpoint, verifier, { origin }));
 */
export function recoveryProblem(recovery: RecordedRecovery, old: Checkpoint): string | undefined {
  const { generation, discarded, retainedRoot, consistencyProof } = recovery.details;
  const last = discarded.first + discarded.count - 1;
  if (generation !== recovery.generation) return `it names generation ${generation} but the entry carries ${recovery.generation}`;
  if (discarded.first < 1) return 'it retains no entry of the old log';
  if (discarded.first > recovery.position) return `it discards positions from ${discarded.first} but stands at position ${recovery.position}`;
  if (last !== old.size - 1) return `it discards positions ${discarded.first}..${last} but its checkpoint covers ${old.size} entries`;
  try {
    verifyConsistency(discarded.first, old.size, consistencyProof.map((h) => fromHex(h)), fromHex(retainedRoot), old.rootHash);
  } catch (error) {
    return `its proof does not lead from the retained root at size ${discarded.first} to checkpoint ${old.size}: ${(error as Error).message}`;
  }
  return undefined;
}

/**
 * Writes a new version of a write-once object that a recorded recovery
 * discarded (a full tile or bundle of the old generation): compare-and-swap
 * on the version read, so a racing publisher writing the same bytes is fine.
 * On S3 the bucket is versioned with Object Lock: the old version stays, as
 * evidence of what the old generation published.
 *
 * @example
 * await replaceDiscarded(objects, 'acme/tile/0/000', tile, 'application/octet-stream');
 */
export async function replaceDiscarded(objects: ObjectStore, key: string, bytes: Uint8Array, contentType: string): Promise<void> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const stored = await objects.getVersioned(key);
    if (stored !== undefined && bytesEqual(stored.bytes, bytes)) return;
    if ((await objects.putIfMatch(key, bytes, { contentType }, stored?.etag)) !== undefined) return;
  }
  throw new ObjectStoreUnavailableError(`${key} kept changing while its discarded version was replaced`);
}

/** The tree a publish continues from: its compact range, partial tiles (by path) and partial bundle. */
export interface RetainedTree {
  size: number;
  readonly range: CompactRange;
  partials: Map<string, Uint8Array>;
  bundle: Uint8Array | undefined;
}

/**
 * The published tree at a recovery's retained size k, for the publisher to
 * continue the new generation from: the hashes are read from the tiles as of
 * the old size (tiles only grow, so they hold every smaller tree, and the
 * retained prefix is the same in both generations) and checked against the
 * recovery's retained root; the partial bundle at k is built from the ledger.
 *
 * @example
 * const state = await retainedTree(ledger, objects, 'acme', recovery, oldCheckpoint.size);
 */
export async function retainedTree(ledger: Pick<LedgerStore, 'readBatches'>, objects: ObjectStore, tenant: string, recovery: RecordedRecovery, oldSize: number): Promise<RetainedTree> {
  const size = recovery.details.discarded.first;
  const atOld = (ref: TileRef): TileRef => ({ ...ref, width: tileWidth(ref.level, ref.index, oldSize) });
  const refs = new Map([...tilesForNodes(rangeNodes(0, size), size), ...partialTilesForSize(size)].map((ref) => [tilePath(atOld(ref)), atOld(ref)]));
  const tiles = await readTiles(objects, tenant, [...refs.values()]);
  const tileAt = (ref: TileRef): Uint8Array | undefined => tiles.get(tilePath(atOld(ref)));
  let range: CompactRange;
  try {
    range = CompactRange.from(0, size, hashesFromTiles(rangeNodes(0, size), size, tileAt));
  } catch (error) {
    if (error instanceof CoreError) throw new LogIncompleteError(`published tiles of ${tenant} are malformed: ${error.message}`, { cause: error });
    throw error;
  }
  if (!bytesEqual(range.root(), fromHex(recovery.details.retainedRoot))) {
    throw new LogRootMismatchError(size, 'checkpoint', "the published tiles do not hash to the recovery's retained root");
  }
  const partials = new Map(partialTilesForSize(size).map((ref) => [tilePath(ref), tileAt(ref)!.slice(0, ref.width * HASH_SIZE)]));
  const first = size - (size % TILE_WIDTH);
  const entries: Uint8Array[] = [];
  for await (const batch of ledger.readBatches(tenant, first)) {
    if (batch.firstPosition >= size) break;
    batch.entries.forEach((e, i) => {
      if (batch.firstPosition + i >= first && batch.firstPosition + i < size) entries.push(e);
    });
  }
  return { size, range, partials, bundle: size === first ? undefined : encodeBundle(entries) };
}
