/**
 * Step 1 of a verification run: decide what to verify for one tenant. Reads
 * the tail (the size), the latest published checkpoint, and the checkpoint
 * the last successful run verified — from that run's SYSTEM entry in the
 * ledger, located through the report sink's pointer — and cuts [0, size)
 * into segments for the Distributed Map. It also gathers the recovery
 * entries the finish step must check (DESIGN §5): those that fork from
 * either checkpoint, and the newest one.
 */
import { randomUUID } from 'node:crypto';
import { parseCheckpoint } from '../../core/checkpoint.js';
import { decodeEntry } from '../../core/ledger-entry.js';
import { unverifiedNoteText } from '../../core/signed-note.js';
import type { LedgerStore } from '../../ports/ledger-store.js';
import type { ObjectStore } from '../../ports/object-store.js';
import type { ReportSink } from '../../ports/report-sink.js';
import { readPublishedCheckpoint } from '../log-layout.js';
import { plannedRecoveries } from './recovery-check.js';
import { VERIFICATION_KIND, type RunPlan, type SegmentTask } from './run-types.js';

/** Positions per segment by default: ~25 s of hashing for one Lambda at 10⁴ entries/s is far below its 15 min. */
export const DEFAULT_SEGMENT_SIZE = 250_000;

export interface PlanDeps {
  /** With `getIdempotency`, `getHead` and `readBatches` the plan also gathers recovery entries. */
  readonly ledger: Pick<LedgerStore, 'readTail' | 'batchAt'> & Partial<Pick<LedgerStore, 'getIdempotency' | 'getHead' | 'readBatches'>>;
  readonly objects: ObjectStore;
  readonly reports: Pick<ReportSink, 'lastRun'>;
  readonly logPrefix: string;
  readonly clock?: () => Date;
}

/**
 * Plans one tenant's run.
 *
 * @example
 * const plan = await planRun(deps, 'acme', { segmentSize: 100_000 });
 * for (const task of plan.segments) outcomes.push(await verifySegment(deps, task));
 */
export async function planRun(deps: PlanDeps, tenant: string, options: { segmentSize?: number; runId?: string } = {}): Promise<RunPlan> {
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  if (!Number.isSafeInteger(segmentSize) || segmentSize < 1) throw new RangeError(`segment size must be a positive integer, got ${segmentSize}`);
  const startedAt = (deps.clock ?? (() => new Date()))().toISOString();
  const runId = options.runId ?? `${startedAt.replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
  const [tail, published, previous] = await Promise.all([deps.ledger.readTail(tenant), readPublishedCheckpoint(deps.objects, tenant), lastVerified(deps, tenant)]);
  const size = tail === undefined ? 0 : tail.firstPosition + tail.entries.length;
  const checkpoint = published === undefined ? null : new TextDecoder().decode(published.note);
  // The published checkpoint was parsed when it was read; only the previous one's text needs parsing.
  const previousSize = previous && checkpointSizeOf(previous.checkpoint);
  const recoveries = await plannedRecoveries(deps.ledger, tenant, tail, checkpoint, previous && { note: previous.checkpoint, size: previousSize! });
  const cutAt = [published?.checkpoint.size, previousSize, ...recoveries.map((r) => r.details.discarded.first)].filter((n): n is number => n !== undefined);
  const segments: SegmentTask[] = [];
  for (let from = 0, index = 0; from < size || index === 0; from += segmentSize, index++) {
    const to = Math.min(size, from + segmentSize);
    segments.push({ runId, tenant, index, from, to, last: to >= size, cutAt });
    if (to >= size) break;
  }
  return {
    runId,
    tenant,
    origin: `${deps.logPrefix}/${tenant}`,
    startedAt,
    size,
    checkpoint,
    previous: previous?.checkpoint ?? null,
    previousRunPosition: previous?.position ?? null,
    cutAt,
    segments,
    recoveries,
  };
}

/**
 * The tree size a checkpoint note claims (its signature is not checked here:
 * the finish step opens every checkpoint against the log's key).
 *
 * @example
 * checkpointSizeOf(plan.checkpoint); // 1250
 */
export function checkpointSizeOf(note: string): number {
  return parseCheckpoint(unverifiedNoteText(note)).size;
}

/**
 * The checkpoint the last successful run verified: the sink's pointer names a
 * position; the SYSTEM entry stored there (not the pointer) is what counts.
 * A pointer to anything but that run's verification entry of this tenant is
 * ignored, which only weakens the run to "no previous checkpoint" — never
 * hides a finding, because the latest checkpoint is still checked against the log.
 *
 * @example
 * const verified = await lastVerified({ ledger, reports }, 'acme'); // { checkpoint: '<note>', position: 1250 } or undefined
 */
export async function lastVerified(deps: { ledger: Pick<LedgerStore, 'batchAt'>; reports: Pick<ReportSink, 'lastRun'> }, tenant: string): Promise<{ checkpoint: string; position: number } | undefined> {
  const pointer = await deps.reports.lastRun(tenant);
  if (pointer === undefined) return undefined;
  const batch = await deps.ledger.batchAt(tenant, pointer.position);
  const bytes = batch?.entries[pointer.position - batch.firstPosition];
  if (bytes === undefined) return undefined;
  try {
    const { entry } = decodeEntry(bytes);
    const payload = entry.payload;
    // After a restore the pointer may name a position the log now fills with another entry: only that run's own entry counts.
    if (entry.tenant !== tenant || !('system' in payload) || payload.system.kind !== VERIFICATION_KIND || payload.system.details['runId'] !== pointer.runId) return undefined;
    const verified = payload.system.details['verifiedCheckpoint'];
    return typeof verified === 'string' ? { checkpoint: verified, position: pointer.position } : undefined;
  } catch {
    return undefined;
  }
}
