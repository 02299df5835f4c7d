/**
 * The functions of the verification and drill state machines (issue 8),
 * declared like every other function (`FunctionSpec`: entry, resources and
 * the access each needs), one per task so each holds only its own rights:
 * the segment step writes the downstream copies it repairs but not the
 * ledger, the finish step appends the `verification` SYSTEM entry but reads
 * no copy, a drill's restore function may restore and delete only its own
 * kind of scratch resource, and its check function only read it.
 */
import type { FunctionSpec } from './functions.js';

/** Wall time of the longest tasks: Lambda's maximum (a segment of 250,000 entries hashes in well under it). */
const LONGEST = 900;

/** The verification state machine's tasks. */
export const VERIFICATION_FUNCTIONS: readonly FunctionSpec[] = [
  { name: 'verification-list-tenants', entry: 'verification-list-tenants.ts', description: 'Verification: every tenant with a log, and the CloudHSM key store\'s health', uses: { ledgerTable: 'list', cloudHsm: 'describe' }, memorySize: 256, timeoutSeconds: 60 },
  { name: 'verification-plan', entry: 'verification-plan.ts', description: 'Verification: one tenant\'s size and checkpoints, cut into segments', uses: { ledgerTable: 'verify', logBucket: 'read', reportsBucket: 'read', logOrigin: 'read' }, timeoutSeconds: 60 },
  {
    name: 'verification-segment',
    entry: 'verification-segment.ts',
    description: 'Verification: one segment\'s chain and subtree, cross-checked with the event store and the projection (missing copies re-derived)',
    uses: { ledgerTable: 'read', keyTable: 'read', masterKey: 'unwrap', eventBus: 'put', eventBucket: 'write', database: 'projector', scratchBucket: 'runs-write' },
    vpc: true,
    memorySize: 1769, // one full vCPU: hashing is CPU-bound
    timeoutSeconds: LONGEST,
  },
  { name: 'verification-finish', entry: 'verification-finish.ts', description: 'Verification: combine segments, check checkpoints, write the report, append the SYSTEM entry', uses: { ledgerTable: 'append', scratchBucket: 'runs-read', reportsBucket: 'write', signingKey: 'publicKey' }, memorySize: 1024, timeoutSeconds: 300 },
  { name: 'verification-report-failure', entry: 'verification-report-failure.ts', description: 'Verification: report a failed task and raise it', uses: { reportsBucket: 'write' }, memorySize: 256, timeoutSeconds: 30 },
];

/** The drill state machine's tasks, and the collector of replayed events. */
export const DRILL_FUNCTIONS: readonly FunctionSpec[] = [
  { name: 'drill-plan', entry: 'drill-plan.ts', description: 'Drill: the run id and the tenants', uses: { ledgerTable: 'list' }, memorySize: 256, timeoutSeconds: 60 },
  { name: 'drill-ledger-restore', entry: 'drill-ledger-restore.ts', description: 'Drill: DynamoDB PITR of the ledger table into a scratch table; poll; delete', uses: { drill: 'ledger-restore' }, memorySize: 256, timeoutSeconds: LONGEST },
  { name: 'drill-ledger-check', entry: 'drill-ledger-check.ts', description: 'Drill: verify the restored ledger and compare it with the live one', uses: { drill: 'ledger-read', ledgerTable: 'verify', logBucket: 'read', reportsBucket: 'read', signingKey: 'publicKey' }, memorySize: 1769, timeoutSeconds: LONGEST },
  { name: 'drill-database-restore', entry: 'drill-database-restore.ts', description: 'Drill: Aurora PITR of the projection into a scratch cluster; poll; delete', uses: { drill: 'database-restore' }, memorySize: 256, timeoutSeconds: LONGEST },
  { name: 'drill-database-check', entry: 'drill-database-check.ts', description: 'Drill: compare the restored projection with the live ledger', uses: { drill: 'database-connect', ledgerTable: 'read', keyTable: 'read', masterKey: 'unwrap' }, vpc: true, memorySize: 1024, timeoutSeconds: LONGEST },
  { name: 'drill-events-restore', entry: 'drill-events-restore.ts', description: 'Drill: replay the event archive to the collector; poll; cancel and clear', uses: { drill: 'events-restore', scratchBucket: 'drills-clear' }, memorySize: 256, timeoutSeconds: LONGEST },
  { name: 'drill-events-check', entry: 'drill-events-check.ts', description: 'Drill: compare the replayed events with the live ledger', uses: { ledgerTable: 'read', scratchBucket: 'drills-read' }, memorySize: 1024, timeoutSeconds: LONGEST },
  // A replay delivers every archived event: reserved concurrency keeps it from starving the API (EventBridge retries throttled deliveries).
  { name: 'drill-events-collector', entry: 'drill-events-collector.ts', description: 'Drill: copy each replayed event to the scratch bucket', uses: { scratchBucket: 'drills-write' }, memorySize: 256, timeoutSeconds: 30, reservedConcurrency: 20 },
  { name: 'drill-record', entry: 'drill-record.ts', description: 'Drill: write the reports, append the SYSTEM entries, raise the findings', uses: { ledgerTable: 'append', reportsBucket: 'write' }, timeoutSeconds: 120 },
  { name: 'drill-report-failure', entry: 'drill-report-failure.ts', description: 'Drill: mark a target failed and raise it', uses: {}, memorySize: 256, timeoutSeconds: 30 },
];

/** Every function of the workflows (test/lib/bundles.test.ts bundles them with the rest). */
export const WORKFLOW_FUNCTIONS: readonly FunctionSpec[] = [...VERIFICATION_FUNCTIONS, ...DRILL_FUNCTIONS];
