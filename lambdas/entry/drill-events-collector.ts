/**
 * Lambda entry of the drill's collector rule (issue 8): each event a drill's
 * replay delivers is stored, write-once, under that run's prefix of the
 * scratch bucket in the event store's layout. Live events never reach it
 * (the rule matches replayed events only, and replays name it alone).
 */
import { drillStepHandlers } from '../handlers/drill-steps.js';
import { readEnv } from './shared/env.js';
import { instrumented, powertools } from './shared/powertools.js';
import { drillStepDeps } from './shared/verification-deps.js';
import { replayedEvents } from './shared/verification-s3.js';

const config = readEnv(['scratchBucket']);
const tools = powertools();
const { collect } = drillStepHandlers(drillStepDeps({ replayed: (runId) => replayedEvents(config, tools, runId) }));

/** The Lambda handler. */
export const handler = instrumented((event: { 'replay-name'?: string; detail?: unknown }) => collect(event), tools);
