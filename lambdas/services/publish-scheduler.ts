/**
 * Coalesces publish requests per tenant (DESIGN §1 "TRANSPARENCY"): appends
 * call `notify(tenant)`, and the scheduler runs `LogPublisher.publish` so that
 * - after any `notify`, a publish of that tenant *starts* within `maxLagMs`,
 *   or as soon as the publish already running for it ends, if that is later;
 * - at most one publish per tenant runs at a time (concurrent publishes are
 *   safe, since the checkpoint is swapped in only over a smaller one, but
 *   they would repeat each other's work);
 * - every notify made while a publish is armed or running is served by one
 *   later publish, whatever their number.
 * A failed publish is reported to `onError`. Transient failures are retried
 * after `retryMs`; a `LogError` (stored state disagrees with itself, e.g. a
 * root mismatch) waits for a human and the next notify.
 */
import { LogError } from './log-errors.js';

export interface PublishSchedulerOptions {
  /** Longest wait from a notify to the start of a publish, ms (default 1000). */
  readonly maxLagMs?: number;
  /** Delay before retrying a transiently failed publish, ms (default 5000). */
  readonly retryMs?: number;
  /** Told about every failed publish (default: console.error). */
  readonly onError?: (tenant: string, error: unknown) => void;
}

/** What the scheduler runs; `LogPublisher` fits. */
export interface Publisher {
  publish(tenant: string): Promise<unknown>;
}

interface TenantState {
  /** When the publish serving the oldest unserved notify must start (epoch ms); undefined when none is owed. */
  dueAt: number | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  running: Promise<void> | undefined;
}

/**
 * In-process publish scheduling; on Lambda each stream batch publishes instead.
 *
 * @example
 * ```ts
 * const scheduler = new PublishScheduler(publisher, { maxLagMs: 1000 });
 * await ledger.append(request);
 * scheduler.notify(request.tenant);
 * // on shutdown
 * await scheduler.stop();
 * ```
 */
export class PublishScheduler {
  readonly #tenants = new Map<string, TenantState>();
  readonly #maxLagMs: number;
  readonly #retryMs: number;
  readonly #onError: (tenant: string, error: unknown) => void;
  #stopped = false;

  constructor(private readonly publisher: Publisher, options: PublishSchedulerOptions = {}) {
    this.#maxLagMs = options.maxLagMs ?? 1000;
    this.#retryMs = options.retryMs ?? 5000;
    this.#onError = options.onError ?? ((tenant, error) => console.error(`publish of ${tenant} failed`, error));
    if (!(this.#maxLagMs >= 0 && this.#retryMs >= 0)) throw new RangeError('maxLagMs and retryMs must be non-negative');
  }

  /** Asks for a publish of `tenant` within `maxLagMs`; cheap and synchronous, never throws. */
  notify(tenant: string): void {
    if (this.#stopped) return;
    let state = this.#tenants.get(tenant);
    if (state === undefined) {
      state = { dueAt: undefined, timer: undefined, running: undefined };
      this.#tenants.set(tenant, state);
    }
    this.#owe(tenant, state, this.#maxLagMs);
  }

  /** Cancels armed publishes (the next start publishes what they would have) and waits for running ones. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const running: Promise<void>[] = [];
    for (const state of this.#tenants.values()) {
      clearTimeout(state.timer);
      state.timer = undefined;
      state.dueAt = undefined;
      if (state.running) running.push(state.running);
    }
    await Promise.all(running);
  }

  /** Records that a publish is owed within `delayMs`, arming a timer unless one is armed or running. */
  #owe(tenant: string, state: TenantState, delayMs: number): void {
    if (state.dueAt !== undefined) return; // an owed publish starts after this call: it serves it too
    state.dueAt = Date.now() + delayMs;
    if (state.running === undefined) this.#arm(tenant, state);
  }

  #arm(tenant: string, state: TenantState): void {
    const delay = Math.max(0, (state.dueAt ?? Date.now()) - Date.now());
    state.timer = setTimeout(() => this.#run(tenant, state), delay);
  }

  #run(tenant: string, state: TenantState): void {
    state.timer = undefined;
    state.dueAt = undefined;
    state.running = (async () => {
      let failed: unknown;
      try {
        await this.publisher.publish(tenant);
      } catch (error) {
        failed = error;
        this.#onError(tenant, error);
      }
      state.running = undefined;
      if (this.#stopped) return;
      if (failed !== undefined && !(failed instanceof LogError)) state.dueAt ??= Date.now() + this.#retryMs;
      if (state.dueAt !== undefined) this.#arm(tenant, state);
      else this.#tenants.delete(tenant);
    })();
  }
}
