/**
 * Lambda entry of the verification state machine's plan task (issue 8): one
 * tenant's size, latest published checkpoint and last verified checkpoint,
 * cut into the segments the Distributed Map verifies.
 */
import { planStep } from '../handlers/verification-steps.js';
import { ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { instrumented, powertools } from './shared/powertools.js';
import { logObjects } from './shared/s3-adapters.js';
import { verificationStepDeps } from './shared/verification-deps.js';
import { reportSink } from './shared/verification-s3.js';

const config = readEnv(['ledgerTable', 'logBucket', 'reportsBucket', 'logOrigin']);
const tools = powertools();
const plan = planStep(verificationStepDeps({
  ledger: ledgerStore(config, tools),
  objects: logObjects(config, tools),
  reports: reportSink(config, tools),
  logPrefix: config.logPrefix,
}));

/** The Lambda handler. */
export const handler = instrumented((event: { tenant: string }) => plan(event), tools);
