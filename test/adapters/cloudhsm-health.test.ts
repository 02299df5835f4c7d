import {
  CloudHSMV2Client, CloudHsmAccessDeniedException, DescribeClustersCommand, type DescribeClustersCommandOutput, type Hsm,
} from '@aws-sdk/client-cloudhsm-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkCloudHsmHealth } from '../../lambdas/adapters/aws/cloudhsm-health.js';

const CLUSTER = 'cluster-igklspoyj5v';
/**
 * aws-sdk-client-mock 4 is typed for @smithy-based clients; client-cloudhsm-v2 3.332 predates
 * them. At run time it fits (the mock stubs `send`), so only the generics are bridged here.
 */
const hsm = mockClient(CloudHSMV2Client as never) as unknown as {
  reset(): void;
  on(command: typeof DescribeClustersCommand): {
    resolves(output: Omit<DescribeClustersCommandOutput, '$metadata'>): unknown;
    rejects(error: Error): unknown;
  };
  commandCalls(command: typeof DescribeClustersCommand): { args: [DescribeClustersCommand] }[];
};
const check = () => checkCloudHsmHealth(new CloudHSMV2Client({ region: 'eu-west-1' }), CLUSTER);
const hsms = (...states: string[]): Hsm[] => states.map((State, k) => ({ HsmId: `hsm-${k}`, ClusterId: CLUSTER, State }));

beforeEach(() => hsm.reset());

describe('checkCloudHsmHealth', () => {
  it('is ok for an ACTIVE cluster with two ACTIVE HSMs, asking for that cluster only', async () => {
    // Prepare
    hsm.on(DescribeClustersCommand).resolves({ Clusters: [{ ClusterId: CLUSTER, State: 'ACTIVE', Hsms: hsms('ACTIVE', 'ACTIVE') }] });
    // Act
    const health = await check();
    // Assess
    expect(hsm.commandCalls(DescribeClustersCommand)[0]!.args[0].input).toEqual({ Filters: { clusterIds: [CLUSTER] } });
    expect(health).toEqual({ ok: true, state: 'ACTIVE', activeHsms: 2, message: `CloudHSM cluster ${CLUSTER} is ACTIVE with 2 of 2 HSMs active` });
  });

  it('is not ok for an ACTIVE cluster with one ACTIVE HSM, saying two are needed', async () => {
    // Prepare
    hsm.on(DescribeClustersCommand).resolves({ Clusters: [{ ClusterId: CLUSTER, State: 'ACTIVE', Hsms: hsms('ACTIVE', 'CREATE_IN_PROGRESS') }] });
    // Act
    const health = await check();
    // Assess
    expect(health).toMatchObject({ ok: false, state: 'ACTIVE', activeHsms: 1 });
    expect(health.message).toBe(`CloudHSM cluster ${CLUSTER} has 1 of 2 HSMs active; a KMS custom key store needs at least 2`);
  });

  it('is not ok for a DEGRADED cluster, even with two ACTIVE HSMs, and passes on its state message', async () => {
    // Prepare
    hsm.on(DescribeClustersCommand).resolves({
      Clusters: [{ ClusterId: CLUSTER, State: 'DEGRADED', StateMessage: 'an HSM is unhealthy', Hsms: hsms('ACTIVE', 'ACTIVE', 'DEGRADED') }],
    });
    // Act
    const health = await check();
    // Assess
    expect(health).toEqual({
      ok: false, state: 'DEGRADED', activeHsms: 2, message: `CloudHSM cluster ${CLUSTER} is DEGRADED (an HSM is unhealthy), 2 of 3 HSMs active`,
    });
  });

  it.each([
    ['no clusters', { Clusters: [] }],
    ['no Clusters field', {}],
    ['only another cluster', { Clusters: [{ ClusterId: 'cluster-other', State: 'ACTIVE', Hsms: hsms('ACTIVE', 'ACTIVE') }] }],
  ])('reports a missing cluster (%s) as NOT_FOUND', async (_, response) => {
    // Prepare
    hsm.on(DescribeClustersCommand).resolves(response);
    // Act
    const health = await check();
    // Assess
    expect(health).toMatchObject({ ok: false, state: 'NOT_FOUND', activeHsms: 0 });
    expect(health.message).toContain(`${CLUSTER} not found`);
  });

  it.each([
    ['an access denial', new CloudHsmAccessDeniedException({ message: 'not authorized', $metadata: {} }), 'CloudHsmAccessDeniedException: not authorized'],
    ['a network error', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }), 'Error: connect ETIMEDOUT'],
  ])('returns ok=false instead of throwing on %s', async (_, error, reason) => {
    // Prepare
    hsm.on(DescribeClustersCommand).rejects(error);
    // Act
    const health = await check();
    // Assess
    expect(health).toEqual({ ok: false, state: 'UNREACHABLE', activeHsms: 0, message: `cannot describe CloudHSM cluster ${CLUSTER}: ${reason}` });
  });
});
