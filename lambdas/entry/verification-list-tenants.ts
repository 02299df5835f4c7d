/**
 * Lambda entry of the verification state machine's first task (issue 8):
 * every tenant with a log (one Scan of the ledger table's genesis items)
 * and, when the master key lives in a CloudHSM key store, the cluster's
 * health, raised to operators as a finding when degraded (DESIGN §4).
 */
import { CloudHSMV2Client } from '@aws-sdk/client-cloudhsm-v2';
import { checkCloudHsmHealth } from '../adapters/aws/cloudhsm-health.js';
import { listTenantsStep } from '../handlers/verification-steps.js';
import { awsClient } from './shared/aws-clients.js';
import { ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { instrumented, powertools } from './shared/powertools.js';
import { verificationNotifier, verificationStepDeps } from './shared/verification-deps.js';

const config = readEnv(['ledgerTable', 'cloudHsm']);
const tools = powertools();
const ledger = ledgerStore(config, tools);
const clusterId = config.cloudHsmClusterId;
const listTenants = listTenantsStep(verificationStepDeps({
  tenants: () => ledger.tenants(),
  notify: verificationNotifier(tools),
  ...(clusterId === undefined ? {} : { keyStoreHealth: () => checkCloudHsmHealth(awsClient('cloudhsm', tools, () => new CloudHSMV2Client({})), clusterId) }),
}));

/** The Lambda handler. */
export const handler = instrumented(() => listTenants(), tools);
