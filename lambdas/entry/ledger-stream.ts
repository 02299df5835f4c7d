/**
 * Lambda entry of the change stream consumer (DESIGN §1): the ledger table's
 * stream (batch item inserts) → the event archive (S3 event store copy, then
 * EventBridge) and the PostgreSQL projection (as the projector role, payloads
 * decrypted with the tenant's keys, read only). Runs in the VPC.
 */
import { PostgresProjectionWriter } from '../adapters/postgres/postgres-projection-store.js';
import { ledgerStreamHandler } from '../handlers/ledger-stream.js';
import { EventArchive } from '../services/event-archive.js';
import { KeyService } from '../services/key-service.js';
import { Projector } from '../services/projector.js';
import { keyStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { eventPublisher } from './shared/eventbridge-adapters.js';
import { kmsMasterKey } from './shared/kms-adapters.js';
import { projectionDb } from './shared/postgres.js';
import { instrumented, powertools } from './shared/powertools.js';
import { eventObjects } from './shared/s3-adapters.js';

const config = readEnv(['keyTable', 'masterKey', 'eventBus', 'eventBucket', 'database']);
const tools = powertools();
const keys = new KeyService(keyStore(config, tools), kmsMasterKey(config, tools));
const consumers = [
  new EventArchive(eventObjects(config, tools), eventPublisher(config, tools)),
  new Projector(new PostgresProjectionWriter(projectionDb(config, tools)), keys),
];

/** The Lambda handler. */
export const handler = instrumented(ledgerStreamHandler({ consumers, logger: tools.httpLogger }), tools);
