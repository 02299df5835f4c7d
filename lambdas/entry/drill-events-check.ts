/**
 * Lambda entry of the drill's event archive check (issue 8): reads the
 * events the replay copied to the scratch bucket through the event archive's
 * own reader and compares them with the live ledger.
 */
import type { EventPublisher } from '../ports/event-publisher.js';
import { EventArchive } from '../services/event-archive.js';
import { drillStepHandlers, type DrillTargetState } from '../handlers/drill-steps.js';
import { ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { notWired } from './shared/not-wired.js';
import { instrumented, powertools } from './shared/powertools.js';
import { drillStepDeps, onlyTarget } from './shared/verification-deps.js';
import { replayedEvents } from './shared/verification-s3.js';

const config = readEnv(['ledgerTable', 'scratchBucket']);
const tools = powertools();
const { check } = drillStepHandlers(drillStepDeps({
  restored: async (target, runId) => {
    onlyTarget('event-archive', target);
    const copy = new EventArchive(replayedEvents(config, tools, runId), notWired<EventPublisher>('event bus')); // read only
    return { open: async (restoredTo) => ({ kind: 'copy', copy, restoredTo }), close: async () => undefined };
  },
  drill: { live: ledgerStore(config, tools) },
}));

/** The Lambda handler. */
export const handler = instrumented((state: DrillTargetState) => check(state), tools);
