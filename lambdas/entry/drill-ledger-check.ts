/**
 * Lambda entry of the drill's ledger check (issue 8): reads the restored
 * scratch table through the same `DynamoLedgerStore`, verifies it on its own
 * against the signed checkpoints (KMS public key) and compares it with the
 * live ledger, position by position, and with what the live ledger had
 * acknowledged by the restore point.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoPitrRestore } from '../adapters/aws/dynamo-pitr-restore.js';
import { originFor } from '../core/checkpoint.js';
import { drillStepHandlers, type DrillTargetState } from '../handlers/drill-steps.js';
import { awsClient } from './shared/aws-clients.js';
import { kmsCheckpointVerifiers } from './shared/checkpoint-verifiers.js';
import { ledgerStore } from './shared/dynamo-adapters.js';
import { drillScratchName, readEnv } from './shared/env.js';
import { instrumented, powertools } from './shared/powertools.js';
import { logObjects } from './shared/s3-adapters.js';
import { drillStepDeps, onlyTarget } from './shared/verification-deps.js';
import { reportSink } from './shared/verification-s3.js';

const config = readEnv(['drill', 'ledgerTable', 'logBucket', 'reportsBucket', 'signingKey']);
const tools = powertools();
const client = awsClient('dynamodb', tools, () => new DynamoDBClient({}));
const verifiers = kmsCheckpointVerifiers(config, tools);
const { check } = drillStepHandlers(drillStepDeps({
  restored: async (target, runId) => {
    const scratch = new DynamoPitrRestore({ client, sourceTable: config.drillSourceTable, scratchTable: drillScratchName(config.drillNamePrefix, onlyTarget('ledger', target), runId) });
    return { open: (restoredTo) => scratch.open(restoredTo), close: async () => undefined };
  },
  drill: {
    live: ledgerStore(config, tools),
    objects: logObjects(config, tools),
    reports: reportSink(config, tools),
    logPrefix: config.logPrefix,
    verifierFor: (origin) => verifiers.verifierFor(origin),
  },
}));

/** The Lambda handler. */
export const handler = instrumented(async (state: DrillTargetState) => {
  await verifiers.prepare(state.tenants.map((tenant) => originFor(config.logPrefix, tenant)));
  return check(state);
}, tools);
