/**
 * Lambda entry of POST /v1/tenants/{tenant}/admin/keys/rotate (scope admin):
 * a new KEK version from the master key, recorded as a SYSTEM entry.
 */
import { adminKeysHandlers } from '../handlers/admin-keys.js';
import { KeyService } from '../services/key-service.js';
import { LedgerService } from '../services/ledger-service.js';
import { apiEntry, notWired } from './shared/api-entry.js';
import { keyStore, ledgerStore } from './shared/dynamo-adapters.js';
import { kmsMasterKey } from './shared/kms-adapters.js';
import { cognitoTokenVerifier } from './shared/cognito.js';
import { readEnv } from './shared/env.js';
import { powertools } from './shared/powertools.js';

const config = readEnv(['ledgerTable', 'keyTable', 'masterKey', 'tokens']);
const tools = powertools();
const keys = new KeyService(keyStore(config, tools), kmsMasterKey(config, tools));
const { rotateKeys } = adminKeysHandlers({
  keys,
  ledger: new LedgerService(ledgerStore(config, tools), keys),
  projection: notWired('projection'), // only shredding purges the projection
  verify: cognitoTokenVerifier(config),
  logger: tools.httpLogger,
});

/** The Lambda handler. */
export const handler = apiEntry('rotateKeys', rotateKeys, tools);
