/**
 * The S3 side of the verification and drill entries' wiring: the reports
 * bucket as a `ReportSink`, and the scratch bucket's two uses — segment
 * outcomes under `runs/` and the events a drill's replay copies under
 * `drills/<run>/` — on the process's one traced S3 client.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store.js';
import { deleteS3Prefix } from '../../adapters/aws/s3-prefix-cleaner.js';
import { S3ReportSink } from '../../adapters/aws/s3-report-sink.js';
import { drillScratchPrefix } from '../../handlers/drill-steps.js';
import { awsClient } from './aws-clients.js';
import type { EntryConfig } from './env.js';
import type { Powertools } from './powertools.js';

const s3 = (tools: Powertools): S3Client => awsClient('s3', tools, () => new S3Client({}));

/** @example const reports = reportSink(readEnv(['reportsBucket']), powertools()); */
export const reportSink = (config: EntryConfig<'reportsBucket'>, tools: Powertools): S3ReportSink =>
  new S3ReportSink({ objects: new S3ObjectStore({ client: s3(tools), bucket: config.reportsBucket }), uri: (key) => `s3://${config.reportsBucket}/${key}` });

/** Segment outcomes (`runs/<tenant>/<runId>/segment-…`). @example const parts = runParts(readEnv(['scratchBucket']), powertools()); */
export const runParts = (config: EntryConfig<'scratchBucket'>, tools: Powertools): S3ObjectStore => new S3ObjectStore({ client: s3(tools), bucket: config.scratchBucket });

/** The events a drill's replay copied, in the event store's layout. @example const copy = new EventArchive(replayedEvents(config, tools, runId), notWired('bus')); */
export const replayedEvents = (config: EntryConfig<'scratchBucket'>, tools: Powertools, runId: string): S3ObjectStore =>
  new S3ObjectStore({ client: s3(tools), bucket: config.scratchBucket, keyPrefix: drillScratchPrefix(runId) });

/** Deletes the events a drill's replay copied. @example await clearReplayedEvents(config, tools, runId); */
export const clearReplayedEvents = async (config: EntryConfig<'scratchBucket'>, tools: Powertools, runId: string): Promise<void> =>
  void (await deleteS3Prefix(s3(tools), config.scratchBucket, drillScratchPrefix(runId)));
