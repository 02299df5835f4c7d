/**
 * The nightly verification state machine's Lambda tasks (DESIGN §5): the
 * same steps `govledger verify` runs in one process, here one invocation
 * each. Step inputs and outputs stay small: a segment's outcome goes to the
 * run's scratch objects and the Distributed Map collects only their keys.
 *
 * Flow (see `lib/verification-workflow.ts`): listTenants → per tenant: plan →
 * Distributed Map over `segments` (segment) → finish; every task's error path
 * goes to reportFailure, then the run fails (and its alarm fires).
 */
import type { ObjectStore } from '../ports/object-store.js';
import { finishRun } from '../services/verification/finish-step.js';
import { planRun } from '../services/verification/plan-step.js';
import type { RunPlan, SegmentOutcome, SegmentTask } from '../services/verification/run-types.js';
import type { VerificationDeps } from '../services/verification/run-verification.js';
import { verifySegment } from '../services/verification/segment-step.js';

export type VerificationStepDeps = VerificationDeps & {
  /** Where segment outcomes wait for the finish step (the reports bucket). */
  readonly parts: ObjectStore;
  /** Every tenant with a log. */
  readonly tenants: () => AsyncIterable<string>;
  /** Raises the run's result to operators (a CloudWatch metric with an alarm, SNS); called by finish and reportFailure. */
  readonly notify: (result: RunNotice) => Promise<void>;
  readonly segmentSize?: number;
  /**
   * When the master key lives in a CloudHSM custom key store: the cluster's
   * health (`checkCloudHsmHealth`); a degraded cluster is raised to operators
   * as a finding of the run, not a crash (DESIGN §4).
   */
  readonly keyStoreHealth?: () => Promise<{ readonly ok: boolean; readonly message: string }>;
};

/** What operators are told about one tenant's run. */
export interface RunNotice {
  readonly tenant: string | null;
  readonly runId: string | null;
  readonly ok: boolean;
  readonly findings: number;
  readonly reportLocation: string | null;
  /** Set when the run itself failed (a task error) rather than finding something. */
  readonly error?: string;
}

/** A segment outcome's place among the run's scratch objects. */
export interface SegmentRef {
  readonly index: number;
  readonly key: string;
}

/** The error Step Functions passes to a Catch handler (`ResultPath: $.error`). */
export interface TaskError {
  readonly Error?: string;
  readonly Cause?: string;
}

const partKey = (task: Pick<SegmentTask, 'tenant' | 'runId' | 'index'>): string => `runs/${task.tenant}/${task.runId}/segment-${String(task.index).padStart(6, '0')}.json`;

/**
 * The tasks, one factory each, so a Lambda entry bundles only its own step
 * (a segment task carries no finish or report code: bundles stay under 1 MB).
 *
 * @example
 * export const handler = segmentStep(deps); // one entry file per task
 */
export function listTenantsStep(deps: Pick<VerificationStepDeps, 'tenants' | 'keyStoreHealth' | 'notify'>) {
  return async (): Promise<{ tenants: string[]; keyStore: { ok: boolean; message: string } | null }> => {
    const tenants: string[] = [];
    for await (const t of deps.tenants()) tenants.push(t);
    const keyStore = deps.keyStoreHealth ? await deps.keyStoreHealth().catch((error: unknown) => ({ ok: false, message: `the key store's health could not be read: ${(error as Error).message}` })) : null;
    if (keyStore !== null && !keyStore.ok) await deps.notify({ tenant: null, runId: null, ok: false, findings: 1, reportLocation: null, error: `CloudHSM: ${keyStore.message}` });
    return { tenants: tenants.sort(), keyStore };
  };
}

/** Plans one tenant's run. */
export function planStep(deps: VerificationStepDeps) {
  return (event: { tenant: string }): Promise<RunPlan> => planRun(deps, event.tenant, deps.segmentSize === undefined ? {} : { segmentSize: deps.segmentSize });
}

/** Verifies one segment; its outcome goes to the run's scratch objects, the map collects the key. */
export function segmentStep(deps: Pick<VerificationStepDeps, 'ledger' | 'copies' | 'parts'>) {
  return async (task: SegmentTask): Promise<SegmentRef> => {
    const outcome = await verifySegment(deps, task);
    const key = partKey(task);
    await deps.parts.put(key, new TextEncoder().encode(JSON.stringify(outcome)), { contentType: 'application/json', immutable: false });
    return { index: task.index, key };
  };
}

/** Combines the segments' outcomes, writes the report, records it and raises the result. */
export function finishStep(deps: VerificationStepDeps) {
  return async (event: { plan: RunPlan; segments: readonly SegmentRef[] }): Promise<RunNotice> => {
    const outcomes: SegmentOutcome[] = [];
    for (const ref of [...event.segments].sort((a, b) => a.index - b.index)) {
      const bytes = await deps.parts.get(ref.key);
      if (bytes === undefined) throw new Error(`segment outcome ${ref.key} is missing`);
      outcomes.push(JSON.parse(new TextDecoder().decode(bytes)) as SegmentOutcome);
    }
    if (outcomes.length !== event.plan.segments.length) throw new Error(`${outcomes.length} of ${event.plan.segments.length} segment outcomes arrived`);
    const { report, reportLocation } = await finishRun(deps, event.plan, outcomes);
    const notice: RunNotice = { tenant: report.tenant, runId: report.runId, ok: report.ok, findings: report.findings.length + report.cross.length, reportLocation };
    await deps.notify(notice);
    return notice;
  };
}

/** Every task's Catch lands here: the failure is reported and raised; the state machine then fails. */
export function reportFailureStep(deps: Pick<VerificationStepDeps, 'reports' | 'notify'>) {
  return async (event: { tenant?: string; plan?: RunPlan; error?: TaskError }): Promise<RunNotice> => {
    const tenant = event.plan?.tenant ?? event.tenant ?? null;
    const runId = event.plan?.runId ?? null;
    const error = `${event.error?.Error ?? 'Error'}: ${event.error?.Cause ?? 'no cause given'}`;
    let reportLocation: string | null = null;
    if (tenant !== null) {
      const id = runId ?? `failed-${Date.now()}`;
      const json = new TextEncoder().encode(`${JSON.stringify({ format: 'govledger.verification-failure/v1', tenant, runId: id, error }, null, 2)}\n`);
      reportLocation = await deps.reports.writeReport(tenant, id, json, `${tenant}: RUN FAILED (run ${id})\n  ${error}\n`).catch(() => null);
    }
    const notice: RunNotice = { tenant, runId, ok: false, findings: 0, reportLocation, error };
    await deps.notify(notice);
    return notice;
  };
}

/**
 * Every task at once (tests, and one process running the whole workflow).
 *
 * @example
 * const steps = verificationStepHandlers(deps);
 * const plan = await steps.plan({ tenant: 'acme' });
 */
export function verificationStepHandlers(deps: VerificationStepDeps) {
  return { listTenants: listTenantsStep(deps), plan: planStep(deps), segment: segmentStep(deps), finish: finishStep(deps), reportFailure: reportFailureStep(deps) };
}
