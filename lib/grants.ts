/**
 * From a function's `Access` to its exact IAM statements and environment.
 * Written out rather than CDK's `grant*` helpers: those grant more than our
 * adapters call (e.g. `grantReadData` adds Scan, BatchGetItem and the index
 * wildcard), and least privilege here means the adapters' own calls only:
 *
 * - ledger table: GetItem/Query (read), plus PutItem and the index items'
 *   BatchGetItem/BatchWriteItem (append: one index read and one index write per batch),
 *   or only Scan (list: the tenants, for the verification and drill plans), or read plus
 *   BatchGetItem (verify: a verification plan looks recovery entries up in the index items);
 * - key table: GetItem/Query (read), plus PutItem/DeleteItem (write: a new KEK
 *   or DEK, and taking it back when a shred raced it), plus BatchWriteItem (shred);
 * - storage key: only through DynamoDB or S3 (`kms:ViaService`);
 * - master key: GenerateDataKey and/or Decrypt, only with encryption context
 *   `purpose = govledger/kek`, the context `KmsMasterKey` always sends;
 * - signing key: GetPublicKey; Sign only ED25519_SHA_512 over RAW messages;
 * - buckets: GetObject + ListBucket (so a missing key is a 404, not a 403), plus PutObject;
 *   the scratch bucket per prefix (`runs/*` or `drills/*`), DeleteObject only to clear `drills/*`;
 * - drill: the restores' own calls on the scratch resources `govledger-<env>-*-drill-*`
 *   (see {@link drillGrants}).
 */
import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
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
  readonly reportsBucket: IBucket;
  readonly scratchBucket: IBucket;
  /** How cdk-nag names each bucket's object resource (see `ledgerBucketObjectsFinding`). */
  readonly bucketObjectFindings: { readonly log: string; readonly events: string; readonly reports: string; readonly scratchRuns: string; readonly scratchDrills: string };
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
  /** What the drill restores from and into. */
  readonly drill: DrillTargets;
}

/** The drill's sources and the settings of its scratch resources. */
export interface DrillTargets {
  /** `govledger-<env>`: scratch resources are `<prefix>-<kind>-drill-<time>` (`drillScratchName`). */
  readonly namePrefix: string;
  readonly sourceCluster: string;
  readonly subnetGroup: string;
  /** The group a scratch cluster joins: reachable from the database clients on the cluster port. */
  readonly securityGroupId: string;
  readonly archiveArn: string;
  /** The rule a replay is limited to (`FilterArns`): it copies replayed events to the scratch bucket. */
  readonly collectorRuleArn: string;
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
  list: ['dynamodb:Scan'],
  read: ['dynamodb:GetItem', 'dynamodb:Query'],
  verify: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
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

function bucket(target: IBucket, key: IKey, writes: boolean, objects = '*'): PolicyStatement[] {
  return [
    statement(writes ? ['s3:GetObject', 's3:PutObject'] : ['s3:GetObject'], [target.arnForObjects(objects)]),
    statement(['s3:ListBucket'], [target.bucketArn]),
    storageKey(key, 's3', writes),
  ];
}

/** The scratch bucket's statements: segment outcomes are put (mutable) or read; replayed events are put write-once, read, or cleared. */
function scratch(level: NonNullable<Access['scratchBucket']>, t: GrantTargets): PolicyStatement[] {
  const [prefix, use] = level.split('-') as ['runs' | 'drills', 'read' | 'write' | 'clear'];
  const objects = t.scratchBucket.arnForObjects(`${prefix}/*`);
  if (use === 'clear') return [statement(['s3:DeleteObject'], [objects]), statement(['s3:ListBucket'], [t.scratchBucket.bucketArn])];
  // A mutable put neither reads nor lists; a write-once put reads the key when S3 reports it exists.
  if (level === 'runs-write') return [statement(['s3:PutObject'], [objects]), storageKey(t.dataKey, 's3', true)];
  return bucket(t.scratchBucket, t.dataKey, use === 'write', `${prefix}/*`);
}

/**
 * How cdk-nag prints the start of an ARN of `stack`'s account and region in
 * an IAM5 finding (`arn:<AWS::Partition>:<service>:<region>:<account>:`),
 * pseudo parameters of an environment-agnostic stack as `<AWS::…>`.
 */
export function nagArnPrefix(stack: Stack, service: string): string {
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  return `arn:<AWS::Partition>:${service}:${region}:${account}:`;
}

/** An ARN of this stack's account and region, and how cdk-nag prints it in an IAM5 finding. */
function scoped(t: GrantTargets, service: string, resource: string, resourceName: string, colon = false): { arn: string; finding: string } {
  const stack = Stack.of(t.ledgerTable);
  const arn = stack.formatArn({ service, resource, resourceName, ...(colon ? { arnFormat: ArnFormat.COLON_RESOURCE_NAME } : {}) });
  return { arn, finding: `Resource::${nagArnPrefix(stack, service)}${resource}${colon ? ':' : '/'}${resourceName}` };
}

/**
 * The drill's statements, per level. Restores run in AWS on the caller's
 * rights, so each restore level holds what its API calls need and nothing
 * else: `RestoreTableToPointInTime` on the source table plus read and write
 * on the scratch table (DynamoDB's documented requirement), the source and
 * scratch cluster plus the subnet group for `RestoreDBClusterToPointInTime`,
 * the archive and replay for `StartReplay`; KMS `CreateGrant`/`DescribeKey`
 * on the storage key through the restoring service, which encrypts the
 * scratch copy with it. Every scratch name matches `<prefix>-<kind>-drill-*`.
 */
export function drillGrants(level: NonNullable<Access['drill']>, t: GrantTargets): { statements: PolicyStatement[]; findings: Array<{ finding: string; reason: string }> } {
  const { namePrefix: prefix } = t.drill;
  const scratchReason = (what: string) => `${what} are named per drill run (${prefix}-<kind>-drill-<UTC time>), so the grant names the pattern; nothing else matches it`;
  const via = (service: string) => ({ StringEquals: { 'kms:ViaService': `${service}.${Stack.of(t.dataKey).region}.amazonaws.com` } });
  const keyGrant = (service: string) => statement(['kms:CreateGrant', 'kms:DescribeKey'], [t.dataKey.keyArn], via(service));
  const table = scoped(t, 'dynamodb', 'table', `${prefix}-ledger-drill-*`);
  const cluster = scoped(t, 'rds', 'cluster', `${prefix}-db-drill-*`, true);
  const instance = scoped(t, 'rds', 'db', `${prefix}-db-drill-*`, true);
  const replay = scoped(t, 'events', 'replay', `${prefix}-ev-drill-*`);
  const source = scoped(t, 'rds', 'cluster', t.drill.sourceCluster, true).arn;
  switch (level) {
    case 'ledger-restore':
      return {
        statements: [
          statement(['dynamodb:RestoreTableToPointInTime'], [t.ledgerTable.tableArn]),
          statement(['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:DeleteTable', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem'], [table.arn]),
          storageKey(t.dataKey, 'dynamodb', true),
          keyGrant('dynamodb'),
        ],
        findings: [{ finding: table.finding, reason: scratchReason('Scratch tables') }],
      };
    case 'ledger-read': // verified as the live ledger is, its plan included
      return { statements: [statement([...TABLE_ACTIONS.verify], [table.arn]), storageKey(t.dataKey, 'dynamodb', false)], findings: [{ finding: table.finding, reason: scratchReason('Scratch tables') }] };
    case 'database-restore':
      return {
        statements: [
          statement(['rds:DescribeDBClusters'], [source, cluster.arn]),
          statement(['rds:RestoreDBClusterToPointInTime'], [source, cluster.arn, scoped(t, 'rds', 'subgrp', t.drill.subnetGroup, true).arn]),
          statement(['rds:CreateDBInstance'], [cluster.arn, instance.arn]),
          statement(['rds:DeleteDBInstance', 'rds:DescribeDBInstances'], [instance.arn]),
          statement(['rds:DeleteDBCluster'], [cluster.arn]),
          keyGrant('rds'),
        ],
        findings: [{ finding: cluster.finding, reason: scratchReason('Scratch clusters') }, { finding: instance.finding, reason: scratchReason('Scratch cluster instances') }],
      };
    case 'database-connect': {
      const user = scoped(t, 'rds-db', 'dbuser', `cluster-*/${t.databaseUsers.reader}`, true);
      return {
        statements: [statement(['rds-db:connect'], [user.arn])],
        findings: [{ finding: user.finding, reason: `A scratch cluster's resource id is only known once restored, so the read-only ${t.databaseUsers.reader} login is granted on any cluster; only the drill's scratch cluster admits this function's security group` }],
      };
    }
    case 'events-restore':
      return {
        statements: [statement(['events:DescribeArchive'], [t.drill.archiveArn]), statement(['events:StartReplay'], [t.drill.archiveArn, replay.arn]), statement(['events:CancelReplay', 'events:DescribeReplay'], [replay.arn])],
        findings: [{ finding: replay.finding, reason: scratchReason('Replays') }],
      };
  }
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
    statements.push(statement([...TABLE_ACTIONS[uses.ledgerTable]], [t.ledgerTable.tableArn]), storageKey(t.dataKey, 'dynamodb', uses.ledgerTable === 'append'));
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
  if (uses.reportsBucket) {
    statements.push(...bucket(t.reportsBucket, t.dataKey, uses.reportsBucket === 'write'));
    findings.push({ finding: t.bucketObjectFindings.reports, reason: `S3 object actions are granted per object ARN; the reports bucket holds every tenant's reports under its own prefix and the function may ${uses.reportsBucket} any of them` });
  }
  if (uses.scratchBucket) {
    statements.push(...scratch(uses.scratchBucket, t));
    const drills = uses.scratchBucket.startsWith('drills');
    findings.push({ finding: drills ? t.bucketObjectFindings.scratchDrills : t.bucketObjectFindings.scratchRuns, reason: `Scratch objects are named per run under ${drills ? 'drills/' : 'runs/'}; the function may reach that prefix only` });
  }
  if (uses.drill) {
    const drill = drillGrants(uses.drill, t);
    statements.push(...drill.statements);
    findings.push(...drill.findings);
  }
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
    logOrigin: { logPrefix: t.logPrefix },
    reportsBucket: { reportsBucket: t.reportsBucket.bucketName },
    scratchBucket: { scratchBucket: t.scratchBucket.bucketName },
    drill: {
      drillNamePrefix: t.drill.namePrefix,
      drillSourceTable: t.ledgerTable.tableName,
      drillSourceCluster: t.drill.sourceCluster,
      drillSubnetGroup: t.drill.subnetGroup,
      drillSecurityGroupId: t.drill.securityGroupId,
      drillDataKeyArn: t.dataKey.keyArn,
      drillArchiveArn: t.drill.archiveArn,
      drillBusArn: t.eventBus.eventBusArn,
      drillCollectorRuleArn: t.drill.collectorRuleArn,
      drillDbName: t.databaseName,
      drillDbUser: t.databaseUsers.reader,
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
