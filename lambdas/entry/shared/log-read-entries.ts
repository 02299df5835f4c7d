/**
 * Wiring of the log read routes (`logReadHandlers`), one function per route:
 * the entry builds the stores its route reads and passes them in; the rest of
 * the factory's dependencies are `notWired` stand-ins, so a function needs no
 * configuration, permission or SDK client of what its route does not read.
 */
import { logReadHandlers } from '../../handlers/log-reads.js';
import type { LedgerStore } from '../../ports/ledger-store.js';
import type { ObjectStore } from '../../ports/object-store.js';
import { CommitmentReader } from '../../services/commitment-reader.js';
import { LogReader } from '../../services/log-reader.js';
import { apiEntry, notWired } from './api-entry.js';
import { cognitoTokenVerifier } from './cognito.js';
import type { EntryConfig } from './env.js';
import type { Powertools } from './powertools.js';

/** The log read routes served from these stores (checkpoint, tiles and consistency need the bucket only). */
export type LogReadRoute = 'getEntry' | 'getConsistencyProof' | 'getCommitment' | 'getCheckpoint' | 'getTile';

/**
 * The Lambda handler of one log read route.
 *
 * @example
 * const config = readEnv(['logBucket', 'tokens']);
 * export const handler = logReadEntry('getTile', config, { objects: logObjects(config, tools) }, tools);
 */
export function logReadEntry(operationId: LogReadRoute, config: EntryConfig<'tokens'>, stores: { readonly ledger?: LedgerStore; readonly objects: ObjectStore }, tools: Powertools) {
  const reader = new LogReader(stores.ledger ?? notWired('ledger store'), stores.objects);
  const handlers = logReadHandlers({
    reader,
    commitments: stores.ledger ? new CommitmentReader(stores.ledger, reader) : notWired('commitments'),
    verifierKeyFor: notWired('verifierKeyFor'),
    verify: cognitoTokenVerifier(config),
    logger: tools.httpLogger,
  });
  return apiEntry(operationId, handlers[operationId], tools);
}
