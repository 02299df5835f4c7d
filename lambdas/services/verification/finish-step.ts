/**
 * Step 3 of a verification run: combine the segments into the log's findings
 * (links across segment borders, roots at the checkpoint sizes, consistency
 * with the last verified checkpoint), write the report (JSON + summary), and
 * append a SYSTEM entry carrying the report's SHA-256, so the history of
 * verification is itself in the verifiable log. The next run extends the
 * checkpoint recorded here only when this run found nothing.
 *
 * A checkpoint that a valid recovery entry forks from exactly (DESIGN §5) is
 * not held against the log: the recovery proves the retained prefix against
 * it instead (recovery-check.ts), and the report lists the recovery.
 */
import { toHex } from '../../core/bytes.js';
import { combineSegments, openCheckpointForVerification } from '../../core/log-verifier.js';
import { sha256 } from '../../core/rfc9162-hasher.js';
import { segmentResultFromJson } from '../../core/segment-json.js';
import type { SystemPayload } from '../../core/ledger-entry.js';
import type { NoteVerifier } from '../../core/signed-note.js';
import type { Checkpoint } from '../../core/checkpoint.js';
import type { Finding } from '../../core/verification-findings.js';
import type { ReportSink } from '../../ports/report-sink.js';
import { checkRecoveries } from './recovery-check.js';
import { summarize } from './report-summary.js';
import { VERIFICATION_KIND, type CopyTally, type RecoveryItem, type RunOutcome, type RunPlan, type SegmentOutcome, type VerificationReport } from './run-types.js';

export interface FinishDeps {
  readonly reports: Pick<ReportSink, 'writeReport' | 'setLastRun'>;
  readonly verifierFor: (origin: string) => NoteVerifier;
  readonly appendSystem: (tenant: string, system: SystemPayload, actor: string) => Promise<{ position: number }>;
  readonly clock?: () => Date;
}

/** The actor named in the SYSTEM entries the verifier appends. */
export const VERIFIER_ACTOR = 'system:verifier';

/**
 * Combines, reports and records one tenant's run.
 *
 * @example
 * const { report } = await finishRun(deps, plan, outcomes);
 * process.exitCode = report.ok ? 0 : 1;
 */
export async function finishRun(deps: FinishDeps, plan: RunPlan, outcomes: readonly SegmentOutcome[]): Promise<RunOutcome> {
  const { findings, size, latest, previous, recoveries } = combineRun(deps.verifierFor(plan.origin), plan, outcomes);
  const cross = outcomes.flatMap((o) => o.cross);
  const report: VerificationReport = {
    format: 'govledger.verification-report/v1',
    runId: plan.runId,
    tenant: plan.tenant,
    origin: plan.origin,
    startedAt: plan.startedAt,
    finishedAt: (deps.clock ?? (() => new Date()))().toISOString(),
    ok: findings.length === 0 && outcomes.every((o) => Object.values(o.copies).every((t) => t.findings === 0)),
    size,
    checkpoint: latest ? { size: latest.size, root: toHex(latest.rootHash) } : null,
    previous: previous ? { size: previous.size, root: toHex(previous.rootHash) } : null,
    findings,
    cross,
    repairs: outcomes.flatMap((o) => o.repairs),
    copies: sumTallies(outcomes),
    recoveries,
  };
  const json = new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`);
  const reportSha256 = toHex(sha256(json));
  const reportLocation = await deps.reports.writeReport(plan.tenant, plan.runId, json, summarize(report));
  // A clean run moves the verified checkpoint forward; a run with findings keeps the last good one.
  const verifiedCheckpoint = report.ok ? plan.checkpoint : plan.previous;
  const details: SystemPayload['details'] = {
    runId: plan.runId,
    ok: report.ok,
    findings: findings.length + cross.length,
    size: report.size,
    reportSha256,
    reportLocation,
    ...(report.checkpoint ? { checkpointSize: report.checkpoint.size, checkpointRoot: report.checkpoint.root } : {}),
    ...(verifiedCheckpoint !== null ? { verifiedCheckpoint } : {}),
  };
  const { position } = await deps.appendSystem(plan.tenant, { kind: VERIFICATION_KIND, details }, VERIFIER_ACTOR);
  if (verifiedCheckpoint !== null) await deps.reports.setLastRun(plan.tenant, { runId: plan.runId, position });
  return { report, reportSha256, reportLocation, systemPosition: position };
}

/**
 * The log-level half of the finish step, without side effects: opens the
 * plan's checkpoints (every failure a finding), checks its recoveries and
 * combines the segments against the checkpoints no valid recovery forks from.
 *
 * @example
 * const { findings, size, recoveries } = combineRun(verifier, plan, outcomes);
 */
export function combineRun(verifier: NoteVerifier, plan: RunPlan, outcomes: readonly SegmentOutcome[]): { findings: Finding[]; size: number; latest: Checkpoint | undefined; previous: Checkpoint | undefined; recoveries: RecoveryItem[] } {
  const latest = plan.checkpoint === null ? {} : openCheckpointForVerification(plan.checkpoint, verifier, plan.origin);
  const previous = plan.previous === null ? {} : openCheckpointForVerification(plan.previous, verifier, plan.origin);
  const findings = [latest.finding, previous.finding].filter((f): f is Finding => f !== undefined);
  const results = outcomes.map((o) => segmentResultFromJson(o.result));
  const recoveries = checkRecoveries(verifier, plan, results);
  findings.push(...recoveries.findings);
  const forked = (note: string | null): boolean => note !== null && recoveries.accepted.includes(note);
  let checkpoint = forked(plan.checkpoint) ? undefined : latest.checkpoint;
  let extended = forked(plan.previous) ? undefined : previous.checkpoint;
  // A recovery covers the latest checkpoint: the log must still reach the older one if none covers that.
  if (forked(plan.checkpoint)) [checkpoint, extended] = [extended, undefined];
  const combined = combineSegments(results, { ...(checkpoint ? { checkpoint } : {}), ...(extended ? { previous: extended } : {}) });
  findings.push(...combined.findings);
  return { findings, size: combined.size, latest: latest.checkpoint, previous: previous.checkpoint, recoveries: recoveries.items };
}

function sumTallies(outcomes: readonly SegmentOutcome[]): Record<string, CopyTally> {
  const sums: Record<string, { checked: number; repaired: number; findings: number }> = {};
  for (const o of outcomes) {
    for (const [name, t] of Object.entries(o.copies)) {
      const s = (sums[name] ??= { checked: 0, repaired: 0, findings: 0 });
      s.checked += t.checked;
      s.repaired += t.repaired;
      s.findings += t.findings;
    }
  }
  return sums;
}
