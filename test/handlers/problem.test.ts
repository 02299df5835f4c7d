import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { CoreError, InvalidRangeError } from '../../lambdas/core/errors.js';
import {
  AuthenticationUnavailableError,
  BodyTooLargeError,
  HttpError,
  IdempotencyKeyMissingError,
  InsufficientScopeError,
  MalformedJsonError,
  MethodNotAllowedError,
  NotFoundError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../lambdas/handlers/http/http-errors.js';
import type { HttpEvent, HttpResponse } from '../../lambdas/handlers/http/http-types.js';
import { PROBLEM_TYPES, problemTypeOf, toProblemResponse, type ErrorCode } from '../../lambdas/handlers/http/problem.js';
import { problemResponses } from '../../lambdas/handlers/http/problem-responses.js';
import { LedgerUnavailableError, PortError, type PortErrorCode } from '../../lambdas/ports/errors.js';
import { LedgerBusyError, RevisionConflictError, ServiceError, type ServiceErrorCode } from '../../lambdas/services/errors.js';
import { LogError, type LogErrorCode } from '../../lambdas/services/log-errors.js';
import { bodyOf, context, httpEvent, memoryLogger } from './http-fixtures.js';

/** The stable contract: status and problem name per code. Changing a line here is an API change. */
const EXPECTED: Record<ErrorCode, [family: 'core' | 'port' | 'service' | 'log' | 'http', status: number, name: string]> = {
  MALFORMED_JSON: ['http', 400, 'malformed-json'],
  UNSUPPORTED_MEDIA_TYPE: ['http', 415, 'unsupported-media-type'],
  BODY_TOO_LARGE: ['http', 413, 'body-too-large'],
  VALIDATION_FAILED: ['http', 400, 'validation-failed'],
  IDEMPOTENCY_KEY_MISSING: ['http', 400, 'idempotency-key-missing'],
  UNAUTHORIZED: ['http', 401, 'unauthorized'],
  AUTHENTICATION_UNAVAILABLE: ['http', 503, 'authentication-unavailable'],
  INSUFFICIENT_SCOPE: ['http', 403, 'insufficient-scope'],
  NOT_FOUND: ['http', 404, 'not-found'],
  METHOD_NOT_ALLOWED: ['http', 405, 'method-not-allowed'],
  NOT_IMPLEMENTED: ['http', 501, 'not-implemented'],
  TOO_MANY_REQUESTS: ['http', 429, 'too-many-requests'],
  REQUEST_BLOCKED: ['http', 403, 'request-blocked'],
  INVALID_INPUT: ['service', 400, 'invalid-input'],
  IDEMPOTENCY_CONFLICT: ['service', 422, 'idempotency-key-reused'],
  REVISION_CONFLICT: ['service', 409, 'revision-conflict'],
  LEDGER_BUSY: ['service', 503, 'ledger-busy'],
  NOTHING_DISCARDED: ['service', 409, 'nothing-discarded'],
  RECOVERY_NOT_A_PREFIX: ['service', 409, 'recovery-not-a-prefix'],
  RECOVERY_CONFLICT: ['service', 409, 'recovery-conflict'],
  INVALID_TENANT: ['log', 400, 'invalid-tenant'],
  CHECKPOINT_NOT_FOUND: ['log', 404, 'not-found'],
  COMMITMENT_NOT_FOUND: ['log', 404, 'commitment-not-found'],
  ENTRY_NOT_PUBLISHED: ['log', 404, 'entry-not-published'],
  POSITION_OUT_OF_RANGE: ['log', 404, 'position-out-of-range'],
  TREE_SIZE_BEYOND_CHECKPOINT: ['log', 400, 'tree-size-beyond-checkpoint'],
  INVALID_PROOF_RANGE: ['log', 400, 'invalid-proof-range'],
  INVALID_TILE_PATH: ['log', 404, 'not-found'],
  TILE_NOT_FOUND: ['log', 404, 'not-found'],
  CHECKPOINT_INVALID: ['log', 500, 'integrity-failure'],
  LOG_ROOT_MISMATCH: ['log', 500, 'integrity-failure'],
  LEDGER_BEHIND_CHECKPOINT: ['log', 500, 'integrity-failure'],
  LOG_INCOMPLETE: ['log', 500, 'integrity-failure'],
  OBJECT_IMMUTABLE: ['port', 500, 'integrity-failure'],
  OBJECT_STORE_UNAVAILABLE: ['port', 503, 'object-store-unavailable'],
  CHANGE_CONFLICT: ['port', 500, 'integrity-failure'],
  PROJECTION_UNAVAILABLE: ['port', 503, 'projection-unavailable'],
  PROJECTION_BEHIND: ['port', 503, 'projection-behind'],
  EVENT_BUS_UNAVAILABLE: ['port', 503, 'event-bus-unavailable'],
  EVENT_REJECTED: ['port', 500, 'internal-error'],
  POSITION_TAKEN: ['port', 503, 'ledger-busy'],
  LEDGER_UNAVAILABLE: ['port', 503, 'ledger-unavailable'],
  KEY_SERVICE_UNAVAILABLE: ['port', 503, 'key-service-unavailable'],
  KEY_SHREDDED: ['port', 410, 'data-shredded'],
  LEGAL_HOLD: ['port', 409, 'legal-hold'],
  BATCH_TOO_LARGE: ['port', 413, 'batch-too-large'],
  KEY_UNAVAILABLE: ['port', 500, 'key-unavailable'],
  KEY_EXISTS: ['port', 500, 'internal-error'],
  KEY_FILE_INVALID: ['port', 500, 'server-misconfigured'],
  INVALID_ENTRY: ['core', 422, 'invalid-entry'],
  ENTRY_TOO_LARGE: ['core', 413, 'entry-too-large'],
  INVALID_SIGNATURE: ['core', 422, 'invalid-signature'],
  INVALID_HASH: ['core', 400, 'invalid-hash'],
  INVALID_RANGE: ['core', 400, 'invalid-range'],
  INVALID_PROOF: ['core', 500, 'integrity-failure'],
  INVALID_NOTE: ['core', 500, 'integrity-failure'],
  INVALID_KEY: ['core', 500, 'integrity-failure'],
  INVALID_CHECKPOINT: ['core', 500, 'integrity-failure'],
  INVALID_TILE: ['core', 500, 'integrity-failure'],
  INVALID_ENVELOPE: ['core', 500, 'integrity-failure'],
  DECRYPTION_FAILED: ['core', 500, 'integrity-failure'],
};

function errorFor(code: ErrorCode): Error {
  const family = EXPECTED[code][0];
  const message = `secret detail for ${code}`;
  if (family === 'core') return new CoreError(code as never, message);
  if (family === 'port') return new PortError(code as PortErrorCode, message);
  if (family === 'service') return new ServiceError(code as ServiceErrorCode, message);
  if (family === 'log') return new LogError(code as LogErrorCode, message);
  return new HttpError(code as never, message);
}

const options = () => ({ logger: memoryLogger(), retryAfterSeconds: 7 });

describe('PROBLEM_TYPES', () => {
  it('maps every code of every errors module, and nothing else', () => {
    // Assess
    expect(Object.keys(PROBLEM_TYPES).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.keys(EXPECTED) as ErrorCode[])('answers %s with its stable status, type and a title', (code) => {
    // Prepare
    const [, status, name] = EXPECTED[code];
    // Act
    const response = toProblemResponse(errorFor(code), options());
    // Assess
    const body = bodyOf(response);
    expect(response.statusCode).toBe(status);
    expect(body).toMatchObject({ status, type: `urn:govledger:problem:${name}`, title: PROBLEM_TYPES[code].title });
    expect(body.type).toMatch(/^urn:govledger:problem:[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(response.headers).toMatchObject({ 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' });
    expect(JSON.stringify(body).includes('secret detail')).toBe(status < 500);
    expect(response.headers?.['Retry-After']).toBe(status === 503 ? '7' : undefined);
  });

  it('maps subclasses by their code', () => {
    // Act
    const kinds = [new InvalidRangeError('x'), new LedgerUnavailableError('x'), new LedgerBusyError('x'), new NotFoundError()].map((e) => problemTypeOf(e).type);
    // Assess
    expect(kinds).toEqual(['invalid-range', 'ledger-unavailable', 'ledger-busy', 'not-found'].map((n) => `urn:govledger:problem:${n}`));
  });
});

describe('toProblemResponse', () => {
  it('answers an unknown error with a generic 500, logging its message and stack but never sending them', () => {
    // Prepare
    const opts = options();
    const error = new TypeError('db password is hunter2');
    // Act
    const response = toProblemResponse(error, { ...opts, requestId: 'req-9' });
    // Assess
    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({
      type: 'urn:govledger:problem:internal-error',
      title: 'Internal server error',
      status: 500,
      detail: 'the server could not complete the request; the error was logged',
      requestId: 'req-9',
    });
    expect(response.body).not.toContain('hunter2');
    expect(response.body).not.toContain('at ');
    expect(opts.logger.lines).toHaveLength(1);
    expect(opts.logger.lines[0]?.fields).toMatchObject({ requestId: 'req-9', error: { name: 'TypeError', message: 'db password is hunter2' } });
    expect(String((opts.logger.lines[0]?.fields.error as { stack: string }).stack)).toContain('TypeError');
  });

  it('treats thrown non-errors and look-alikes with a code as unknown', () => {
    // Prepare
    const fake = Object.assign(new Error('x'), { code: 'NOT_FOUND' });
    // Act
    const statuses = ['a string', null, fake].map((e) => toProblemResponse(e, options()).statusCode);
    // Assess
    expect(statuses).toEqual([500, 500, 500]);
  });

  it('does not log client errors', () => {
    // Prepare
    const opts = options();
    // Act
    toProblemResponse(new NotFoundError(), opts);
    // Assess
    expect(opts.logger.lines).toEqual([]);
  });

  it('hides the message of a mapped 5xx but says to retry on a 503', () => {
    // Act
    const body = bodyOf(toProblemResponse(new LedgerUnavailableError('table ledger-prod throttled'), options()));
    // Assess
    expect(body.detail).toMatch(/retry/);
    expect(JSON.stringify(body)).not.toContain('ledger-prod');
  });

  it('lists validation issues as the errors extension member', () => {
    // Act
    const body = bodyOf(toProblemResponse(new ValidationError([{ path: '/body/stream', message: 'required' }]), options()));
    // Assess
    expect(body).toMatchObject({ status: 400, errors: [{ path: '/body/stream', message: 'required' }] });
  });

  it('adds the revisions of a revision conflict', () => {
    // Act
    const body = bodyOf(toProblemResponse(new RevisionConflictError('rec-1', 2, 3), options()));
    // Assess
    expect(body).toMatchObject({ status: 409, recordId: 'rec-1', expectedRevision: 2, currentRevision: 3 });
  });

  it.each([
    ['401 missing token', new UnauthorizedError(), 'WWW-Authenticate', 'Bearer realm="govledger"'],
    ['401 refused token', new UnauthorizedError('expired', { invalidToken: true }), 'WWW-Authenticate', 'Bearer realm="govledger", error="invalid_token"'],
    ['403', new InsufficientScopeError(['records:write']), 'WWW-Authenticate', 'Bearer realm="govledger", error="insufficient_scope", scope="records:write"'],
    ['405', new MethodNotAllowedError(['GET', 'POST']), 'Allow', 'GET, POST'],
    ['415', new UnsupportedMediaTypeError('text/plain'), 'Accept-Post', 'application/json'],
  ])('sends the headers a %s needs', (_name, error, name, value) => {
    // Act
    const response = toProblemResponse(error, options());
    // Assess
    expect(response.headers?.[name]).toBe(value);
  });

  it('never lets an extension member override a standard one', () => {
    // Prepare
    const error = new HttpError('NOT_FOUND', 'gone', { extensions: { status: 200, type: 'x' } });
    // Act
    const body = bodyOf(toProblemResponse(error, options()));
    // Assess
    expect(body).toMatchObject({ status: 404, type: 'urn:govledger:problem:not-found' });
  });

  it('uses one fixed detail for not-found, whatever the cause', () => {
    // Act / Assess
    expect(bodyOf(toProblemResponse(new NotFoundError(), options())).detail).toBe('no such resource');
    expect([new MalformedJsonError(), new BodyTooLargeError(10, 5), new IdempotencyKeyMissingError(), new AuthenticationUnavailableError('x')].map((e) => problemTypeOf(e).status)).toEqual([400, 413, 400, 503]);
  });
});

describe('problemResponses', () => {
  const run = (error: unknown, logger = memoryLogger()) =>
    middy<HttpEvent, HttpResponse>()
      .use(problemResponses({ logger, retryAfterSeconds: 3 }))
      .handler(async () => {
        throw error;
      })(httpEvent(), context);

  it('turns a thrown error into a problem response carrying the request id', async () => {
    // Act
    const response = await run(new LedgerBusyError('busy'));
    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('3');
    expect(bodyOf(response)).toMatchObject({ type: 'urn:govledger:problem:ledger-busy', requestId: 'req-0001' });
  });

  it('logs an unknown error through the injected logger', async () => {
    // Prepare
    const logger = memoryLogger();
    // Act
    const response = await run(new Error('boom'), logger);
    // Assess
    expect(response.statusCode).toBe(500);
    expect(logger.lines.map((l) => l.level)).toEqual(['error']);
  });

  it.each([
    [{ logger: {} as never }],
    [{ retryAfterSeconds: -1 }],
    [{ retryAfterSeconds: 1.5 }],
  ])('refuses invalid options %j', (opts) => {
    // Act / Assess
    expect(() => problemResponses({ logger: memoryLogger(), ...opts })).toThrow(TypeError);
  });
});
