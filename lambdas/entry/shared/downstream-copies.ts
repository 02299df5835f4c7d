/**
 * The two downstream copies of the ledger (DESIGN §1) as cold-start wiring:
 * the event archive (S3 event store + EventBridge) and the PostgreSQL
 * projection (as the configured database role, payloads decrypted with the
 * tenant's keys). The stream consumer feeds them; the verification's segment
 * step compares them with the ledger and re-derives what they lack.
 */
import { PostgresProjectionWriter } from '../../adapters/postgres/postgres-projection-store.js';
import type { ChangeCopy } from '../../ports/change-stream.js';
import { EventArchive } from '../../services/event-archive.js';
import { KeyService } from '../../services/key-service.js';
import { Projector } from '../../services/projector.js';
import { keyStore } from './dynamo-adapters.js';
import type { EntryConfig } from './env.js';
import { eventPublisher } from './eventbridge-adapters.js';
import { kmsMasterKey } from './kms-adapters.js';
import { projectionDb } from './postgres.js';
import type { Powertools } from './powertools.js';
import { eventObjects } from './s3-adapters.js';

/**
 * @example
 * const copies = downstreamCopies(readEnv(['keyTable', 'masterKey', 'eventBus', 'eventBucket', 'database']), powertools());
 */
export function downstreamCopies(config: EntryConfig<'keyTable' | 'masterKey' | 'eventBus' | 'eventBucket' | 'database'>, tools: Powertools): ChangeCopy[] {
  const keys = new KeyService(keyStore(config, tools), kmsMasterKey(config, tools));
  return [new EventArchive(eventObjects(config, tools), eventPublisher(config, tools)), new Projector(new PostgresProjectionWriter(projectionDb(config, tools)), keys)];
}
