/**
 * THE bundling test: synthesizes the app with Lambda bundling on (local
 * esbuild, no Docker) and checks every function's bundle: its size against
 * its budget, that it holds exactly the AWS SDK clients its resources need,
 * and that it loads in Node with the environment the stack gives it (cold
 * start wiring included) and exports `handler`. Two bundles are invoked.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import { METAFILE_CONTEXT } from '../../lib/bundling/lambda-code.js';
import { DEFAULT_BUNDLE_BUDGET, FUNCTIONS, type Access, type FunctionSpec } from '../../lib/functions.js';
import { WORKFLOW_FUNCTIONS } from '../../lib/verification-functions.js';
import { BASE_CONTEXT } from './app-fixture.js';

/** The functions of the stateful stack (the pool's trigger, the projection provisioner), next to the stateless ones. */
const PRE_TOKEN: FunctionSpec = { name: 'cognito-pre-token', entry: 'cognito-pre-token.ts', description: '', uses: {} };
const PROVISIONER: FunctionSpec = { name: 'provision-projection', entry: 'provision-projection.ts', description: '', uses: {} };
const SPECS = [...FUNCTIONS, ...WORKFLOW_FUNCTIONS, PRE_TOKEN, PROVISIONER];
/** SDK clients of functions that are not `FunctionSpec`s, so have no `uses` to derive them from. */
const OWN_CLIENTS: Record<string, readonly string[]> = { 'provision-projection': ['@aws-sdk/client-secrets-manager'] };

/** The SDK client each resource needs (the drill's, per kind of scratch resource). */
const CLIENT_OF: Record<keyof Access, string | undefined | ((level: string) => string | undefined)> = {
  ledgerTable: '@aws-sdk/client-dynamodb', keyTable: '@aws-sdk/client-dynamodb', logBucket: '@aws-sdk/client-s3', eventBucket: '@aws-sdk/client-s3',
  masterKey: '@aws-sdk/client-kms', signingKey: '@aws-sdk/client-kms', cloudHsm: '@aws-sdk/client-cloudhsm-v2', eventBus: '@aws-sdk/client-eventbridge',
  tokens: undefined, database: undefined, logOrigin: undefined, reportsBucket: '@aws-sdk/client-s3', scratchBucket: '@aws-sdk/client-s3',
  drill: (level) => ({ ledger: '@aws-sdk/client-dynamodb', database: level === 'database-restore' ? '@aws-sdk/client-rds' : undefined, events: '@aws-sdk/client-eventbridge' })[level.split('-')[0]!],
};
const clientOf = (uses: Access, resource: keyof Access): string | undefined => {
  const client = CLIENT_OF[resource];
  return typeof client === 'function' ? client(String(uses[resource])) : client;
};

/** Plausible values for what the template leaves to CloudFormation (imports, attributes). */
const FAKE: Record<string, string> = {
  GOVLEDGER_LEDGER_TABLE: 'govledger-test-ledger', GOVLEDGER_KEY_TABLE: 'govledger-test-keys',
  GOVLEDGER_MASTER_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-4333-8444-555555555555',
  GOVLEDGER_SIGNING_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:key/66666666-7777-4888-9999-000000000000',
  GOVLEDGER_TOKEN_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123', GOVLEDGER_TOKEN_CLIENT_ID: 'app1client',
  GOVLEDGER_EVENT_BUS: 'govledger-test-ledger', GOVLEDGER_DB_HOST: 'govledger-test.proxy-abc123.eu-west-1.rds.amazonaws.com',
  GOVLEDGER_DB_ADMIN_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:DatabaseClusterSecret-AbCdEf',
  GOVLEDGER_DRILL_SOURCE_TABLE: 'govledger-test-ledger', GOVLEDGER_DRILL_SOURCE_CLUSTER: 'govledger-test', GOVLEDGER_DRILL_SUBNET_GROUP: 'govledger-test-subnets', GOVLEDGER_DRILL_SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
  GOVLEDGER_DRILL_DATA_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-4333-8444-555555555555',
  GOVLEDGER_DRILL_ARCHIVE_ARN: 'arn:aws:events:eu-west-1:123456789012:archive/govledger-test-ledger', GOVLEDGER_DRILL_BUS_ARN: 'arn:aws:events:eu-west-1:123456789012:event-bus/govledger-test-ledger',
  GOVLEDGER_DRILL_COLLECTOR_RULE_ARN: 'govledger-test-ledger', // the bus name inside the rule's ARN (a join)
};
const PSEUDO: Record<string, string> = { 'AWS::AccountId': '123456789012', 'AWS::Region': 'eu-west-1', 'AWS::Partition': 'aws' };

/** A template value as a string: pseudo parameters and joins resolved, anything else faked by variable name. */
function resolve(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (v.Ref !== undefined && PSEUDO[v.Ref] !== undefined) return PSEUDO[v.Ref]!;
  if (v['Fn::Join']) return v['Fn::Join'][1].map((part) => resolve(name, part)).join(v['Fn::Join'][0]);
  if (FAKE[name] === undefined) throw new Error(`no fake value for ${name}: ${JSON.stringify(value)}`);
  return FAKE[name]!;
}

interface Bundle {
  readonly spec: FunctionSpec;
  readonly file: string;
  readonly environment: Record<string, string>;
  readonly metafile: { inputs: Record<string, { imports?: Array<{ path: string }> }>; outputs: Record<string, { bytes: number; inputs: Record<string, unknown> }> };
}

let bundles: Map<string, Bundle>;
let synthMs = 0;
let loaded: Map<string, Loaded>;

beforeAll(() => {
  const started = Date.now();
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'govledger-bundles-')), context: { ...BASE_CONTEXT, [METAFILE_CONTEXT]: true } });
  buildApp(app);
  const assembly: CloudAssembly = app.synth();
  synthMs = Date.now() - started;
  loaded = new Map();
  bundles = new Map();
  for (const stack of assembly.stacks) {
    for (const resource of Object.values(stack.template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const name = String(resource.Properties.FunctionName).replace('govledger-test-', '');
      const spec = SPECS.find((s) => s.name === name);
      if (!spec) continue; // CDK's own helper functions
      const dir = join(assembly.directory, `asset.${String((resource.Properties.Code as { S3Key: string }).S3Key).replace('.zip', '')}`);
      const variables = (resource.Properties.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
      bundles.set(name, {
        spec,
        file: join(dir, 'index.mjs'),
        environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolve(k, v)])),
        metafile: JSON.parse(readFileSync(join(dir, 'index.meta.json'), 'utf8')),
      });
    }
  }
  const names = [...bundles.keys()];
  load(names.map((name) => ({ bundle: bundles.get(name)! }))).forEach((result, i) => loaded.set(names[i]!, result));
}, 300_000);
afterAll(() => {
  const loadMs = [...(loaded?.values() ?? [])].reduce((sum, l) => sum + l.ms, 0);
  console.info(`bundles.test: synth with bundling of ${bundles?.size} functions took ${synthMs} ms; loading them all ${loadMs} ms`);
});

interface Loaded {
  readonly handler?: string;
  readonly result?: { statusCode?: number; body?: string; response?: unknown };
  readonly error?: string;
  readonly ms: number;
}

/**
 * Loads bundles in a plain Node process (test/lib/bundle-loader.mjs), as Lambda
 * does, each with exactly the stack's environment plus the region Lambda sets;
 * `invoke` also calls the handler once.
 */
function load(jobs: ReadonlyArray<{ bundle: Bundle; env?: Record<string, string>; query?: string; invoke?: { event: unknown; context: Record<string, unknown> } }>): Loaded[] {
  const payload = jobs.map((j) => ({
    file: j.bundle.file,
    env: { AWS_REGION: 'eu-west-1', POWERTOOLS_LOG_LEVEL: 'SILENT', ...(j.env ?? j.bundle.environment) },
    ...(j.query ? { query: j.query } : {}),
    ...(j.invoke ? { invoke: j.invoke } : {}),
  }));
  const run = spawnSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'bundle-loader.mjs'), JSON.stringify(payload)], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  if (run.status !== 0) throw new Error(`bundle loader failed: ${run.stderr}`);
  return run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Loaded);
}

/** `@aws-sdk/client-*` packages in a bundle: those our code imports, and all of them. */
function clients(bundle: Bundle): { ours: Set<string>; all: Set<string> } {
  const output = Object.values(bundle.metafile.outputs)[0]!;
  const packageOf = (path: string) => /node_modules\/(@aws-sdk\/client-[a-z0-9-]+)\//.exec(path)?.[1];
  const all = new Set(Object.keys(output.inputs).map(packageOf).filter((p): p is string => p !== undefined));
  const ours = new Set<string>();
  for (const [path, input] of Object.entries(bundle.metafile.inputs)) {
    if (!path.startsWith('lambdas/') || !(path in output.inputs)) continue;
    for (const imported of input.imports ?? []) {
      const client = packageOf(imported.path);
      if (client) ours.add(client);
    }
  }
  return { ours, all };
}

describe('Lambda bundles', () => {
  it('bundles every function, the stateful stack\'s trigger included', () => {
    // Assess
    expect([...bundles.keys()].sort()).toEqual(SPECS.map((s) => s.name).sort());
  });

  it.each(SPECS.map((s) => s.name))('%s: stays within its size budget (1 MB unless its spec says why)', (name) => {
    // Prepare
    const bundle = bundles.get(name)!;
    // Act
    const bytes = statSync(bundle.file).size;
    // Assess
    expect(bytes).toBeLessThanOrEqual(bundle.spec.bundleBudget ?? DEFAULT_BUNDLE_BUDGET);
  });

  it.each(SPECS.map((s) => s.name))('%s: holds exactly the AWS SDK clients its resources need', (name) => {
    // Prepare
    const bundle = bundles.get(name)!;
    const expected = new Set([...(Object.keys(bundle.spec.uses) as Array<keyof Access>).map((r) => clientOf(bundle.spec.uses, r)).filter((c): c is string => c !== undefined), ...(OWN_CLIENTS[name] ?? [])]);
    // Act
    const { ours, all } = clients(bundle);
    // Assess
    expect([...ours].sort()).toEqual([...expected].sort());
    // Others may only come with a client we use (the pinned CloudHSM client brings its own credential chain).
    const extra = [...all].filter((c) => !expected.has(c));
    expect(extra.length === 0 || expected.has('@aws-sdk/client-cloudhsm-v2'), `${name}: ${extra.join(', ')}`).toBe(true);
  });

  it.each(SPECS.map((s) => s.name))('%s: loads with the environment the stack gives it and exports handler', (name) => {
    // Act (in beforeAll: one Node process loads every bundle)
    const result = loaded.get(name)!;
    // Assess
    expect(result).toMatchObject({ handler: 'function' });
    expect(result.error).toBeUndefined();
  });

  it('runs a bundled API handler end to end: GET /v1/openapi.json through the REST bridge', () => {
    // Prepare
    const event = {
      resource: '/v1/openapi.json', path: '/v1/openapi.json', httpMethod: 'GET', headers: {}, multiValueHeaders: {}, queryStringParameters: null, multiValueQueryStringParameters: null,
      pathParameters: null, stageVariables: null, body: null, isBase64Encoded: false,
      requestContext: { accountId: '123456789012', apiId: 'a', protocol: 'HTTP/1.1', requestId: 'r-1', stage: 'live', requestTimeEpoch: 0, identity: { sourceIp: '203.0.113.1' } },
    };
    // Act
    const [{ result, error }] = load([{ bundle: bundles.get('get-open-api')!, invoke: { event, context: { awsRequestId: 'r-1', functionName: 'govledger-test-get-open-api' } } }]) as [Loaded];
    // Assess
    expect(error).toBeUndefined();
    expect(result?.statusCode).toBe(200);
    expect(JSON.parse(result!.body!)).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
  });

  it('runs the bundled pre token trigger: tenants and scopes into the access token', () => {
    // Prepare
    const event = { version: '2', triggerSource: 'TokenGeneration_Authentication', userName: 'alice', request: { userAttributes: { 'custom:tenants': 'acme' }, groupConfiguration: { groupsToOverride: ['records:read'] } }, response: {} };
    // Act
    const [{ result }] = load([{ bundle: bundles.get('cognito-pre-token')!, invoke: { event, context: { awsRequestId: 'r-2', functionName: 'govledger-test-cognito-pre-token' } } }]) as [Loaded];
    // Assess
    expect(result?.response).toEqual({ claimsAndScopeOverrideDetails: { accessTokenGeneration: { claimsToAddOrOverride: { tenants: ['acme'] }, scopesToAdd: ['govledger/records:read'] } } });
  });

  it('runs the bundled projection provisioner: a Delete answers CloudFormation and touches nothing (no secret read, no connection)', () => {
    // Prepare
    const event = { RequestType: 'Delete', PhysicalResourceId: 'govledger-projection', ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:f' }, ServiceToken: '', ResponseURL: '', StackId: '', RequestId: 'r-3', LogicalResourceId: 'DatabaseProvisioning', ResourceType: 'Custom::GovledgerProjectionDatabase' };
    const bundle = bundles.get('provision-projection')!;
    // Act (its log line silenced: the loader's stdout carries one JSON result per line)
    const [{ result, error }] = load([{ bundle, env: { ...bundle.environment, POWERTOOLS_LOG_LEVEL: 'SILENT' }, invoke: { event, context: { awsRequestId: 'r-3', functionName: 'govledger-test-provision-projection' } } }]) as [Loaded];
    // Assess
    expect(error).toBeUndefined();
    expect(result).toEqual({ PhysicalResourceId: 'govledger-projection' });
  });

  it('fails the cold start with every wrong variable named when the environment is wrong', () => {
    // Prepare
    const bundle = bundles.get('get-entry')!;
    // Act
    const [{ error }] = load([{ bundle, env: { ...bundle.environment, GOVLEDGER_LOG_BUCKET: 'Not_A_Bucket', GOVLEDGER_LEDGER_TABLE: '' } }]) as [Loaded];
    // Assess
    expect(error).toMatch(/^EntryConfigError: .*GOVLEDGER_LEDGER_TABLE: not set \(ledgerTable\); GOVLEDGER_LOG_BUCKET: "Not_A_Bucket" is not an S3 bucket name/);
  });
});
