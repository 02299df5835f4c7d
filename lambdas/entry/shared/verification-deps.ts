/**
 * What the verification and drill entries share (issue 8): the notice that
 * raises a run's outcome to operators, and the step factories' dependencies
 * with every piece a task does not use standing in as `notWired` (so each
 * function holds only its own resources' configuration and rights). Free of
 * AWS SDK clients: the S3 and KMS pieces live in `verification-s3.ts` and
 * `checkpoint-verifiers.ts`, so a bundle holds exactly the clients its
 * function uses.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { RunNotice, VerificationStepDeps } from '../../handlers/verification-steps.js';
import { drillStepHandlers, type DrillStepDeps, type DrillTargetName, type SteppedRestore } from '../../handlers/drill-steps.js';
import type { DrillDeps } from '../../services/verification/drill.js';
import { VERIFICATION_METRICS } from './env.js';
import { notWired, NotWiredError } from './not-wired.js';
import { instrumented, type Powertools } from './powertools.js';

/**
 * Tells operators how a run went: the `VerificationFindings` metric (the
 * run's findings) and `VerificationFailures` (1 when the run itself failed),
 * each alarmed by the stack, and one log line with the notice.
 *
 * @example
 * const notify = verificationNotifier(powertools());
 * await notify({ tenant: 'acme', runId, ok: false, findings: 2, reportLocation });
 */
export function verificationNotifier(tools: Pick<Powertools, 'metrics' | 'logger'>): (notice: RunNotice) => Promise<void> {
  return async (notice) => {
    tools.metrics.addMetric(VERIFICATION_METRICS.findings, MetricUnit.Count, notice.findings);
    tools.metrics.addMetric(VERIFICATION_METRICS.failures, MetricUnit.Count, notice.error === undefined ? 0 : 1);
    if (notice.ok) tools.logger.info('verification outcome', { ...notice });
    else tools.logger.error('verification outcome', { ...notice });
  };
}

/**
 * Unless `wired` set it, makes the string dependency `what` of `deps` throw
 * when read (a wiring bug). Not enumerable, so spreading `deps` does not read it.
 */
function unlessWired<T extends object>(deps: T, wired: object, what: string): T {
  if (!(what in wired)) Object.defineProperty(deps, what, { enumerable: false, get: () => { throw new NotWiredError(what, 'value'); } });
  return deps;
}

/**
 * The verification steps' dependencies: `wired` holds what this function's
 * task uses, everything else throws `NotWiredError` when touched.
 *
 * @example
 * export const handler = verificationStepHandlers(verificationStepDeps({ reports, notify })).reportFailure;
 */
export function verificationStepDeps(wired: Partial<VerificationStepDeps>): VerificationStepDeps {
  const deps = {
    ledger: notWired('ledger'),
    objects: notWired('objects'),
    reports: notWired('reports'),
    copies: notWired('copies'),
    verifierFor: notWired('verifierFor'),
    appendSystem: notWired('appendSystem'),
    parts: notWired('parts'),
    tenants: notWired('tenants'),
    notify: notWired('notify'),
    ...wired,
  };
  return unlessWired(deps as VerificationStepDeps, wired, 'logPrefix');
}

/**
 * The drill steps' dependencies, likewise: `wired` (and `drill`, the check's
 * reference, partly) hold what this function uses.
 *
 * @example
 * export const handler = drillStepHandlers(drillStepDeps({ tenants: () => ledger.tenants() })).plan;
 */
export function drillStepDeps(wired: Partial<Omit<DrillStepDeps, 'drill'>> & { drill?: Partial<DrillDeps> }): DrillStepDeps {
  const drill = unlessWired({ live: notWired('live'), objects: notWired('objects'), reports: notWired('reports'), verifierFor: notWired('verifierFor'), ...wired.drill } as DrillDeps, wired.drill ?? {}, 'logPrefix');
  return {
    tenants: notWired('tenants'),
    scratch: notWired('scratch'),
    restored: notWired('restored'),
    record: notWired('record'),
    replayed: notWired('replayed'),
    notify: notWired('notify'),
    ...wired,
    drill,
  };
}

/**
 * One Lambda handler for several steps of a step factory (the state machine
 * names the step: `{ step, state }`), refusing any other step.
 *
 * @example
 * export const handler = instrumented(stepDispatcher(drillStepHandlers(deps), ['start', 'ready', 'teardown']), tools);
 */
export function stepDispatcher<H extends Record<string, (state: never) => Promise<unknown>>, S extends keyof H & string>(handlers: H, steps: readonly S[]) {
  return async (event: { step: string; state: unknown }): Promise<unknown> => {
    if (!(steps as readonly string[]).includes(event.step)) throw new RangeError(`this function runs the steps ${steps.join(', ')}, not ${JSON.stringify(event.step)}`);
    return (handlers[event.step as S] as (state: unknown) => Promise<unknown>)(event.state);
  };
}

/** Refuses a target this function was not built for (each drill function serves one). */
export function onlyTarget<T extends string>(expected: T, target: string): T {
  if (target !== expected) throw new RangeError(`this function drills the ${expected} target, not ${JSON.stringify(target)}`);
  return expected;
}

/**
 * The Lambda handler of a drill target's restore function: the state machine's
 * `start`, `ready` and `teardown` steps of `target`, each invocation building
 * the target's restore for the run it names.
 *
 * @example
 * export const handler = restoreEntry('ledger', tools, (runId) => new DynamoPitrRestore({ client, sourceTable, scratchTable: drillScratchName(prefix, 'ledger', runId) }));
 */
export function restoreEntry(target: DrillTargetName, tools: Powertools, build: (runId: string) => SteppedRestore | Promise<SteppedRestore>) {
  const handlers = drillStepHandlers(drillStepDeps({
    scratch: async (named, runId) => {
      onlyTarget(target, named);
      return build(runId);
    },
  }));
  return instrumented(stepDispatcher(handlers, ['start', 'ready', 'teardown']), tools);
}
