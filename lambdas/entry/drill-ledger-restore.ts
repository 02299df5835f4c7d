/**
 * Lambda entry of the drill's ledger restore (issue 8): starts the DynamoDB
 * point-in-time restore of the ledger table into the run's scratch table
 * (encrypted with the storage key), polls it, and deletes the scratch table
 * (`{ step: 'start' | 'ready' | 'teardown', state }`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoPitrRestore } from '../adapters/aws/dynamo-pitr-restore.js';
import { awsClient } from './shared/aws-clients.js';
import { drillScratchName, readEnv } from './shared/env.js';
import { powertools } from './shared/powertools.js';
import { restoreEntry } from './shared/verification-deps.js';

const config = readEnv(['drill']);
const tools = powertools();
const client = awsClient('dynamodb', tools, () => new DynamoDBClient({}));

/** The Lambda handler. */
export const handler = restoreEntry('ledger', tools, (runId) => new DynamoPitrRestore({
  client,
  sourceTable: config.drillSourceTable,
  scratchTable: drillScratchName(config.drillNamePrefix, 'ledger', runId),
  kmsKeyId: config.drillDataKeyArn,
  pollMs: 15_000,
}));
