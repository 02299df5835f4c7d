/**
 * The stateless stack (STYLE habit 14): code and wiring that can be torn
 * down and redeployed at will — one Lambda function per `FUNCTIONS` entry,
 * the REST API with its WAF, the ledger stream's consumers with their
 * dead-letter queues, and the alarms. Every resource that holds data lives in
 * the stateful stack and is only referenced here.
 */
import { CfnOutput, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISubnetGroup } from 'aws-cdk-lib/aws-rds';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { OperationId } from '../lambdas/handlers/routes.js';
import type { GovledgerConfig } from './config.js';
import { LedgerAlarms } from './constructs/ledger-alarms.js';
import { LedgerApi } from './constructs/ledger-api.js';
import { ledgerBucketName, ledgerBucketObjectsFinding } from './constructs/ledger-buckets.js';
import { LedgerFunction } from './constructs/ledger-function.js';
import { DATABASE_NAME, DATABASE_USERS, PROXY_PORT } from './constructs/projection-database.js';
import { drillCollectorRuleName, drillDatabaseSecurityGroup } from './drill-workflow.js';
import { FUNCTIONS, type FunctionSpec, type StreamTrigger } from './functions.js';
import { environmentFor, grantsFor, type GrantTargets } from './grants.js';
import type { StatefulStack } from './stateful-stack.js';
import { VerificationWorkflow } from './verification-workflow.js';

/** Sort keys of the ledger table's batch items (`DynamoLedgerStore`): the only stream records consumers are invoked for. */
export const BATCH_ITEM_SK_PREFIX = 'B#';

/** The configuration and the stateful stack whose resources the functions use. */
export interface StatelessStackProps extends StackProps {
  readonly config: GovledgerConfig;
  readonly stateful: StatefulStack;
}

/**
 * What the verification workflow (issue 8, `lib/verification-workflow.ts`)
 * builds on: its step functions as `FunctionSpec`s made with `addFunction`
 * (same grants vocabulary), its state machines and EventBridge Scheduler
 * schedules next to them, findings and failed runs published as the metrics
 * `alarms.findings` and `alarms.failures` alarm on.
 */
export interface VerificationContext {
  readonly stateful: StatefulStack;
  readonly alarms: LedgerAlarms;
  readonly addFunction: (spec: FunctionSpec) => LedgerFunction;
}

/**
 * @example
 * new StatelessStack(app, 'govledger-dev-stateless', { config, stateful });
 */
export class StatelessStack extends Stack {
  readonly config: GovledgerConfig;
  readonly functions = new Map<string, LedgerFunction>();
  readonly deadLetterQueues = new Map<string, Queue>();
  readonly alarms: LedgerAlarms;
  readonly api: LedgerApi;
  readonly verification: VerificationContext;
  /** The nightly verification and the backup-restore drill (state machines, schedules, functions). */
  readonly workflow: VerificationWorkflow;
  readonly #stateful: StatefulStack;
  readonly #targets: GrantTargets;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, { ...props, description: `govledger ${props.config.envName}: functions, API, WAF, alarms (redeployable)` });
    const { config, stateful } = props;
    this.config = config;
    this.#stateful = stateful;
    const bucketNamed = (id: string, kind: Parameters<typeof ledgerBucketName>[2]) => Bucket.fromBucketName(this, id, ledgerBucketName(this, config.envName, kind));
    this.#targets = {
      ledgerTable: stateful.tables.ledger,
      keyTable: stateful.tables.keys,
      // By name, not by reference: fixed names keep exports out of IAM resources (and cdk-nag's findings predictable).
      logBucket: bucketNamed('LogBucket', 'log'),
      eventBucket: bucketNamed('EventBucket', 'events'),
      reportsBucket: bucketNamed('ReportsBucket', 'reports'),
      scratchBucket: bucketNamed('ScratchBucket', 'scratch'),
      bucketObjectFindings: {
        log: ledgerBucketObjectsFinding(this, config.envName, 'log'),
        events: ledgerBucketObjectsFinding(this, config.envName, 'events'),
        reports: ledgerBucketObjectsFinding(this, config.envName, 'reports'),
        scratchRuns: ledgerBucketObjectsFinding(this, config.envName, 'scratch', 'runs/*'),
        scratchDrills: ledgerBucketObjectsFinding(this, config.envName, 'scratch', 'drills/*'),
      },
      dataKey: stateful.keys.dataKey,
      masterKey: stateful.keys.masterKey,
      signingKey: stateful.keys.signingKey,
      eventBus: stateful.eventBus,
      proxy: stateful.database.proxy,
      databaseUsers: DATABASE_USERS,
      databaseName: DATABASE_NAME,
      databasePort: PROXY_PORT,
      logPrefix: config.logPrefix,
      tokenIssuer: stateful.identity.userPool.userPoolProviderUrl,
      tokenClientId: stateful.identity.client.userPoolClientId,
      ...(config.cloudHsmClusterId ? { cloudHsmClusterId: config.cloudHsmClusterId } : {}),
      drill: {
        namePrefix: `govledger-${config.envName}`,
        sourceCluster: stateful.database.cluster.clusterIdentifier,
        subnetGroup: (stateful.database.cluster.node.findChild('Subnets') as ISubnetGroup).subnetGroupName,
        securityGroupId: drillDatabaseSecurityGroup(this, { stateful }).securityGroupId,
        archiveArn: stateful.eventArchive.archiveArn,
        collectorRuleArn: this.formatArn({ service: 'events', resource: 'rule', resourceName: `${stateful.eventBus.eventBusName}/${drillCollectorRuleName(config.envName)}` }),
      },
    };
    this.alarms = new LedgerAlarms(this, 'Alarms', { envName: config.envName, ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}) });
    for (const spec of FUNCTIONS) this.addFunction(spec);
    const routed = new Map<OperationId, LedgerFunction['function']>();
    for (const spec of FUNCTIONS) {
      const fn = this.functions.get(spec.name);
      if (spec.route && fn) routed.set(spec.route, fn.function);
    }
    this.api = new LedgerApi(this, 'Api', {
      envName: config.envName,
      functions: routed,
      userPool: stateful.identity.userPool,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      logRetention: config.logRetentionDays as RetentionDays,
    });
    this.alarms.watchApi(this.api.api);
    new CfnOutput(this, 'ApiUrl', { value: this.api.api.urlForPath('/'), description: 'Base URL of the API (routes start with /v1 and /healthz)' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn, description: 'SNS topic every alarm notifies' });
    this.verification = { stateful, alarms: this.alarms, addFunction: (spec) => this.addFunction(spec) };
    // ── Verification workflow (issue 8): the nightly verification and the weekly drill ──
    this.workflow = new VerificationWorkflow(this, 'Verification', { ...this.verification, config });
    new CfnOutput(this, 'VerificationStateMachineArn', { value: this.workflow.machine.stateMachineArn, description: 'Nightly verification (aws stepfunctions start-execution --state-machine-arn …)' });
    new CfnOutput(this, 'DrillStateMachineArn', { value: this.workflow.drill.machine.stateMachineArn, description: 'Backup-restore drill (aws stepfunctions start-execution --state-machine-arn …)' });
  }

  /** Builds a function from its spec: environment and IAM from `uses`, VPC, stream trigger, alarms. */
  addFunction(spec: FunctionSpec): LedgerFunction {
    const { config } = this;
    const fn = new LedgerFunction(this, pascalCase(spec.name), {
      name: spec.name,
      envName: config.envName,
      entry: spec.entry,
      description: spec.description,
      environment: environmentFor(spec.uses, this.#targets),
      logRetention: config.logRetentionDays as RetentionDays,
      ...(spec.memorySize ? { memorySize: spec.memorySize } : {}),
      ...(spec.timeoutSeconds ? { timeout: Duration.seconds(spec.timeoutSeconds) } : {}),
      ...(spec.reservedConcurrency ? { reservedConcurrentExecutions: spec.reservedConcurrency } : {}),
      ...(spec.vpc ? { vpc: { vpc: this.#stateful.database.vpc, securityGroups: [this.#stateful.database.clientSecurityGroup] } } : {}),
    });
    const grants = grantsFor(spec.uses, this.#targets);
    for (const statement of grants.statements) fn.role.addToPolicy(statement);
    for (const wildcard of grants.wildcards) fn.allowWildcard(wildcard.actions, wildcard.reason);
    const findings = [...grants.findings];
    if (spec.stream) {
      this.#consumeLedgerStream(spec, spec.stream, fn);
      findings.push({ finding: 'Resource::*', reason: 'dynamodb:ListStreams (stream discovery by the event source mapping, granted by CDK) does not support resource-level permissions' });
    }
    fn.acknowledgeWildcards(findings);
    this.alarms.watchFunction(spec.name, fn.function);
    this.functions.set(spec.name, fn);
    return fn;
  }

  /** Batch-item inserts of the ledger table's stream, with retries, bisection, a max age and a DLQ. */
  #consumeLedgerStream(spec: FunctionSpec, stream: StreamTrigger, fn: LedgerFunction): void {
    const dlq = new Queue(this, `${pascalCase(spec.name)}Dlq`, {
      queueName: `govledger-${this.config.envName}-${spec.name}-dlq`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(dlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `This queue is the on-failure destination of ${spec.name}'s stream event source mapping: it is the dead-letter queue, alarmed on its depth`,
    });
    fn.function.addEventSource(new DynamoEventSource(this.#stateful.tables.ledger, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: stream.batchSize,
      maxBatchingWindow: Duration.seconds(stream.batchingWindowSeconds),
      parallelizationFactor: 1,
      retryAttempts: stream.retryAttempts,
      maxRecordAge: Duration.hours(stream.maxRecordAgeHours),
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(dlq),
      filters: [FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT'), dynamodb: { Keys: { sk: { S: FilterRule.beginsWith(BATCH_ITEM_SK_PREFIX) } } } })],
    }));
    this.deadLetterQueues.set(spec.name, dlq);
    this.alarms.watchStream(spec.name, fn.function);
    this.alarms.watchQueue(spec.name, dlq);
  }
}

/** `log-publisher` → `LogPublisher`. */
export const pascalCase = (name: string): string => name.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
