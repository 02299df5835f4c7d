import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESOURCES } from '../../lambdas/entry/shared/env.js';
import { oauthScope, SCOPES } from '../../lambdas/entry/shared/cognito.js';
import { PROBLEM_TYPES } from '../../lambdas/handlers/http/problem.js';
import { ROUTES } from '../../lambdas/handlers/routes.js';
import { FUNCTIONS, type Access } from '../../lib/functions.js';
import { pascalCase } from '../../lib/stateless-stack.js';
import { WORKFLOW_FUNCTIONS } from '../../lib/verification-functions.js';
import { acknowledgments, resourceNamed, synthesizeApp, type SynthesizedApp } from './app-fixture.js';
import { EXPECTED_GRANTS, grantsOf, LOGS, WRITES, XRAY } from './role-grants.js';

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesizeApp({ 'govledger:apiRateLimit': 40, 'govledger:apiBurstLimit': 80, 'govledger:logRetentionDays': 90 });
}, 120_000);
const template = () => synthesized.statelessTemplate;
type Cfn = Record<string, unknown>;

describe('StatelessStack: functions', () => {
  it('declares one function per spec, on nodejs22.x, arm64, traced, JSON logs into its own log group with the configured retention', () => {
    // Assess
    template().resourceCountIs('AWS::Lambda::Function', FUNCTIONS.length + WORKFLOW_FUNCTIONS.length);
    for (const spec of [...FUNCTIONS, ...WORKFLOW_FUNCTIONS]) {
      const [, fn] = resourceNamed(template(), 'AWS::Lambda::Function', `${pascalCase(spec.name)}Function`);
      const [logsId, logs] = resourceNamed(template(), 'AWS::Logs::LogGroup', `${pascalCase(spec.name)}Logs`);
      expect(fn.Properties, spec.name).toMatchObject({
        FunctionName: `govledger-test-${spec.name}`,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logsId } },
      });
      expect(logs.Properties.RetentionInDays).toBe(90);
    }
  });

  it('gives each function exactly the environment variables of the resources it uses, named by the entry contract', () => {
    // Assess
    for (const spec of FUNCTIONS) {
      const [, fn] = resourceNamed(template(), 'AWS::Lambda::Function', `${pascalCase(spec.name)}Function`);
      const names = Object.keys((fn.Properties.Environment as { Variables: Cfn }).Variables).sort();
      const expected = (Object.keys(spec.uses) as Array<keyof Access>)
        .filter((r) => r !== 'cloudHsm') // no key store in this deployment
        .flatMap((r) => Object.values(RESOURCES[r]).map((f) => f.env));
      expect(names, spec.name).toEqual(['POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', ...expected].sort());
    }
  });

  it.each(FUNCTIONS.map((f) => f.name))('%s: its role holds exactly its least-privilege statements', (name) => {
    // Prepare
    const vpc = FUNCTIONS.find((f) => f.name === name)!.vpc === true;
    const expected = [LOGS, XRAY, ...EXPECTED_GRANTS[name]!].sort((a, b) => `${a.resource}${a.actions}`.localeCompare(`${b.resource}${b.actions}`));
    // Act
    const grants = grantsOf(template(), name);
    // Assess
    expect(grants).toEqual(expected);
    expect(grants.some((x) => x.actions.includes('ec2:CreateNetworkInterface'))).toBe(vpc);
  });

  it('lets read routes read only: no statement of theirs can write, sign or publish', () => {
    // Assess
    for (const spec of FUNCTIONS.filter((f) => f.route && ROUTES.find((r) => r.operationId === f.route)!.method === 'GET')) {
      const writes = grantsOf(template(), spec.name).flatMap((x) => x.actions).filter((a) => WRITES.test(a));
      expect(writes, spec.name).toEqual([]);
    }
  });

  it('runs the database clients in the isolated subnets with the client security group, and nothing else in the VPC', () => {
    // Assess
    for (const spec of FUNCTIONS) {
      const [, fn] = resourceNamed(template(), 'AWS::Lambda::Function', `${pascalCase(spec.name)}Function`);
      const vpc = fn.Properties.VpcConfig as { SecurityGroupIds: unknown[]; SubnetIds: unknown[] } | undefined;
      expect(vpc !== undefined, spec.name).toBe(spec.uses.database !== undefined);
      if (vpc) {
        expect(JSON.stringify(vpc.SecurityGroupIds)).toMatch(/DatabaseClientSecurityGroup/);
        expect(JSON.stringify(vpc.SubnetIds)).toMatch(/isolatedSubnet1.*isolatedSubnet2/);
      }
    }
  });

  it('bundles nothing in unit tests (context aws:cdk:bundling-stacks = []): no asset holds a bundle', () => {
    // Act
    const bundled = readdirSync(synthesized.assemblyDir).filter((d) => d.startsWith('asset.') && existsSync(join(synthesized.assemblyDir, d, 'index.mjs')));
    // Assess
    expect(bundled).toEqual([]);
  });

  it('runs the log publisher with reserved concurrency 1 (one publisher per tenant at a time)', () => {
    // Assess
    template().hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'govledger-test-log-publisher', ReservedConcurrentExecutions: 1, Timeout: 300 });
  });
});

describe('StatelessStack: ledger stream consumers', () => {
  it.each([['LogPublisher', 1000, 20], ['LedgerStream', 100, 10]])('%s: batch inserts only, batching window, bisect, retries, max age, partial failures, DLQ', (id, batchSize, retries) => {
    // Assess
    template().hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp(`^${id}Function`) },
      EventSourceArn: { 'Fn::ImportValue': Match.stringLikeRegexp('TablesLedgerTable.*StreamArn') },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: batchSize,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: retries,
      MaximumRecordAgeInSeconds: 86_400,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${id}Dlq`), 'Arn'] } } },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { Keys: { sk: { S: [{ prefix: 'B#' }] } } } }) }] },
    });
  });

  it('keeps two readers on the stream, the most a DynamoDB Streams shard serves without throttling', () => {
    // Assess
    template().resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
  });

  it('encrypts the dead-letter queues and refuses them over plain HTTP', () => {
    // Assess
    template().resourceCountIs('AWS::SQS::Queue', 2);
    template().allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    template().allResourcesProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });
});

/** `METHOD /path` of every API method, rebuilt from the resource tree. */
function deployedRoutes(): Map<string, { fnLogicalId: string | undefined; method: Cfn }> {
  const resources = template().findResources('AWS::ApiGateway::Resource');
  const pathOf = (id: string): string => {
    const r = resources[id]!.Properties as { ParentId: unknown; PathPart: string };
    const parent = (r.ParentId as { Ref?: string }).Ref;
    return `${parent ? pathOf(parent) : ''}/${r.PathPart}`;
  };
  const routes = new Map<string, { fnLogicalId: string | undefined; method: Cfn }>();
  for (const method of Object.values(template().findResources('AWS::ApiGateway::Method'))) {
    const p = method.Properties as Cfn & { HttpMethod: string; ResourceId: { Ref: string }; Integration: { Uri?: unknown } };
    const fnLogicalId = /"Fn::GetAtt":\["(\w+Function[0-9A-F]{8})","Arn"\]/.exec(JSON.stringify(p.Integration.Uri))?.[1];
    routes.set(`${p.HttpMethod} ${pathOf(p.ResourceId.Ref)}`, { fnLogicalId, method: p });
  }
  return routes;
}

describe('StatelessStack: API', () => {
  it('declares exactly the shared route table, one method per route, each integrated with its own function', () => {
    // Act
    const routes = deployedRoutes();
    // Assess
    expect([...routes.keys()].sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of ROUTES) {
      const deployed = routes.get(`${route.method} ${route.path}`)!;
      const spec = FUNCTIONS.find((f) => f.route === route.operationId)!;
      expect(deployed.method.OperationName).toBe(route.operationId);
      expect(deployed.fnLogicalId, route.operationId).toMatch(new RegExp(`^${pascalCase(spec.name)}Function`));
      expect((deployed.method.Integration as Cfn).Type).toBe('AWS_PROXY');
    }
  });

  it('requires a Cognito access token carrying a govledger scope on every route but the public ones', () => {
    // Act
    const routes = deployedRoutes();
    // Assess
    for (const route of ROUTES) {
      const { method } = routes.get(`${route.method} ${route.path}`)!;
      if (route.auth) expect(method, route.operationId).toMatchObject({ AuthorizationType: 'COGNITO_USER_POOLS', AuthorizationScopes: SCOPES.map(oauthScope) });
      else expect(method.AuthorizationType, route.operationId).toBe('NONE');
    }
    template().hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'COGNITO_USER_POOLS', IdentitySource: 'method.request.header.Authorization' });
  });

  it('logs access, traces, throttles at the configured rate, and never logs bodies', () => {
    // Assess
    template().hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'live',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiAccessLogs'), 'Arn'] } },
      MethodSettings: [{ HttpMethod: '*', ResourcePath: '/*', LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true, ThrottlingRateLimit: 40, ThrottlingBurstLimit: 80 }],
    });
    template().hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: ['*/*'], EndpointConfiguration: { Types: ['REGIONAL'] } });
  });

  it.each([
    ['UNAUTHORIZED', PROBLEM_TYPES.UNAUTHORIZED], ['ACCESS_DENIED', PROBLEM_TYPES.INSUFFICIENT_SCOPE], ['MISSING_AUTHENTICATION_TOKEN', PROBLEM_TYPES.NOT_FOUND],
    ['THROTTLED', PROBLEM_TYPES.TOO_MANY_REQUESTS], ['WAF_FILTERED', PROBLEM_TYPES.REQUEST_BLOCKED], ['REQUEST_TOO_LARGE', PROBLEM_TYPES.BODY_TOO_LARGE],
  ] as const)('answers %s from the gateway as an RFC 9457 problem of the API\'s own types', (type, problem) => {
    // Act
    const [, response] = Object.entries(template().findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: type } }))[0]!;
    // Assess
    const p = response.Properties as { StatusCode: string; ResponseParameters: Cfn; ResponseTemplates: Record<string, string> };
    expect(p.StatusCode).toBe(String(problem.status));
    expect(p.ResponseParameters['gatewayresponse.header.Content-Type']).toBe("'application/problem+json'");
    expect(JSON.parse(p.ResponseTemplates['application/json']!)).toEqual({ type: problem.type, title: problem.title, status: problem.status, detail: expect.any(String), requestId: '$context.requestId' });
  });

  it('puts AWS WAF on the stage: IP reputation, a per-IP rate limit, common rules (body rules counted), known bad inputs; logs redact tokens', () => {
    // Assess
    template().hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({ Name: 'AWSManagedRulesAmazonIpReputationList', Priority: 0 }),
        Match.objectLike({ Name: 'RateLimitPerIp', Priority: 1, Action: { Block: {} }, Statement: { RateBasedStatement: { Limit: 3000, AggregateKeyType: 'IP' } } }),
        Match.objectLike({
          Name: 'AWSManagedRulesCommonRuleSet',
          Statement: { ManagedRuleGroupStatement: Match.objectLike({ RuleActionOverrides: Match.arrayWith([{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }]) }) },
        }),
        Match.objectLike({ Name: 'AWSManagedRulesKnownBadInputsRuleSet', Priority: 3 }),
      ],
    });
    template().hasResourceProperties('AWS::WAFv2::WebACLAssociation', { ResourceArn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.objectLike({ Ref: Match.stringLikeRegexp('^ApiDeploymentStagelive') })])]) }) });
    template().hasResourceProperties('AWS::WAFv2::LoggingConfiguration', { RedactedFields: [{ SingleHeader: { Name: 'authorization' } }] });
  });
});

describe('StatelessStack: alarms', () => {
  it('pages one SNS topic (TLS only, the configured e-mail) on errors, throttles, stream lag, DLQ depth, API 5xx and verification findings', () => {
    // Act
    const alarms = Object.values(template().findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties as Cfn & { AlarmName: string; AlarmActions: unknown[] });
    // Assess
    const names = alarms.map((a) => a.AlarmName.replace('govledger-test-', '')).sort();
    expect(names).toEqual([
      'api-5xx', 'ledger-stream-dlq', 'ledger-stream-iterator-age', 'log-publisher-dlq', 'log-publisher-iterator-age', 'verification-findings', 'verification-failures',
      ...['verification', 'drill'].flatMap((machine) => [`${machine}-failed`, `${machine}-timed-out`, `${machine}-aborted`]),
      ...[...FUNCTIONS, ...WORKFLOW_FUNCTIONS].flatMap((f) => [`${f.name}-errors`, `${f.name}-throttles`]),
    ].sort());
    for (const alarm of alarms) expect(JSON.stringify(alarm.AlarmActions), alarm.AlarmName).toMatch(/AlarmsTopic/);
    template().hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'govledger-test-verification-findings', Namespace: 'Govledger', MetricName: 'VerificationFindings', Dimensions: [{ Name: 'service', Value: 'govledger' }], Threshold: 1 });
    template().hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'govledger-test-log-publisher-iterator-age', MetricName: 'IteratorAge', Statistic: 'Maximum', Threshold: 300_000 });
    template().hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template().hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });
});

describe('StatelessStack: cdk-nag AwsSolutions', () => {
  it('leaves no unacknowledged error or warning in either stack', () => {
    // Assess
    expect(synthesized.violations).toEqual([]);
  });

  it('acknowledges findings on the resource they concern, each with a reason that says why', () => {
    // Act
    const own = acknowledgments(synthesized.app).filter((a) => a.path.startsWith(synthesized.stateless.stackName) && a.id.includes('AwsSolutions-'));
    // Assess
    const rules = new Set(own.map((a) => a.id.replace(/^[^:]+::/, '').replace(/\[.*$/, '')));
    expect([...rules].sort()).toEqual(['AwsSolutions-APIG2', 'AwsSolutions-APIG4', 'AwsSolutions-COG4', 'AwsSolutions-IAM4', 'AwsSolutions-IAM5', 'AwsSolutions-L1', 'AwsSolutions-SQS3']);
    for (const a of own) {
      expect(a.path, a.id).not.toBe(synthesized.stateless.stackName);
      expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(60);
    }
    const publicMethods = own.filter((a) => a.id.endsWith('AwsSolutions-APIG4')).map((a) => a.path.split('/').slice(-2).join('/'));
    expect(publicMethods.sort()).toEqual(['healthz/GET', 'openapi.json/GET']);
  });

  it('does report an unacknowledged finding (the checks really run)', () => {
    // Prepare
    const app = new App();
    const stack = new Stack(app, 'Canary');
    new Bucket(stack, 'NoTls');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // Act
    const synth = () => app.synth();
    // Assess
    expect(synth).toThrow(/AwsSolutions-S10/);
  });
});
