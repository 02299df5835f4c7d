/**
 * The record query routes (DESIGN §3): a record's current state (optionally
 * a verified read with its inclusion proof), its history, and the records as
 * of a position or a time. Thin: parse, call the `RecordReader`, answer;
 * errors become problems in `http/problem.ts` (404 for a record that does not
 * exist, exactly as for another tenant's; 410 once shredded; 503 when
 * `waitFor` times out).
 */
import type { RecordReader } from '../services/record-reader.js';
import { NotFoundError } from './http/http-errors.js';
import { httpHandler, type HttpHandler } from './http/http-handler.js';
import type { HttpEvent } from './http/http-types.js';
import type { Logger } from './http/logger.js';
import type { TokenVerifier } from './http/token-verifier.js';
import { routeById } from './routes.js';
import { getRecordQuerySchema, listRecordsQuerySchema, parseOrThrow, recordHistoryQuerySchema, recordIdSchema } from './schemas.js';

export interface RecordReadDeps {
  readonly reader: Pick<RecordReader, 'record' | 'history' | 'list'>;
  readonly verify: TokenVerifier;
  readonly logger: Logger;
}

const DEFAULT_LIMIT = 100;
const tenantOf = (event: HttpEvent): string => event.pathParameters!.tenant!;
const recordIdOf = (event: HttpEvent): string => parseOrThrow(recordIdSchema, event.pathParameters?.recordId, '/path/recordId');
const wait = (q: { waitFor?: number; timeout?: number }) => ({
  ...(q.waitFor !== undefined ? { waitFor: q.waitFor } : {}),
  ...(q.timeout !== undefined ? { timeoutMs: q.timeout } : {}),
});
const page = (q: { cursor?: string; limit?: number }) => ({ limit: q.limit ?? DEFAULT_LIMIT, ...(q.cursor !== undefined ? { cursor: q.cursor } : {}) });

/**
 * The handlers of the record routes, by operation id.
 *
 * @example
 * const { getRecord, getRecordHistory, listRecords } = recordReadHandlers({ reader, verify, logger });
 */
export function recordReadHandlers(deps: RecordReadDeps): Record<'getRecord' | 'getRecordHistory' | 'listRecords', HttpHandler> {
  const base = { logger: deps.logger, verify: deps.verify };
  return {
    getRecord: httpHandler({ ...base, route: routeById('getRecord') }, async (event) => {
      const recordId = recordIdOf(event);
      const query = parseOrThrow(getRecordQuerySchema, event.queryStringParameters ?? {}, '/query');
      const answer = await deps.reader.record(tenantOf(event), recordId, { ...wait(query), proof: query.proof === 'true' });
      if (!answer) throw new NotFoundError();
      return { statusCode: 200, body: answer };
    }),
    getRecordHistory: httpHandler({ ...base, route: routeById('getRecordHistory') }, async (event) => {
      const recordId = recordIdOf(event);
      const query = parseOrThrow(recordHistoryQuerySchema, event.queryStringParameters ?? {}, '/query');
      const answer = await deps.reader.history(tenantOf(event), recordId, { ...wait(query), ...page(query) });
      if (!answer) throw new NotFoundError();
      return { statusCode: 200, body: answer };
    }),
    listRecords: httpHandler({ ...base, route: routeById('listRecords') }, async (event) => {
      const query = parseOrThrow(listRecordsQuerySchema, event.queryStringParameters ?? {}, '/query');
      const answer = await deps.reader.list(tenantOf(event), {
        ...wait(query),
        ...page(query),
        ...(query.asOf !== undefined ? { asOf: query.asOf } : {}),
        ...(query.stream !== undefined ? { stream: query.stream } : {}),
      });
      return { statusCode: 200, body: answer };
    }),
  };
}
