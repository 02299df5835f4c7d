/** Lambda entry of GET /v1/openapi.json (public): the OpenAPI document, built once per cold start. */
import { openApiHandler } from '../handlers/get-openapi.js';
import { apiEntry } from './shared/api-entry.js';
import { powertools } from './shared/powertools.js';

const tools = powertools();

/** The Lambda handler. */
export const handler = apiEntry('getOpenApi', openApiHandler({ logger: tools.httpLogger }), tools);
