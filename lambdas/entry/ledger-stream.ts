/**
 * Lambda entry of the change stream consumer (DESIGN §1): the ledger table's
 * stream (batch item inserts) → the event archive (S3 event store copy, then
 * EventBridge) and the PostgreSQL projection (as the projector role, payloads
 * decrypted with the tenant's keys, read only). Runs in the VPC.
 */
import { ledgerStreamHandler } from '../handlers/ledger-stream.js';
import { downstreamCopies } from './shared/downstream-copies.js';
import { readEnv } from './shared/env.js';
import { instrumented, powertools } from './shared/powertools.js';

const config = readEnv(['keyTable', 'masterKey', 'eventBus', 'eventBucket', 'database']);
const tools = powertools();

/** The Lambda handler. */
export const handler = instrumented(ledgerStreamHandler({ consumers: downstreamCopies(config, tools), logger: tools.httpLogger }), tools);
