/**
 * Lambda entry where every verification task's Catch lands (issue 8): writes
 * a failure report when the tenant is known and raises the failure
 * (`VerificationFailures`, alarmed); the state machine then fails.
 */
import { reportFailureStep, type TaskError } from '../handlers/verification-steps.js';
import type { RunPlan } from '../services/verification/run-types.js';
import { readEnv } from './shared/env.js';
import { instrumented, powertools } from './shared/powertools.js';
import { verificationNotifier, verificationStepDeps } from './shared/verification-deps.js';
import { reportSink } from './shared/verification-s3.js';

const config = readEnv(['reportsBucket']);
const tools = powertools();
const reportFailure = reportFailureStep(verificationStepDeps({ reports: reportSink(config, tools), notify: verificationNotifier(tools) }));

/** The Lambda handler. */
export const handler = instrumented((event: { tenant?: string; plan?: RunPlan; error?: TaskError }) => reportFailure(event), tools);
