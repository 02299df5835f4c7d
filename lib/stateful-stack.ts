/**
 * The stateful stack (STYLE habit 14): everything that holds data or
 * identity and must outlive any deployment of the code — keys, tables,
 * buckets, the database, the event bus and archive, the user pool. Termination
 * protection is on and every resource is retained if the stack is deleted.
 * The stateless stack reads these through `StatefulStack`'s fields.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus, type Archive } from 'aws-cdk-lib/aws-events';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { GovledgerConfig } from './config.js';
import { LedgerBuckets } from './constructs/ledger-buckets.js';
import { LedgerIdentity } from './constructs/ledger-identity.js';
import { LedgerKeys } from './constructs/ledger-keys.js';
import { LedgerTables } from './constructs/ledger-tables.js';
import { ProjectionDatabase } from './constructs/projection-database.js';
import { ProjectionProvisioner } from './constructs/projection-provisioner.js';

/** The validated configuration (lib/config.ts). */
export interface StatefulStackProps extends StackProps {
  readonly config: GovledgerConfig;
}

/**
 * @example
 * const stateful = new StatefulStack(app, 'govledger-dev-stateful', { config });
 * new StatelessStack(app, 'govledger-dev-stateless', { config, stateful });
 */
export class StatefulStack extends Stack {
  readonly config: GovledgerConfig;
  readonly keys: LedgerKeys;
  readonly tables: LedgerTables;
  readonly buckets: LedgerBuckets;
  readonly database: ProjectionDatabase;
  /** Migrates the projection and lets its roles log in with IAM, at every deployment. */
  readonly databaseProvisioning: ProjectionProvisioner;
  readonly identity: LedgerIdentity;
  /** The event archive's bus; its archive keeps every event for replay. */
  readonly eventBus: EventBus;
  /** Every event of the bus, kept for replay (the drill replays it to a scratch copy). */
  readonly eventArchive: Archive;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, { ...props, terminationProtection: true, description: `govledger ${props.config.envName}: stateful resources (retained on delete)` });
    const { config } = props;
    this.config = config;
    const logRetention = config.logRetentionDays as RetentionDays;
    this.keys = new LedgerKeys(this, 'Keys', { envName: config.envName, ...(config.cloudHsmKeyStoreId ? { cloudHsmKeyStoreId: config.cloudHsmKeyStoreId } : {}) });
    this.tables = new LedgerTables(this, 'Tables', { envName: config.envName, encryptionKey: this.keys.dataKey, recoveryPeriodDays: config.backupRetentionDays });
    this.buckets = new LedgerBuckets(this, 'Buckets', { envName: config.envName, encryptionKey: this.keys.dataKey, objectLockDays: config.objectLockDays, accessLogDays: config.logRetentionDays });
    this.database = new ProjectionDatabase(this, 'Database', {
      envName: config.envName,
      encryptionKey: this.keys.dataKey,
      backupRetentionDays: config.backupRetentionDays,
      logRetention,
      minCapacity: config.dbMinCapacity,
      maxCapacity: config.dbMaxCapacity,
    });
    this.databaseProvisioning = new ProjectionProvisioner(this, 'DatabaseProvisioning', { envName: config.envName, database: this.database, secretKey: this.keys.dataKey, logRetention });
    this.identity = new LedgerIdentity(this, 'Identity', { envName: config.envName, logRetention });
    this.eventBus = new EventBus(this, 'LedgerBus', { eventBusName: `govledger-${config.envName}-ledger`, description: 'govledger ledger entries, one event per entry (DESIGN §1)' });
    this.eventBus.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.eventArchive = this.eventBus.archive('LedgerArchive', {
      archiveName: `govledger-${config.envName}-ledger`,
      description: 'Every ledger event, kept indefinitely, for replay (drills replay it to a collector rule that copies it to scratch)',
      eventPattern: { account: [this.account] },
      retention: Duration.days(0),
    });
    this.eventArchive.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.#outputs();
  }

  #outputs(): void {
    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('UserPoolId', this.identity.userPool.userPoolId, 'Cognito user pool: create users, set custom:tenants, add them to scope groups');
    out('UserPoolClientId', this.identity.client.userPoolClientId, 'App client to sign in with (aws cognito-idp initiate-auth --client-id …)');
    out('LedgerTableName', this.tables.ledger.tableName, 'DynamoDB ledger table');
    out('LogBucketName', this.buckets.log.bucketName, 'Tiles, bundles and checkpoints');
    out('EventBucketName', this.buckets.events.bucketName, 'Readable copy of the event archive');
    out('ReportsBucketName', this.buckets.reports.bucketName, 'Verification and drill reports (<tenant>/<runId>.json and .txt)');
    out('SigningKeyArn', this.keys.signingKey.keyArn, 'KMS Ed25519 checkpoint key');
    out('DatabaseProxyEndpoint', this.database.proxy.endpoint, 'RDS Proxy (IAM auth, inside the VPC)');
  }
}
