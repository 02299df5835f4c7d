/**
 * The log's read routes (DESIGN §3): an entry with its inclusion proof, a
 * consistency proof, a request's commitment proof, the C2SP checkpoint and tiles byte for byte, and the
 * tenant's verifier key. Thin: parse, call the `LogReader`, answer; errors
 * become problems in `http/problem.ts`.
 */
import type { CommitmentReader } from '../services/commitment-reader.js';
import type { LogReader } from '../services/log-reader.js';
import { httpHandler, type HttpHandler } from './http/http-handler.js';
import type { HttpEvent } from './http/http-types.js';
import type { Logger } from './http/logger.js';
import type { TokenVerifier } from './http/token-verifier.js';
import { routeById } from './routes.js';
import { consistencyQuerySchema, entryQuerySchema, idempotencyKeySchema, parseOrThrow, positionParamSchema } from './schemas.js';

export interface LogReadDeps {
  readonly reader: Pick<LogReader, 'entry' | 'consistency' | 'checkpoint' | 'tile'>;
  readonly commitments: Pick<CommitmentReader, 'commitment'>;
  /** The tenant's checkpoint verifier key in C2SP vkey form. */
  readonly verifierKeyFor: (tenant: string) => string | Promise<string>;
  readonly verify: TokenVerifier;
  readonly logger: Logger;
}

const tenantOf = (event: HttpEvent): string => event.pathParameters!.tenant!;
const TEXT = { 'content-type': 'text/plain; charset=utf-8' };
/** Full tiles and bundles never change; partial ones have their own paths. */
const IMMUTABLE = { 'content-type': 'application/octet-stream', 'cache-control': 'public, max-age=31536000, immutable' };

/**
 * The handlers of the log routes, by operation id.
 *
 * @example
 * const { getEntry } = logReadHandlers({ reader, verifierKeyFor, verify, logger });
 */
export function logReadHandlers(deps: LogReadDeps): Record<'getEntry' | 'getConsistencyProof' | 'getCommitment' | 'getCheckpoint' | 'getTile' | 'getLogKey', HttpHandler> {
  const base = { logger: deps.logger, verify: deps.verify };
  return {
    getEntry: httpHandler({ ...base, route: routeById('getEntry') }, async (event) => {
      const position = Number(parseOrThrow(positionParamSchema, event.pathParameters?.position, '/path/position'));
      const query = parseOrThrow(entryQuerySchema, event.queryStringParameters ?? {}, '/query');
      const treeSize = query.treeSize === undefined ? undefined : Number(query.treeSize);
      return { statusCode: 200, body: await deps.reader.entry(tenantOf(event), position, treeSize) };
    }),
    getConsistencyProof: httpHandler({ ...base, route: routeById('getConsistencyProof') }, async (event) => {
      const query = parseOrThrow(consistencyQuerySchema, event.queryStringParameters ?? {}, '/query');
      return { statusCode: 200, body: await deps.reader.consistency(tenantOf(event), Number(query.from), Number(query.to)) };
    }),
    getCommitment: httpHandler({ ...base, route: routeById('getCommitment') }, async (event) => {
      const key = parseOrThrow(idempotencyKeySchema, event.pathParameters?.idempotencyKey, '/path/idempotencyKey');
      return { statusCode: 200, body: await deps.commitments.commitment(tenantOf(event), key) };
    }),
    getCheckpoint: httpHandler({ ...base, route: routeById('getCheckpoint') }, async (event) => ({
      statusCode: 200,
      headers: { ...TEXT, 'cache-control': 'no-store' },
      body: Buffer.from(await deps.reader.checkpoint(tenantOf(event))).toString('utf8'),
    })),
    getTile: httpHandler({ ...base, route: routeById('getTile') }, async (event) => {
      const path = `tile/${event.pathParameters?.tile ?? ''}`;
      const bytes = await deps.reader.tile(tenantOf(event), path);
      return { statusCode: 200, headers: path.includes('.p/') ? { 'content-type': 'application/octet-stream' } : IMMUTABLE, body: Buffer.from(bytes) };
    }),
    getLogKey: httpHandler({ ...base, route: routeById('getLogKey') }, async (event) => ({
      statusCode: 200,
      headers: TEXT,
      body: `${await deps.verifierKeyFor(tenantOf(event))}\n`,
    })),
  };
}
