/** The CloudHSM side of cold-start wiring: the `/healthz` probe of the cluster behind the custom key store (DESIGN §4). */
import { CloudHSMV2Client } from '@aws-sdk/client-cloudhsm-v2';
import { checkCloudHsmHealth } from '../../adapters/aws/cloudhsm-health.js';
import { awsClient } from './aws-clients.js';
import type { Powertools } from './powertools.js';

/**
 * Resolves when the cluster is ACTIVE with enough HSMs, rejects with its message otherwise.
 *
 * @example
 * const probes = { hsm: cloudHsmProbe('cluster-abcdefghijk', powertools()) };
 */
export function cloudHsmProbe(clusterId: string, tools: Powertools): () => Promise<void> {
  const hsm = awsClient('cloudhsm', tools, () => new CloudHSMV2Client({}));
  return async () => {
    const health = await checkCloudHsmHealth(hsm, clusterId);
    if (!health.ok) throw new Error(health.message);
  };
}
