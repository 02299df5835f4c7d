import { PutEventsCommand, type EventBridgeClient, type PutEventsCommandOutput, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  EventBusUnavailableError,
  EventRejectedError,
  type EventFailure,
  type EventPublisher,
  type LedgerEvent,
} from '../../ports/event-publisher.js';
import { errorName, isTransient } from './aws-errors.js';
import { sleep as realSleep } from './dynamo-tables.js';

/**
 * `PutEvents` takes 1..10 entries per call (API reference, `Entries`: "Maximum
 * number of 10 items";
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html).
 */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * Default bound on the summed entry sizes of one call. The user guide says the
 * total "must be less than 256KB", counting per entry the UTF-8 bytes of
 * `Source`, `DetailType`, `Detail` and each `Resources` item, plus 14 bytes
 * for `Time` when set
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
 * The newest API reference raises it to "less than 1MB"; 256,000 bytes (the
 * smaller reading of "256KB") holds under both, and one entry of ours (a
 * canonical entry < 64 KiB, base64 in the detail) is under 90 KB anyway.
 * Raise it with `maxRequestBytes` where the 1 MB limit applies.
 */
export const PUT_EVENTS_MAX_BYTES = 256_000;

/** Per-entry codes the API reference (`PutEventsResultEntry.ErrorCode`) calls non-retryable; any other code is retried. */
const REFUSED = new Set([
  'AccessDeniedException', 'InvalidAccountIdException', 'InvalidArgument', 'MalformedDetail', 'RedactionFailure',
  'NotAuthorizedForSourceException', 'NotAuthorizedForDetailTypeException',
]);

/** Options of {@link EventBridgePublisher}. */
export interface EventBridgePublisherOptions {
  /** The caller's client; its `maxAttempts` bounds the SDK's retries of whole calls. */
  readonly client: EventBridgeClient;
  /** The custom bus (name or ARN) with the archive. */
  readonly eventBusName: string;
  /** `Source` of every event; default `govledger`. */
  readonly source?: string;
  /** Attempts per entry, the first included (default 5): failed entries are resent up to this bound. */
  readonly maxAttempts?: number;
  /** Backoff before resending: a random delay up to min(maxDelayMs, baseDelayMs · 2^(attempt−1)); defaults 100 and 5,000 ms. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Bound on the summed entry sizes of one call; default {@link PUT_EVENTS_MAX_BYTES}. */
  readonly maxRequestBytes?: number;
  /** For tests: how to wait. */
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Pending {
  readonly event: LedgerEvent;
  readonly entry: PutEventsRequestEntry;
}

/**
 * `EventPublisher` on a custom EventBridge bus with `PutEvents`.
 *
 * - Events go out in order, in calls of at most 10 entries and
 *   `maxRequestBytes` bytes (sized as EventBridge sizes them); an event alone
 *   over that bound is a RangeError before anything is sent.
 * - A call that succeeds may still report failed entries (`FailedEntryCount`,
 *   an `ErrorCode` per entry, in request order): only those entries are sent
 *   again, after a jittered exponential backoff, up to `maxAttempts` per
 *   entry; then `EventBusUnavailableError` with each entry's last code. A
 *   non-retryable code (`MalformedDetail`, `AccessDeniedException`, …) is
 *   `EventRejectedError` at once. Nothing is ever dropped silently.
 * - A whole call that fails with throttling, a 5xx or a network error after
 *   the client's retries is `EventBusUnavailableError` (cause kept); anything
 *   else (a missing bus, no permission) passes through.
 * - No `Time` (EventBridge stamps receipt time; the entry carries its own
 *   timestamp) and no `Resources`.
 *
 * @example
 * ```ts
 * const events = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: process.env.EVENT_BUS! });
 * await events.publish(archiveEvents);
 * ```
 */
export class EventBridgePublisher implements EventPublisher {
  readonly #client: EventBridgeClient;
  readonly #bus: string;
  readonly #source: string;
  readonly #maxAttempts: number;
  readonly #baseDelay: number;
  readonly #maxDelay: number;
  readonly #maxBytes: number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: EventBridgePublisherOptions) {
    this.#client = options.client;
    this.#bus = options.eventBusName;
    this.#source = options.source ?? 'govledger';
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#baseDelay = options.baseDelayMs ?? 100;
    this.#maxDelay = options.maxDelayMs ?? 5_000;
    this.#maxBytes = options.maxRequestBytes ?? PUT_EVENTS_MAX_BYTES;
    this.#sleep = options.sleep ?? realSleep;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) throw new RangeError(`maxAttempts must be ≥ 1, got ${this.#maxAttempts}`);
    if (this.#bus === '' || this.#source === '') throw new RangeError('eventBusName and source must not be empty');
  }

  async publish(events: readonly LedgerEvent[]): Promise<void> {
    const pending = events.map((event) => this.#pending(event));
    for (const chunk of this.#chunks(pending)) await this.#send(chunk);
  }

  /** The entry of `event`, refusing one that no call could carry. */
  #pending(event: LedgerEvent): Pending {
    const entry: PutEventsRequestEntry = { EventBusName: this.#bus, Source: this.#source, DetailType: event.type, Detail: event.detail };
    const size = entrySize(entry);
    if (size > this.#maxBytes) {
      throw new RangeError(`event for position ${event.position} of ${event.tenant} is ${size} bytes, over the ${this.#maxBytes}-byte PutEvents bound`);
    }
    return { event, entry };
  }

  /** Consecutive runs of at most 10 entries and `maxRequestBytes` bytes. */
  #chunks(pending: readonly Pending[]): Pending[][] {
    const chunks: Pending[][] = [];
    let current: Pending[] = [];
    let bytes = 0;
    for (const item of pending) {
      const size = entrySize(item.entry);
      if (current.length === PUT_EVENTS_MAX_ENTRIES || bytes + size > this.#maxBytes) {
        chunks.push(current);
        current = [];
        bytes = 0;
      }
      current.push(item);
      bytes += size;
    }
    if (current.length > 0) chunks.push(current);
    return chunks;
  }

  /** Sends one chunk, resending its failed entries until none fail or the bound is reached. */
  async #send(chunk: readonly Pending[]): Promise<void> {
    let pending = chunk;
    for (let attempt = 1; ; attempt += 1) {
      const failed = await this.#put(pending);
      const failures = failed.map(({ failure }) => failure);
      const refused = failures.filter((f) => REFUSED.has(f.errorCode));
      if (refused.length > 0) {
        throw new EventRejectedError(`EventBridge refused ${refused.length} event(s): ${summary(refused)}`, refused);
      }
      if (failures.length === 0) return;
      if (attempt >= this.#maxAttempts) {
        throw new EventBusUnavailableError(`${failures.length} event(s) still failing after ${attempt} attempts: ${summary(failures)}`, failures);
      }
      pending = failed.map(({ index }) => pending[index]!);
      await this.#sleep(Math.random() * Math.min(this.#maxDelay, this.#baseDelay * 2 ** (attempt - 1)));
    }
  }

  /** One `PutEvents` call; its failed entries with their index in `pending`. */
  async #put(pending: readonly Pending[]): Promise<Array<{ index: number; failure: EventFailure }>> {
    let out: PutEventsCommandOutput;
    try {
      out = await this.#client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
    } catch (error) {
      if (!isTransient(error)) throw error;
      const failures = pending.map(({ event }) => ({ tenant: event.tenant, position: event.position, errorCode: errorName(error) ?? 'Error' }));
      throw new EventBusUnavailableError(`EventBridge PutEvents failed: ${(error as Error).message}`, failures, { cause: error });
    }
    const results = out.Entries ?? [];
    return pending.flatMap(({ event }, index) => {
      const result = results[index];
      if (result?.EventId !== undefined && result.ErrorCode === undefined) return [];
      // A missing result, or one with neither id nor code, is a retryable failure: never assume success.
      const { tenant, position } = event;
      const failure = { tenant, position, errorCode: result?.ErrorCode ?? 'NoResult', ...(result?.ErrorMessage ? { errorMessage: result.ErrorMessage } : {}) };
      return [{ index, failure }];
    });
  }
}

/** EventBridge's size of an entry (user guide, "Calculating PutEvents event entry size"). */
function entrySize(entry: PutEventsRequestEntry): number {
  const utf8 = (s: string | undefined): number => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));
  return (entry.Time ? 14 : 0) + utf8(entry.Source) + utf8(entry.DetailType) + utf8(entry.Detail) + (entry.Resources ?? []).reduce((n, r) => n + utf8(r), 0);
}

/** `acme/3: ThrottlingException, …` (at most five), for error messages. */
function summary(failures: readonly EventFailure[]): string {
  const shown = failures.slice(0, 5).map((f) => `${f.tenant}/${f.position}: ${f.errorCode}`);
  return failures.length > 5 ? `${shown.join(', ')}, …` : shown.join(', ');
}
