/**
 * The backup-restore drill's Lambda tasks (DESIGN §5 "Drills"): the steps of
 * `runDrill`, here one invocation each, because a PITR restore takes minutes
 * to hours, longer than a Lambda may run. State between steps travels through
 * the state machine as small JSON ({@link DrillTargetState}): the target's
 * name, the run id (every scratch resource name derives from it), when the
 * restore started and what it restored to, and where the restored copy can be
 * reached.
 *
 * Flow (see `lib/drill-workflow.ts`): plan → per target: start → (wait →
 * ready)* → check → teardown; any failing step → teardown → reportFailure,
 * so scratch resources are torn down even when a step fails; then record
 * (the reports and the SYSTEM entries, as `govledger drill` does) and the run
 * fails unless every target held.
 */
import { decodeEventRecord, encodeEventRecord, eventKey, EVENT_CONTENT_TYPE } from '../services/event-archive.js';
import { checkRestored, recordDrill, type DrillDeps, type DrillFinding, type DrillRecordDeps, type DrillTargetReport } from '../services/verification/drill.js';
import type { ObjectStore } from '../ports/object-store.js';
import type { RestoredCopy, RestoreTarget } from '../ports/restore-target.js';
import type { RunNotice, TaskError } from './verification-steps.js';

/** The restore targets a drill runs, in the order of its reports. */
export const DRILL_TARGETS = ['ledger', 'database', 'event-archive'] as const;
/** One of {@link DRILL_TARGETS}. */
export type DrillTargetName = (typeof DRILL_TARGETS)[number];

/** A restore the state machine drives one call at a time (`ScratchRestore` on AWS). */
export interface SteppedRestore extends RestoreTarget {
  start(): Promise<Date>;
  ready(): Promise<boolean>;
  /** Where the ready copy can be reached, when the check needs more than the run id (the scratch cluster's endpoint). */
  locate?(): Promise<Located>;
}

/** Small JSON naming where a restored copy is (e.g. `{ host, port }`). */
export type Located = Readonly<Record<string, string | number>>;

/** A restored copy opened for the check, and how to let go of it (close connections; never deletes anything). */
export interface OpenedRestore {
  open(restoredTo: Date): Promise<RestoredCopy>;
  close(): Promise<void>;
}

/** When a restore started, the point in time it restores to, and when the drill stops waiting for it. */
export interface RestoreStarted {
  readonly startedAt: string;
  readonly restoredTo: string;
  readonly deadline: string;
}

/** One target's state in the drill state machine. */
export interface DrillTargetState {
  readonly target: DrillTargetName;
  readonly runId: string;
  readonly tenants: readonly string[];
  readonly maxWaitSeconds?: number;
  readonly restore?: RestoreStarted;
  readonly poll?: { readonly ready: boolean; readonly expired: boolean; readonly located: Located | null };
  readonly report?: DrillTargetReport;
  /** Set by a Catch (`ResultPath: $.error`): the step that failed. */
  readonly error?: TaskError;
  /** Set when tearing down failed too. */
  readonly teardownError?: TaskError;
}

/** What the plan step decided. */
export interface DrillPlan {
  readonly runId: string;
  readonly startedAt: string;
  readonly tenants: string[];
  readonly targets: DrillTargetName[];
}

/**
 * What the drill's tasks use; each Lambda function wires only what its task
 * touches (`drillStepDeps` in the entries stands in for the rest).
 */
export interface DrillStepDeps {
  /** Every tenant with a log (plan). */
  readonly tenants: () => AsyncIterable<string>;
  /** The restore of `target` for the run (start, ready, teardown). */
  readonly scratch: (target: DrillTargetName, runId: string) => Promise<SteppedRestore>;
  /** The restored copy of `target` for the run, opened for reading (check). */
  readonly restored: (target: DrillTargetName, runId: string, located: Located | null) => Promise<OpenedRestore>;
  /** What the check compares a restored copy with. */
  readonly drill: DrillDeps;
  /** Where reports go and how SYSTEM entries are appended (record). */
  readonly record: Omit<DrillRecordDeps, 'clock'>;
  /** Stores one replayed event of the run (the collector). */
  readonly replayed: (runId: string) => ObjectStore;
  /** Raises the outcome to operators (the findings metric and its alarm). */
  readonly notify: (notice: RunNotice) => Promise<void>;
  readonly clock?: () => Date;
}

/** The id of a drill started at `at`: `drill-<compact UTC ISO time>`, as `recordDrill` names its reports. */
export const drillRunIdAt = (at: Date): string => `drill-${at.toISOString().replace(/[-:.]/g, '')}`;

/** Where a drill's replayed events are copied: `drills/<run id, lower case>/` (replay names are lower case). */
export const drillScratchPrefix = (runId: string): string => `drills/${runId.toLowerCase()}/`;

const REPLAYED_RUN = /(drill-\d{8}t\d{9}z)$/i;

/** The run id part of a replay's name (`<prefix>-ev-<run id>`), or undefined. */
export const runIdOfReplay = (replayName: string): string | undefined => REPLAYED_RUN.exec(replayName)?.[1]?.toLowerCase();

/** `Error: message` from a Catch's error, unwrapping the JSON `Cause` Lambda errors carry. */
export function describeTaskError(error: TaskError | undefined): string {
  if (error === undefined) return 'no error given';
  let cause = error.Cause ?? 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') cause = parsed.errorMessage;
  } catch {
    // a plain-text cause (a state machine error such as States.Timeout)
  }
  return `${error.Error ?? 'Error'}: ${cause}`;
}

/**
 * @example
 * export const handler = drillStepHandlers(deps).check; // one entry per task and target kind
 */
export function drillStepHandlers(deps: DrillStepDeps) {
  const now = deps.clock ?? (() => new Date());
  return {
    async plan(): Promise<DrillPlan> {
      const startedAt = now();
      const tenants: string[] = [];
      for await (const tenant of deps.tenants()) tenants.push(tenant);
      return { runId: drillRunIdAt(startedAt), startedAt: startedAt.toISOString(), tenants: tenants.sort(), targets: [...DRILL_TARGETS] };
    },

    async start(state: DrillTargetState): Promise<RestoreStarted> {
      const startedAt = now();
      const restoredTo = await (await deps.scratch(state.target, state.runId)).start();
      const deadline = new Date(startedAt.getTime() + (state.maxWaitSeconds ?? 4 * 3600) * 1000);
      return { startedAt: startedAt.toISOString(), restoredTo: restoredTo.toISOString(), deadline: deadline.toISOString() };
    },

    /** Whether the copy can be read; `expired` once the deadline passed without it (the machine then tears down and fails). */
    async ready(state: DrillTargetState): Promise<NonNullable<DrillTargetState['poll']>> {
      const target = await deps.scratch(state.target, state.runId);
      const ready = await target.ready();
      const located = ready && target.locate ? await target.locate() : null;
      const expired = !ready && now().getTime() >= Date.parse(required(state.restore, 'restore').deadline);
      return { ready, expired, located };
    },

    /** Verifies the restored copy against the live ledger (RTO: from the start of the restore until now). */
    async check(state: DrillTargetState): Promise<DrillTargetReport> {
      const restore = required(state.restore, 'restore');
      const opened = await deps.restored(state.target, state.runId, state.poll?.located ?? null);
      try {
        const copy = await opened.open(new Date(restore.restoredTo));
        const { tenants, findings } = await checkRestored(deps.drill, state.target, copy, state.tenants);
        const rtoMs = now().getTime() - Date.parse(restore.startedAt);
        return { target: state.target, ok: findings.length === 0, rtoMs, restoredTo: restore.restoredTo, tenants, findings };
      } finally {
        await opened.close();
      }
    },

    /** Removes every scratch resource of the target; safe after a failed or partial start, and twice. */
    async teardown(state: Pick<DrillTargetState, 'target' | 'runId'>): Promise<{ tornDown: DrillTargetName }> {
      await (await deps.scratch(state.target, state.runId)).teardown();
      return { tornDown: state.target };
    },

    /**
     * A target's failure path ends here (after its teardown): the target's
     * report, failed, with what went wrong as findings, and operators are told.
     * Without a target (the plan or the record step failed) it only tells them.
     */
    async reportFailure(state: Partial<DrillTargetState> & { error?: TaskError }): Promise<DrillTargetReport | RunNotice> {
      const problems: DrillFinding[] = [];
      const target = state.target;
      if (target !== undefined && state.error !== undefined) problems.push({ kind: 'RESTORE_FAILED', target, message: `${target}: ${describeTaskError(state.error)}` });
      if (target !== undefined && state.teardownError !== undefined) {
        problems.push({ kind: 'TEARDOWN_FAILED', target, message: `${target}: scratch resources were not removed: ${describeTaskError(state.teardownError)}` });
      }
      const error = target === undefined ? `drill: ${describeTaskError(state.error)}` : problems.map((p) => p.message).join('; ');
      await deps.notify({ tenant: null, runId: state.runId ?? null, ok: false, findings: 0, reportLocation: null, error });
      if (target === undefined) return { tenant: null, runId: state.runId ?? null, ok: false, findings: 0, reportLocation: null, error };
      const started = state.restore === undefined ? undefined : Date.parse(state.restore.startedAt);
      const base: DrillTargetReport = state.report ?? { target, ok: false, rtoMs: started === undefined ? 0 : now().getTime() - started, restoredTo: state.restore?.restoredTo ?? null, tenants: {}, findings: [] };
      return { ...base, ok: false, findings: [...base.findings, ...problems] };
    },

    /** Writes each tenant's drill report, appends the `drill` SYSTEM entries, and raises the findings. */
    async record(state: { runId: string; startedAt: string; tenants: readonly string[]; reports: readonly DrillTargetReport[] }) {
      if (drillRunIdAt(new Date(state.startedAt)) !== state.runId) throw new RangeError(`run ${state.runId} did not start at ${state.startedAt}`);
      const recorded = await recordDrill({ ...deps.record, clock: () => new Date(state.startedAt) }, state.reports, state.tenants);
      const ok = state.reports.length === DRILL_TARGETS.length && state.reports.every((r) => r.ok);
      const findings = state.reports.reduce((sum, r) => sum + r.findings.length, 0);
      await deps.notify({ tenant: null, runId: state.runId, ok, findings, reportLocation: recorded[0]?.reportLocation ?? null });
      return { ok, findings, recorded };
    },

    /**
     * The collector rule's target: stores one event the drill's replay
     * delivered, in the event store's own layout under the run's scratch
     * prefix, write-once (a redelivery puts the same bytes). Live events never
     * match the rule; one without a replay name is refused.
     */
    async collect(event: { 'replay-name'?: string; detail?: unknown }): Promise<{ stored: string }> {
      const runId = event['replay-name'] === undefined ? undefined : runIdOfReplay(event['replay-name']);
      if (runId === undefined) throw new RangeError(`not an event of a drill's replay (replay-name ${JSON.stringify(event['replay-name'] ?? null)})`);
      const record = decodeEventRecord(new TextEncoder().encode(JSON.stringify(event.detail ?? null)));
      if (record === undefined) throw new RangeError(`the replayed event of ${runId} is not an event record`);
      // A run of one position: the event store's layout, which readers take each position from whatever object holds it.
      const key = eventKey(record.tenant, record.position, record.position);
      await deps.replayed(runId).put(key, new TextEncoder().encode(`${encodeEventRecord(record)}\n`), { contentType: EVENT_CONTENT_TYPE, immutable: true });
      return { stored: `${drillScratchPrefix(runId)}${key}` };
    },
  };
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new RangeError(`the drill state has no ${what} (the state machine passes it from the earlier step)`);
  return value;
}
