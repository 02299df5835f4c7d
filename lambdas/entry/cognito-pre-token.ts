/**
 * Lambda entry of the user pool's pre token generation trigger (V2): copies a
 * user's tenants (`custom:tenants`) and scope groups into the access token
 * (see shared/cognito.ts). Touches no AWS resource.
 */
import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { preTokenClaims } from './shared/cognito.js';
import { instrumented, powertools } from './shared/powertools.js';

const tools = powertools();

/** The Lambda handler. */
export const handler = instrumented(async (event: PreTokenGenerationV2TriggerEvent) => {
  const { response, ignored } = preTokenClaims(event);
  if (ignored.length > 0) tools.logger.warn('custom:tenants lists values that are not tenant ids; left out of the token', { userName: event.userName, ignored });
  return { ...event, response };
}, tools);
