/**
 * Lambda entry of the Distributed Map's task (issue 8): verifies one segment
 * of one tenant's log and cross-checks it with the event store and the
 * projection, re-deriving what they lack (so it writes them, as the stream
 * consumer does); the outcome goes to the scratch bucket and the map
 * collects only its key. Runs in the VPC (the projection).
 */
import type { SegmentTask } from '../services/verification/run-types.js';
import { segmentStep } from '../handlers/verification-steps.js';
import { downstreamCopies } from './shared/downstream-copies.js';
import { ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { instrumented, powertools } from './shared/powertools.js';
import { verificationStepDeps } from './shared/verification-deps.js';
import { runParts } from './shared/verification-s3.js';

const config = readEnv(['ledgerTable', 'keyTable', 'masterKey', 'eventBus', 'eventBucket', 'database', 'scratchBucket']);
const tools = powertools();
const segment = segmentStep(verificationStepDeps({
  ledger: ledgerStore(config, tools),
  copies: downstreamCopies(config, tools),
  parts: runParts(config, tools),
}));

/** The Lambda handler. */
export const handler = instrumented((task: SegmentTask) => segment(task), tools);
