/**
 * What the verification and drill state machines (issue 8) are built from:
 * their Lambda tasks (the step's result is the task's result, Lambda's
 * transient errors retried), their functions made from `FunctionSpec`s by
 * the stack, their encrypted log groups, and the scheduled, logged, traced,
 * alarmed state machine itself with the cdk-nag findings CDK's policies raise.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack, TimeZone, Validations, type CfnElement } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunctionResource } from 'aws-cdk-lib/aws-lambda';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { DefinitionBody, DistributedMap, LogLevel, StateMachine, Timeout, type IChainable } from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, type LambdaInvokeProps } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { GovledgerConfig } from './config.js';
import type { FunctionSpec } from './functions.js';
import { nagArnPrefix } from './grants.js';
import type { VerificationContext } from './stateless-stack.js';

/**
 * A Distributed Map that fails as soon as one item fails, saying so:
 * `ToleratedFailureCount: 0` is the service's default, but CDK leaves a
 * tolerance of 0 out of the definition, and the definition is what a reviewer reads.
 */
export class StrictDistributedMap extends DistributedMap {
  override toStateJson(): object {
    return { ...super.toStateJson(), ToleratedFailureCount: 0 };
  }
}

/** What the workflows build on: the stack's functions and alarms, and the configuration (schedules). */
export interface WorkflowContext extends VerificationContext {
  readonly config: GovledgerConfig;
}

/**
 * A Lambda task the way every workflow task is built: the handler's result is
 * the task's result; Lambda's service errors and throttles are retried with
 * back-off; the task times out a little after its function would.
 */
export function lambdaTask(scope: Construct, id: string, fn: LambdaFunctionResource, props: Partial<LambdaInvokeProps> = {}): LambdaInvoke {
  const timeout = fn.timeout ?? Duration.seconds(3);
  const task = new LambdaInvoke(scope, id, {
    lambdaFunction: fn,
    payloadResponseOnly: true,
    retryOnServiceExceptions: true,
    taskTimeout: Timeout.duration(timeout.plus(Duration.seconds(30))),
    ...props,
  });
  task.addRetry({ errors: ['Lambda.TooManyRequestsException'], interval: Duration.seconds(5), maxAttempts: 6, backoffRate: 2 });
  return task;
}

/** The workflows' functions, built by the stack from their specs; looked up by name. */
export function functionsOf(context: VerificationContext, specs: readonly FunctionSpec[]): (name: string) => LambdaFunctionResource {
  const built = new Map(specs.map((spec) => [spec.name, context.addFunction(spec).function]));
  return (name) => {
    const fn = built.get(name);
    if (fn === undefined) throw new Error(`no workflow function ${name}`);
    return fn;
  };
}

/** The log groups of both state machines, encrypted with a key of their own (CloudWatch Logs encrypts with it). */
export class WorkflowLogs extends Construct {
  readonly key: Key;
  readonly #envName: string;
  readonly #retention: RetentionDays;

  constructor(scope: Construct, id: string, props: { envName: string; retention: RetentionDays }) {
    super(scope, id);
    this.#envName = props.envName;
    this.#retention = props.retention;
    const stack = Stack.of(this);
    this.key = new Key(this, 'Key', { alias: `alias/govledger-${props.envName}-workflow-logs`, description: `govledger ${props.envName}: Step Functions execution logs`, enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    this.key.addToResourcePolicy(new PolicyStatement({
      principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: `/aws/vendedlogs/states/govledger-${props.envName}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
    }));
  }

  /** The log group of the machine `govledger-<env>-<name>`. */
  logGroup(name: string): LogGroup {
    return new LogGroup(this, `${name}Logs`, { logGroupName: `/aws/vendedlogs/states/govledger-${this.#envName}-${name}`, encryptionKey: this.key, retention: this.#retention, removalPolicy: RemovalPolicy.RETAIN });
  }
}

/**
 * A state machine as both workflows are built: logging ALL without execution
 * data to its encrypted log group, X-Ray tracing, a time limit, its failures
 * alarmed, and a schedule that starts it.
 */
export function scheduledMachine(scope: Construct, props: {
  context: WorkflowContext;
  logs: WorkflowLogs;
  name: string;
  definition: IChainable;
  timeout: Duration;
  schedule: string;
  description: string;
  /** The functions its tasks invoke, and the labels of its Distributed Maps (for the role's cdk-nag findings). */
  invokes: readonly LambdaFunctionResource[];
  distributedMaps?: readonly string[];
}): { machine: StateMachine; schedule: Schedule } {
  const { config } = props.context;
  const machine = new StateMachine(scope, 'StateMachine', {
    stateMachineName: `govledger-${config.envName}-${props.name}`,
    definitionBody: DefinitionBody.fromChainable(props.definition),
    timeout: props.timeout,
    tracingEnabled: true,
    logs: { destination: props.logs.logGroup(props.name), level: LogLevel.ALL, includeExecutionData: false },
    comment: props.description,
  });
  props.context.alarms.watchStateMachine(props.name, machine);
  const role = new Role(scope, 'ScheduleRole', {
    assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } } }),
    description: `govledger ${config.envName}: EventBridge Scheduler starts the ${props.name} state machine`,
  });
  const schedule = new Schedule(scope, 'Schedule', {
    scheduleName: `govledger-${config.envName}-${props.name}`,
    description: props.description,
    schedule: ScheduleExpression.expression(props.schedule, TimeZone.of(config.scheduleTimeZone)),
    target: new StepFunctionsStartExecution(machine, { role, retryAttempts: 3, maxEventAge: Duration.hours(1) }),
  });
  acknowledgeMachineRole(machine, props.invokes, props.distributedMaps ?? []);
  return { machine, schedule };
}

/**
 * The cdk-nag IAM5 findings of the policies CDK writes for a machine, each
 * acknowledged with its reason: log delivery and X-Ray (no resource-level
 * permissions), invoking each task's function (CDK grants its versions too:
 * `<arn>:*`), and a Distributed Map's child executions (named by the run).
 */
function acknowledgeMachineRole(machine: StateMachine, invokes: readonly LambdaFunctionResource[], maps: readonly string[]): void {
  const stack = Stack.of(machine);
  const acknowledge = (scope: Construct, finding: string, reason: string) => Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  acknowledge(machine.role, 'Resource::*', 'CDK\'s state machine role: CloudWatch Logs delivery (logs:CreateLogDelivery and the like) and X-Ray tracing do not support resource-level permissions');
  for (const fn of invokes) {
    acknowledge(machine.role, `Resource::<${stack.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*`, `CDK grants invoking ${fn.node.id}'s versions and aliases as well (<arn>:*); the function itself is the only one named`);
  }
  const policy = machine.node.tryFindChild('DistributedMapPolicy');
  if (policy === undefined) return;
  const name = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(machine.node.defaultChild as CfnElement)}"}]}]}`;
  const executions = `Resource::${nagArnPrefix(stack, 'states')}execution:${name}`;
  const reason = 'A Distributed Map starts, describes and stops child executions of this state machine whose names the run chooses: the grant names this machine\'s executions only';
  for (const suffix of [':*', ...maps.map((label) => `/${label}:*`)]) acknowledge(policy, `${executions}${suffix}`, reason);
}
