/**
 * The backup-restore drill on AWS (DESIGN §5 "Drills", issue 8): a Step
 * Functions state machine running `runDrill`'s steps as Lambda tasks
 * (`lambdas/handlers/drill-steps.ts`), the three targets side by side:
 *
 *   PlanDrill → Targets (Parallel: ledger | database | event-archive, each
 *     Start → Wait → Ready → IsRestored ⟲ → Check → Teardown) → Record →
 *     AllHeld → DrillPassed | DrillFailed
 *
 * A restore takes minutes to hours, so it is started, then polled behind a
 * Wait until ready or until `govledger:drillMaxWaitMinutes` passed. Every
 * task of a target catches its errors into that target's teardown, then its
 * ReportFailure (the target's report, failed, and the `VerificationFailures`
 * metric, alarmed). A branch never fails: a Fail inside a Parallel state
 * would stop the other branches before their own teardown, leaving scratch
 * resources behind. Record writes every target's report (failed ones
 * included) and the run then fails unless every target held. Run-level
 * errors (plan, record) are reported and fail the run at once.
 *
 * The event archive is replayed to the ledger bus for one rule only, the
 * collector rule here, which matches replayed events of this deployment's
 * drills and hands them to the collector function (a copy in the scratch
 * bucket): nothing else on the bus sees a replay.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Peer, Port, SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { Rule, type CfnRule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { Function as LambdaFunctionResource } from 'aws-cdk-lib/aws-lambda';
import type { Schedule } from 'aws-cdk-lib/aws-scheduler';
import { Choice, Condition, Fail, JsonPath, Parallel, Pass, Result, Succeed, TaskInput, Wait, WaitTime, type IChainable, type StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { DrillTargetName } from '../lambdas/handlers/drill-steps.js';
import { CLUSTER_PORT } from './constructs/projection-database.js';
import { DRILL_FUNCTIONS } from './verification-functions.js';
import { functionsOf, lambdaTask, scheduledMachine, type WorkflowContext, type WorkflowLogs } from './workflow-parts.js';

/** Between two polls of a restore. */
export const DRILL_POLL_INTERVAL = Duration.minutes(1);

/** The name of the rule a drill's replay is limited to (`FilterArns`). */
export const drillCollectorRuleName = (envName: string): string => `govledger-${envName}-drill-collector`;

/** The functions of each target (the handlers' `DRILL_TARGETS`, in their order): the restore (start, ready, teardown) and the check. */
const TARGET_FUNCTIONS: Record<DrillTargetName, { readonly id: string; readonly restore: string; readonly check: string }> = {
  ledger: { id: 'Ledger', restore: 'drill-ledger-restore', check: 'drill-ledger-check' },
  database: { id: 'Database', restore: 'drill-database-restore', check: 'drill-database-check' },
  'event-archive': { id: 'EventArchive', restore: 'drill-events-restore', check: 'drill-events-check' },
};

/**
 * The group a scratch cluster joins: the database clients (the drill's check
 * among them) reach it on the cluster port, nothing else does.
 */
export function drillDatabaseSecurityGroup(scope: Construct, context: Pick<WorkflowContext, 'stateful'>): SecurityGroup {
  const { database } = context.stateful;
  const group = new SecurityGroup(scope, 'DrillDatabaseSecurityGroup', { vpc: database.vpc, description: 'govledger drill: scratch clusters restored from the projection', allowAllOutbound: false });
  group.addIngressRule(Peer.securityGroupId(database.clientSecurityGroup.securityGroupId), Port.tcp(CLUSTER_PORT), 'database clients (the drill\'s check) to a scratch cluster');
  return group;
}

/**
 * @example
 * const drill = new DrillWorkflow(this, 'Drill', { context, logs });
 */
export class DrillWorkflow extends Construct {
  readonly machine: StateMachine;
  readonly schedule: Schedule;
  readonly collectorRule: Rule;

  constructor(scope: Construct, id: string, props: { context: WorkflowContext; logs: WorkflowLogs }) {
    super(scope, id);
    const { context } = props;
    const fn = functionsOf(context, DRILL_FUNCTIONS);
    // The check reaches the scratch cluster directly, whose certificate is signed by the RDS certificate authorities (not in Node's store).
    fn('drill-database-check').addEnvironment('NODE_EXTRA_CA_CERTS', '/var/runtime/ca-cert.pem');
    this.collectorRule = this.#collector(context, fn('drill-events-collector'));

    const runFailed = lambdaTask(this, 'ReportRunFailure', fn('drill-report-failure'));
    const failed = new Fail(this, 'DrillFailed', { error: 'DrillFailed', cause: 'A restore failed, timed out, could not be torn down, or its copy differs from the live ledger: read the drill report' });
    runFailed.addCatch(failed, { resultPath: '$.reportError' });
    runFailed.next(failed);

    const plan = lambdaTask(this, 'PlanDrill', fn('drill-plan'), { resultPath: '$.plan' }).addCatch(runFailed, { resultPath: '$.error' });
    const targets = new Parallel(this, 'Targets', { resultPath: '$.reports' }).addCatch(runFailed, { resultPath: '$.error' });
    for (const target of Object.keys(TARGET_FUNCTIONS) as DrillTargetName[]) targets.branch(this.#target(target, fn, context.config.drillMaxWaitMinutes));
    const record = lambdaTask(this, 'Record', fn('drill-record'), {
      payload: TaskInput.fromObject({ runId: JsonPath.stringAt('$.plan.runId'), startedAt: JsonPath.stringAt('$.plan.startedAt'), tenants: JsonPath.listAt('$.plan.tenants'), reports: JsonPath.listAt('$.reports') }),
      resultPath: '$.recorded',
    }).addCatch(runFailed, { resultPath: '$.error' });
    const held = new Choice(this, 'AllHeld').when(Condition.booleanEquals('$.recorded.ok', true), new Succeed(this, 'DrillPassed')).otherwise(failed);

    const built = scheduledMachine(this, {
      context,
      logs: props.logs,
      name: 'drill',
      definition: plan.next(targets).next(record).next(held),
      timeout: Duration.minutes(context.config.drillMaxWaitMinutes).plus(Duration.hours(4)),
      schedule: context.config.drillSchedule,
      invokes: DRILL_FUNCTIONS.filter((spec) => spec.name !== 'drill-events-collector').map((spec) => fn(spec.name)),
      description: 'govledger backup-restore drill: ledger table, database and event archive restored to scratch, verified and torn down (DESIGN §5)',
    });
    this.machine = built.machine;
    this.schedule = built.schedule;
  }

  /** One target's branch (see the module doc); its output is the target's report. */
  #target(target: DrillTargetName, fn: (name: string) => LambdaFunctionResource, maxWaitMinutes: number): IChainable {
    const { id, restore, check } = TARGET_FUNCTIONS[target];
    const step = (name: 'start' | 'ready' | 'teardown') => TaskInput.fromObject({ step: name, state: JsonPath.objectAt('$') });
    const failure = lambdaTask(this, `${id}ReportFailure`, fn('drill-report-failure'));
    // Reporting failed too: the branch still ends with a failed report, so Record records it and the run fails.
    failure.addCatch(new Pass(this, `${id}Unreported`, {
      parameters: { target, ok: false, rtoMs: 0, restoredTo: null, tenants: {}, findings: [{ kind: 'RESTORE_FAILED', target, message: `${target}: failed, and reporting the failure failed too (see the execution's history)` }] },
    }), { resultPath: '$.reportError' });
    const teardown = (stateId: string, props: { resultPath?: string; outputPath?: string }) => {
      const task = lambdaTask(this, stateId, fn(restore), { payload: step('teardown'), resultPath: JsonPath.DISCARD, ...props });
      // Deleting waits for restores and instances that are still busy: retried for about an hour past the function's own waiting.
      task.addRetry({ errors: ['States.ALL'], interval: Duration.minutes(1), maxAttempts: 6, backoffRate: 2 });
      return task.addCatch(failure, { resultPath: '$.teardownError' });
    };
    const cleanUp = teardown(`${id}TeardownAfterError`, {}).next(failure);
    const catching = <T extends LambdaInvoke>(state: T): T => {
      state.addCatch(cleanUp, { resultPath: '$.error' });
      return state;
    };

    const init = new Pass(this, `${id}Target`, {
      parameters: { target, runId: JsonPath.stringAt('$.plan.runId'), tenants: JsonPath.listAt('$.plan.tenants'), maxWaitSeconds: maxWaitMinutes * 60 },
    });
    const start = catching(lambdaTask(this, `${id}Start`, fn(restore), { payload: step('start'), resultPath: '$.restore' }));
    const wait = new Wait(this, `${id}Wait`, { time: WaitTime.duration(DRILL_POLL_INTERVAL) });
    const ready = catching(lambdaTask(this, `${id}Ready`, fn(restore), { payload: step('ready'), resultPath: '$.poll' }));
    const timedOut = new Pass(this, `${id}TimedOut`, {
      result: Result.fromObject({ Error: 'DrillRestoreTimedOut', Cause: `the ${target} restore was not ready within ${maxWaitMinutes} minutes` }),
      resultPath: '$.error',
    }).next(cleanUp);
    const checked = catching(lambdaTask(this, `${id}Check`, fn(check), { resultPath: '$.report' }));
    checked.next(teardown(`${id}Teardown`, { outputPath: '$.report' }));
    const restored = new Choice(this, `${id}IsRestored`)
      .when(Condition.booleanEquals('$.poll.ready', true), checked)
      .when(Condition.booleanEquals('$.poll.expired', true), timedOut)
      .otherwise(wait);
    return init.next(start).next(wait).next(ready).next(restored);
  }

  /** The rule that copies a drill's replayed events (and nothing else) to the scratch bucket. */
  #collector(context: WorkflowContext, collector: LambdaFunctionResource): Rule {
    const { envName } = context.config;
    const rule = new Rule(this, 'CollectorRule', {
      ruleName: drillCollectorRuleName(envName),
      description: 'govledger drill: events replayed from the archive (by name, never live ones) to the collector',
      eventBus: context.stateful.eventBus,
      eventPattern: { account: [Stack.of(this).account] },
      targets: [new LambdaFunction(collector, { retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
    // Replayed events carry the replay's name; live events have none, so they never match.
    (rule.node.defaultChild as CfnRule).addPropertyOverride('EventPattern.replay-name', [{ prefix: `govledger-${envName}-ev-drill-` }]);
    return rule;
  }
}
