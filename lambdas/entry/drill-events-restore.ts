/**
 * Lambda entry of the drill's event archive restore (issue 8): replays the
 * archive (from its creation to now) to the ledger bus for the collector rule
 * only, polls the replay, and at teardown cancels a replay still running and
 * deletes the events it copied to the scratch bucket
 * (`{ step: 'start' | 'ready' | 'teardown', state }`).
 */
import { DescribeArchiveCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventReplayRestore } from '../adapters/aws/eventbridge-replay-restore.js';
import { awsClient } from './shared/aws-clients.js';
import { drillScratchName, readEnv } from './shared/env.js';
import { notWired } from './shared/not-wired.js';
import { powertools } from './shared/powertools.js';
import { restoreEntry } from './shared/verification-deps.js';
import { clearReplayedEvents } from './shared/verification-s3.js';

const config = readEnv(['drill', 'scratchBucket']);
const tools = powertools();
const client = awsClient('events', tools, () => new EventBridgeClient({}));
let archiveCreated: Promise<Date> | undefined;

/** When the archive began: a replay covers everything it holds. */
function archiveCreation(): Promise<Date> {
  archiveCreated ??= client.send(new DescribeArchiveCommand({ ArchiveName: config.drillArchiveArn.split('/').pop()! })).then((out) => {
    if (!(out.CreationTime instanceof Date)) throw new Error(`archive ${config.drillArchiveArn} reports no creation time`);
    return out.CreationTime;
  });
  archiveCreated.catch(() => (archiveCreated = undefined));
  return archiveCreated;
}

/** The Lambda handler. */
export const handler = restoreEntry('event-archive', tools, async (runId) => new EventReplayRestore({
  client,
  replayName: drillScratchName(config.drillNamePrefix, 'ev', runId),
  archiveArn: config.drillArchiveArn,
  busArn: config.drillBusArn,
  collectorRuleArn: config.drillCollectorRuleArn,
  from: await archiveCreation(),
  scratchCopy: notWired('scratchCopy'), // the check reads the copy
  clearScratch: () => clearReplayedEvents(config, tools, runId),
  started: true,
  pollMs: 15_000,
}));
