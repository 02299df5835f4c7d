/**
 * The least privilege of each function, written out by hand for
 * test/lib/stateless-stack.test.ts, and a reader that turns a role's policy
 * in the template into the same shape: one line per resource, its actions,
 * and its condition, with CloudFormation references named.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import { pascalCase } from '../../lib/stateless-stack.js';
import { resourceNamed } from './app-fixture.js';

/** A CloudFormation value as a readable label: the resource an IAM statement names. */
function label(value: unknown): string {
  if (value === '*') return '*';
  const json = JSON.stringify(value);
  const text = typeof value === 'object' && value !== null && 'Fn::Join' in value
    ? ((value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]).map((p) => (typeof p === 'string' ? p : '~')).join('')
    : '';
  if (/Logs[0-9A-F]{8}"/.test(json)) return 'own log group';
  if (/Dlq[0-9A-F]{8}"/.test(json)) return 'dlq';
  const scratch = /^arn:~:(dynamodb|rds|events|rds-db):~:~:(.*-\*(\/\w+)?)$/.exec(text);
  if (scratch) return `${scratch[1]} ${scratch[2]}`;
  for (const [pattern, name] of [[/LedgerTable\w*StreamArn/, 'ledger stream'], [/LedgerTable\w*Arn/, 'ledger table'], [/KeyTable\w*Arn/, 'key table'], [/DataKey/, 'data key'],
    [/MasterKey/, 'master key'], [/SigningKey/, 'signing key'], [/LedgerArchive/, 'event archive'], [/LedgerBus/, 'event bus'], [/ClusterSecretAttachment/, 'admin secret']] as const) if (pattern.test(json)) return name;
  const bucket = /:s3:::govledger-test-(log|events|reports|scratch)-~-~(\/.*)?$/.exec(text);
  if (bucket) return `${bucket[1]} bucket${bucket[2] ?? ''}`;
  const user = /:rds-db:~:~:dbuser:~\/(govledger_\w+)$/.exec(text);
  if (user) return `db user ${user[1]}`;
  if (/DatabaseClusterSubnets/.test(json)) return 'db subnet group';
  if (/DatabaseCluster/.test(json)) return 'db cluster';
  throw new Error(`unlabelled resource ${json}`);
}

function conditionLabel(condition: unknown): string | undefined {
  if (condition === undefined) return undefined;
  return JSON.stringify(condition).replace(/\{"Fn::Join":\["",\["(\w+)\.",\{"Ref":"AWS::Region"\},"\.amazonaws\.com"\]\]\}/g, '"$1"');
}

export interface Grant { readonly actions: string[]; readonly resource: string; readonly condition?: string }

/** Every statement of a function's role, one line per resource, sorted. */
export function grantsOf(template: Template, name: string): Grant[] {
  const [, policy] = resourceNamed(template, 'AWS::IAM::Policy', `${pascalCase(name)}RoleDefaultPolicy`);
  const statements = (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string }> }).Statement;
  return statements.flatMap((s) => {
    expect(s.Effect).toBe('Allow');
    const actions = [s.Action].flat().sort();
    const condition = conditionLabel(s.Condition);
    return [s.Resource].flat().map((r) => ({ actions, resource: label(r), ...(condition ? { condition } : {}) }));
  }).sort((a, b) => `${a.resource}${a.actions}`.localeCompare(`${b.resource}${b.actions}`));
}

export const g = (resource: string, actions: string[], condition?: Record<string, unknown>): Grant => ({ actions: [...actions].sort(), resource, ...(condition ? { condition: JSON.stringify(condition) } : {}) });
export const LOGS = g('own log group', ['logs:CreateLogStream', 'logs:PutLogEvents']);
export const XRAY = g('*', ['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
export const ENI = g('*', ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses']);
export const via = (service: string) => ({ StringEquals: { 'kms:ViaService': service } });
export const READ = ['dynamodb:GetItem', 'dynamodb:Query'];
export const KEK = { StringEquals: { 'kms:EncryptionContext:purpose': 'govledger/kek' } };
export const dataKey = (service: string, writes: boolean) => g('data key', writes ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'], via(service));
export const logBucketRead = [g('log bucket/*', ['s3:GetObject']), g('log bucket', ['s3:ListBucket']), dataKey('s3', false)];
const STREAM = [g('ledger stream', ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']), g('*', ['dynamodb:ListStreams']),
  g('data key', ['kms:Decrypt', 'kms:DescribeKey']), g('dlq', ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'])];

/** What each function may do, written out by hand: the least privilege its adapters need, nothing else. */
export const EXPECTED_GRANTS: Record<string, Grant[]> = {
  'append-records': [g('ledger table', [...READ, 'dynamodb:PutItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem']), dataKey('dynamodb', true), g('key table', [...READ, 'dynamodb:PutItem', 'dynamodb:DeleteItem']), g('master key', ['kms:GenerateDataKey', 'kms:Decrypt'], KEK)],
  'list-records': [ENI, g('db user govledger_reader', ['rds-db:connect'])],
  'get-record': [ENI, g('db user govledger_reader', ['rds-db:connect']), g('ledger table', READ), dataKey('dynamodb', false), g('key table', READ), g('master key', ['kms:Decrypt'], KEK), ...logBucketRead],
  'get-record-history': [ENI, g('db user govledger_reader', ['rds-db:connect'])],
  'get-entry': [g('ledger table', READ), dataKey('dynamodb', false), ...logBucketRead],
  'get-consistency-proof': logBucketRead,
  'get-commitment': [g('ledger table', READ), dataKey('dynamodb', false), ...logBucketRead],
  'get-checkpoint': logBucketRead,
  'get-tile': logBucketRead,
  'get-log-key': [g('signing key', ['kms:GetPublicKey'])],
  'rotate-keys': [g('ledger table', [...READ, 'dynamodb:PutItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem']), dataKey('dynamodb', true), g('key table', [...READ, 'dynamodb:PutItem', 'dynamodb:DeleteItem']), g('master key', ['kms:GenerateDataKey'], KEK)],
  'shred-tenant': [ENI, g('ledger table', [...READ, 'dynamodb:PutItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem']), dataKey('dynamodb', true), g('key table', [...READ, 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']), g('db user govledger_purger', ['rds-db:connect'])],
  'get-open-api': [],
  healthz: [g('ledger table', READ), dataKey('dynamodb', false), g('key table', READ), ...logBucketRead],
  'log-publisher': [g('ledger table', READ), dataKey('dynamodb', false), g('signing key', ['kms:GetPublicKey']), g('signing key', ['kms:Sign'], { StringEquals: { 'kms:SigningAlgorithm': 'ED25519_SHA_512', 'kms:MessageType': 'RAW' } }),
    g('log bucket/*', ['s3:GetObject', 's3:PutObject']), g('log bucket', ['s3:ListBucket']), dataKey('s3', true), ...STREAM],
  'ledger-stream': [ENI, g('key table', READ), dataKey('dynamodb', false), g('master key', ['kms:Decrypt'], KEK), g('event bus', ['events:PutEvents']),
    g('events bucket/*', ['s3:GetObject', 's3:PutObject']), g('events bucket', ['s3:ListBucket']), dataKey('s3', true), g('db user govledger_projector', ['rds-db:connect']), ...STREAM],
};
export const WRITES = /^(dynamodb:(PutItem|DeleteItem|BatchWriteItem|UpdateItem)|s3:(PutObject|DeleteObject)|kms:(Sign|Encrypt|GenerateDataKey)|events:PutEvents)$/;

