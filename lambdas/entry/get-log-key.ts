/**
 * Lambda entry of GET /v1/tenants/{tenant}/log-key: the tenant's checkpoint
 * verifier key, derived from the KMS Ed25519 public key (no ledger access).
 */
import { logReadHandlers } from '../handlers/log-reads.js';
import { apiEntry, notWired } from './shared/api-entry.js';
import { KmsCheckpointSigners } from './shared/kms-adapters.js';
import { cognitoTokenVerifier } from './shared/cognito.js';
import { readEnv } from './shared/env.js';
import { powertools } from './shared/powertools.js';

const config = readEnv(['signingKey', 'tokens']);
const tools = powertools();
const signers = new KmsCheckpointSigners(config, tools);
const { getLogKey } = logReadHandlers({
  reader: notWired('reader'),
  commitments: notWired('commitments'),
  verifierKeyFor: (tenant) => signers.verifierKeyFor(tenant),
  verify: cognitoTokenVerifier(config),
  logger: tools.httpLogger,
});

/** The Lambda handler. */
export const handler = apiEntry('getLogKey', getLogKey, tools);
