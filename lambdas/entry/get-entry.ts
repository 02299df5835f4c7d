/** Lambda entry of GET /v1/tenants/{tenant}/entries/{position}: an entry with its inclusion proof. */
import { ledgerStore } from './shared/dynamo-adapters.js';
import { logReadEntry } from './shared/log-read-entries.js';
import { readEnv } from './shared/env.js';
import { powertools } from './shared/powertools.js';
import { logObjects } from './shared/s3-adapters.js';

const config = readEnv(['ledgerTable', 'logBucket', 'tokens']);
const tools = powertools();

/** The Lambda handler. */
export const handler = logReadEntry('getEntry', config, { ledger: ledgerStore(config, tools), objects: logObjects(config, tools) }, tools);
