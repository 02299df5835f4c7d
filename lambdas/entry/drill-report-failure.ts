/**
 * Lambda entry where the drill's failure paths land (issue 8), after the
 * target's teardown: the target's report marked failed with what went wrong,
 * and the failure raised to operators (`VerificationFailures`, alarmed).
 * Touches no resource.
 */
import { drillStepHandlers, type DrillTargetState } from '../handlers/drill-steps.js';
import { instrumented, powertools } from './shared/powertools.js';
import { drillStepDeps, verificationNotifier } from './shared/verification-deps.js';

const tools = powertools();
const { reportFailure } = drillStepHandlers(drillStepDeps({ notify: verificationNotifier(tools) }));

/** The Lambda handler. */
export const handler = instrumented((state: Partial<DrillTargetState>) => reportFailure(state), tools);
