/** Lambda entry of GET /v1/tenants/{tenant}/records/{recordId}/history: every revision, from the projection (VPC). */
import { readEnv } from './shared/env.js';
import { powertools } from './shared/powertools.js';
import { recordReadEntry } from './shared/record-read-entries.js';

/** The Lambda handler. */
export const handler = recordReadEntry('getRecordHistory', readEnv(['database', 'tokens']), {}, powertools());
