/**
 * Lambda entry of GET /v1/tenants/{tenant}/records/{recordId}: the current
 * state from the projection (VPC); `?proof=true` adds the entry's inclusion
 * proof, read from the ledger table and the log bucket, with the payload
 * commitment checked under the tenant's keys (read only).
 */
import { KeyService } from '../services/key-service.js';
import { LogReader } from '../services/log-reader.js';
import { keyStore, ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { kmsMasterKey } from './shared/kms-adapters.js';
import { powertools } from './shared/powertools.js';
import { recordReadEntry } from './shared/record-read-entries.js';
import { logObjects } from './shared/s3-adapters.js';

const config = readEnv(['database', 'tokens', 'ledgerTable', 'logBucket', 'keyTable', 'masterKey']);
const tools = powertools();
const verified = { log: new LogReader(ledgerStore(config, tools), logObjects(config, tools)), keys: new KeyService(keyStore(config, tools), kmsMasterKey(config, tools)) };

/** The Lambda handler. */
export const handler = recordReadEntry('getRecord', config, verified, tools);
