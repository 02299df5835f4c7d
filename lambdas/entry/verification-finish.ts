/**
 * Lambda entry of the verification state machine's finish task (issue 8):
 * combines the segment outcomes into the log's findings, checks the signed
 * checkpoints with the KMS key's public key, writes the report to the
 * reports bucket, appends the `verification` SYSTEM entry (a clear payload:
 * no data key involved) and raises the findings.
 */
import { finishStep, type SegmentRef } from '../handlers/verification-steps.js';
import type { KeyService } from '../services/key-service.js';
import { LedgerService } from '../services/ledger-service.js';
import type { RunPlan } from '../services/verification/run-types.js';
import { kmsCheckpointVerifiers } from './shared/checkpoint-verifiers.js';
import { ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { notWired } from './shared/not-wired.js';
import { instrumented, powertools } from './shared/powertools.js';
import { verificationNotifier, verificationStepDeps } from './shared/verification-deps.js';
import { reportSink, runParts } from './shared/verification-s3.js';

const config = readEnv(['ledgerTable', 'scratchBucket', 'reportsBucket', 'signingKey']);
const tools = powertools();
const verifiers = kmsCheckpointVerifiers(config, tools);
const ledger = new LedgerService(ledgerStore(config, tools), notWired<KeyService>('keys'));
const finish = finishStep(verificationStepDeps({
  parts: runParts(config, tools),
  reports: reportSink(config, tools),
  verifierFor: (origin) => verifiers.verifierFor(origin),
  appendSystem: (tenant, system, actor) => ledger.appendSystem(tenant, system, actor),
  notify: verificationNotifier(tools),
}));

/** The Lambda handler. */
export const handler = instrumented(async (event: { plan: RunPlan; segments: readonly SegmentRef[] }) => {
  await verifiers.prepare([event.plan.origin]);
  return finish(event);
}, tools);
