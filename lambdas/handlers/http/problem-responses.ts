/**
 * `problemResponses`: middy middleware whose `onError` answers every error
 * with an RFC 9457 `application/problem+json` response (mapping in
 * `problem.ts`). Use it first, so its `onError` runs last and sees errors of
 * every other middleware.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import type { HttpEvent, HttpResponse } from './http-types.js';
import { isLogger, jsonLogger, type Logger } from './logger.js';
import { toProblemResponse } from './problem.js';

export interface ProblemResponsesOptions {
  /** Where 5xx errors are logged (default: JSON lines on stderr). */
  readonly logger?: Logger;
  /** `Retry-After` on 503s, seconds (default 1). */
  readonly retryAfterSeconds?: number;
}

const defaults = { logger: undefined as Logger | undefined, retryAfterSeconds: 1 };

/**
 * @example
 * middy(handler).use(problemResponses({ logger }));
 */
export function problemResponses(opts: ProblemResponsesOptions = {}): MiddlewareObj<HttpEvent, HttpResponse> {
  const options = { ...defaults, ...opts };
  const logger = options.logger ?? jsonLogger();
  if (!isLogger(logger)) throw new TypeError('problemResponses: logger must have error() and warn()');
  if (!Number.isSafeInteger(options.retryAfterSeconds) || options.retryAfterSeconds < 0) {
    throw new TypeError(`problemResponses: retryAfterSeconds must be a non-negative integer, got ${options.retryAfterSeconds}`);
  }

  const problemResponsesOnError = (request: Request<HttpEvent, HttpResponse>): void => {
    if (request.response !== undefined && request.response !== null) return; // another middleware already answered
    const requestId = request.event?.requestContext?.requestId;
    request.response = toProblemResponse(request.error, { logger, retryAfterSeconds: options.retryAfterSeconds, ...(requestId ? { requestId } : {}) });
  };

  return { onError: problemResponsesOnError };
}
