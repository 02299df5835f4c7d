/**
 * Drill target: the ledger table restored with DynamoDB point-in-time
 * recovery (`RestoreTableToPointInTime`, latest restorable time) into a
 * scratch table, read through the same `DynamoLedgerStore`, then deleted.
 */
import { DeleteTableCommand, DescribeTableCommand, RestoreTableToPointInTimeCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RestoredCopy } from '../../ports/restore-target.js';
import { DynamoLedgerStore } from './dynamo-ledger-store.js';
import { isAwsError, ScratchRestore, type PollOptions } from './scratch-restore.js';

export interface DynamoPitrRestoreOptions extends PollOptions {
  readonly client: DynamoDBClient;
  readonly sourceTable: string;
  /** Must be unique per drill run, e.g. `govledger-ledger-drill-<runId>`. */
  readonly scratchTable: string;
  /** KMS key for the scratch table (the source's key, so the drill role needs no other). */
  readonly kmsKeyId?: string;
}

/**
 * @example
 * const target = new DynamoPitrRestore({ client, sourceTable: 'govledger-ledger', scratchTable: `govledger-ledger-drill-${runId}` });
 * const [report] = await runDrill(deps, [target], tenants);
 */
export class DynamoPitrRestore extends ScratchRestore {
  readonly name = 'ledger';
  readonly #o: DynamoPitrRestoreOptions;

  constructor(options: DynamoPitrRestoreOptions) {
    super(options);
    this.#o = options;
  }

  async start(): Promise<Date> {
    const { client, sourceTable, scratchTable, kmsKeyId } = this.#o;
    const out = await client.send(
      new RestoreTableToPointInTimeCommand({
        SourceTableName: sourceTable,
        TargetTableName: scratchTable,
        UseLatestRestorableTime: true,
        BillingModeOverride: 'PAY_PER_REQUEST',
        ...(kmsKeyId ? { SSESpecificationOverride: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: kmsKeyId } } : {}),
      }),
    );
    const at = out.TableDescription?.RestoreSummary?.RestoreDateTime;
    if (!(at instanceof Date)) throw new Error(`restoring ${sourceTable} returned no restore time`);
    return at;
  }

  async ready(): Promise<boolean> {
    const { Table } = await this.#o.client.send(new DescribeTableCommand({ TableName: this.#o.scratchTable }));
    return Table?.TableStatus === 'ACTIVE';
  }

  async open(restoredTo: Date): Promise<RestoredCopy> {
    const ledger = new DynamoLedgerStore({ client: DynamoDBDocumentClient.from(this.#o.client), tableName: this.#o.scratchTable });
    return { kind: 'ledger', ledger, restoredTo };
  }

  /** Deletes the scratch table; a table still being restored cannot be deleted yet, so it waits for it. */
  async teardown(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#o.client.send(new DeleteTableCommand({ TableName: this.#o.scratchTable }));
        return;
      } catch (error) {
        if (isAwsError(error, 'ResourceNotFoundException')) return;
        if (!isAwsError(error, 'ResourceInUseException') || attempt >= 240) throw error;
        await this.pause();
      }
    }
  }
}
