/**
 * Lambda entry of POST /v1/tenants/{tenant}/admin/shred (scope admin):
 * crypto-shredding deletes the tenant's wrapped keys, records it as a SYSTEM
 * entry (clear payload) and purges the projection's plaintext copies as the
 * purge role, so it runs in the VPC (tokens: `gatewayVerifiedTokens`). It
 * never uses the master key, so it holds no permission on it.
 */
import { PostgresProjectionWriter } from '../adapters/postgres/postgres-projection-store.js';
import { adminKeysHandlers } from '../handlers/admin-keys.js';
import { KeyService } from '../services/key-service.js';
import { LedgerService } from '../services/ledger-service.js';
import { apiEntry, notWired } from './shared/api-entry.js';
import { gatewayVerifiedTokens } from './shared/cognito.js';
import { keyStore, ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { projectionDb } from './shared/postgres.js';
import { powertools } from './shared/powertools.js';

const config = readEnv(['ledgerTable', 'keyTable', 'database', 'tokens']);
const tools = powertools();
const keys = new KeyService(keyStore(config, tools), notWired('master key'));
const { shredTenant } = adminKeysHandlers({
  keys,
  ledger: new LedgerService(ledgerStore(config, tools), keys),
  projection: new PostgresProjectionWriter(projectionDb(config, tools)),
  verify: gatewayVerifiedTokens(config),
  logger: tools.httpLogger,
});

/** The Lambda handler. */
export const handler = apiEntry('shredTenant', shredTenant, tools);
