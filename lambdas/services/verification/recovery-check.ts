/**
 * The verification run's half of the recovery audit trail (DESIGN §5): the
 * plan step gathers the recovery entries to check, the finish step accepts a
 * fork from a checkpoint only when one of them records it exactly and holds.
 *
 * A recovery holds when its `previousCheckpoint` opens with the log's key,
 * its range and proof fit that checkpoint (`recoveryProblem`), it raises the
 * generation of the entry before it, and the log's own first `k` entries
 * hash to its retained root (the segments keep a compact range at `k`). Every
 * entry after it must carry its generation or a later one. Anything else is
 * a finding, and a fork no valid recovery records keeps its own findings
 * (TRUNCATED_LOG, ROOT_MISMATCH, FORK).
 */
import { fromHex } from '../../core/bytes.js';
import { combineSegments, openCheckpointForVerification } from '../../core/log-verifier.js';
import type { SegmentResult } from '../../core/segment-verifier.js';
import type { NoteVerifier } from '../../core/signed-note.js';
import type { Finding } from '../../core/verification-findings.js';
import type { LedgerBatch, LedgerStore } from '../../ports/ledger-store.js';
import { entryAt, findRecovery, generationOf, latestRecovery, recoveryProblem, summaryOf, type RecordedRecovery } from '../recovery-record.js';
import type { PlannedRecovery, RecoveryItem, RunPlan } from './run-types.js';

/** Lower generations kept per recovery: the report names the first ones. */
const MAX_REGRESSIONS = 100;

type PlanLedger = Pick<LedgerStore, 'readTail' | 'batchAt'> & Partial<Pick<LedgerStore, 'getIdempotency' | 'getHead' | 'readBatches'>>;
type IndexedLedger = Pick<LedgerStore, 'readTail' | 'batchAt' | 'getIdempotency' | 'getHead' | 'readBatches'>;

/**
 * The recovery entries a run checks: those forking from the published or the
 * last verified checkpoint, and the newest one, each with the generation
 * before it and the later entries whose generation regresses. Entries below
 * the last verified size were scanned by that run, unless a recovery forks
 * from that checkpoint (its size then counts positions of the old log).
 * None when the ledger offers no index lookups.
 *
 * @example
 * const recoveries = await plannedRecoveries(ledger, 'acme', tail, plan.checkpoint, { note: plan.previous, size: 1250 });
 */
export async function plannedRecoveries(
  ledger: PlanLedger,
  tenant: string,
  tail: LedgerBatch | undefined,
  checkpoint: string | null,
  previous: { readonly note: string; readonly size: number } | undefined,
): Promise<PlannedRecovery[]> {
  if (ledger.getIdempotency === undefined || ledger.getHead === undefined || ledger.readBatches === undefined) return [];
  const indexed = ledger as IndexedLedger;
  const found = new Map<number, RecordedRecovery>();
  const fromPrevious = previous === undefined ? undefined : await findRecovery(indexed, tenant, previous.note, tail);
  const fromLatest = checkpoint === null ? undefined : await findRecovery(indexed, tenant, checkpoint, tail);
  for (const recovery of [fromPrevious, fromLatest, await latestRecovery(indexed, tenant, tail)]) {
    if (recovery !== undefined) found.set(recovery.position, recovery);
  }
  const sorted = [...found.values()].sort((a, b) => a.position - b.position);
  const regressions = await lowerGenerations(indexed, tenant, sorted, fromPrevious === undefined ? (previous?.size ?? 0) : 0);
  return Promise.all(sorted.map(async (r, i) => {
    const prior = r.position === 0 ? undefined : await entryAt(indexed, tenant, r.position - 1);
    const before = prior === undefined ? Number.NaN : generationOf(prior);
    return { ...r, before: Number.isSafeInteger(before) ? before : -1, regressions: regressions[i]! };
  }));
}

/** Per recovery, the entries from `scanFrom` on after it (before the next one) whose generation is below its own. */
async function lowerGenerations(ledger: IndexedLedger, tenant: string, sorted: readonly RecordedRecovery[], scanFrom: number): Promise<Array<Array<{ position: number; generation: number }>>> {
  const out = sorted.map(() => [] as Array<{ position: number; generation: number }>);
  if (sorted.length === 0) return out;
  let i = 0;
  for await (const batch of ledger.readBatches(tenant, Math.max(scanFrom, sorted[0]!.position + 1))) {
    batch.entries.forEach((bytes, j) => {
      const position = batch.firstPosition + j;
      while (i + 1 < sorted.length && sorted[i + 1]!.position <= position) i++;
      const generation = generationOf(bytes);
      // A position the scan does not concern, or bytes without a generation: those are MALFORMED findings of the segments.
      if (position <= sorted[i]!.position || position < scanFrom || Number.isNaN(generation) || generation >= sorted[i]!.generation) return;
      if (out[i]!.length < MAX_REGRESSIONS) out[i]!.push({ position, generation });
    });
  }
  return out;
}

/**
 * Checks the plan's recoveries against the segments: the notes of the
 * accepted ones, the findings, and as report items the accepted recoveries
 * that are news: standing after the last clean run's entry, or covering a
 * checkpoint of this run.
 *
 * @example
 * const { accepted, items, findings } = checkRecoveries(verifier, plan, results);
 */
export function checkRecoveries(verifier: NoteVerifier, plan: RunPlan, results: readonly SegmentResult[]): { accepted: string[]; items: RecoveryItem[]; findings: Finding[] } {
  const accepted: string[] = [];
  const items: RecoveryItem[] = [];
  const findings: Finding[] = [];
  for (const r of plan.recoveries ?? []) {
    for (const g of r.regressions) {
      findings.push({ kind: 'GENERATION_REGRESSION', position: g.position, generation: g.generation, expected: r.generation, message: `entry ${g.position} carries generation ${g.generation}, below the generation ${r.generation} the recovery at ${r.position} started` });
    }
    const opened = openCheckpointForVerification(r.details.previousCheckpoint, verifier, plan.origin);
    const problem = opened.checkpoint === undefined ? `its checkpoint does not open: ${opened.finding?.message}` : (recoveryProblem(r, opened.checkpoint) ?? problemWithLog(plan, r, results));
    if (problem !== undefined || opened.checkpoint === undefined) {
      findings.push({ kind: 'INVALID_RECOVERY', position: r.position, message: `the recovery entry at ${r.position} does not hold: ${problem}` });
      continue;
    }
    const note = r.details.previousCheckpoint;
    accepted.push(note);
    if (r.position > (plan.previousRunPosition ?? -1) || note === plan.checkpoint || note === plan.previous) items.push(summaryOf(r, opened.checkpoint));
  }
  return { accepted, items, findings };
}

/**
 * What the log itself says against the recovery: the generation it must
 * raise, and its retained root, computed from the segments as for a
 * checkpoint of that size. The plan step cuts segments there; a caller that
 * re-cut the plan (a drill, which checks a restored copy against its own
 * checkpoint) gets no root there and skips that comparison.
 */
function problemWithLog(plan: RunPlan, r: PlannedRecovery, results: readonly SegmentResult[]): string | undefined {
  if (!(r.generation > r.before)) return `its generation ${r.generation} does not raise the generation ${r.before} of the entry before it`;
  const size = r.details.discarded.first;
  if (!plan.cutAt.includes(size)) return undefined;
  const { root } = combineSegments(results, { checkpoint: { origin: plan.origin, size, rootHash: fromHex(r.details.retainedRoot), extensions: [] } });
  return root === r.details.retainedRoot ? undefined : `the log's first ${size} entries do not hash to its retained root`;
}
