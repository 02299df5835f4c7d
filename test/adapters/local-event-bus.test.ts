import { describe, expect, it } from 'vitest';
import { LocalEventBus } from '../../lambdas/adapters/local/local-event-bus.js';
import type { LedgerEvent } from '../../lambdas/ports/event-publisher.js';

const event = (position: number): LedgerEvent => ({ type: 'govledger.entry', detail: `{"position":${position}}`, tenant: 'acme', position });

describe('LocalEventBus', () => {
  it('does nothing without listeners and delivers every event, in order, to each listener', async () => {
    // Prepare
    const bus = new LocalEventBus();
    await bus.publish([event(0)]);
    const seen: string[] = [];
    bus.subscribe((e) => void seen.push(`a${e.position}`));
    bus.subscribe(async (e) => void seen.push(`b${e.position}`));
    // Act
    await bus.publish([event(1), event(2)]);
    // Assess
    expect(seen).toEqual(['a1', 'b1', 'a2', 'b2']);
  });

  it('reports a failing listener without failing publish or skipping the others', async () => {
    // Prepare
    const failures: Array<[string, number]> = [];
    const bus = new LocalEventBus({ onListenerError: (error, e) => failures.push([(error as Error).message, e.position]) });
    const seen: number[] = [];
    bus.subscribe((e) => {
      if (e.position === 1) throw new Error('listener down');
    });
    bus.subscribe((e) => void seen.push(e.position));
    // Act
    await bus.publish([event(0), event(1), event(2)]);
    // Assess
    expect(failures).toEqual([['listener down', 1]]);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('stops delivering to a listener once it unsubscribes', async () => {
    // Prepare
    const bus = new LocalEventBus();
    const seen: number[] = [];
    const stop = bus.subscribe((e) => void seen.push(e.position));
    await bus.publish([event(0)]);
    // Act
    stop();
    await bus.publish([event(1)]);
    // Assess
    expect(seen).toEqual([0]);
  });
});
