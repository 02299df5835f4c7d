/**
 * What every API entry shares: the REST API bridge, the Powertools
 * middlewares, and a way to satisfy a handler factory's dependencies that the
 * one route a function serves never touches.
 */
import type { HttpHandler } from '../../handlers/http/http-handler.js';
import { routeById, type OperationId } from '../../handlers/routes.js';
import { instrumented, powertools, type Powertools } from './powertools.js';
import { restApiHandler } from './rest-api-event.js';

/**
 * The Lambda handler of one API route: REST API event in, the route's middy
 * handler in between, REST API result out, traced, logged and measured.
 *
 * @example
 * export const handler = apiEntry('getOpenApi', openApiHandler({ logger: tools.httpLogger }), tools);
 */
export function apiEntry(operationId: OperationId, handler: HttpHandler, tools: Powertools = powertools()) {
  return instrumented(restApiHandler(routeById(operationId), handler, tools.httpLogger), tools);
}

/** A dependency used by another route of the same handler factory, called here anyway: a wiring bug. */
export class NotWiredError extends Error {
  readonly code = 'NOT_WIRED';
  constructor(what: string, property: PropertyKey) {
    super(`${what}.${String(property)} is not wired in this function: its route does not use ${what}`);
    this.name = 'NotWiredError';
  }
}

/**
 * Stands in for a dependency this function's route never uses (a factory such
 * as `logReadHandlers` builds several routes from one set of dependencies);
 * any use throws NotWiredError, so the function needs neither the resource's
 * configuration nor its permissions.
 *
 * @example
 * logReadHandlers({ reader: notWired('reader'), commitments: notWired('commitments'), verifierKeyFor, verify, logger }).getLogKey;
 * notWired<(tenant: string) => string>('verifierKeyFor')('acme'); // throws NotWiredError
 */
export function notWired<T extends object>(what: string): T {
  const refuse = (property: PropertyKey) => {
    throw new NotWiredError(what, property);
  };
  return new Proxy(function stub() {}, {
    get: (_target, property) => (property === 'then' ? undefined : refuse(property)), // not a thenable: awaiting it is harmless
    apply: () => refuse('call'),
  }) as unknown as T;
}
