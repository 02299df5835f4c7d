import { EventBridgeClient, EventBridgeServiceException, PutEventsCommand, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher, PUT_EVENTS_MAX_BYTES, type EventBridgePublisherOptions } from '../../lambdas/adapters/aws/eventbridge-publisher.js';
import { EventBusUnavailableError, EventRejectedError, type LedgerEvent } from '../../lambdas/ports/event-publisher.js';

const client = new EventBridgeClient({ region: 'eu-west-1' });
const mock = mockClient(client);
const Bus = 'govledger-events';

/** Event `position` of acme with a detail of about `size` bytes. */
function event(position: number, size = 40): LedgerEvent {
  const detail = JSON.stringify({ position, pad: 'x'.repeat(Math.max(0, size - 30)) });
  return { type: 'govledger.entry', detail, tenant: 'acme', position };
}

const entryOf = (e: LedgerEvent) => ({ EventBusName: Bus, Source: 'govledger', DetailType: e.type, Detail: e.detail });
const ok = (n: number): PutEventsResultEntry[] => Array.from({ length: n }, (_, i) => ({ EventId: `id-${i}` }));
const sentEntries = () => mock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries);

/** A publisher whose backoff sleeps are recorded, not waited. */
function publisher(options: Partial<EventBridgePublisherOptions> = {}): { events: EventBridgePublisher; sleeps: number[] } {
  const sleeps: number[] = [];
  const events = new EventBridgePublisher({ client, eventBusName: Bus, sleep: async (ms) => void sleeps.push(ms), ...options });
  return { events, sleeps };
}

function ebError(name: string, status: number): EventBridgeServiceException {
  return new EventBridgeServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
}

beforeEach(() => {
  mock.reset();
  mock.on(PutEventsCommand).callsFake(async (input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: ok(input.Entries.length) }));
});

describe('EventBridgePublisher.publish', () => {
  it('sends each event as one PutEvents entry on the bus with source govledger, type and detail unchanged', async () => {
    // Prepare
    const { events } = publisher();
    const batch = [event(0), event(1)];
    // Act
    await events.publish(batch);
    // Assess
    expect(mock.commandCalls(PutEventsCommand).map((c) => c.args[0].input)).toEqual([{ Entries: batch.map(entryOf) }]);
  });

  it('sends 25 events in order as calls of 10, 10 and 5', async () => {
    // Prepare
    const { events } = publisher();
    const batch = Array.from({ length: 25 }, (_, i) => event(i));
    // Act
    await events.publish(batch);
    // Assess
    expect(sentEntries()).toEqual([batch.slice(0, 10), batch.slice(10, 20), batch.slice(20)].map((c) => c.map(entryOf)));
  });

  it('splits by size so no call carries more than 256,000 bytes as EventBridge counts them', async () => {
    // Prepare: ~87 KB per event (a 64 KiB entry in base64), so three never fit one call
    const { events } = publisher();
    const batch = Array.from({ length: 5 }, (_, i) => event(i, 87_400));
    // Act
    await events.publish(batch);
    // Assess
    const calls = sentEntries();
    expect(calls.map((c) => c?.length)).toEqual([2, 2, 1]);
    for (const entries of calls) {
      const bytes = entries!.reduce((n, e) => n + Buffer.byteLength(e.Source!) + Buffer.byteLength(e.DetailType!) + Buffer.byteLength(e.Detail!), 0);
      expect(bytes).toBeLessThanOrEqual(PUT_EVENTS_MAX_BYTES);
    }
    expect(calls.flat()).toEqual(batch.map(entryOf));
  });

  it('refuses an event too large for any call with RangeError, sending nothing', async () => {
    // Prepare
    const { events } = publisher({ maxRequestBytes: 1_000 });
    // Act
    const result = events.publish([event(0), event(1, 2_000)]);
    // Assess
    await expect(result).rejects.toThrow(RangeError);
    expect(mock.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('resends only the failed entries of a partial failure, after a bounded backoff', async () => {
    // Prepare
    const { events, sleeps } = publisher({ baseDelayMs: 100 });
    const batch = Array.from({ length: 4 }, (_, i) => event(i));
    mock
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }, { EventId: 'c' }, { ErrorCode: 'InternalFailure' }],
      })
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'b' }, { ErrorCode: 'ThrottlingException' }] })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'd' }] });
    // Act
    await events.publish(batch);
    // Assess
    expect(sentEntries()).toEqual([batch.map(entryOf), [batch[1]!, batch[3]!].map(entryOf), [entryOf(batch[3]!)]]);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeLessThanOrEqual(100);
    expect(sleeps[1]).toBeLessThanOrEqual(200);
  });

  it('treats an entry answered with neither EventId nor ErrorCode as failed, never as sent', async () => {
    // Prepare
    const { events } = publisher();
    mock.on(PutEventsCommand).resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }, {}] }).resolves({ Entries: [{ EventId: 'b' }] });
    // Act
    await events.publish([event(0), event(1)]);
    // Assess
    expect(sentEntries()[1]).toEqual([entryOf(event(1))]);
  });

  it('gives up after maxAttempts with EventBusUnavailableError naming each event still failing', async () => {
    // Prepare
    const { events, sleeps } = publisher({ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 150 });
    mock.on(PutEventsCommand).callsFake(async (input: { Entries: unknown[] }) => ({
      FailedEntryCount: 1,
      Entries: input.Entries.map((_, i) => (i === input.Entries.length - 1 ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'rate' } : { EventId: `e${i}` })),
    }));
    // Act
    const error = await events.publish([event(7), event(8)]).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(EventBusUnavailableError);
    expect(error).toMatchObject({ code: 'EVENT_BUS_UNAVAILABLE', failures: [{ tenant: 'acme', position: 8, errorCode: 'ThrottlingException', errorMessage: 'rate' }] });
    expect(mock.commandCalls(PutEventsCommand)).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(150);
  });

  it('stops at once with EventRejectedError on a non-retryable per-entry code', async () => {
    // Prepare
    const { events } = publisher();
    mock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad json' }] });
    // Act
    const error = await events.publish([event(0), event(1)]).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(EventRejectedError);
    expect(error).toMatchObject({ code: 'EVENT_REJECTED', failures: [{ position: 1, errorCode: 'MalformedDetail' }] });
    expect(mock.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('turns a throttled or 5xx call into EventBusUnavailableError and lets a missing bus through', async () => {
    // Prepare
    const { events } = publisher();
    const throttled = ebError('ThrottlingException', 400);
    const missing = ebError('ResourceNotFoundException', 400);
    mock.on(PutEventsCommand).rejectsOnce(throttled).rejectsOnce(ebError('InternalException', 500)).rejectsOnce(missing);
    // Act
    const errors = [];
    for (let i = 0; i < 3; i += 1) errors.push(await events.publish([event(i)]).catch((e: unknown) => e));
    // Assess
    expect(errors[0]).toBeInstanceOf(EventBusUnavailableError);
    expect(errors[0]).toMatchObject({ cause: throttled, failures: [{ position: 0, errorCode: 'ThrottlingException' }] });
    expect(errors[1]).toBeInstanceOf(EventBusUnavailableError);
    expect(errors[2]).toBe(missing);
  });

  it('sends nothing for no events, and refuses a bound below one attempt', async () => {
    // Act
    await publisher().events.publish([]);
    // Assess
    expect(mock.calls()).toHaveLength(0);
    expect(() => publisher({ maxAttempts: 0 })).toThrow(RangeError);
  });
});
