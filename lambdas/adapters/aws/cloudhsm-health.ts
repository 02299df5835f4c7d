/**
 * Health of the CloudHSM cluster behind a KMS custom key store (DESIGN §4). KMS
 * needs the cluster ACTIVE with at least two ACTIVE HSMs to connect the store.
 */
import { type CloudHSMV2Client, DescribeClustersCommand } from '@aws-sdk/client-cloudhsm-v2';

/** A cluster's health for `/healthz` and reports. */
export interface CloudHsmHealth {
  /** True iff the cluster is ACTIVE with ≥ 2 ACTIVE HSMs. */
  readonly ok: boolean;
  /** The cluster state, or `NOT_FOUND` / `UNREACHABLE` when it could not be described. */
  readonly state: string;
  readonly activeHsms: number;
  /** One readable sentence saying what is wrong, or that all is well. */
  readonly message: string;
}

/** HSMs a KMS custom key store needs (AWS KMS developer guide, "Assemble the prerequisites"). */
export const MIN_ACTIVE_HSMS = 2;

/**
 * Describes the cluster and judges it. Never throws: a missing cluster or an SDK
 * error (after the client's own retries) is a result with `ok: false`.
 *
 * @example
 * const health = await checkCloudHsmHealth(new CloudHSMV2Client({}), 'cluster-igklspoyj5v');
 * if (!health.ok) console.warn(health.message);
 */
export async function checkCloudHsmHealth(client: CloudHSMV2Client, clusterId: string): Promise<CloudHsmHealth> {
  let clusters;
  try {
    clusters = (await client.send(new DescribeClustersCommand({ Filters: { clusterIds: [clusterId] } }))).Clusters ?? [];
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ok: false, state: 'UNREACHABLE', activeHsms: 0, message: `cannot describe CloudHSM cluster ${clusterId}: ${reason}` };
  }
  const cluster = clusters.find((c) => c.ClusterId === clusterId);
  if (!cluster) {
    return { ok: false, state: 'NOT_FOUND', activeHsms: 0, message: `CloudHSM cluster ${clusterId} not found (deleted, or in another account or region)` };
  }
  const state = cluster.State ?? 'UNKNOWN';
  const hsms = cluster.Hsms ?? [];
  const activeHsms = hsms.filter((h) => h.State === 'ACTIVE').length;
  const ok = state === 'ACTIVE' && activeHsms >= MIN_ACTIVE_HSMS;
  const counts = `${activeHsms} of ${hsms.length} HSMs active`;
  const message = ok ? `CloudHSM cluster ${clusterId} is ACTIVE with ${counts}`
    : state !== 'ACTIVE' ? `CloudHSM cluster ${clusterId} is ${state}${cluster.StateMessage ? ` (${cluster.StateMessage})` : ''}, ${counts}`
      : `CloudHSM cluster ${clusterId} has ${counts}; a KMS custom key store needs at least ${MIN_ACTIVE_HSMS}`;
  return { ok, state, activeHsms, message };
}
