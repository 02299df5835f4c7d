import { generateKeyPairSync } from 'node:crypto';
import { DeleteTableCommand, DescribeTableCommand, DynamoDBClient, RestoreTableToPointInTimeCommand } from '@aws-sdk/client-dynamodb';
import { CancelReplayCommand, DescribeArchiveCommand, DescribeReplayCommand, EventBridgeClient, StartReplayCommand } from '@aws-sdk/client-eventbridge';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateDBInstanceCommand, DeleteDBClusterCommand, DeleteDBInstanceCommand, DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient, RestoreDBClusterToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { DeleteObjectsCommand, ListObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { S3ReportSink } from '../../lambdas/adapters/aws/s3-report-sink.js';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { decodeEntry } from '../../lambdas/core/ledger-entry.js';
import { hashLeafHex } from '../../lambdas/core/rfc9162-hasher.js';
import { drillScratchPrefix, drillStepHandlers, runIdOfReplay, type DrillTargetState } from '../../lambdas/handlers/drill-steps.js';
import type { RunNotice } from '../../lambdas/handlers/verification-steps.js';
import { EventArchive, encodeEventRecord } from '../../lambdas/services/event-archive.js';
import type { DrillTargetReport } from '../../lambdas/services/verification/drill.js';
import { drillStepDeps } from '../../lambdas/entry/shared/verification-deps.js';
import { notWired } from '../../lambdas/entry/shared/not-wired.js';
import { verificationDir, verificationWorld, VERIFY_PREFIX } from '../support/verification-world.js';

const dynamo = mockClient(DynamoDBClient);
const docs = mockClient(DynamoDBDocumentClient);
const rds = mockClient(RDSClient);
const events = mockClient(EventBridgeClient);
const s3 = mockClient(S3Client);
const kms = mockClient(KMSClient);

const RUN = 'drill-20260105T020000000Z';
const run = 'drill-20260105t020000000z'; // scratch names are lower case
const RESTORED_TO = new Date('2026-01-05T01:59:00.000Z');
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-4333-8444-555555555555';
const ARCHIVE = 'arn:aws:events:eu-west-1:123456789012:archive/govledger-test-ledger';
const BUS = 'arn:aws:events:eu-west-1:123456789012:event-bus/govledger-test-ledger';
const RULE = 'arn:aws:events:eu-west-1:123456789012:rule/govledger-test-ledger/govledger-test-drill-collector';
const SCRATCH_BUCKET = 'govledger-test-scratch-123456789012-eu-west-1';

/** What the stack gives the drill's functions (test/lib/verification-workflow.test.ts checks the names). */
const ENV = {
  AWS_REGION: 'eu-west-1', POWERTOOLS_SERVICE_NAME: 'govledger', POWERTOOLS_METRICS_NAMESPACE: 'Govledger', POWERTOOLS_LOG_LEVEL: 'SILENT',
  GOVLEDGER_DRILL_NAME_PREFIX: 'govledger-test', GOVLEDGER_DRILL_SOURCE_TABLE: 'govledger-test-ledger', GOVLEDGER_DRILL_SOURCE_CLUSTER: 'govledger-test',
  GOVLEDGER_DRILL_SUBNET_GROUP: 'govledger-test-isolated', GOVLEDGER_DRILL_SECURITY_GROUP_ID: 'sg-0123456789abcdef0', GOVLEDGER_DRILL_DATA_KEY_ARN: KEY_ARN,
  GOVLEDGER_DRILL_ARCHIVE_ARN: ARCHIVE, GOVLEDGER_DRILL_BUS_ARN: BUS, GOVLEDGER_DRILL_COLLECTOR_RULE_ARN: RULE, GOVLEDGER_DRILL_DB_NAME: 'govledger', GOVLEDGER_DRILL_DB_USER: 'govledger_reader',
  GOVLEDGER_SCRATCH_BUCKET: SCRATCH_BUCKET, GOVLEDGER_LEDGER_TABLE: 'govledger-test-ledger', GOVLEDGER_LOG_BUCKET: 'govledger-test-log-123456789012-eu-west-1',
  GOVLEDGER_REPORTS_BUCKET: 'govledger-test-reports-123456789012-eu-west-1', GOVLEDGER_SIGNING_KEY_ARN: KEY_ARN, GOVLEDGER_LOG_PREFIX: 'ledger.example.com',
};
const saved = { ...process.env };
type Entry = (event: unknown, context: Context) => Promise<unknown>;
/** The entries under test, loaded once the environment is set (they read it at cold start). */
const ENTRIES = {
  'drill-ledger-restore': () => import('../../lambdas/entry/drill-ledger-restore.js'),
  'drill-ledger-check': () => import('../../lambdas/entry/drill-ledger-check.js'),
  'drill-database-restore': () => import('../../lambdas/entry/drill-database-restore.js'),
  'drill-events-restore': () => import('../../lambdas/entry/drill-events-restore.js'),
  'drill-report-failure': () => import('../../lambdas/entry/drill-report-failure.js'),
};
const entries: Record<string, Entry> = {};
beforeAll(async () => {
  Object.assign(process.env, ENV);
  for (const [name, load] of Object.entries(ENTRIES)) entries[name] = (await load()).handler as unknown as Entry;
});
afterAll(() => {
  process.env = saved;
});
beforeEach(() => {
  for (const mock of [dynamo, docs, rds, events, s3, kms]) mock.reset();
});
afterEach(() => vi.restoreAllMocks());

/** Invokes an entry as Lambda does (one invocation, JSON in and out), capturing the EMF metric lines it prints. */
async function invoke(name: string, event: unknown): Promise<{ result: unknown; metrics: Array<Record<string, unknown>> }> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (String(chunk).includes('"_aws"')) return lines.push(String(chunk)) > 0;
    return write(chunk, ...(rest as []));
  });
  const context = { functionName: `govledger-test-${name}`, awsRequestId: 'r-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
  try {
    const result = JSON.parse(JSON.stringify(await entries[name]!(JSON.parse(JSON.stringify(event)), context)) ?? 'null') as unknown;
    return { result, metrics: lines.flatMap((l) => l.trim().split('\n')).map((l) => JSON.parse(l) as Record<string, unknown>) };
  } finally {
    vi.restoreAllMocks();
  }
}
const awsError = (name: string) => Object.assign(new Error(`${name} from the mock`), { name, $fault: 'client', $metadata: {} });
const state = (target: DrillTargetState['target'], extra: Partial<DrillTargetState> = {}): DrillTargetState => ({ target, runId: RUN, tenants: ['acme'], maxWaitSeconds: 3600, ...extra });
const started = { startedAt: '2026-01-05T02:00:00.000Z', restoredTo: RESTORED_TO.toISOString(), deadline: '2099-01-01T00:00:00.000Z' };

describe('drill-ledger-restore (DynamoDB point-in-time restore)', () => {
  it('restores the ledger table to its latest restorable time into the run\'s scratch table, with the storage key, and reports the restore time', async () => {
    // Prepare
    dynamo.on(RestoreTableToPointInTimeCommand).resolves({ TableDescription: { RestoreSummary: { RestoreDateTime: RESTORED_TO, RestoreInProgress: true } } });
    // Act
    const { result } = await invoke('drill-ledger-restore', { step: 'start', state: state('ledger') });
    // Assess
    expect(dynamo.commandCalls(RestoreTableToPointInTimeCommand).map((c) => c.args[0].input)).toEqual([{
      SourceTableName: 'govledger-test-ledger', TargetTableName: `govledger-test-ledger-${run}`, UseLatestRestorableTime: true, BillingModeOverride: 'PAY_PER_REQUEST',
      SSESpecificationOverride: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: KEY_ARN },
    }]);
    expect(result).toEqual({ startedAt: expect.any(String), restoredTo: RESTORED_TO.toISOString(), deadline: expect.any(String) });
    const { startedAt, deadline } = result as { startedAt: string; deadline: string };
    expect(Date.parse(deadline) - Date.parse(startedAt)).toBe(3600_000);
  });

  it('is ready once the scratch table is ACTIVE, and gives up once the deadline passed', async () => {
    // Prepare
    dynamo.on(DescribeTableCommand, { TableName: `govledger-test-ledger-${run}` }).resolvesOnce({ Table: { TableStatus: 'CREATING' } }).resolves({ Table: { TableStatus: 'ACTIVE' } });
    // Act
    const creating = await invoke('drill-ledger-restore', { step: 'ready', state: state('ledger', { restore: started }) });
    const active = await invoke('drill-ledger-restore', { step: 'ready', state: state('ledger', { restore: started }) });
    dynamo.on(DescribeTableCommand).resolves({ Table: { TableStatus: 'CREATING' } });
    const late = await invoke('drill-ledger-restore', { step: 'ready', state: state('ledger', { restore: { ...started, deadline: '2026-01-05T02:30:00.000Z' } }) });
    // Assess
    expect([creating.result, active.result, late.result]).toEqual([
      { ready: false, expired: false, located: null }, { ready: true, expired: false, located: null }, { ready: false, expired: true, located: null },
    ]);
  });

  it('refuses a step or a target it does not serve', async () => {
    // Act
    const step = invoke('drill-ledger-restore', { step: 'check', state: state('ledger') });
    const target = invoke('drill-ledger-restore', { step: 'teardown', state: state('database') });
    // Assess
    await expect(step).rejects.toThrow(/runs the steps start, ready, teardown, not "check"/);
    await expect(target).rejects.toThrow(/drills the ledger target, not "database"/);
    expect(dynamo.calls()).toHaveLength(0);
  });
});

describe('drill-database-restore (Aurora point-in-time restore)', () => {
  const cluster = `govledger-test-db-${run}`;

  it('restores the projection\'s cluster copy-on-write into the scratch cluster (drill group, subnet group, storage key) with one serverless instance', async () => {
    // Prepare
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: 'govledger-test' }).resolves({ DBClusters: [{ LatestRestorableTime: RESTORED_TO }] });
    rds.on(RestoreDBClusterToPointInTimeCommand).resolves({});
    rds.on(CreateDBInstanceCommand).resolves({});
    // Act
    const { result } = await invoke('drill-database-restore', { step: 'start', state: state('database') });
    // Assess
    expect(rds.commandCalls(RestoreDBClusterToPointInTimeCommand).map((c) => c.args[0].input)).toEqual([{
      SourceDBClusterIdentifier: 'govledger-test', DBClusterIdentifier: cluster, RestoreType: 'copy-on-write', RestoreToTime: RESTORED_TO,
      DBSubnetGroupName: 'govledger-test-isolated', VpcSecurityGroupIds: ['sg-0123456789abcdef0'], ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
      EnableIAMDatabaseAuthentication: true, DeletionProtection: false, KmsKeyId: KEY_ARN,
    }]);
    expect(rds.commandCalls(CreateDBInstanceCommand).map((c) => c.args[0].input)).toEqual([{ DBInstanceIdentifier: `${cluster}-1`, DBClusterIdentifier: cluster, DBInstanceClass: 'db.serverless', Engine: 'aurora-postgresql' }]);
    expect(result).toMatchObject({ restoredTo: RESTORED_TO.toISOString() });
  });

  it('answers the writer endpoint once cluster and instance are available, for the check inside the VPC', async () => {
    // Prepare
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: cluster }).resolves({ DBClusters: [{ Status: 'available', Endpoint: 'scratch.cluster-abc.eu-west-1.rds.amazonaws.com', Port: 5433 }] });
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: `${cluster}-1` }).resolves({ DBInstances: [{ DBInstanceStatus: 'available' }] });
    // Act
    const { result } = await invoke('drill-database-restore', { step: 'ready', state: state('database', { restore: started }) });
    // Assess
    expect(result).toEqual({ ready: true, expired: false, located: { host: 'scratch.cluster-abc.eu-west-1.rds.amazonaws.com', port: 5433 } });
  });

  it('deletes the instance, then the cluster once it may, without a final snapshot', async () => {
    // Prepare
    rds.on(DeleteDBInstanceCommand).resolves({});
    rds.on(DeleteDBClusterCommand).resolves({});
    // Act
    await invoke('drill-database-restore', { step: 'teardown', state: state('database') });
    // Assess
    expect(rds.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input)).toEqual([{ DBInstanceIdentifier: `${cluster}-1`, SkipFinalSnapshot: true }]);
    expect(rds.commandCalls(DeleteDBClusterCommand).map((c) => c.args[0].input)).toEqual([{ DBClusterIdentifier: cluster, SkipFinalSnapshot: true }]);
  });
});

describe('drill-events-restore (EventBridge replay)', () => {
  const replay = `govledger-test-ev-${run}`;

  it('replays the whole archive (from its creation) to the ledger bus for the collector rule only', async () => {
    // Prepare
    const created = new Date('2025-06-01T00:00:00.000Z');
    events.on(DescribeArchiveCommand, { ArchiveName: 'govledger-test-ledger' }).resolves({ CreationTime: created });
    events.on(StartReplayCommand).resolves({ State: 'STARTING' });
    // Act
    const { result } = await invoke('drill-events-restore', { step: 'start', state: state('event-archive') });
    // Assess
    const [input] = events.commandCalls(StartReplayCommand).map((c) => c.args[0].input);
    expect(input).toEqual({ ReplayName: replay, EventSourceArn: ARCHIVE, EventStartTime: created, EventEndTime: expect.any(Date), Destination: { Arn: BUS, FilterArns: [RULE] } });
    expect((result as { restoredTo: string }).restoredTo).toBe(input!.EventEndTime!.toISOString());
  });

  it('is ready when the replay completed, and a failed replay is an error (the machine tears down)', async () => {
    // Prepare
    events.on(DescribeReplayCommand, { ReplayName: replay }).resolvesOnce({ State: 'COMPLETED' }).resolves({ State: 'FAILED', StateReason: 'archive unavailable' });
    // Act
    const completed = await invoke('drill-events-restore', { step: 'ready', state: state('event-archive', { restore: started }) });
    const failed = invoke('drill-events-restore', { step: 'ready', state: state('event-archive', { restore: started }) });
    // Assess
    expect(completed.result).toEqual({ ready: true, expired: false, located: null });
    await expect(failed).rejects.toThrow(`replay ${replay} FAILED: archive unavailable`);
  });

  it('in a later invocation, cancels a replay still running and deletes every event it copied to the scratch bucket', async () => {
    // Prepare
    const prefix = drillScratchPrefix(RUN);
    events.on(CancelReplayCommand).resolves({ State: 'CANCELLING' });
    s3.on(ListObjectsCommand).resolves({ Contents: [{ Key: `${prefix}events/acme/0000000000000000-0000000000000000.jsonl` }, { Key: `${prefix}events/acme/0000000000000001-0000000000000001.jsonl` }], IsTruncated: false });
    s3.on(DeleteObjectsCommand).resolves({});
    // Act
    await invoke('drill-events-restore', { step: 'teardown', state: state('event-archive') });
    // Assess
    expect(events.commandCalls(CancelReplayCommand).map((c) => c.args[0].input)).toEqual([{ ReplayName: replay }]);
    expect(s3.commandCalls(ListObjectsCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: SCRATCH_BUCKET, Prefix: `drills/${run}/` }]);
    expect(s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input)).toEqual([{
      Bucket: SCRATCH_BUCKET, Delete: { Objects: [{ Key: `${prefix}events/acme/0000000000000000-0000000000000000.jsonl` }, { Key: `${prefix}events/acme/0000000000000001-0000000000000001.jsonl` }], Quiet: true },
    }]);
  });
});

describe('a check that fails, as the state machine handles it', () => {
  it('still tears the scratch table down, then reports the target failed and raises VerificationFailures', async () => {
    // Prepare: the signing key's public key, an empty live ledger, and a scratch table that cannot be read
    const publicKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    kms.on(GetPublicKeyCommand).resolves({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ED25519_SHA_512'], PublicKey: new Uint8Array(publicKey) });
    docs.on(QueryCommand, { TableName: 'govledger-test-ledger' }).resolves({ Items: [] });
    docs.on(QueryCommand, { TableName: `govledger-test-ledger-${run}` }).rejects(awsError('InternalServerError'));
    dynamo.on(DeleteTableCommand).resolves({});
    const ready = state('ledger', { restore: started, poll: { ready: true, expired: false, located: null } });
    // Act: Check throws; its Catch (ResultPath $.error) leads to the teardown, then to ReportFailure
    const check = await invoke('drill-ledger-check', ready).then(() => undefined, (error: Error) => error);
    const error = { Error: check!.name, Cause: JSON.stringify({ errorType: check!.name, errorMessage: check!.message }) };
    await invoke('drill-ledger-restore', { step: 'teardown', state: { ...ready, error } });
    const reported = await invoke('drill-report-failure', { ...ready, error });
    // Assess
    expect(check).toBeInstanceOf(Error);
    expect(dynamo.commandCalls(DeleteTableCommand).map((c) => c.args[0].input)).toEqual([{ TableName: `govledger-test-ledger-${run}` }]);
    expect(reported.result).toMatchObject({
      target: 'ledger', ok: false, restoredTo: RESTORED_TO.toISOString(),
      findings: [{ kind: 'RESTORE_FAILED', target: 'ledger', message: 'ledger: LedgerUnavailableError: DynamoDB Query failed: InternalServerError from the mock' }],
    });
    const failures = reported.metrics.filter((m) => 'VerificationFailures' in m);
    expect(failures).toEqual([expect.objectContaining({ VerificationFailures: 1, VerificationFindings: 0, service: 'govledger' })]);
  });

  it('reports a teardown that failed too, keeping what the check found', async () => {
    // Prepare
    const { reportFailure } = drillStepHandlers(drillStepDeps({ notify: async () => undefined, clock: () => new Date('2026-01-05T02:10:00.000Z') }));
    const report: DrillTargetReport = { target: 'database', ok: true, rtoMs: 300_000, restoredTo: RESTORED_TO.toISOString(), tenants: { acme: { recovered: 5, acknowledged: 5 } }, findings: [] };
    // Act
    const failed = await reportFailure({ ...state('database', { restore: started, report }), teardownError: { Error: 'InvalidDBClusterStateFault', Cause: 'the cluster is busy' } });
    // Assess
    expect(failed).toEqual({ ...report, ok: false, findings: [{ kind: 'TEARDOWN_FAILED', target: 'database', message: 'database: scratch resources were not removed: InvalidDBClusterStateFault: the cluster is busy' }] });
  });
});

describe('drill step handlers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await verificationDir()));
  afterAll(() => cleanup());

  it('plan names the run after its start (the run id of its reports and its scratch resources) and lists the tenants', async () => {
    // Prepare
    const { plan } = drillStepHandlers(drillStepDeps({ tenants: async function* () { yield 'zeta'; yield 'acme'; }, clock: () => new Date('2026-01-05T02:00:00.000Z') }));
    // Act
    const planned = await plan();
    // Assess
    expect(planned).toEqual({ runId: RUN, startedAt: '2026-01-05T02:00:00.000Z', tenants: ['acme', 'zeta'], targets: ['ledger', 'database', 'event-archive'] });
  });

  it('checks a restored ledger missing acknowledged entries as a finding, then records each tenant\'s report and a drill SYSTEM entry, and fails the run', async () => {
    // Prepare: the live ledger (600 entries, published); the restore lost its last batch
    const world = await verificationWorld(dir, 600);
    const restored = new MemoryLedgerStore();
    for (const batch of world.log.batches.slice(0, -1)) await restored.appendBatch(batch);
    const reportObjects = new MemoryObjectStore();
    const notices: RunNotice[] = [];
    const steps = drillStepHandlers(drillStepDeps({
      restored: async () => ({ open: async (restoredTo) => ({ kind: 'ledger', ledger: restored, restoredTo }), close: async () => undefined }),
      drill: { live: world.store, objects: world.objects, reports: world.reports, logPrefix: VERIFY_PREFIX, verifierFor: world.deps.verifierFor },
      record: { reports: new S3ReportSink({ objects: reportObjects, uri: (key) => `s3://reports/${key}` }), appendSystem: world.deps.appendSystem },
      notify: async (n) => void notices.push(n),
      clock: () => new Date('2026-01-05T02:25:00.000Z'),
    }));
    const checkState = state('ledger', { restore: { ...started, restoredTo: '2099-01-01T00:00:00.000Z' }, poll: { ready: true, expired: false, located: null } });
    // Act
    const report = await steps.check(checkState);
    const others: DrillTargetReport[] = ['database', 'event-archive'].map((target) => ({ target, ok: true, rtoMs: 1, restoredTo: started.restoredTo, tenants: {}, findings: [] }));
    const recorded = await steps.record({ runId: RUN, startedAt: started.startedAt, tenants: ['acme'], reports: [report, ...others] });
    // Assess
    expect(report).toMatchObject({ target: 'ledger', ok: false, rtoMs: 25 * 60_000, tenants: { acme: { recovered: 500, acknowledged: 600 } } });
    expect(report.findings.map((f) => f.kind)).toContain('RESTORE_LOST_ACKNOWLEDGED');
    expect(recorded).toMatchObject({ ok: false, findings: report.findings.length, recorded: [{ tenant: 'acme', reportLocation: `s3://reports/acme/${RUN}.json` }] });
    const json = JSON.parse(new TextDecoder().decode(await reportObjects.get(`acme/${RUN}.json`)));
    expect(json).toMatchObject({ format: 'govledger.drill-report/v1', runId: RUN, tenant: 'acme', at: started.startedAt, ok: false });
    const tail = await world.store.readTail('acme');
    expect(decodeEntry(tail!.entries.at(-1)!).entry.payload).toMatchObject({ system: { kind: 'drill', details: { runId: RUN, ok: false } } });
    expect(notices).toEqual([{ tenant: null, runId: RUN, ok: false, findings: report.findings.length, reportLocation: `s3://reports/acme/${RUN}.json` }]);
  });

  it('record refuses a run id that is not its start time (reports and scratch resources would be named apart)', async () => {
    // Prepare
    const { record } = drillStepHandlers(drillStepDeps({}));
    // Act
    const recording = record({ runId: RUN, startedAt: '2026-01-05T02:00:01.000Z', tenants: [], reports: [] });
    // Assess
    await expect(recording).rejects.toThrow(RangeError);
  });

  it('the collector stores a replayed event where the check reads it, write-once, and refuses live events', async () => {
    // Prepare: two entries of the live ledger, delivered by the run's replay
    const world = await verificationWorld(dir, 2);
    const scratch = new MemoryObjectStore();
    const { collect } = drillStepHandlers(drillStepDeps({ replayed: (runId) => { expect(runId).toBe(run); return scratch; } }));
    const detail = (position: number) => JSON.parse(encodeEventRecord({ tenant: 'acme', position, entry: world.log.entries[position]!, leafHash: hashLeafHex(world.log.entries[position]!) })) as unknown;
    const replayName = `govledger-test-ev-${run}`;
    // Act
    const stored = await collect({ 'replay-name': replayName, detail: detail(1) });
    await collect({ 'replay-name': replayName, detail: detail(0) });
    await collect({ 'replay-name': replayName, detail: detail(0) }); // redelivered
    const live = collect({ detail: detail(0) });
    const held = await new EventArchive(scratch, notWired('bus')).leafHashes('acme', 0, Number.MAX_SAFE_INTEGER);
    // Assess
    expect(stored).toEqual({ stored: `drills/${run}/events/acme/0000000000000001-0000000000000001.jsonl` });
    await expect(live).rejects.toThrow(/not an event of a drill's replay/);
    expect([...held]).toEqual([[0, hashLeafHex(world.log.entries[0]!)], [1, hashLeafHex(world.log.entries[1]!)]]);
    expect(runIdOfReplay('govledger-prod-ev-drill-20260105t020000000z')).toBe(run);
  });
});
