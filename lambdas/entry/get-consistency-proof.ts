/** Lambda entry of GET /v1/tenants/{tenant}/proofs/consistency: a consistency proof from published tiles. */
import { logReadEntry } from './shared/log-read-entries.js';
import { readEnv } from './shared/env.js';
import { powertools } from './shared/powertools.js';
import { logObjects } from './shared/s3-adapters.js';

const config = readEnv(['logBucket', 'tokens']);
const tools = powertools();

/** The Lambda handler. */
export const handler = logReadEntry('getConsistencyProof', config, { objects: logObjects(config, tools) }, tools);
