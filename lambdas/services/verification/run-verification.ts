/**
 * A whole verification run in one process: the steps of the nightly workflow
 * (plan → segments → finish) run in order for each tenant, exactly as the
 * Step Functions state machine runs them as Lambda tasks. `govledger verify`
 * uses it locally.
 */
import type { PlanDeps } from './plan-step.js';
import { planRun } from './plan-step.js';
import type { FinishDeps } from './finish-step.js';
import { finishRun } from './finish-step.js';
import type { SegmentDeps } from './segment-step.js';
import { verifySegment } from './segment-step.js';
import type { RunOutcome, RunPlan, SegmentOutcome } from './run-types.js';
import { forEachLimited } from '../for-each-limited.js';

export type VerificationDeps = PlanDeps & Omit<SegmentDeps, 'onProgress'> & FinishDeps;

export interface RunOptions {
  readonly segmentSize?: number;
  /** Called once per tenant with its plan (e.g. to size a progress bar). */
  readonly onPlan?: (plan: RunPlan) => void;
  /** Called as entries are read. */
  readonly onProgress?: (tenant: string, entries: number) => void;
  /**
   * Segments verified at once (default 2, the Distributed Map's concurrency in
   * miniature): while one waits on an engine, another hashes.
   */
  readonly concurrency?: number;
}

/**
 * Verifies each tenant in turn; the process exit code is 0 when every report
 * is ok, 1 otherwise.
 *
 * @example
 * const outcomes = await runVerification(deps, ['acme']);
 * process.exitCode = outcomes.every((o) => o.report.ok) ? 0 : 1;
 */
export async function runVerification(deps: VerificationDeps, tenants: readonly string[], options: RunOptions = {}): Promise<RunOutcome[]> {
  const outcomes: RunOutcome[] = [];
  for (const tenant of tenants) {
    const plan = await planRun(deps, tenant, options.segmentSize === undefined ? {} : { segmentSize: options.segmentSize });
    options.onPlan?.(plan);
    const segments: SegmentOutcome[] = new Array(plan.segments.length);
    await forEachLimited([...plan.segments.keys()], Math.max(1, options.concurrency ?? 2), async (index) => {
      segments[index] = await verifySegment({ ...deps, onProgress: (n) => options.onProgress?.(tenant, n) }, plan.segments[index]!);
    });
    outcomes.push(await finishRun(deps, plan, segments));
  }
  return outcomes;
}
