/**
 * Drill target: the event archive replayed (EventBridge `StartReplay`). A
 * replay can only go back to the bus the archive records (EventBridge
 * `ReplayDestination`: "You can replay events only to the event bus specified
 * to create the archive"), so the replay names one rule in `FilterArns`: the
 * drill collector rule, whose target stores each replayed event in a scratch
 * prefix of the event store (the event archive's own layout). Nothing else on
 * the bus sees replayed events. The drill then compares that scratch copy
 * with the ledger, and teardown cancels a running replay and empties the
 * scratch prefix.
 */
import { CancelReplayCommand, DescribeReplayCommand, StartReplayCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { ChangeCopy } from '../../ports/change-stream.js';
import type { RestoredCopy } from '../../ports/restore-target.js';
import { isAwsError, ScratchRestore, type PollOptions } from './scratch-restore.js';

export interface EventReplayRestoreOptions extends PollOptions {
  readonly client: EventBridgeClient;
  /** `drill-<runId>`: at most 64 characters, unique per run. */
  readonly replayName: string;
  readonly archiveArn: string;
  readonly busArn: string;
  /** The rule that routes replayed events (and only those) to the drill collector. */
  readonly collectorRuleArn: string;
  /** Replay events from this time (the archive's creation or the retention horizon). */
  readonly from: Date;
  readonly clock?: () => number;
  /** The scratch copy the collector fills. */
  readonly scratchCopy: Pick<ChangeCopy, 'name' | 'leafHashes'>;
  /** Deletes everything under the scratch prefix. */
  readonly clearScratch: () => Promise<void>;
  /**
   * The replay may already exist: an earlier invocation started it (Step
   * Functions runs start and teardown in separate Lambda invocations), so
   * teardown cancels it (a replay that never started is not found: fine).
   */
  readonly started?: boolean;
}

/**
 * @example
 * const target = new EventReplayRestore({ client, replayName: `drill-${runId}`, archiveArn, busArn, collectorRuleArn, from, scratchCopy, clearScratch });
 */
export class EventReplayRestore extends ScratchRestore {
  readonly name = 'event-archive';
  readonly #o: EventReplayRestoreOptions;
  #started: boolean;

  constructor(options: EventReplayRestoreOptions) {
    super(options);
    this.#o = options;
    this.#started = options.started ?? false;
  }

  async start(): Promise<Date> {
    const { client, replayName, archiveArn, busArn, collectorRuleArn, from } = this.#o;
    const to = new Date((this.#o.clock ?? Date.now)());
    await client.send(
      new StartReplayCommand({
        ReplayName: replayName,
        EventSourceArn: archiveArn,
        EventStartTime: from,
        EventEndTime: to,
        Destination: { Arn: busArn, FilterArns: [collectorRuleArn] },
      }),
    );
    this.#started = true;
    return to;
  }

  async ready(): Promise<boolean> {
    const out = await this.#o.client.send(new DescribeReplayCommand({ ReplayName: this.#o.replayName }));
    if (out.State === 'FAILED' || out.State === 'CANCELLED') throw new Error(`replay ${this.#o.replayName} ${out.State}: ${out.StateReason ?? 'no reason given'}`);
    return out.State === 'COMPLETED';
  }

  async open(restoredTo: Date): Promise<RestoredCopy> {
    return { kind: 'copy', copy: this.#o.scratchCopy, restoredTo };
  }

  async teardown(): Promise<void> {
    if (this.#started) {
      await this.#o.client.send(new CancelReplayCommand({ ReplayName: this.#o.replayName })).catch((error: unknown) => {
        // A finished replay cannot be cancelled; that is the usual case.
        if (!isAwsError(error, 'IllegalStatusException', 'ResourceNotFoundException')) throw error;
      });
    }
    await this.#o.clearScratch();
  }
}
