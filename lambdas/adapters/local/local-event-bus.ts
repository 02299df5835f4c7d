import type { EventPublisher, LedgerEvent } from '../../ports/event-publisher.js';

/** Receives every event published on a {@link LocalEventBus}, in publish order. */
export type LocalEventListener = (event: LedgerEvent) => void | Promise<void>;

export interface LocalEventBusOptions {
  /** Called when a listener throws; default: ignore. A listener's failure never fails `publish`. */
  readonly onListenerError?: (error: unknown, event: LedgerEvent) => void;
}

/**
 * `EventPublisher` for the embedded default (DESIGN §6), which has no
 * EventBridge: an in-process bus. Why this and not a second copy of the
 * event store: the event archive service writes the S3 event store
 * (`events/<tenant>/…`) itself, through the `ObjectStore` port, before it
 * publishes, so the embedded S3 engine already holds the same layout as AWS.
 * What EventBridge adds on top is fan-out to subscribers and an archive for
 * replay; locally the S3 event store is the archive (replay = read it, or
 * deliver the ledger again), and fan-out is this bus.
 *
 * With no listener, `publish` does nothing. Listeners run one after another,
 * awaited, per event. As on EventBridge, where a target's failure never fails
 * `PutEvents`, a listener that throws is reported to `onListenerError` and
 * the remaining listeners and events still run. Delivery follows the port:
 * at least once (a redelivered change is published again).
 *
 * @example
 * ```ts
 * const bus = new LocalEventBus();
 * const stop = bus.subscribe((event) => console.log(event.type, event.tenant, event.position));
 * await bus.publish(events); // logs each event
 * stop();
 * ```
 */
export class LocalEventBus implements EventPublisher {
  readonly #listeners = new Set<LocalEventListener>();
  readonly #onListenerError: (error: unknown, event: LedgerEvent) => void;

  constructor(options: LocalEventBusOptions = {}) {
    this.#onListenerError = options.onListenerError ?? (() => undefined);
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: LocalEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async publish(events: readonly LedgerEvent[]): Promise<void> {
    const listeners = [...this.#listeners];
    for (const event of events) {
      for (const listener of listeners) {
        try {
          await listener(event);
        } catch (error) {
          this.#onListenerError(error, event);
        }
      }
    }
  }
}
