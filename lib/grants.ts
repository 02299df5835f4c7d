/**
 * From a function's `Access` to its exact IAM statements and environment.
 * Written out rather than CDK's `grant*` helpers: those grant more than our
 * adapters call (e.g. `grantReadData` adds Scan, BatchGetItem and the index
 * wildcard), and least privilege here means the adapters' own calls only:
 *
 * - ledger table: GetItem/Query (read), plus PutItem and the index items'
 *   BatchGetItem/BatchWriteItem (append: one index read and one index write per batch);
 * - key table: GetItem/Query (read), plus PutItem/DeleteItem (write: a new KEK
 *   or DEK, and taking it back when a shred raced it), plus BatchWriteItem (shred);
 * - storage key: only through DynamoDB or S3 (`kms:ViaService`);
 * - master key: GenerateDataKey and/or Decrypt, only with encryption context
 *   `purpose = govledger/kek`, the context `KmsMasterKey` always sends;
 * - signing key: GetPublicKey; Sign only ED25519_SHA_512 over RAW messages;
 * - buckets: GetObject + ListBucket (so a missing key is a 404, not a 403), plus PutObject.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IDatabaseProxy } from 'aws-cdk-lib/aws-rds';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { RESOURCES, type Resource } from '../lambdas/entry/shared/env.js';
import type { Access } from './functions.js';

/** The stateful resources grants point at, and the values their environment variables carry. */
export interface GrantTargets {
  readonly ledgerTable: ITable;
  readonly keyTable: ITable;
  readonly logBucket: IBucket;
  readonly eventBucket: IBucket;
  /** How cdk-nag names each bucket's `<arn>/*` resource (see `ledgerBucketObjectsFinding`). */
  readonly bucketObjectFindings: { readonly log: string; readonly events: string };
  readonly dataKey: IKey;
  readonly masterKey: IKey;
  readonly signingKey: IKey;
  readonly eventBus: IEventBus;
  readonly proxy: IDatabaseProxy;
  readonly databaseUsers: { readonly projector: string; readonly reader: string; readonly purger: string };
  readonly databaseName: string;
  readonly databasePort: number;
  readonly logPrefix: string;
  readonly tokenIssuer: string;
  readonly tokenClientId: string;
  /** Set when the master key lives in a CloudHSM key store. */
  readonly cloudHsmClusterId?: string;
}

/** What `grantsFor` produced: statements to add, `*` statements with the reason each needs it, and other wildcard findings to acknowledge. */
export interface Grants {
  readonly statements: PolicyStatement[];
  readonly wildcards: ReadonlyArray<{ readonly actions: readonly string[]; readonly reason: string }>;
  readonly findings: ReadonlyArray<{ readonly finding: string; readonly reason: string }>;
}

const statement = (actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>) =>
  new PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) });

const TABLE_ACTIONS = {
  read: ['dynamodb:GetItem', 'dynamodb:Query'],
  append: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'],
  write: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  shred: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
} as const;
const MASTER_KEY_ACTIONS = { generate: ['kms:GenerateDataKey'], unwrap: ['kms:Decrypt'], wrap: ['kms:GenerateDataKey', 'kms:Decrypt'] } as const;

/** Storage-key use through one service: decrypt to read, also encrypt/generate to write. */
function storageKey(key: IKey, service: 's3' | 'dynamodb', writes: boolean): PolicyStatement {
  const actions = writes ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'];
  return statement(actions, [key.keyArn], { StringEquals: { 'kms:ViaService': `${service}.${Stack.of(key).region}.amazonaws.com` } });
}

function bucket(target: IBucket, key: IKey, writes: boolean): PolicyStatement[] {
  return [
    statement(writes ? ['s3:GetObject', 's3:PutObject'] : ['s3:GetObject'], [target.arnForObjects('*')]),
    statement(['s3:ListBucket'], [target.bucketArn]),
    storageKey(key, 's3', writes),
  ];
}

/**
 * The IAM statements for `uses`.
 *
 * @example
 * const { statements } = grantsFor({ ledgerTable: 'read', logBucket: 'read' }, targets);
 */
export function grantsFor(uses: Access, t: GrantTargets): Grants {
  const statements: PolicyStatement[] = [];
  const wildcards: Array<{ actions: readonly string[]; reason: string }> = [];
  const findings: Array<{ finding: string; reason: string }> = [];
  const objects = (finding: string, what: string) =>
    findings.push({ finding, reason: `S3 object actions are granted per object ARN; the ${what} holds every tenant's objects under its own prefix and the function may read${what === 'log bucket' && uses.logBucket === 'publish' ? '/write' : ''} any of them` });
  if (uses.ledgerTable) {
    statements.push(statement([...TABLE_ACTIONS[uses.ledgerTable]], [t.ledgerTable.tableArn]), storageKey(t.dataKey, 'dynamodb', uses.ledgerTable !== 'read'));
  }
  if (uses.keyTable) {
    statements.push(statement([...TABLE_ACTIONS[uses.keyTable]], [t.keyTable.tableArn]), storageKey(t.dataKey, 'dynamodb', uses.keyTable !== 'read'));
  }
  if (uses.masterKey) {
    statements.push(statement([...MASTER_KEY_ACTIONS[uses.masterKey]], [t.masterKey.keyArn], { StringEquals: { 'kms:EncryptionContext:purpose': 'govledger/kek' } }));
  }
  if (uses.signingKey) {
    statements.push(statement(['kms:GetPublicKey'], [t.signingKey.keyArn]));
    if (uses.signingKey === 'sign') {
      statements.push(statement(['kms:Sign'], [t.signingKey.keyArn], { StringEquals: { 'kms:SigningAlgorithm': 'ED25519_SHA_512', 'kms:MessageType': 'RAW' } }));
    }
  }
  if (uses.logBucket) {
    statements.push(...bucket(t.logBucket, t.dataKey, uses.logBucket === 'publish'));
    objects(t.bucketObjectFindings.log, 'log bucket');
  }
  if (uses.eventBucket) {
    statements.push(...bucket(t.eventBucket, t.dataKey, uses.eventBucket === 'write'));
    objects(t.bucketObjectFindings.events, 'event bucket');
  }
  if (uses.eventBus) statements.push(statement(['events:PutEvents'], [t.eventBus.eventBusArn]));
  if (uses.database) {
    const proxyId = Stack.of(t.proxy).splitArn(t.proxy.dbProxyArn, ArnFormat.COLON_RESOURCE_NAME).resourceName!;
    const user = t.databaseUsers[uses.database];
    statements.push(statement(['rds-db:connect'], [Stack.of(t.proxy).formatArn({ service: 'rds-db', resource: 'dbuser', resourceName: `${proxyId}/${user}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })]));
  }
  if (uses.cloudHsm && t.cloudHsmClusterId !== undefined) {
    wildcards.push({ actions: ['cloudhsm:DescribeClusters'], reason: 'cloudhsm:DescribeClusters (the /healthz CloudHSM probe) does not support resource-level permissions' });
  }
  return { statements, wildcards, findings };
}

/** The value of each config field of each resource, from the stateful stack. */
function fieldValues(t: GrantTargets, uses: Access): Record<Resource, Record<string, string | undefined>> {
  return {
    ledgerTable: { ledgerTable: t.ledgerTable.tableName },
    keyTable: { keyTable: t.keyTable.tableName },
    logBucket: { logBucket: t.logBucket.bucketName },
    masterKey: { masterKeyArn: t.masterKey.keyArn },
    signingKey: { signingKeyArn: t.signingKey.keyArn, logPrefix: t.logPrefix },
    tokens: { tokenIssuer: t.tokenIssuer, tokenClientId: t.tokenClientId },
    cloudHsm: { cloudHsmClusterId: t.cloudHsmClusterId },
    eventBus: { eventBusName: t.eventBus.eventBusName },
    eventBucket: { eventBucket: t.eventBucket.bucketName },
    database: {
      dbHost: t.proxy.endpoint,
      dbPort: String(t.databasePort),
      dbName: t.databaseName,
      dbUser: uses.database === undefined ? undefined : t.databaseUsers[uses.database],
    },
  };
}

/**
 * The environment variables of `uses`, named by the entry contract
 * (`lambdas/entry/shared/env.ts`); optional values that are unset are left out.
 *
 * @example
 * environmentFor({ ledgerTable: 'read' }, targets); // → { GOVLEDGER_LEDGER_TABLE: <table name> }
 */
export function environmentFor(uses: Access, t: GrantTargets): Record<string, string> {
  const values = fieldValues(t, uses);
  const env: Record<string, string> = {};
  for (const resource of Object.keys(uses) as Resource[]) {
    for (const [field, spec] of Object.entries(RESOURCES[resource])) {
      const value = values[resource][field];
      if (value !== undefined) env[spec.env] = value;
    }
  }
  return env;
}
