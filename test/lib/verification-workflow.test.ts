import { createRequire } from 'node:module';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESOURCES } from '../../lambdas/entry/shared/env.js';
import type { Access } from '../../lib/functions.js';
import { pascalCase } from '../../lib/stateless-stack.js';
import { DRILL_FUNCTIONS, VERIFICATION_FUNCTIONS, WORKFLOW_FUNCTIONS } from '../../lib/verification-functions.js';
import { SEGMENT_CONCURRENCY, TENANT_CONCURRENCY } from '../../lib/verification-workflow.js';
import { acknowledgments, resourceNamed, synthesizeApp, type SynthesizedApp } from './app-fixture.js';
import { functionArn, leadsTo, reachesFail, render, scopesOf, tasksOf, type Definition, type State } from './asl-paths.js';
import { dataKey, ENI, g, grantsOf, KEK, LOGS, logBucketRead, READ, XRAY, type Grant } from './role-grants.js';

type Validator = (definition: object, options?: { checkPaths?: boolean; checkArn?: boolean }) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as Validator;

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesizeApp({ 'govledger:drillSchedule': 'cron(30 3 ? * SAT *)', 'govledger:scheduleTimeZone': 'Europe/Paris', 'govledger:drillMaxWaitMinutes': 120 });
}, 120_000);
const template = () => synthesized.statelessTemplate;
type Cfn = Record<string, unknown>;

/** The definition of `govledger-test-<name>`, from the synthesized template. */
function definitionOf(name: string): Definition {
  const [, machine] = Object.entries(template().findResources('AWS::StepFunctions::StateMachine', { Properties: { StateMachineName: `govledger-test-${name}` } }))[0]!;
  return JSON.parse(render((machine.Properties as Cfn).DefinitionString)) as Definition;
}

const functionId = (name: string) => resourceNamed(template(), 'AWS::Lambda::Function', `${pascalCase(name)}Function`)[0];
const invokes = (state: State | undefined, name: string) => state?.Type === 'Task' && state.Resource === functionArn(functionId(name));

const LAMBDA_SERVICE_ERRORS = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];

describe.each(['verification', 'drill'])('the %s state machine\'s definition', (name) => {
  it('is valid Amazon States Language (asl-validator, paths and ARNs checked)', () => {
    // Act
    const result = aslValidator(definitionOf(name), { checkPaths: true, checkArn: true });
    // Assess
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });
});

describe('the verification state machine', () => {
  it('lists the tenants, then runs Plan → Segments → Finish per tenant as child executions, segments in a Distributed Map that tolerates no failure', () => {
    // Act
    const definition = definitionOf('verification');
    // Assess
    expect(definition.StartAt).toBe('ListTenants');
    expect(invokes(definition.States.ListTenants, 'verification-list-tenants')).toBe(true);
    const tenants = definition.States.Tenants!;
    expect(tenants).toMatchObject({ Type: 'Map', ItemsPath: '$.listed.tenants', ItemSelector: { 'tenant.$': '$$.Map.Item.Value' }, MaxConcurrency: TENANT_CONCURRENCY, ToleratedFailureCount: 0, Next: 'Verified' });
    expect(tenants.ItemProcessor).toMatchObject({ ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'Plan' });
    const perTenant = tenants.ItemProcessor!.States;
    expect(invokes(perTenant.Plan, 'verification-plan')).toBe(true);
    expect(perTenant.Plan).toMatchObject({ Parameters: { 'tenant.$': '$.tenant' }, ResultPath: '$.plan', Next: 'Segments' });
    const segments = perTenant.Segments!;
    expect(segments).toMatchObject({ Type: 'Map', ItemsPath: '$.plan.segments', MaxConcurrency: SEGMENT_CONCURRENCY, ToleratedFailureCount: 0, ResultPath: '$.segments', Next: 'Finish' });
    expect(segments.ItemProcessor).toMatchObject({ ProcessorConfig: { Mode: 'DISTRIBUTED' }, StartAt: 'Segment' });
    expect(invokes(segments.ItemProcessor!.States.Segment, 'verification-segment')).toBe(true);
    expect(segments).not.toHaveProperty('ResultWriter'); // outcomes are small refs; the objects are in the scratch bucket
    expect(invokes(perTenant.Finish, 'verification-finish')).toBe(true);
    expect(perTenant.Finish).toMatchObject({ Parameters: { 'plan.$': '$.plan', 'segments.$': '$.segments' } });
  });

  it('gives every task a Catch of every error leading to a ReportFailure task and then a Fail state, and retries Lambda\'s service errors', () => {
    // Prepare
    const definition = definitionOf('verification');
    const reportFailure = (state: State) => invokes(state, 'verification-report-failure');
    // Act
    const tasks = tasksOf(definition);
    // Assess
    expect(tasks.map((t) => t.name).sort()).toEqual(['Finish', 'ListTenants', 'Plan', 'ReportRunFailure', 'ReportSegmentFailure', 'ReportTenantFailure', 'Segment']);
    for (const { scope, name, state } of tasks) {
      const caught = state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      expect(caught, name).toBeDefined();
      expect(state.Retry?.flatMap((r) => r.ErrorEquals), name).toEqual(expect.arrayContaining(LAMBDA_SERVICE_ERRORS));
      if (reportFailure(state)) expect(scope.states[caught!.Next]!.Type, `${name}: reporting failed too, fail at once`).toBe('Fail');
      else expect(leadsTo(scope, caught!.Next, reportFailure), `${name}'s Catch → ReportFailure → Fail`).toBe(true);
    }
    for (const map of ['Tenants']) expect(definition.States[map]!.Catch?.[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'ReportRunFailure' });
    expect(definition.States.Tenants!.ItemProcessor!.States.Segments!.Catch?.[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'ReportTenantFailure' });
  });

  it('tells ReportFailure which tenant and run a failed segment belonged to', () => {
    // Act
    const segment = definitionOf('verification').States.Tenants!.ItemProcessor!.States.Segments!.ItemProcessor!.States;
    // Assess
    expect(segment.Segment!.Catch![0]).toMatchObject({ ResultPath: '$.error', Next: 'ReportSegmentFailure' });
    expect(segment.ReportSegmentFailure!.Parameters).toEqual({ 'tenant.$': '$.tenant', plan: { 'tenant.$': '$.tenant', 'runId.$': '$.runId' }, 'error.$': '$.error' });
  });
});

describe('the drill state machine', () => {
  const TARGETS = [['Ledger', 'drill-ledger-restore', 'drill-ledger-check'], ['Database', 'drill-database-restore', 'drill-database-check'], ['EventArchive', 'drill-events-restore', 'drill-events-check']] as const;

  it('plans, drills the three targets side by side (start, wait, poll until ready or the max wait, check, teardown), records, and fails unless all held', () => {
    // Act
    const definition = definitionOf('drill');
    // Assess
    expect(definition.StartAt).toBe('PlanDrill');
    expect(definition.States.Targets).toMatchObject({ Type: 'Parallel', ResultPath: '$.reports', Next: 'Record' });
    expect(definition.States.Record).toMatchObject({ Parameters: { 'runId.$': '$.plan.runId', 'startedAt.$': '$.plan.startedAt', 'tenants.$': '$.plan.tenants', 'reports.$': '$.reports' }, Next: 'AllHeld' });
    expect(definition.States.AllHeld).toMatchObject({ Type: 'Choice', Choices: [{ Variable: '$.recorded.ok', BooleanEquals: true, Next: 'DrillPassed' }], Default: 'DrillFailed' });
    const branches = definition.States.Targets!.Branches!;
    expect(branches.map((b) => b.StartAt)).toEqual(TARGETS.map(([id]) => `${id}Target`));
    for (const [i, [id, restore, check]] of TARGETS.entries()) {
      const states = branches[i]!.States;
      expect(states[`${id}Target`]).toMatchObject({ Type: 'Pass', Parameters: { 'runId.$': '$.plan.runId', 'tenants.$': '$.plan.tenants', maxWaitSeconds: 7200 }, Next: `${id}Start` });
      for (const [step, next] of [['start', `${id}Wait`], ['ready', `${id}IsRestored`], ['teardown', undefined]] as const) {
        const state = states[step === 'teardown' ? `${id}Teardown` : `${id}${step.charAt(0).toUpperCase()}${step.slice(1)}`]!;
        expect(invokes(state, restore), `${id} ${step}`).toBe(true);
        expect(state.Parameters, `${id} ${step}`).toEqual({ step, 'state.$': '$' });
        if (next) expect(state.Next).toBe(next);
      }
      expect(states[`${id}Wait`]).toMatchObject({ Type: 'Wait', Seconds: 60, Next: `${id}Ready` });
      expect(states[`${id}IsRestored`]).toMatchObject({
        Type: 'Choice',
        Choices: [{ Variable: '$.poll.ready', BooleanEquals: true, Next: `${id}Check` }, { Variable: '$.poll.expired', BooleanEquals: true, Next: `${id}TimedOut` }],
        Default: `${id}Wait`,
      });
      expect(invokes(states[`${id}Check`], check)).toBe(true);
      expect(states[`${id}Check`]).toMatchObject({ ResultPath: '$.report', Next: `${id}Teardown` });
      expect(states[`${id}Teardown`]).toMatchObject({ OutputPath: '$.report', End: true });
      expect(states[`${id}TimedOut`]).toMatchObject({ Type: 'Pass', Result: { Error: 'DrillRestoreTimedOut' }, ResultPath: '$.error', Next: `${id}TeardownAfterError` });
      expect(JSON.stringify(states), id).not.toMatch(/"Type":"Fail"/); // a Fail in a branch would stop the others before their teardown
    }
  });

  it('tears a target\'s scratch resources down on every error path of that target, then reports the failure, then fails the run', () => {
    // Prepare
    const definition = definitionOf('drill');
    const reportFailure = (state: State) => invokes(state, 'drill-report-failure');
    const teardownOf = (restore: string) => (state: State) => invokes(state, restore) && (state.Parameters as Cfn | undefined)?.step === 'teardown';
    // Act
    const tasks = tasksOf(definition);
    // Assess
    for (const { scope, name, state } of tasks) {
      const caught = state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      expect(caught, name).toBeDefined();
      expect(state.Retry?.flatMap((r) => r.ErrorEquals), name).toEqual(expect.arrayContaining(LAMBDA_SERVICE_ERRORS));
      const target = TARGETS.find(([id]) => name.startsWith(id) && !name.endsWith('ReportFailure') && !name.includes('Teardown'));
      if (reportFailure(state)) expect(reachesFail(scope, caught!.Next), `${name}: reporting failed too, still ends in a Fail`).toBe(true);
      else if (target) expect(leadsTo(scope, caught!.Next, reportFailure, teardownOf(target[1])), `${name}'s Catch → Teardown → ReportFailure → Fail`).toBe(true);
      else expect(leadsTo(scope, caught!.Next, reportFailure), `${name}'s Catch → ReportFailure → Fail`).toBe(true);
    }
    const teardowns = tasks.filter((t) => t.name.includes('Teardown'));
    expect(teardowns).toHaveLength(6);
    for (const { name, state } of teardowns) expect(state.Retry?.at(-1), name).toMatchObject({ ErrorEquals: ['States.ALL'], MaxAttempts: 6 });
  });

  it('(the path check itself) rejects a Catch that skips the teardown, and a failure report that never fails the run', () => {
    // Prepare: two broken copies of the definition
    const skipsTeardown = definitionOf('drill');
    const ledger = skipsTeardown.States.Targets!.Branches![0]!.States;
    ledger.LedgerCheck!.Catch![0]!.Next = 'LedgerReportFailure';
    const neverFails = definitionOf('drill');
    neverFails.States.AllHeld!.Default = 'DrillPassed';
    const reportFailure = (state: State) => invokes(state, 'drill-report-failure');
    const teardown = (state: State) => invokes(state, 'drill-ledger-restore') && (state.Parameters as Cfn | undefined)?.step === 'teardown';
    const scopeOf = (definition: Definition) => scopesOf(definition).find((s) => 'LedgerCheck' in s.states)!;
    // Act
    const skipped = leadsTo(scopeOf(skipsTeardown), 'LedgerReportFailure', reportFailure, teardown);
    const unfailed = leadsTo(scopeOf(neverFails), 'LedgerTeardownAfterError', reportFailure, teardown);
    const intact = leadsTo(scopeOf(definitionOf('drill')), 'LedgerTeardownAfterError', reportFailure, teardown);
    // Assess
    expect({ skipped, unfailed, intact }).toEqual({ skipped: false, unfailed: false, intact: true });
  });
});

describe('state machines: logging, tracing, schedules, alarms', () => {
  it.each(['verification', 'drill'])('%s: logs ALL without execution data to a KMS-encrypted log group, and traces with X-Ray', (name) => {
    // Act
    const [, machine] = Object.entries(template().findResources('AWS::StepFunctions::StateMachine', { Properties: { StateMachineName: `govledger-test-${name}` } }))[0]!;
    // Assess
    expect(machine.Properties).toMatchObject({
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [expect.stringMatching(/Logs/), 'Arn'] } } }] },
      TracingConfiguration: { Enabled: true },
    });
    template().hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/aws/vendedlogs/states/govledger-test-${name}`, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('LogsKey'), 'Arn'] }, RetentionInDays: 365 });
  });

  it('lets CloudWatch Logs use the log key for these log groups only, and rotates it', () => {
    // Assess
    template().hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': { 'Fn::Join': ['', Match.arrayWith([':log-group:/aws/vendedlogs/states/govledger-test-*'])] } } },
        })]),
      },
    });
  });

  it.each([
    ['verification', 'cron(0 2 * * ? *)', 'Europe/Paris'],
    ['drill', 'cron(30 3 ? * SAT *)', 'Europe/Paris'],
  ])('%s: an EventBridge Scheduler schedule (%s, %s) starts it with a role that may start only it', (name, expression, zone) => {
    // Act
    const [, schedule] = Object.entries(template().findResources('AWS::Scheduler::Schedule', { Properties: { Name: `govledger-test-${name}` } }))[0]!;
    const target = (schedule.Properties as { Target: { Arn: { Ref: string }; RoleArn: { 'Fn::GetAtt': [string, string] } } }).Target;
    const [, policy] = Object.entries(template().findResources('AWS::IAM::Policy')).find(([, p]) => JSON.stringify((p.Properties as Cfn).Roles).includes(target.RoleArn['Fn::GetAtt'][0]))!;
    // Assess
    expect(schedule.Properties).toMatchObject({ ScheduleExpression: expression, ScheduleExpressionTimezone: zone, State: 'ENABLED', FlexibleTimeWindow: { Mode: 'OFF' } });
    expect(target.Arn.Ref).toMatch(new RegExp(`^Verification${name === 'drill' ? 'Drill' : ''}StateMachine`));
    expect((policy.Properties as { PolicyDocument: { Statement: unknown[] } }).PolicyDocument.Statement).toEqual([{ Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: target.Arn.Ref } }]);
    template().hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }] },
      Description: Match.stringLikeRegexp(`starts the ${name} state machine`),
    });
  });

  it('alarms on findings and failed runs (the metrics Powertools publishes, with its service dimension) and on failed, timed-out or aborted executions', () => {
    // Act
    const alarms = Object.values(template().findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties as Cfn & { AlarmName: string });
    // Assess
    for (const [name, metric] of [['verification-findings', 'VerificationFindings'], ['verification-failures', 'VerificationFailures']]) {
      template().hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `govledger-test-${name}`, Namespace: 'Govledger', MetricName: metric, Dimensions: [{ Name: 'service', Value: 'govledger' }], Statistic: 'Sum', Threshold: 1 });
    }
    const names = alarms.map((a) => a.AlarmName.replace('govledger-test-', ''));
    for (const machine of ['verification', 'drill']) {
      for (const [what, metric] of [['failed', 'ExecutionsFailed'], ['timed-out', 'ExecutionsTimedOut'], ['aborted', 'ExecutionsAborted']]) {
        expect(names).toContain(`${machine}-${what}`);
        template().hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `govledger-test-${machine}-${what}`, Namespace: 'AWS/States', MetricName: metric, Threshold: 1 });
      }
    }
    for (const spec of WORKFLOW_FUNCTIONS) expect(names).toEqual(expect.arrayContaining([`${spec.name}-errors`, `${spec.name}-throttles`]));
  });
});

describe('workflow functions', () => {
  const scratch = (prefix: 'runs' | 'drills', actions: string[], list = true) => [g(`scratch bucket/${prefix}/*`, actions), ...(list ? [g('scratch bucket', ['s3:ListBucket'])] : [])];
  const reports = (writes: boolean) => [g('reports bucket/*', writes ? ['s3:GetObject', 's3:PutObject'] : ['s3:GetObject']), g('reports bucket', ['s3:ListBucket']), dataKey('s3', writes)];
  const append = [g('ledger table', [...READ, 'dynamodb:PutItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem']), dataKey('dynamodb', true)];
  const list = [g('ledger table', ['dynamodb:Scan']), dataKey('dynamodb', false)];
  const ledgerRead = [g('ledger table', READ), dataKey('dynamodb', false)];
  const VERIFY = [...READ, 'dynamodb:BatchGetItem'];
  const ledgerVerify = [g('ledger table', VERIFY), dataKey('dynamodb', false)];
  const keyGrant = (service: string) => g('data key', ['kms:CreateGrant', 'kms:DescribeKey'], { StringEquals: { 'kms:ViaService': service } });
  /** Each workflow function's least privilege, written out by hand. */
  const EXPECTED: Record<string, Grant[]> = {
    'verification-list-tenants': list,
    'verification-plan': [...ledgerVerify, ...logBucketRead, ...reports(false)],
    'verification-segment': [ENI, ...ledgerRead, g('key table', READ), g('master key', ['kms:Decrypt'], KEK), g('event bus', ['events:PutEvents']),
      g('events bucket/*', ['s3:GetObject', 's3:PutObject']), g('events bucket', ['s3:ListBucket']), dataKey('s3', true), g('db user govledger_projector', ['rds-db:connect']), ...scratch('runs', ['s3:PutObject'], false)],
    'verification-finish': [...append, ...scratch('runs', ['s3:GetObject']), dataKey('s3', false), ...reports(true), g('signing key', ['kms:GetPublicKey'])],
    'verification-report-failure': reports(true),
    'drill-plan': list,
    'drill-ledger-restore': [
      g('ledger table', ['dynamodb:RestoreTableToPointInTime']),
      g('dynamodb table/govledger-test-ledger-drill-*', ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:DeleteTable', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem']),
      dataKey('dynamodb', true), keyGrant('dynamodb'),
    ],
    'drill-ledger-check': [g('dynamodb table/govledger-test-ledger-drill-*', VERIFY), ...ledgerVerify, ...logBucketRead, ...reports(false), g('signing key', ['kms:GetPublicKey'])],
    'drill-database-restore': [
      g('db cluster', ['rds:DescribeDBClusters']), g('rds cluster:govledger-test-db-drill-*', ['rds:DescribeDBClusters']),
      g('db cluster', ['rds:RestoreDBClusterToPointInTime']), g('rds cluster:govledger-test-db-drill-*', ['rds:RestoreDBClusterToPointInTime']), g('db subnet group', ['rds:RestoreDBClusterToPointInTime']),
      g('rds cluster:govledger-test-db-drill-*', ['rds:CreateDBInstance']), g('rds db:govledger-test-db-drill-*', ['rds:CreateDBInstance']),
      g('rds db:govledger-test-db-drill-*', ['rds:DeleteDBInstance', 'rds:DescribeDBInstances']), g('rds cluster:govledger-test-db-drill-*', ['rds:DeleteDBCluster']),
      keyGrant('rds'),
    ],
    'drill-database-check': [ENI, g('rds-db dbuser:cluster-*/govledger_reader', ['rds-db:connect']), ...ledgerRead, g('key table', READ), g('master key', ['kms:Decrypt'], KEK)],
    'drill-events-restore': [
      g('event archive', ['events:DescribeArchive']), g('event archive', ['events:StartReplay']), g('events replay/govledger-test-ev-drill-*', ['events:StartReplay']),
      g('events replay/govledger-test-ev-drill-*', ['events:CancelReplay', 'events:DescribeReplay']), ...scratch('drills', ['s3:DeleteObject']),
    ],
    'drill-events-check': [...ledgerRead, ...scratch('drills', ['s3:GetObject']), dataKey('s3', false)],
    'drill-events-collector': [...scratch('drills', ['s3:GetObject', 's3:PutObject']), dataKey('s3', true)],
    'drill-record': [...append, ...reports(true)],
    'drill-report-failure': [],
  };
  /** Sorted as `grantsOf` sorts, identical statements once (CDK merges them). */
  const sorted = (grants: Grant[]) => [...new Map(grants.map((x) => [JSON.stringify(x), x])).values()].sort((a, b) => `${a.resource}${a.actions}`.localeCompare(`${b.resource}${b.actions}`));

  it.each(WORKFLOW_FUNCTIONS.map((f) => f.name))('%s: its role holds exactly its least-privilege statements', (name) => {
    // Act
    const grants = grantsOf(template(), name);
    // Assess
    expect(grants).toEqual(sorted([LOGS, XRAY, ...EXPECTED[name]!]));
  });

  it('gives each workflow function exactly the environment variables of the resources it uses (the database check also loads the RDS CAs)', () => {
    // Assess
    for (const spec of WORKFLOW_FUNCTIONS) {
      const [, fn] = resourceNamed(template(), 'AWS::Lambda::Function', `${pascalCase(spec.name)}Function`);
      const names = Object.keys((fn.Properties.Environment as { Variables: Cfn }).Variables).sort();
      const expected = (Object.keys(spec.uses) as Array<keyof Access>).filter((r) => r !== 'cloudHsm').flatMap((r) => Object.values(RESOURCES[r]).map((f) => f.env));
      const extra = spec.name === 'drill-database-check' ? ['NODE_EXTRA_CA_CERTS'] : [];
      expect(names, spec.name).toEqual([...new Set(['POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', ...expected, ...extra])].sort());
    }
    template().hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'govledger-test-drill-database-check', Environment: { Variables: Match.objectLike({ NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' }) } });
  });

  it('runs only the segment and the database check in the VPC, and lets the database check reach scratch clusters on the cluster port only', () => {
    // Assess
    for (const spec of WORKFLOW_FUNCTIONS) {
      const [, fn] = resourceNamed(template(), 'AWS::Lambda::Function', `${pascalCase(spec.name)}Function`);
      expect(fn.Properties.VpcConfig !== undefined, spec.name).toBe(['verification-segment', 'drill-database-check'].includes(spec.name));
    }
    const [, group] = resourceNamed(template(), 'AWS::EC2::SecurityGroup', 'DrillDatabaseSecurityGroup');
    expect(group.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })]); // CDK's way of saying none
    expect(group.Properties.SecurityGroupIngress).toEqual([expect.objectContaining({
      IpProtocol: 'tcp', FromPort: 5433, ToPort: 5433, SourceSecurityGroupId: { 'Fn::ImportValue': expect.stringMatching(/DatabaseClientSecurityGroup/) },
    })]);
    const [, restore] = resourceNamed(template(), 'AWS::Lambda::Function', 'DrillDatabaseRestoreFunction');
    expect((restore.Properties.Environment as { Variables: Cfn }).Variables.GOVLEDGER_DRILL_SECURITY_GROUP_ID).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DrillDatabaseSecurityGroup/), 'GroupId'] });
  });

  it('copies only replayed events of this deployment\'s drills to the collector, and names that rule in the restore\'s environment', () => {
    // Act
    const [, rule] = resourceNamed(template(), 'AWS::Events::Rule', 'VerificationDrillCollectorRule');
    const [, restore] = resourceNamed(template(), 'AWS::Lambda::Function', 'DrillEventsRestoreFunction');
    // Assess
    expect(rule.Properties).toMatchObject({
      Name: 'govledger-test-drill-collector',
      EventPattern: { account: [{ Ref: 'AWS::AccountId' }], 'replay-name': [{ prefix: 'govledger-test-ev-drill-' }] },
      Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': [functionId('drill-events-collector'), 'Arn'] }, RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 } })],
    });
    const ruleArn = render((restore.Properties.Environment as { Variables: Cfn }).Variables.GOVLEDGER_DRILL_COLLECTOR_RULE_ARN);
    expect(ruleArn).toMatch(/^arn:.*:events:.*:rule\/.*\/govledger-test-drill-collector$/);
  });

  it('declares every workflow function once, verification and drill apart', () => {
    // Assess
    expect(WORKFLOW_FUNCTIONS.map((f) => f.name)).toEqual([...VERIFICATION_FUNCTIONS, ...DRILL_FUNCTIONS].map((f) => f.name));
    expect(new Set(WORKFLOW_FUNCTIONS.map((f) => f.name)).size).toBe(WORKFLOW_FUNCTIONS.length);
  });
});

describe('workflows: cdk-nag AwsSolutions', () => {
  it('leaves no unacknowledged finding, and acknowledges each workflow finding on its resource with a reason', () => {
    // Act
    const own = acknowledgments(synthesized.app).filter((a) => a.path.includes('/Verification/') || WORKFLOW_FUNCTIONS.some((f) => a.path.includes(`/${pascalCase(f.name)}/`)));
    // Assess
    expect(synthesized.violations).toEqual([]);
    expect(own.length).toBeGreaterThan(0);
    for (const a of own) expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(60);
  });
});
