/**
 * Lambda entry of POST /v1/tenants/{tenant}/records (appendRecords): one
 * conditional put per request (no group commit on Lambda); the ledger table's
 * stream then drives the log publisher.
 */
import { appendRecordsHandler } from '../handlers/append-records.js';
import { KeyService } from '../services/key-service.js';
import { LedgerService } from '../services/ledger-service.js';
import { apiEntry } from './shared/api-entry.js';
import { keyStore, ledgerStore } from './shared/dynamo-adapters.js';
import { kmsMasterKey } from './shared/kms-adapters.js';
import { cognitoTokenVerifier } from './shared/cognito.js';
import { readEnv } from './shared/env.js';
import { powertools } from './shared/powertools.js';

const config = readEnv(['ledgerTable', 'keyTable', 'masterKey', 'tokens']);
const tools = powertools();
const keys = new KeyService(keyStore(config, tools), kmsMasterKey(config, tools));
const ledger = new LedgerService(ledgerStore(config, tools), keys);

/** The Lambda handler. */
export const handler = apiEntry('appendRecords', appendRecordsHandler({ ledger, verify: cognitoTokenVerifier(config), logger: tools.httpLogger }), tools);
