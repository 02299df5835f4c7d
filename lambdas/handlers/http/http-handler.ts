/**
 * `httpHandler`: the one middleware stack every API handler runs behind, so
 * no route forgets authentication, problem responses or `no-store`:
 *
 *   problemResponses → jsonResponse → authenticate (if the route needs it) → jsonBody (if given) → handler
 *
 * `problemResponses` comes first so its `onError` runs last and answers
 * errors from every other phase.
 */
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Route } from '../routes.js';
import { authenticate } from './authenticate.js';
import type { HttpEvent, HttpResponse, HttpResult } from './http-types.js';
import { jsonBody, type JsonBodyOptions } from './json-body.js';
import { jsonResponse } from './json-response.js';
import type { Logger } from './logger.js';
import { problemResponses } from './problem-responses.js';
import type { TokenVerifier } from './token-verifier.js';

export interface HttpHandlerOptions {
  readonly route: Route;
  readonly logger: Logger;
  /** Required when `route.auth`. */
  readonly verify?: TokenVerifier;
  /** Parse a JSON body with these limits; omit for routes without a body. */
  readonly body?: JsonBodyOptions;
  readonly retryAfterSeconds?: number;
}

export type HttpHandler = MiddyfiedHandler<HttpEvent, HttpResponse, Error, Context>;

/**
 * @example
 * export const handler = httpHandler({ route: routeById('healthz'), logger }, async () => ({ statusCode: 200, body: { status: 'ok' } }));
 */
export function httpHandler(options: HttpHandlerOptions, handle: (event: HttpEvent, context: Context) => Promise<HttpResult>): HttpHandler {
  if (options.route.auth && options.verify === undefined) throw new TypeError(`httpHandler: route ${options.route.operationId} needs a token verifier`);
  const stack = middy<HttpEvent, HttpResponse, Error, Context>()
    .use(problemResponses({ logger: options.logger, ...(options.retryAfterSeconds !== undefined ? { retryAfterSeconds: options.retryAfterSeconds } : {}) }))
    .use(jsonResponse());
  if (options.route.auth) stack.use(authenticate({ verify: options.verify!, route: options.route }));
  if (options.body) stack.use(jsonBody(options.body));
  return stack.handler(handle as unknown as Parameters<typeof stack.handler>[0]) as HttpHandler;
}
