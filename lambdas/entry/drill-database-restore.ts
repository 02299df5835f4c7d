/**
 * Lambda entry of the drill's database restore (issue 8): starts the Aurora
 * point-in-time restore of the projection's cluster into the run's scratch
 * cluster (one Serverless v2 instance, the drill's security group, the
 * storage key), polls it — answering its endpoint once available, for the
 * check that runs in the VPC, which has no RDS API endpoint — and deletes
 * instance and cluster (`{ step: 'start' | 'ready' | 'teardown', state }`).
 */
import { DescribeDBClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import { AuroraPitrRestore, type AuroraPitrRestoreOptions } from '../adapters/aws/aurora-pitr-restore.js';
import type { Located, SteppedRestore } from '../handlers/drill-steps.js';
import { awsClient } from './shared/aws-clients.js';
import { drillScratchName, readEnv } from './shared/env.js';
import { notWired } from './shared/not-wired.js';
import { powertools } from './shared/powertools.js';
import { restoreEntry } from './shared/verification-deps.js';

const config = readEnv(['drill']);
const tools = powertools();
const client = awsClient('rds', tools, () => new RDSClient({}));

/** The scratch cluster's restore, which also tells where its writer listens. */
class LocatedAuroraRestore extends AuroraPitrRestore implements SteppedRestore {
  readonly #cluster: string;
  constructor(options: AuroraPitrRestoreOptions) {
    super(options);
    this.#cluster = options.scratchCluster;
  }

  async locate(): Promise<Located> {
    const cluster = (await client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: this.#cluster }))).DBClusters?.[0];
    if (cluster?.Endpoint === undefined || cluster.Port === undefined) throw new Error(`scratch cluster ${this.#cluster} has no endpoint`);
    return { host: cluster.Endpoint, port: cluster.Port };
  }
}

/** The Lambda handler. */
export const handler = restoreEntry('database', tools, (runId) => new LocatedAuroraRestore({
  client,
  sourceCluster: config.drillSourceCluster,
  scratchCluster: drillScratchName(config.drillNamePrefix, 'db', runId),
  subnetGroup: config.drillSubnetGroup,
  securityGroupIds: [config.drillSecurityGroupId],
  kmsKeyId: config.drillDataKeyArn,
  openCopy: notWired('openCopy'), // the check opens the copy, from inside the VPC
  pollMs: 15_000,
}));
