/**
 * Wiring of the record query routes (`recordReadHandlers`), one function per
 * route, in the VPC: they read the PostgreSQL projection through RDS Proxy as
 * the reader role. Tokens are checked with `gatewayVerifiedTokens` (no route
 * to the JWKS from the VPC).
 */
import { recordReadHandlers } from '../../handlers/record-reads.js';
import { PostgresProjectionReader } from '../../adapters/postgres/postgres-projection-store.js';
import { RecordReader, type RecordReaderOptions } from '../../services/record-reader.js';
import { apiEntry } from './api-entry.js';
import { gatewayVerifiedTokens } from './cognito.js';
import type { EntryConfig } from './env.js';
import { projectionDb } from './postgres.js';
import type { Powertools } from './powertools.js';

/**
 * The Lambda handler of one record route; `verified` gives `getRecord` what
 * `?proof=true` needs (the published log and the keys).
 *
 * @example
 * export const handler = recordReadEntry('listRecords', readEnv(['database', 'tokens']), {}, powertools());
 */
export function recordReadEntry(operationId: 'getRecord' | 'getRecordHistory' | 'listRecords', config: EntryConfig<'database' | 'tokens'>, verified: RecordReaderOptions, tools: Powertools) {
  const reader = new RecordReader(new PostgresProjectionReader(projectionDb(config, tools)), verified);
  const handlers = recordReadHandlers({ reader, verify: gatewayVerifiedTokens(config), logger: tools.httpLogger });
  return apiEntry(operationId, handlers[operationId], tools);
}
