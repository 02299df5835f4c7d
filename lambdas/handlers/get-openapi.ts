/**
 * GET /v1/openapi.json: the OpenAPI 3.1 document, public, built once per
 * cold start from the route table and the schemas.
 */
import { httpHandler, type HttpHandler } from './http/http-handler.js';
import type { Logger } from './http/logger.js';
import { buildOpenApiDocument, type OpenApiOptions } from './openapi.js';
import { routeById } from './routes.js';

/**
 * @example
 * export const handler = openApiHandler({ logger });
 */
export function openApiHandler(deps: { readonly logger: Logger; readonly document?: OpenApiOptions }): HttpHandler {
  let document: unknown;
  return httpHandler({ route: routeById('getOpenApi'), logger: deps.logger }, async () => {
    document ??= buildOpenApiDocument(deps.document);
    return { statusCode: 200, body: document };
  });
}
