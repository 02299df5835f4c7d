/**
 * Drill target: the projection database restored with Aurora PostgreSQL
 * point-in-time recovery (`RestoreDBClusterToPointInTime`, copy-on-write,
 * latest restorable time) into a scratch cluster with one Serverless v2
 * instance, compared with the ledger through the projection's own
 * `ChangeCopy`, then deleted without a final snapshot. (Aurora PostgreSQL has
 * no backtrack; PITR is the restore path.)
 */
import {
  CreateDBInstanceCommand,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RestoreDBClusterToPointInTimeCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { ChangeCopy } from '../../ports/change-stream.js';
import type { RestoredCopy } from '../../ports/restore-target.js';
import { isAwsError, ScratchRestore, type PollOptions } from './scratch-restore.js';

/** A projection copy opened on the scratch cluster; closed at teardown. */
export type OpenedCopy = Pick<ChangeCopy, 'name' | 'leafHashes'> & { close(): Promise<void> };

export interface AuroraPitrRestoreOptions extends PollOptions {
  readonly client: RDSClient;
  readonly sourceCluster: string;
  /** Unique per drill run, e.g. `govledger-db-drill-<runId>` (≤ 63 characters). */
  readonly scratchCluster: string;
  readonly subnetGroup: string;
  readonly securityGroupIds: readonly string[];
  readonly kmsKeyId?: string;
  /** Opens the projection on the restored cluster's writer endpoint. */
  readonly openCopy: (endpoint: { host: string; port: number }) => Promise<OpenedCopy>;
}

/**
 * @example
 * const target = new AuroraPitrRestore({ client: new RDSClient({}), sourceCluster, scratchCluster, subnetGroup, securityGroupIds, openCopy });
 */
export class AuroraPitrRestore extends ScratchRestore {
  readonly name = 'database';
  readonly #o: AuroraPitrRestoreOptions;
  #copy: OpenedCopy | undefined;

  constructor(options: AuroraPitrRestoreOptions) {
    super(options);
    this.#o = options;
  }

  get #instance(): string {
    return `${this.#o.scratchCluster}-1`;
  }

  async start(): Promise<Date> {
    const { client, sourceCluster, scratchCluster, subnetGroup, securityGroupIds, kmsKeyId } = this.#o;
    const source = await client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: sourceCluster }));
    const restoredTo = source.DBClusters?.[0]?.LatestRestorableTime;
    if (!(restoredTo instanceof Date)) throw new Error(`cluster ${sourceCluster} reports no latest restorable time (is its backup retention set?)`);
    await client.send(
      new RestoreDBClusterToPointInTimeCommand({
        SourceDBClusterIdentifier: sourceCluster,
        DBClusterIdentifier: scratchCluster,
        RestoreType: 'copy-on-write',
        RestoreToTime: restoredTo,
        DBSubnetGroupName: subnetGroup,
        VpcSecurityGroupIds: [...securityGroupIds],
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
        EnableIAMDatabaseAuthentication: true,
        DeletionProtection: false,
        ...(kmsKeyId ? { KmsKeyId: kmsKeyId } : {}),
      }),
    );
    await client.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: this.#instance, DBClusterIdentifier: scratchCluster, DBInstanceClass: 'db.serverless', Engine: 'aurora-postgresql' }));
    return restoredTo;
  }

  async ready(): Promise<boolean> {
    const [cluster, instance] = await Promise.all([
      this.#o.client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: this.#o.scratchCluster })),
      this.#o.client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: this.#instance })),
    ]);
    const status = [cluster.DBClusters?.[0]?.Status, instance.DBInstances?.[0]?.DBInstanceStatus];
    if (status.some((s) => s === 'failed' || s === 'inaccessible-encryption-credentials')) throw new Error(`scratch cluster ${this.#o.scratchCluster} failed: ${status.join('/')}`);
    return status.every((s) => s === 'available');
  }

  async open(restoredTo: Date): Promise<RestoredCopy> {
    const out = await this.#o.client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: this.#o.scratchCluster }));
    const { Endpoint: host, Port: port } = out.DBClusters?.[0] ?? {};
    if (host === undefined || port === undefined) throw new Error(`scratch cluster ${this.#o.scratchCluster} has no endpoint`);
    this.#copy = await this.#o.openCopy({ host, port });
    return { kind: 'copy', copy: this.#copy, restoredTo };
  }

  /** Closes the connection, then deletes the instance and the cluster (no final snapshot); missing ones are fine. */
  async teardown(): Promise<void> {
    const copy = this.#copy;
    this.#copy = undefined;
    await copy?.close().catch(() => undefined);
    await this.#o.client.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: this.#instance, SkipFinalSnapshot: true })).catch((error: unknown) => {
      if (!isAwsError(error, 'DBInstanceNotFoundFault', 'DBInstanceNotFound')) throw error;
    });
    // A cluster cannot be deleted while its instance is still being deleted: retry until it can.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#o.client.send(new DeleteDBClusterCommand({ DBClusterIdentifier: this.#o.scratchCluster, SkipFinalSnapshot: true }));
        return;
      } catch (error) {
        if (isAwsError(error, 'DBClusterNotFoundFault')) return;
        if (!isAwsError(error, 'InvalidDBClusterStateFault') || attempt >= 120) throw error;
        await this.pause();
      }
    }
  }
}
