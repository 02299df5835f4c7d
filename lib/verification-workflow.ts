/**
 * The nightly verification on AWS (DESIGN §5, issue 8): a Step Functions
 * state machine running the same steps `govledger verify` runs in one
 * process, one Lambda task each (`lambdas/handlers/verification-steps.ts`):
 *
 *   ListTenants → Tenants (Distributed Map, one child execution per tenant:
 *     Plan → Segments (Distributed Map over the plan's segments: Segment) →
 *     Finish) → Verified
 *
 * Every task retries Lambda's transient service errors, and its Catch leads
 * to a ReportFailure task (a failure report when the tenant is known, and the
 * `VerificationFailures` metric, alarmed) and then a Fail state, so a broken
 * run is never silent. Findings are not failures: Finish reports them and
 * raises `VerificationFindings` (alarmed). Neither map tolerates a failed
 * item. Segment outcomes go to the scratch bucket and the map collects only
 * their keys, so no ResultWriter is needed.
 *
 * The machine logs every event (without execution data: states carry tenant
 * names and checkpoints) to a log group encrypted with a key of its own,
 * traces with X-Ray, and an EventBridge Scheduler schedule starts it
 * (`govledger:verificationSchedule`). The drill's machine is built the same
 * way in `drill-workflow.ts`.
 */
import { Duration } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Schedule } from 'aws-cdk-lib/aws-scheduler';
import { Fail, JsonPath, Succeed, TaskInput, type DistributedMap, type IChainable, type StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DrillWorkflow } from './drill-workflow.js';
import { VERIFICATION_FUNCTIONS } from './verification-functions.js';
import { functionsOf, lambdaTask, scheduledMachine, StrictDistributedMap, WorkflowLogs, type WorkflowContext } from './workflow-parts.js';

/** Tenants verified at once (child executions of the outer map). */
export const TENANT_CONCURRENCY = 4;
/** Segments verified at once per tenant: each holds one Lambda and at most two database connections. */
export const SEGMENT_CONCURRENCY = 20;

/**
 * The verification state machine, its schedule, and the drill's (see the module doc).
 *
 * @example
 * new VerificationWorkflow(this, 'Verification', { ...this.verification, config });
 */
export class VerificationWorkflow extends Construct {
  readonly machine: StateMachine;
  readonly schedule: Schedule;
  readonly drill: DrillWorkflow;

  constructor(scope: Construct, id: string, context: WorkflowContext) {
    super(scope, id);
    const fn = functionsOf(context, VERIFICATION_FUNCTIONS);
    const report = (stateId: string, failId: string, payload?: TaskInput): IChainable => {
      const task = lambdaTask(this, stateId, fn('verification-report-failure'), payload ? { payload } : {});
      const fail = new Fail(this, failId, { error: 'VerificationFailed', cause: 'A verification task failed; its failure was reported (VerificationFailures alarm)' });
      task.addCatch(fail, { resultPath: '$.reportError' }); // reporting failed too: fail at once (the machine's failure alarm still fires)
      return task.next(fail);
    };
    const catching = <T extends LambdaInvoke | DistributedMap>(state: T, onError: IChainable): T => {
      state.addCatch(onError, { resultPath: '$.error' });
      return state;
    };

    // Per segment (a child execution of the inner map; its input is a SegmentTask).
    const segmentFailed = report('ReportSegmentFailure', 'SegmentFailed', TaskInput.fromObject({
      tenant: JsonPath.stringAt('$.tenant'),
      // reportFailure reads a plan's tenant and runId only: the segment's own.
      plan: { tenant: JsonPath.stringAt('$.tenant'), runId: JsonPath.stringAt('$.runId') },
      error: JsonPath.objectAt('$.error'),
    }));
    const segment = catching(lambdaTask(this, 'Segment', fn('verification-segment')), segmentFailed);
    const segments = new StrictDistributedMap(this, 'Segments', {
      itemsPath: JsonPath.stringAt('$.plan.segments'),
      maxConcurrency: SEGMENT_CONCURRENCY,
      resultPath: '$.segments',
      label: 'Segments',
    });
    segments.itemProcessor(segment);

    // Per tenant (a child execution of the outer map; its input is { tenant }).
    const tenantFailed = report('ReportTenantFailure', 'TenantFailed');
    const plan = catching(lambdaTask(this, 'Plan', fn('verification-plan'), { payload: TaskInput.fromObject({ tenant: JsonPath.stringAt('$.tenant') }), resultPath: '$.plan' }), tenantFailed);
    const finish = catching(lambdaTask(this, 'Finish', fn('verification-finish'), {
      payload: TaskInput.fromObject({ plan: JsonPath.objectAt('$.plan'), segments: JsonPath.listAt('$.segments') }),
      resultPath: '$.notice',
    }), tenantFailed);
    catching(segments, tenantFailed);
    const tenants = new StrictDistributedMap(this, 'Tenants', {
      itemsPath: JsonPath.stringAt('$.listed.tenants'),
      itemSelector: { tenant: JsonPath.stringAt('$$.Map.Item.Value') },
      maxConcurrency: TENANT_CONCURRENCY,
      resultPath: JsonPath.DISCARD,
      label: 'Tenants',
    });
    tenants.itemProcessor(plan.next(segments).next(finish));

    const runFailed = report('ReportRunFailure', 'RunFailed', TaskInput.fromObject({ error: JsonPath.objectAt('$.error') }));
    const list = catching(lambdaTask(this, 'ListTenants', fn('verification-list-tenants'), { resultPath: '$.listed' }), runFailed);
    catching(tenants, runFailed);

    const logs = new WorkflowLogs(this, 'Logs', { envName: context.config.envName, retention: context.config.logRetentionDays as RetentionDays });
    const built = scheduledMachine(this, {
      context,
      logs,
      name: 'verification',
      definition: list.next(tenants).next(new Succeed(this, 'Verified')),
      timeout: Duration.hours(12),
      schedule: context.config.verificationSchedule,
      description: 'govledger nightly verification: every tenant\'s log, its checkpoints and its downstream copies (DESIGN §5)',
      invokes: VERIFICATION_FUNCTIONS.map((spec) => fn(spec.name)),
      distributedMaps: ['Tenants', 'Segments'],
    });
    this.machine = built.machine;
    this.schedule = built.schedule;
    this.drill = new DrillWorkflow(this, 'Drill', { context, logs });
  }
}
