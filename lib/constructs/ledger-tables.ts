/**
 * The ledger and key tables (DESIGN §3, §4): the key schemas are the adapters'
 * own (`LEDGER_TABLE_SCHEMA`, `KEY_TABLE_SCHEMA`), so the tables the code
 * creates locally and the ones deployed here cannot drift. On-demand, point in
 * time recovery, NEW_IMAGE streams, the storage key, deletion protection, and
 * retained when the stack goes.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { KEY_TABLE_SCHEMA } from '../../lambdas/adapters/aws/dynamo-key-store.js';
import { LEDGER_TABLE_SCHEMA } from '../../lambdas/adapters/aws/dynamo-ledger-store.js';
import type { PkSkTableSchema } from '../../lambdas/adapters/aws/dynamo-tables.js';

/** Names, the storage key and the PITR window. */
export interface LedgerTablesProps {
  readonly envName: string;
  readonly encryptionKey: IKey;
  /** PITR recovery window, days (1-35). */
  readonly recoveryPeriodDays: number;
}

/**
 * @example
 * const tables = new LedgerTables(this, 'Tables', { envName: 'dev', encryptionKey: keys.dataKey, recoveryPeriodDays: 35 });
 */
export class LedgerTables extends Construct {
  /** One hash-chained log per tenant; its stream drives the publisher and the fan-out. */
  readonly ledger: Table;
  /** Wrapped KEKs and DEKs, legal holds, shred markers. */
  readonly keys: Table;

  constructor(scope: Construct, id: string, props: LedgerTablesProps) {
    super(scope, id);
    const table = (tableId: string, schema: PkSkTableSchema) =>
      new Table(this, tableId, {
        partitionKey: { name: schema.partitionKey.name, type: AttributeType.STRING },
        sortKey: { name: schema.sortKey.name, type: AttributeType.STRING },
        billingMode: schema.billingMode === 'PAY_PER_REQUEST' ? BillingMode.PAY_PER_REQUEST : BillingMode.PROVISIONED,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: props.recoveryPeriodDays },
        stream: StreamViewType.NEW_IMAGE,
        encryption: TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: props.encryptionKey,
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.ledger = table('LedgerTable', LEDGER_TABLE_SCHEMA);
    this.keys = table('KeyTable', KEY_TABLE_SCHEMA);
  }
}
