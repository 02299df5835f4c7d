/** Lambda entry of GET /v1/tenants/{tenant}/records: records as of a position or time, from the projection (VPC). */
import { readEnv } from './shared/env.js';
import { powertools } from './shared/powertools.js';
import { recordReadEntry } from './shared/record-read-entries.js';

/** The Lambda handler. */
export const handler = recordReadEntry('listRecords', readEnv(['database', 'tokens']), {}, powertools());
