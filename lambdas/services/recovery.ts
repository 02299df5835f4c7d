/**
 * Recording a recovery (DESIGN §5 "Recovery audit trail"): after a restore
 * (DynamoDB PITR, a backup) the ledger ends before what its published
 * checkpoint signed. Before the log may continue, an operator records the
 * fork: one `recovery` SYSTEM entry with the next generation and the exact
 * discarded range, proven against the old checkpoint.
 *
 * The old log is known only through its signed checkpoint (size n) and the
 * tiles published for it, which stay in the log bucket until the new
 * generation is published. The retained prefix k is the longest prefix of
 * the ledger whose entries are in that old tree: entry p is, exactly when its
 * inclusion proof from the old tiles leads to the old root, and because each
 * entry commits to its predecessor (prevHash) that holds for every p < k and
 * for no p ≥ k, so a binary search finds k in O(log n) proofs. Entries the
 * ledger took after the restore (a verification run's SYSTEM entry, requests)
 * stay: they belong to the new branch, and the recovery entry follows them.
 *
 * Refused with a typed error when nothing was discarded (k ≥ n:
 * `NothingDiscardedError`), when the ledger keeps nothing of the old log or
 * its root at k is not consistent with the old checkpoint
 * (`RecoveryNotAPrefixError`), or when the published checkpoint is older
 * than the one the last run verified (a rolled-back checkpoint is a
 * finding, never a restore: `CheckpointInvalidError`). Idempotent: the entry
 * for a fork from a given checkpoint is found by its Idempotency-Key, so a
 * second call (or a racing one) answers the first entry, and once the new
 * generation is published (nothing discarded any more) the newest recovery
 * is the answer; an entry there that does not hold (not written here) is
 * `RecoveryConflictError`.
 */
import { fromHex, toHex } from '../core/bytes.js';
import { openCheckpoint, originFor, type Checkpoint } from '../core/checkpoint.js';
import { CompactRange } from '../core/compact-range.js';
import { decodeBundle } from '../core/entry-bundle.js';
import { recoveryDetailsSchema, type RecoveryDetails } from '../core/ledger-entry.js';
import { verifyConsistency } from '../core/merkle-proof.js';
import { hashLeaf } from '../core/rfc9162-hasher.js';
import type { NoteVerifier } from '../core/signed-note.js';
import { entryBundlePath, TILE_WIDTH, tileWidth } from '../core/tlog-tiles.js';
import type { LedgerStore } from '../ports/ledger-store.js';
import type { ReportSink } from '../ports/report-sink.js';
import { NothingDiscardedError, RecoveryConflictError, RecoveryNotAPrefixError, ServiceInputError } from './errors.js';
import type { AppendResult } from './ledger-service.js';
import { CheckpointInvalidError, LogError, LogRootMismatchError } from './log-errors.js';
import { checkTenant } from './log-layout.js';
import type { LogReader } from './log-reader.js';
import { findRecovery, generationOf, latestRecovery, recoveryAt, recoveryProblem, summaryOf, type RecordedRecovery, type RecoverySummary } from './recovery-record.js';
import { checkpointSizeOf, lastVerified } from './verification/plan-step.js';

export interface RecoveryDeps {
  readonly ledger: Pick<LedgerStore, 'readTail' | 'batchAt' | 'getIdempotency' | 'getHead'>;
  /** The published log: the old checkpoint, and proofs from the old tiles. */
  readonly log: Pick<LogReader, 'checkpoint' | 'entry' | 'consistency' | 'tile'>;
  /** Where the last verified checkpoint is found (it must not be newer than the published one). */
  readonly reports: Pick<ReportSink, 'lastRun'>;
  /** `LedgerService.appendRecovery`. */
  readonly appendRecovery: (tenant: string, recovery: RecoveryDetails, actor: string) => Promise<AppendResult>;
  readonly verifierFor: (origin: string) => NoteVerifier;
  readonly logPrefix: string;
}

/** Why and by whom, recorded in the entry. */
export interface RecoveryRequest {
  readonly reason: string;
  readonly actor: string;
}

/** What was recorded (or found recorded). */
export interface RecoveryOutcome extends RecoverySummary {
  readonly tenant: string;
  /** True when the recovery was already recorded: nothing was appended. */
  readonly replayed: boolean;
}

/**
 * Records recoveries (see the module doc).
 *
 * @example
 * const recovery = new RecoveryService({ ledger, log: new LogReader(ledger, objects), reports, appendRecovery: (t, d, a) => service.appendRecovery(t, d, a), verifierFor, logPrefix });
 * const { position, discarded } = await recovery.recordRecovery('acme', { reason: 'PITR after table corruption', actor: 'user:ops' });
 */
export class RecoveryService {
  constructor(private readonly deps: RecoveryDeps) {}

  /** Appends the recovery entry for the tenant's fork, or answers the one already recorded. */
  async recordRecovery(tenant: string, request: RecoveryRequest): Promise<RecoveryOutcome> {
    checkTenant(tenant);
    const { reason, actor } = recoveryDetailsSchema.shape;
    if (!reason.safeParse(request.reason).success || !actor.safeParse(request.actor).success) {
      throw new ServiceInputError('a recovery\'s reason and actor are 1 to 256 printable ASCII characters, without leading or trailing spaces');
    }
    const { ledger, log } = this.deps;
    const tail = await ledger.readTail(tenant);
    const size = tail === undefined ? 0 : tail.firstPosition + tail.entries.length;
    const evidence = await this.#evidence(tenant);
    if (evidence === undefined) throw new NothingDiscardedError(tenant, size, 0);
    const { note, old } = evidence;
    const recorded = await findRecovery(ledger, tenant, note, tail);
    if (recorded !== undefined) return this.#recorded(tenant, recorded, old);
    const retained = await this.#retainedPrefix(tenant, Math.min(size, old.size), old.size);
    if (retained >= old.size) {
      // Nothing discarded since the published checkpoint: a recovery it already includes (republished) is the answer.
      const latest = await latestRecovery(ledger, tenant, tail);
      if (latest === undefined || latest.position >= old.size) throw new NothingDiscardedError(tenant, size, old.size);
      return this.#recorded(tenant, latest, this.#open(tenant, latest.details.previousCheckpoint));
    }
    if (retained === 0 || tail === undefined) {
      throw new RecoveryNotAPrefixError(`the ledger of ${tenant} keeps no entry of the log its checkpoint (size ${old.size}) signed: not a restore of that log`);
    }
    const retainedRoot = await ledgerRootAt(ledger, tenant, retained);
    const proof = (await log.consistency(tenant, retained, old.size)).proof;
    try {
      verifyConsistency(retained, old.size, proof.map((h) => fromHex(h)), retainedRoot, old.rootHash);
    } catch (cause) {
      throw new RecoveryNotAPrefixError(`the first ${retained} entries of ${tenant}'s ledger are not a prefix of the log checkpoint ${old.size} signed`, { cause });
    }
    const details: RecoveryDetails = {
      generation: Math.max(tail.generation, await this.#generationAt(tenant, old.size - 1, old.size)) + 1,
      discarded: { first: retained, count: old.size - retained },
      previousCheckpoint: note,
      retainedRoot: toHex(retainedRoot),
      consistencyProof: [...proof],
      reason: request.reason,
      actor: request.actor,
    };
    const { records, replayed } = await this.deps.appendRecovery(tenant, details, request.actor);
    const position = records[0]!.position;
    const stored = replayed ? await recoveryAt(ledger, tenant, position) : { position, generation: details.generation, details };
    return outcomeOf(tenant, stored ?? { position, generation: details.generation, details }, old, replayed);
  }

  /** An already recorded recovery as the answer, when it holds against the checkpoint it forks from. */
  #recorded(tenant: string, recovery: RecordedRecovery, old: Checkpoint): RecoveryOutcome {
    const problem = recoveryProblem(recovery, old);
    if (problem !== undefined) throw new RecoveryConflictError(tenant, recovery.position, problem);
    return outcomeOf(tenant, recovery, old, true);
  }

  /** A checkpoint note of the tenant's log, opened with its key (CheckpointInvalidError). */
  #open(tenant: string, note: string): Checkpoint {
    const origin = originFor(this.deps.logPrefix, tenant);
    try {
      return openCheckpoint(note, this.deps.verifierFor(origin), { origin });
    } catch (cause) {
      throw new CheckpointInvalidError(`a checkpoint of ${tenant} does not verify with the log's key: ${(cause as Error).message}`, { cause });
    }
  }

  /** The published checkpoint (verified), or undefined before the first publish. */
  async #evidence(tenant: string): Promise<{ note: string; old: Checkpoint } | undefined> {
    let note: string;
    try {
      note = new TextDecoder().decode(await this.deps.log.checkpoint(tenant));
    } catch (error) {
      if (error instanceof LogError && error.code === 'CHECKPOINT_NOT_FOUND') return undefined;
      throw error;
    }
    const old = this.#open(tenant, note);
    const verified = await lastVerified(this.deps, tenant);
    if (verified !== undefined && checkpointSizeOf(verified.checkpoint) > old.size) {
      throw new CheckpointInvalidError(`the published checkpoint of ${tenant} (size ${old.size}) is older than the one the last run verified: a rolled-back checkpoint is a finding, not a restore`);
    }
    return { note, old };
  }

  /** The largest p ≤ hi whose first p entries are the old log's (binary search; see the module doc). */
  async #retainedPrefix(tenant: string, hi: number, oldSize: number): Promise<number> {
    let lo = 0;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (await this.#inOldLog(tenant, mid - 1, oldSize)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Whether the ledger's entry at `position` is the one the old checkpoint signed (its proof leads to the old root). */
  async #inOldLog(tenant: string, position: number, oldSize: number): Promise<boolean> {
    try {
      await this.deps.log.entry(tenant, position, oldSize);
      return true;
    } catch (error) {
      if (error instanceof LogRootMismatchError) return false;
      throw error;
    }
  }

  /** The generation of the old log's entry at `position`, from its published bundle. */
  async #generationAt(tenant: string, position: number, oldSize: number): Promise<number> {
    const index = Math.floor(position / TILE_WIDTH);
    const bundle = await this.deps.log.tile(tenant, entryBundlePath(index, tileWidth(0, index, oldSize)));
    const generation = generationOf(decodeBundle(bundle)[position % TILE_WIDTH] ?? new Uint8Array());
    return Number.isSafeInteger(generation) ? generation : 0;
  }
}

/**
 * The ledger's own RFC 9162 root at size `size` (≥ 1): the compact range its
 * writer stored with the batch ending there, or with the batch before plus
 * the leading entries of the batch holding `size − 1`.
 */
async function ledgerRootAt(ledger: Pick<LedgerStore, 'batchAt'>, tenant: string, size: number): Promise<Uint8Array> {
  const batch = (await ledger.batchAt(tenant, size - 1))!;
  if (batch.firstPosition + batch.entries.length === size) return CompactRange.from(0, size, batch.range).root();
  const before = batch.firstPosition === 0 ? undefined : await ledger.batchAt(tenant, batch.firstPosition - 1);
  const range = before === undefined ? CompactRange.empty() : CompactRange.from(0, batch.firstPosition, before.range);
  for (const entry of batch.entries.slice(0, size - batch.firstPosition)) range.append(hashLeaf(entry));
  return range.root();
}

function outcomeOf(tenant: string, recovery: RecordedRecovery, old: Checkpoint, replayed: boolean): RecoveryOutcome {
  return { tenant, ...summaryOf(recovery, old), replayed };
}
