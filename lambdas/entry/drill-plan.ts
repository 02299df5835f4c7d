/**
 * Lambda entry of the drill state machine's first task (issue 8): the run id
 * every scratch resource is named after, the tenants to check, the targets.
 */
import { drillStepHandlers } from '../handlers/drill-steps.js';
import { ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { instrumented, powertools } from './shared/powertools.js';
import { drillStepDeps } from './shared/verification-deps.js';

const config = readEnv(['ledgerTable']);
const tools = powertools();
const ledger = ledgerStore(config, tools);
const { plan } = drillStepHandlers(drillStepDeps({ tenants: () => ledger.tenants() }));

/** The Lambda handler. */
export const handler = instrumented(() => plan(), tools);
