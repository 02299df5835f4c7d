/**
 * The local change stream (DESIGN §6: "DynamoDB Streams → a tailer feeding
 * the same downstream handlers"): follows each tenant's ledger from a
 * persisted cursor per consumer and hands every consumer its changes in
 * position order, up to `maxChanges` per `apply`.
 *
 * - Cursors are written after the consumer's `apply` returned, so a crash in
 *   between redelivers those changes on restart: no gap, and the consumers'
 *   idempotence by (tenant, position) makes the redelivery harmless.
 * - Woken by `notify(tenant)` after appends, and polling every `pollMs`
 *   (≤ 1 s) as a safety net, so a write reaches the consumers within a second
 *   at rest. Tenants are found at `start` (and every `discoverMs`) through
 *   `LedgerStore.tenants()`, so a restart also serves tenants nobody writes to.
 * - One run per tenant at a time; a notify during a run triggers one more.
 *   A failing consumer is reported to `onError` and retried after `retryMs`;
 *   the other consumers go on. A gap in the ledger stops delivery before it.
 */
import { toHex } from '../core/bytes.js';
import { InvalidRangeError } from '../core/errors.js';
import { hashLeaf } from '../core/rfc9162-hasher.js';
import type { ChangeConsumer, LedgerChange } from '../ports/change-stream.js';
import type { LedgerBatch, LedgerStore } from '../ports/ledger-store.js';
import type { ChangeCursorStore } from '../ports/projection-store.js';

/** Timing and limits of a `ChangeTailer`; every field has a default. */
export interface ChangeTailerOptions {
  /** Poll interval, ms (default 500, at most 1000). */
  readonly pollMs?: number;
  /** Changes per `apply` call (default 500). */
  readonly maxChanges?: number;
  /** Wait after a failed delivery before retrying the tenant, ms (default 2000). */
  readonly retryMs?: number;
  /** How often to look for tenants again, ms (default 60000). */
  readonly discoverMs?: number;
  /** Told about every failed run (default: console.error). */
  readonly onError?: (tenant: string, error: unknown) => void;
}

interface TenantState {
  running: Promise<void> | undefined;
  again: boolean;
  retryAt: number;
  /** This process's view of the cursors (it is their only writer), read once. */
  cursors: Map<string, number> | undefined;
}

/**
 * The changes of a batch at positions ≥ `from`.
 *
 * @example
 * changesOf(batch, 12); // → [{ tenant, position: 12, entry, leafHash }, …]
 */
export function changesOf(batch: LedgerBatch, from = batch.firstPosition): LedgerChange[] {
  const skip = Math.max(0, from - batch.firstPosition);
  return batch.entries.slice(skip).map((entry, i) => ({ tenant: batch.tenant, position: batch.firstPosition + skip + i, entry, leafHash: toHex(hashLeaf(entry)) }));
}

/**
 * Delivers each tenant's ledger to the consumers (see the module doc).
 *
 * @example
 * const tailer = new ChangeTailer(ledgerStore, [projector], cursors, { onError: (t, e) => logger.error('tail failed', { t, e }) });
 * await tailer.start();
 * // after each append: tailer.notify(tenant); on shutdown: await tailer.stop();
 */
export class ChangeTailer {
  readonly #tenants = new Map<string, TenantState>();
  readonly #pollMs: number;
  readonly #maxChanges: number;
  readonly #retryMs: number;
  readonly #discoverMs: number;
  readonly #onError: (tenant: string, error: unknown) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #discovered = 0;
  #discovering: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly ledger: Pick<LedgerStore, 'readTail' | 'readBatches' | 'tenants'>,
    private readonly consumers: readonly ChangeConsumer[],
    private readonly cursors: ChangeCursorStore,
    options: ChangeTailerOptions = {},
  ) {
    this.#pollMs = options.pollMs ?? 500;
    this.#maxChanges = options.maxChanges ?? 500;
    this.#retryMs = options.retryMs ?? 2000;
    this.#discoverMs = options.discoverMs ?? 60_000;
    this.#onError = options.onError ?? ((tenant, error) => console.error(`change tailer: ${tenant} failed`, error));
    if (!(this.#pollMs > 0 && this.#pollMs <= 1000)) throw new RangeError('pollMs must be in (0, 1000]');
    if (!(Number.isSafeInteger(this.#maxChanges) && this.#maxChanges >= 1)) throw new RangeError('maxChanges must be a whole number ≥ 1');
    if (consumers.length === 0 || new Set(consumers.map((c) => c.name)).size !== consumers.length) throw new RangeError('consumers: at least one, with unique names');
  }

  /** Finds the tenants, starts delivering to them and arms the poll. */
  async start(): Promise<void> {
    await this.#discover();
    this.#timer = setInterval(() => this.#poll(), this.#pollMs);
    this.#timer.unref?.();
    for (const tenant of this.#tenants.keys()) this.notify(tenant);
  }

  /** Asks for a delivery run of `tenant` now (after an append); never throws. */
  notify(tenant: string): void {
    if (this.#stopped) return;
    const state = this.#state(tenant);
    state.retryAt = 0;
    void this.#kick(tenant, state).catch(() => undefined);
  }

  /**
   * Delivers everything the tenant's ledger holds now, rejecting with the
   * first failure (for tests and operators; the poll path reports instead).
   */
  async catchUp(tenant: string): Promise<void> {
    const state = this.#state(tenant);
    while (state.running) await state.running.catch(() => undefined);
    await this.#kick(tenant, state);
  }

  /** Stops polling and waits for runs in flight (each stops after its current apply). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await Promise.all([this.#discovering, ...[...this.#tenants.values()].map((s) => s.running?.catch(() => undefined))]);
  }

  #state(tenant: string): TenantState {
    let state = this.#tenants.get(tenant);
    if (!state) {
      state = { running: undefined, again: false, retryAt: 0, cursors: undefined };
      this.#tenants.set(tenant, state);
    }
    return state;
  }

  #poll(): void {
    // One discovery at a time, the interval counted from the end of the last: listing tenants reads the
    // whole ledger table (a Scan), which at 10⁶ entries outlasts the interval, and overlapping scans
    // ran the embedded engine out of memory.
    if (this.#discovering === undefined && Date.now() - this.#discovered >= this.#discoverMs) {
      this.#discovering = this.#discover()
        .catch((error: unknown) => this.#onError('*', error))
        .finally(() => {
          this.#discovered = Date.now();
          this.#discovering = undefined;
        });
    }
    for (const [tenant, state] of this.#tenants) {
      if (!state.running && state.retryAt <= Date.now()) void this.#kick(tenant, state).catch(() => undefined);
    }
  }

  async #discover(): Promise<void> {
    this.#discovered = Date.now();
    for await (const tenant of this.ledger.tenants()) this.#state(tenant);
  }

  /** Starts a run, or asks the running one for another pass; resolves when the runs end. */
  #kick(tenant: string, state: TenantState): Promise<void> {
    if (state.running) {
      state.again = true;
      return state.running;
    }
    state.running = (async () => {
      try {
        do {
          state.again = false;
          await this.#run(tenant, state);
        } while (state.again && !this.#stopped);
      } catch (error) {
        state.retryAt = Date.now() + this.#retryMs;
        state.cursors = undefined; // re-read: a put may have failed after its apply
        this.#onError(tenant, error);
        throw error;
      } finally {
        state.running = undefined;
      }
    })();
    return state.running;
  }

  async #run(tenant: string, state: TenantState): Promise<void> {
    state.cursors ??= await this.cursors.get(tenant, this.consumers.map((c) => c.name));
    const cursors = state.cursors;
    let next = Math.min(...cursors.values());
    const tail = await this.ledger.readTail(tenant); // one read for an idle tenant, the usual case of a poll
    if (!tail || tail.firstPosition + tail.entries.length <= next) return;
    let pending: LedgerChange[] = [];
    for await (const batch of this.ledger.readBatches(tenant, next)) {
      if (this.#stopped) return;
      if (batch.firstPosition > next) {
        if (pending.length > 0) await this.#deliver(tenant, pending, cursors);
        throw new InvalidRangeError(`the ledger of ${tenant} jumps from position ${next} to ${batch.firstPosition}: delivery stops at the gap`);
      }
      const changes = changesOf(batch, next);
      pending.push(...changes);
      next += changes.length;
      if (pending.length >= this.#maxChanges) {
        await this.#deliver(tenant, pending, cursors);
        pending = [];
      }
    }
    if (pending.length > 0 && !this.#stopped) await this.#deliver(tenant, pending, cursors);
  }

  /** Each consumer gets the changes at or past its cursor; its cursor moves only after its apply returned. */
  async #deliver(tenant: string, changes: readonly LedgerChange[], cursors: Map<string, number>): Promise<void> {
    const end = changes.at(-1)!.position + 1;
    const results = await Promise.allSettled(
      this.consumers.map(async (consumer) => {
        const from = cursors.get(consumer.name) ?? 0;
        if (from >= end) return;
        await consumer.apply(changes.filter((c) => c.position >= from));
        await this.cursors.put(consumer.name, tenant, end);
        cursors.set(consumer.name, end);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
