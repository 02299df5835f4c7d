import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LogRootMismatchError } from '../../lambdas/services/log-errors.js';
import { PublishScheduler } from '../../lambdas/services/publish-scheduler.js';

/** A publisher whose publishes end when the test says so; it records starts and peak concurrency per tenant. */
function controlledPublisher() {
  const starts: Array<{ tenant: string; at: number }> = [];
  const running = new Map<string, number>();
  let peak = 0;
  const pending: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  return {
    starts,
    get peak() {
      return peak;
    },
    publish(tenant: string): Promise<void> {
      starts.push({ tenant, at: Date.now() });
      running.set(tenant, (running.get(tenant) ?? 0) + 1);
      peak = Math.max(peak, running.get(tenant)!);
      return new Promise<void>((resolve, reject) => pending.push({ resolve, reject })).finally(() => running.set(tenant, running.get(tenant)! - 1));
    },
    /** Settles the oldest running publish. */
    async finish(error?: unknown): Promise<void> {
      const next = pending.shift()!;
      if (error === undefined) next.resolve();
      else next.reject(error);
      await vi.advanceTimersByTimeAsync(0);
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PublishScheduler.notify', () => {
  it('coalesces notifies into one publish that starts within maxLagMs of the first', async () => {
    // Prepare
    const publisher = controlledPublisher();
    const scheduler = new PublishScheduler(publisher, { maxLagMs: 1000 });
    // Act
    for (let i = 0; i < 5; i++) {
      scheduler.notify('acme');
      await vi.advanceTimersByTimeAsync(100);
    }
    const beforeDeadline = publisher.starts.length;
    await vi.advanceTimersByTimeAsync(500);
    // Assess
    expect(beforeDeadline).toBe(0);
    expect(publisher.starts).toEqual([{ tenant: 'acme', at: 1000 }]);
  });

  it('runs one publish per tenant at a time and one more for notifies made while it ran', async () => {
    // Prepare
    const publisher = controlledPublisher();
    const scheduler = new PublishScheduler(publisher, { maxLagMs: 1000 });
    scheduler.notify('acme');
    await vi.advanceTimersByTimeAsync(1000);
    // Act: three notifies while the first publish runs for 5 s
    for (let i = 0; i < 3; i++) {
      scheduler.notify('acme');
      await vi.advanceTimersByTimeAsync(1000);
    }
    await vi.advanceTimersByTimeAsync(2000);
    const whileRunning = publisher.starts.length;
    await publisher.finish();
    // Assess: overdue, so the next one starts at once
    expect(whileRunning).toBe(1);
    expect(publisher.starts.map((s) => s.at)).toEqual([1000, 6000]);
    expect(publisher.peak).toBe(1);
    await publisher.finish();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(publisher.starts).toHaveLength(2);
  });

  it('schedules tenants independently', async () => {
    // Prepare
    const publisher = controlledPublisher();
    const scheduler = new PublishScheduler(publisher, { maxLagMs: 200 });
    // Act
    scheduler.notify('acme');
    await vi.advanceTimersByTimeAsync(100);
    scheduler.notify('globex');
    await vi.advanceTimersByTimeAsync(200);
    // Assess
    expect(publisher.starts).toEqual([{ tenant: 'acme', at: 200 }, { tenant: 'globex', at: 300 }]);
  });

  it('retries a transiently failed publish after retryMs, but not a LogError', async () => {
    // Prepare
    const publisher = controlledPublisher();
    const errors: unknown[] = [];
    const scheduler = new PublishScheduler(publisher, { maxLagMs: 100, retryMs: 3000, onError: (_, e) => errors.push(e) });
    scheduler.notify('acme');
    await vi.advanceTimersByTimeAsync(100);
    // Act
    await publisher.finish(new Error('S3 unavailable'));
    await vi.advanceTimersByTimeAsync(3000);
    await publisher.finish(new LogRootMismatchError(10, 'ledger', 'tampered'));
    await vi.advanceTimersByTimeAsync(60_000);
    // Assess
    expect(publisher.starts.map((s) => s.at)).toEqual([100, 3100]);
    expect(errors.map((e) => (e as Error).message)).toEqual(['S3 unavailable', expect.stringContaining('tampered')]);
  });

  it('cancels armed publishes on stop and waits for the running one', async () => {
    // Prepare
    const publisher = controlledPublisher();
    const scheduler = new PublishScheduler(publisher, { maxLagMs: 100 });
    scheduler.notify('acme');
    await vi.advanceTimersByTimeAsync(100);
    scheduler.notify('globex');
    // Act
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(1000);
    const beforeFinish = stopped;
    await publisher.finish();
    await stopping;
    scheduler.notify('acme');
    await vi.advanceTimersByTimeAsync(1000);
    // Assess
    expect(beforeFinish).toBe(false);
    expect(publisher.starts.map((s) => s.tenant)).toEqual(['acme']);
  });
});
