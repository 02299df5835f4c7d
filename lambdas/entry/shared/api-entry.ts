/**
 * What every API entry shares: the REST API bridge, the Powertools
 * middlewares, and (re-exported from `not-wired.ts`) a way to satisfy a
 * handler factory's dependencies that the one route a function serves never
 * touches.
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

// Stand-ins for dependencies a route never uses live in their own module (no SDK, no route table).
export { NotWiredError, notWired } from './not-wired.js';
