/**
 * The event publisher (DESIGN §1 "EVENT ARCHIVE"): hands ledger events to an
 * event bus, so other systems can subscribe to what the ledger accepted. On
 * AWS a custom EventBridge bus with an archive (for replay); locally an
 * in-process bus. The durable, readable copy of every event is the event
 * store in S3, written by the event archive service before it publishes
 * (`lambdas/services/event-archive.ts`); the bus is the notification.
 *
 * Contract for every adapter:
 * - `publish` returns only when the bus has accepted every event. A throw
 *   means none, some or all were accepted: the caller publishes the whole
 *   array again. Delivery is therefore at least once, and subscribers dedupe
 *   by `(tenant, position)`; order is not guaranteed either.
 * - Events the bus turns away for a passing reason (throttling, an internal
 *   failure) are retried inside the adapter with bounded backoff, never
 *   dropped; what still fails then is `EventBusUnavailableError`. Events it
 *   refuses for good (access denied, malformed) are `EventRejectedError` at
 *   once. Both carry the per-event failures (ports/errors.ts).
 * - An event larger than the bus takes is a caller bug: RangeError, and
 *   nothing of that call is sent.
 * - An empty array is a no-op.
 */

/** One event: the bus's envelope fields plus the ledger position it describes. */
export interface LedgerEvent {
  /** The event type, e.g. `govledger.entry` (EventBridge `DetailType`). */
  readonly type: string;
  /** The event body, a JSON object's text (EventBridge `Detail`). */
  readonly detail: string;
  /** The position the event describes: for failures and logs, and where the bus needs a resource. */
  readonly tenant: string;
  readonly position: number;
}

/**
 * Publishes events to a bus.
 *
 * @example
 * ```ts
 * await events.publish([{ type: 'govledger.entry', detail: '{"position":0,…}', tenant: 'acme', position: 0 }]);
 * ```
 */
export interface EventPublisher {
  publish(events: readonly LedgerEvent[]): Promise<void>;
}

// The publisher's errors are PortErrors like every port's (lambdas/ports/errors.ts).
export { EventBusUnavailableError, EventRejectedError, type EventFailure } from './errors.js';
