/**
 * Lambda entry of the log publisher: the ledger table's stream (batch item
 * inserts, batching window) → tiles, bundles and a checkpoint signed with the
 * KMS Ed25519 key, per tenant (see shared/stream-publisher.ts).
 */
import { LogPublisher } from '../services/log-publisher.js';
import { ledgerStore } from './shared/dynamo-adapters.js';
import { KmsCheckpointSigners } from './shared/kms-adapters.js';
import { readEnv } from './shared/env.js';
import { instrumented, powertools } from './shared/powertools.js';
import { logObjects } from './shared/s3-adapters.js';
import { publishOnStream } from './shared/stream-publisher.js';

const config = readEnv(['ledgerTable', 'logBucket', 'signingKey']);
const tools = powertools();
const signers = new KmsCheckpointSigners(config, tools);
/** Bounded steps, so one invocation never holds a whole backlog's tiles (the handler loops until caught up). */
const publisher = new LogPublisher(ledgerStore(config, tools), logObjects(config, tools), signers, { logPrefix: config.logPrefix, maxEntries: 65_536 });

/** The Lambda handler. */
export const handler = instrumented(
  publishOnStream({ publisher, prepare: (origin) => signers.ready(origin), logPrefix: config.logPrefix, logger: tools.logger, metrics: tools.metrics }),
  tools,
);
