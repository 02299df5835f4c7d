/**
 * What the AWS restore targets share: a restore is *started* (an API call
 * that returns at once), *polled* until the scratch resource is ready (PITR
 * restores take minutes to hours, longer than one Lambda may run, so on Step
 * Functions each poll is its own task behind a Wait state), then *opened*.
 * `restore()` runs the three in one process (tests, a long-running drill
 * task); the state machine calls `start`, `ready` and `open` one by one.
 */
import type { RestoredCopy, RestoreTarget } from '../../ports/restore-target.js';

export interface PollOptions {
  /** Between polls; default 30 s. */
  readonly pollMs?: number;
  /** Give up (and let the drill tear down) after this long; default 4 h. */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: () => number;
}

/** A restore target whose steps the state machine can also call one at a time. */
export abstract class ScratchRestore implements RestoreTarget {
  abstract readonly name: string;
  /** Starts the restore into the scratch resource; returns the point in time it restores to. */
  abstract start(): Promise<Date>;
  /** Whether the scratch resource can be read; throws when the restore failed. */
  abstract ready(): Promise<boolean>;
  /** The restored copy, once ready. */
  abstract open(restoredTo: Date): Promise<RestoredCopy>;
  abstract teardown(): Promise<void>;

  readonly #poll: Required<PollOptions>;

  constructor(options: PollOptions = {}) {
    this.#poll = {
      pollMs: options.pollMs ?? 30_000,
      timeoutMs: options.timeoutMs ?? 4 * 3600_000,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      clock: options.clock ?? Date.now,
    };
  }

  /** Waits one poll interval (teardowns that must wait for AWS use it too). */
  protected pause(): Promise<void> {
    return this.#poll.sleep(this.#poll.pollMs);
  }

  async restore(): Promise<RestoredCopy> {
    const restoredTo = await this.start();
    const deadline = this.#poll.clock() + this.#poll.timeoutMs;
    while (!(await this.ready())) {
      if (this.#poll.clock() >= deadline) throw new Error(`${this.name}: the restore was not ready after ${Math.round(this.#poll.timeoutMs / 1000)} s`);
      await this.pause();
    }
    return this.open(restoredTo);
  }
}

/** Whether an AWS SDK error is one of the named exceptions. */
export function isAwsError(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}
