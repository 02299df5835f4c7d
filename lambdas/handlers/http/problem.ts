/**
 * RFC 9457 problem details: the ONE mapping from error codes (core, ports,
 * services, HTTP layer) to an HTTP status, a stable `type` URI
 * (`urn:govledger:problem:<kebab-name>`) and a title. The table is typed over
 * the union of all code types, so a new code anywhere breaks the build until
 * it is mapped here.
 *
 * 4xx problems carry the error's message as `detail` (it describes the
 * client's own request). 5xx problems never do: their detail is generic, the
 * error (message, stack, cause) goes to the injected logger only. 503s carry
 * `Retry-After`.
 */
import { CoreError, type CoreErrorCode } from '../../core/errors.js';
import { PortError, type PortErrorCode } from '../../ports/errors.js';
import { RevisionConflictError, ServiceError, type ServiceErrorCode } from '../../services/errors.js';
import { LogError, type LogErrorCode } from '../../services/log-errors.js';
import { HttpError, type HttpErrorCode } from './http-errors.js';
import type { HttpResponse } from './http-types.js';
import type { Logger } from './logger.js';

export type ErrorCode = CoreErrorCode | PortErrorCode | ServiceErrorCode | LogErrorCode | HttpErrorCode;

/** What a problem response says about an error class. */
export interface ProblemType {
  readonly status: number;
  /** Stable URI: clients switch on it, never on `title` or `detail`. */
  readonly type: string;
  readonly title: string;
}

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';
const URN = 'urn:govledger:problem:';
const problem = (status: number, name: string, title: string): ProblemType => ({ status, type: `${URN}${name}`, title });

const integrity = problem(500, 'integrity-failure', 'Stored ledger data failed verification');
const busy = problem(503, 'ledger-busy', 'The tenant\'s ledger is busy');

/** Every error code, mapped once. */
export const PROBLEM_TYPES: Readonly<Record<ErrorCode, ProblemType>> = {
  // HTTP layer
  MALFORMED_JSON: problem(400, 'malformed-json', 'Malformed JSON body'),
  UNSUPPORTED_MEDIA_TYPE: problem(415, 'unsupported-media-type', 'Unsupported media type'),
  BODY_TOO_LARGE: problem(413, 'body-too-large', 'Request body too large'),
  VALIDATION_FAILED: problem(400, 'validation-failed', 'Request validation failed'),
  IDEMPOTENCY_KEY_MISSING: problem(400, 'idempotency-key-missing', 'Idempotency-Key header missing'),
  UNAUTHORIZED: problem(401, 'unauthorized', 'Authentication required'),
  AUTHENTICATION_UNAVAILABLE: problem(503, 'authentication-unavailable', 'Token verification is unavailable'),
  INSUFFICIENT_SCOPE: problem(403, 'insufficient-scope', 'Insufficient scope'),
  NOT_FOUND: problem(404, 'not-found', 'Not found'),
  METHOD_NOT_ALLOWED: problem(405, 'method-not-allowed', 'Method not allowed'),
  NOT_IMPLEMENTED: problem(501, 'not-implemented', 'Not implemented yet'),
  TOO_MANY_REQUESTS: problem(429, 'too-many-requests', 'Too many requests'), // API Gateway throttling (gateway response)
  REQUEST_BLOCKED: problem(403, 'request-blocked', 'Request blocked'), // AWS WAF (gateway response)
  // services
  INVALID_INPUT: problem(400, 'invalid-input', 'Invalid request'),
  IDEMPOTENCY_CONFLICT: problem(422, 'idempotency-key-reused', 'Idempotency-Key reused with another request'),
  REVISION_CONFLICT: problem(409, 'revision-conflict', 'Revision conflict'),
  LEDGER_BUSY: busy,
  NOTHING_DISCARDED: problem(409, 'nothing-discarded', 'Nothing was discarded: the ledger extends its checkpoints'),
  RECOVERY_NOT_A_PREFIX: problem(409, 'recovery-not-a-prefix', 'The retained ledger is not a prefix of the signed log'),
  RECOVERY_CONFLICT: problem(409, 'recovery-conflict', 'An invalid recovery entry already claims this fork'),
  // log reads and publishing
  INVALID_TENANT: problem(400, 'invalid-tenant', 'Invalid tenant id'),
  CHECKPOINT_NOT_FOUND: problem(404, 'not-found', 'Not found'),
  COMMITMENT_NOT_FOUND: problem(404, 'commitment-not-found', 'No such commitment'),
  ENTRY_NOT_PUBLISHED: problem(404, 'entry-not-published', 'Entry not yet covered by a checkpoint'),
  POSITION_OUT_OF_RANGE: problem(404, 'position-out-of-range', 'Position out of range'),
  TREE_SIZE_BEYOND_CHECKPOINT: problem(400, 'tree-size-beyond-checkpoint', 'treeSize beyond the latest checkpoint'),
  INVALID_PROOF_RANGE: problem(400, 'invalid-proof-range', 'Invalid proof range'),
  INVALID_TILE_PATH: problem(404, 'not-found', 'Not found'),
  TILE_NOT_FOUND: problem(404, 'not-found', 'Not found'),
  CHECKPOINT_INVALID: integrity,
  LOG_ROOT_MISMATCH: integrity,
  LEDGER_BEHIND_CHECKPOINT: integrity,
  LOG_INCOMPLETE: integrity,
  // ports
  OBJECT_IMMUTABLE: integrity,
  OBJECT_STORE_UNAVAILABLE: problem(503, 'object-store-unavailable', 'The log object store is unavailable'),
  CHANGE_CONFLICT: integrity,
  PROJECTION_UNAVAILABLE: problem(503, 'projection-unavailable', 'The query database is unavailable'),
  PROJECTION_BEHIND: problem(503, 'projection-behind', 'The projection has not reached the requested position yet'),
  // the event archive's bus: raised on the change stream, never by a route today
  EVENT_BUS_UNAVAILABLE: problem(503, 'event-bus-unavailable', 'The event bus is unavailable'),
  EVENT_REJECTED: problem(500, 'internal-error', 'Internal server error'), // a deployment bug
  POSITION_TAKEN: busy, // the service retries lost races; one escaping is the same condition
  LEDGER_UNAVAILABLE: problem(503, 'ledger-unavailable', 'The ledger store is unavailable'),
  KEY_SERVICE_UNAVAILABLE: problem(503, 'key-service-unavailable', 'The key service is unavailable'),
  KEY_SHREDDED: problem(410, 'data-shredded', 'The tenant\'s data was crypto-shredded'),
  LEGAL_HOLD: problem(409, 'legal-hold', 'A legal hold forbids this operation'),
  BATCH_TOO_LARGE: problem(413, 'batch-too-large', 'Batch too large'),
  KEY_UNAVAILABLE: problem(500, 'key-unavailable', 'A key could not be used'),
  KEY_EXISTS: problem(500, 'internal-error', 'Internal server error'), // services settle it; escaping is a bug
  KEY_FILE_INVALID: problem(500, 'server-misconfigured', 'The server is misconfigured'),
  // core: client data
  INVALID_ENTRY: problem(422, 'invalid-entry', 'The ledger refused the entry'),
  ENTRY_TOO_LARGE: problem(413, 'entry-too-large', 'Entry too large'),
  INVALID_SIGNATURE: problem(422, 'invalid-signature', 'Invalid signature'),
  INVALID_HASH: problem(400, 'invalid-hash', 'Invalid hash'),
  INVALID_RANGE: problem(400, 'invalid-range', 'Position or tree size out of range'),
  // core: our own stored data did not verify
  INVALID_PROOF: integrity,
  INVALID_NOTE: integrity,
  INVALID_KEY: integrity,
  INVALID_CHECKPOINT: integrity,
  INVALID_TILE: integrity,
  INVALID_ENVELOPE: integrity,
  DECRYPTION_FAILED: integrity,
};

/** For anything unmapped: never its message, never its stack. */
export const INTERNAL_ERROR: ProblemType = problem(500, 'internal-error', 'Internal server error');

const GENERIC_DETAIL: Readonly<Record<number, string>> = {
  503: 'the service is temporarily unavailable; retry after the time in Retry-After',
};
const GENERIC_5XX = 'the server could not complete the request; the error was logged';

function codeOf(error: unknown): ErrorCode | undefined {
  const known =
    error instanceof HttpError || error instanceof ServiceError || error instanceof LogError || error instanceof PortError || error instanceof CoreError;
  return known && Object.hasOwn(PROBLEM_TYPES, error.code) ? (error.code as ErrorCode) : undefined;
}

/**
 * The problem type of an error; `INTERNAL_ERROR` for anything unmapped.
 *
 * @example
 * problemTypeOf(new RevisionConflictError('r1', 1, 2)); // → { status: 409, type: 'urn:govledger:problem:revision-conflict', … }
 */
export function problemTypeOf(error: unknown): ProblemType {
  const code = codeOf(error);
  return code === undefined ? INTERNAL_ERROR : PROBLEM_TYPES[code];
}

function extensionsOf(error: unknown): Record<string, unknown> {
  if (error instanceof HttpError) return { ...error.extensions };
  if (error instanceof RevisionConflictError) return { recordId: error.recordId, expectedRevision: error.expected, currentRevision: error.actual };
  return {};
}

export interface ProblemOptions {
  readonly logger: Logger;
  /** `Retry-After` on 503s, seconds. */
  readonly retryAfterSeconds: number;
  /** Echoed as the `requestId` member and logged, to join a report to the logs. */
  readonly requestId?: string;
}

/**
 * Renders any error as an `application/problem+json` response; 5xx errors are
 * logged and their message withheld.
 *
 * @example
 * return toProblemResponse(new NotFoundError(), { logger, retryAfterSeconds: 1 });
 */
export function toProblemResponse(error: unknown, options: ProblemOptions): HttpResponse {
  const kind = problemTypeOf(error);
  const serverSide = kind.status >= 500;
  if (serverSide) {
    const e = error instanceof Error ? error : undefined;
    options.logger.error('request failed', {
      requestId: options.requestId,
      problem: kind.type,
      error: { name: e?.name, code: (e as { code?: unknown } | undefined)?.code, message: e?.message ?? String(error), stack: e?.stack },
    });
  }
  const detail = serverSide ? (GENERIC_DETAIL[kind.status] ?? GENERIC_5XX) : (error as Error).message;
  const body = {
    ...(serverSide ? {} : extensionsOf(error)),
    type: kind.type,
    title: kind.title,
    status: kind.status,
    detail,
    ...(options.requestId ? { requestId: options.requestId } : {}),
  };
  const headers: Record<string, string> = {
    ...(error instanceof HttpError && !serverSide ? error.headers : {}),
    'Content-Type': PROBLEM_MEDIA_TYPE,
    'Cache-Control': 'no-store',
  };
  if (kind.status === 503) headers['Retry-After'] = String(options.retryAfterSeconds);
  return { statusCode: kind.status, headers, body: JSON.stringify(body) };
}
