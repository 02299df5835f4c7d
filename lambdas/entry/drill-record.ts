/**
 * Lambda entry of the drill's record task (issue 8): each tenant's drill
 * report (RTO and RPO per target, every finding) to the reports bucket, a
 * `drill` SYSTEM entry with its SHA-256 (a clear payload: no data key
 * involved), and the findings raised to operators.
 */
import { drillStepHandlers } from '../handlers/drill-steps.js';
import type { KeyService } from '../services/key-service.js';
import { LedgerService } from '../services/ledger-service.js';
import type { DrillTargetReport } from '../services/verification/drill.js';
import { ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { notWired } from './shared/not-wired.js';
import { instrumented, powertools } from './shared/powertools.js';
import { drillStepDeps, verificationNotifier } from './shared/verification-deps.js';
import { reportSink } from './shared/verification-s3.js';

const config = readEnv(['ledgerTable', 'reportsBucket']);
const tools = powertools();
const ledger = new LedgerService(ledgerStore(config, tools), notWired<KeyService>('keys'));
const { record } = drillStepHandlers(drillStepDeps({
  record: { reports: reportSink(config, tools), appendSystem: (tenant, system, actor) => ledger.appendSystem(tenant, system, actor) },
  notify: verificationNotifier(tools),
}));

/** The Lambda handler. */
export const handler = instrumented((state: { runId: string; startedAt: string; tenants: string[]; reports: DrillTargetReport[] }) => record(state), tools);
