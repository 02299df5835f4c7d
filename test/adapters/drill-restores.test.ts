import {
  DeleteTableCommand, DescribeTableCommand, DynamoDBClient, RestoreTableToPointInTimeCommand,
} from '@aws-sdk/client-dynamodb';
import { CancelReplayCommand, DescribeReplayCommand, EventBridgeClient, StartReplayCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateDBInstanceCommand, DeleteDBClusterCommand, DeleteDBInstanceCommand, DescribeDBClustersCommand, DescribeDBInstancesCommand,
  RDSClient, RestoreDBClusterToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { BatchGetCommand as DocBatchGetCommand, DynamoDBDocumentClient, QueryCommand as DocQueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuroraPitrRestore } from '../../lambdas/adapters/aws/aurora-pitr-restore.js';
import { DynamoPitrRestore } from '../../lambdas/adapters/aws/dynamo-pitr-restore.js';
import { EventReplayRestore } from '../../lambdas/adapters/aws/eventbridge-replay-restore.js';
import { runDrill, type DrillDeps } from '../../lambdas/services/verification/drill.js';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { FileReportSink } from '../../lambdas/adapters/local/file-report-sink.js';
import { TestSigners } from '../support/ledger-log.js';

const dynamo = mockClient(DynamoDBClient);
/** The ledger store reads the scratch table through the document client. */
const docs = mockClient(DynamoDBDocumentClient);
const rds = mockClient(RDSClient);
const events = mockClient(EventBridgeClient);
const RESTORED_TO = new Date('2026-11-24T01:00:00.000Z');
const noWait = { pollMs: 1, sleep: async () => undefined };
const awsError = (name: string) => Object.assign(new Error(`${name} from the mock`), { name, $fault: 'client', $metadata: {} });

/** A drill over an empty live ledger: what is under test here is the AWS calls and the teardown. */
const signers = new TestSigners();
const deps: DrillDeps = {
  live: new MemoryLedgerStore(), objects: new MemoryObjectStore(), reports: new FileReportSink('/nonexistent'),
  logPrefix: 'drill.example', verifierFor: (o) => signers.verifierFor(o),
};

beforeEach(() => {
  dynamo.reset();
  docs.reset();
  rds.reset();
  events.reset();
});

describe('DynamoPitrRestore', () => {
  const target = () => new DynamoPitrRestore({ client: new DynamoDBClient({ region: 'eu-west-1' }), sourceTable: 'govledger-ledger', scratchTable: 'govledger-ledger-drill-r1', kmsKeyId: 'alias/govledger', ...noWait });

  it('restores to the latest restorable time into the scratch table, waits for ACTIVE, reads it, and deletes it', async () => {
    // Prepare
    dynamo.on(RestoreTableToPointInTimeCommand).resolves({ TableDescription: { RestoreSummary: { RestoreDateTime: RESTORED_TO, RestoreInProgress: true } } });
    dynamo.on(DescribeTableCommand).resolvesOnce({ Table: { TableStatus: 'CREATING' } }).resolves({ Table: { TableStatus: 'ACTIVE' } });
    docs.on(DocQueryCommand).resolves({ Items: [] });
    docs.on(DocBatchGetCommand).resolves({ Responses: {} }); // the plan's index lookups (recoveries): nothing recorded
    dynamo.on(DeleteTableCommand).resolves({});
    // Act
    const [report] = await runDrill(deps, [target()], ['acme']);
    // Assess
    expect(report!.findings).toEqual([]);
    expect(report).toMatchObject({ target: 'ledger', ok: true, restoredTo: RESTORED_TO.toISOString(), tenants: { acme: { recovered: 0, acknowledged: 0 } } });
    expect(dynamo.commandCalls(RestoreTableToPointInTimeCommand)[0]!.args[0].input).toEqual({
      SourceTableName: 'govledger-ledger', TargetTableName: 'govledger-ledger-drill-r1', UseLatestRestorableTime: true, BillingModeOverride: 'PAY_PER_REQUEST',
      SSESpecificationOverride: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: 'alias/govledger' },
    });
    expect(dynamo.commandCalls(DescribeTableCommand)).toHaveLength(2);
    expect(docs.commandCalls(DocQueryCommand).length).toBeGreaterThan(0);
    expect(docs.commandCalls(DocQueryCommand).every((c) => c.args[0].input.TableName === 'govledger-ledger-drill-r1')).toBe(true);
    expect(docs.commandCalls(DocBatchGetCommand).every((c) => Object.keys(c.args[0].input.RequestItems ?? {}).every((t) => t === 'govledger-ledger-drill-r1'))).toBe(true);
    expect(dynamo.commandCalls(DeleteTableCommand).map((c) => c.args[0].input)).toEqual([{ TableName: 'govledger-ledger-drill-r1' }]);
  });

  it('tears the scratch table down when the restore fails after it began, waiting while it is in use', async () => {
    // Prepare
    dynamo.on(RestoreTableToPointInTimeCommand).resolves({ TableDescription: { RestoreSummary: { RestoreDateTime: RESTORED_TO, RestoreInProgress: true } } });
    dynamo.on(DescribeTableCommand).rejects(awsError('InternalServerError'));
    dynamo.on(DeleteTableCommand).rejectsOnce(awsError('ResourceInUseException')).resolves({});
    // Act
    const [report] = await runDrill(deps, [target()], ['acme']);
    // Assess
    expect(report!.ok).toBe(false);
    expect(report!.findings).toEqual([{ kind: 'RESTORE_FAILED', target: 'ledger', message: 'ledger: InternalServerError from the mock' }]);
    expect(dynamo.commandCalls(DeleteTableCommand)).toHaveLength(2);
  });

  it('a table that never existed is already torn down', async () => {
    dynamo.on(RestoreTableToPointInTimeCommand).rejects(awsError('PointInTimeRecoveryUnavailableException'));
    dynamo.on(DeleteTableCommand).rejects(awsError('ResourceNotFoundException'));
    const [report] = await runDrill(deps, [target()], ['acme']);
    expect(report!.findings.map((f) => f.kind)).toEqual(['RESTORE_FAILED']);
  });
});

describe('AuroraPitrRestore', () => {
  const closed: string[] = [];
  const target = () =>
    new AuroraPitrRestore({
      client: new RDSClient({ region: 'eu-west-1' }), sourceCluster: 'govledger-db', scratchCluster: 'govledger-db-drill-r1',
      subnetGroup: 'govledger-isolated', securityGroupIds: ['sg-1'], kmsKeyId: 'alias/govledger', ...noWait,
      openCopy: async ({ host, port }) => ({ name: `projection@${host}:${port}`, leafHashes: async () => new Map(), close: async () => void closed.push(host) }),
    });

  it('restores copy-on-write to the source\'s latest restorable time, adds a serverless instance, opens the copy, then deletes instance and cluster', async () => {
    // Prepare
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: 'govledger-db' }).resolves({ DBClusters: [{ LatestRestorableTime: RESTORED_TO }] });
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: 'govledger-db-drill-r1' })
      .resolvesOnce({ DBClusters: [{ Status: 'creating' }] })
      .resolves({ DBClusters: [{ Status: 'available', Endpoint: 'scratch.cluster.example', Port: 5432 }] });
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: 'available' }] });
    rds.on(DeleteDBInstanceCommand).resolves({});
    rds.on(DeleteDBClusterCommand).rejectsOnce(awsError('InvalidDBClusterStateFault')).resolves({});
    // Act
    const [report] = await runDrill(deps, [target()], ['acme']);
    // Assess
    expect(report!.findings).toEqual([]);
    expect(report).toMatchObject({ target: 'database', ok: true, restoredTo: RESTORED_TO.toISOString() });
    expect(rds.commandCalls(RestoreDBClusterToPointInTimeCommand)[0]!.args[0].input).toEqual({
      SourceDBClusterIdentifier: 'govledger-db', DBClusterIdentifier: 'govledger-db-drill-r1', RestoreType: 'copy-on-write', RestoreToTime: RESTORED_TO,
      DBSubnetGroupName: 'govledger-isolated', VpcSecurityGroupIds: ['sg-1'], ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
      EnableIAMDatabaseAuthentication: true, DeletionProtection: false, KmsKeyId: 'alias/govledger',
    });
    expect(rds.commandCalls(CreateDBInstanceCommand)[0]!.args[0].input).toEqual({
      DBInstanceIdentifier: 'govledger-db-drill-r1-1', DBClusterIdentifier: 'govledger-db-drill-r1', DBInstanceClass: 'db.serverless', Engine: 'aurora-postgresql',
    });
    expect(closed).toEqual(['scratch.cluster.example']);
    expect(rds.commandCalls(DeleteDBInstanceCommand)[0]!.args[0].input).toEqual({ DBInstanceIdentifier: 'govledger-db-drill-r1-1', SkipFinalSnapshot: true });
    expect(rds.commandCalls(DeleteDBClusterCommand).map((c) => c.args[0].input)).toEqual(Array(2).fill({ DBClusterIdentifier: 'govledger-db-drill-r1', SkipFinalSnapshot: true }));
  });

  it('a failed scratch cluster is a finding, and its resources are still deleted', async () => {
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: 'govledger-db' }).resolves({ DBClusters: [{ LatestRestorableTime: RESTORED_TO }] });
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: 'govledger-db-drill-r1' }).resolves({ DBClusters: [{ Status: 'failed' }] });
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: 'creating' }] });
    rds.on(DeleteDBInstanceCommand).rejects(awsError('DBInstanceNotFoundFault'));
    rds.on(DeleteDBClusterCommand).resolves({});
    const [report] = await runDrill(deps, [target()], ['acme']);
    expect(report!.findings.map((f) => f.kind)).toEqual(['RESTORE_FAILED']);
    expect(rds.commandCalls(DeleteDBClusterCommand)).toHaveLength(1);
  });
});

describe('EventReplayRestore', () => {
  it('replays the archive to its own bus for the collector rule only, waits for COMPLETED and clears the scratch copy', async () => {
    // Prepare
    events.on(StartReplayCommand).resolves({ State: 'STARTING' });
    events.on(DescribeReplayCommand).resolvesOnce({ State: 'RUNNING' }).resolves({ State: 'COMPLETED' });
    events.on(CancelReplayCommand).rejects(awsError('IllegalStatusException'));
    let cleared = 0;
    const target = new EventReplayRestore({
      client: new EventBridgeClient({ region: 'eu-west-1' }), replayName: 'drill-r1', archiveArn: 'arn:archive', busArn: 'arn:bus', collectorRuleArn: 'arn:rule/drill',
      from: new Date('2026-01-01T00:00:00Z'), clock: () => RESTORED_TO.getTime(), ...noWait,
      scratchCopy: { name: 'event-archive', leafHashes: async () => new Map() }, clearScratch: async () => void cleared++,
    });
    // Act
    const [report] = await runDrill(deps, [target], ['acme']);
    // Assess
    expect(report).toMatchObject({ target: 'event-archive', ok: true, restoredTo: RESTORED_TO.toISOString() });
    expect(events.commandCalls(StartReplayCommand)[0]!.args[0].input).toEqual({
      ReplayName: 'drill-r1', EventSourceArn: 'arn:archive', EventStartTime: new Date('2026-01-01T00:00:00Z'), EventEndTime: RESTORED_TO,
      Destination: { Arn: 'arn:bus', FilterArns: ['arn:rule/drill'] },
    });
    expect(events.commandCalls(DescribeReplayCommand)).toHaveLength(2);
    expect(cleared).toBe(1);
  });

  it('a failed replay is a finding and is cleaned up', async () => {
    events.on(StartReplayCommand).resolves({});
    events.on(DescribeReplayCommand).resolves({ State: 'FAILED', StateReason: 'archive is empty' });
    events.on(CancelReplayCommand).resolves({});
    let cleared = 0;
    const target = new EventReplayRestore({
      client: new EventBridgeClient({ region: 'eu-west-1' }), replayName: 'drill-r2', archiveArn: 'arn:archive', busArn: 'arn:bus', collectorRuleArn: 'arn:rule/drill',
      from: new Date(0), ...noWait, scratchCopy: { name: 'event-archive', leafHashes: async () => new Map() }, clearScratch: async () => void cleared++,
    });
    const [report] = await runDrill(deps, [target], ['acme']);
    expect(report!.findings).toEqual([{ kind: 'RESTORE_FAILED', target: 'event-archive', message: 'event-archive: replay drill-r2 FAILED: archive is empty' }]);
    expect(events.commandCalls(CancelReplayCommand)).toHaveLength(1);
    expect(cleared).toBe(1);
  });
});
