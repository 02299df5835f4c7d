import { LedgerUnavailableError, PositionTakenError } from '../../ports/errors.js';
import type { IdempotencyRecord, IndexItems, IndexItemsOf, IndexLookup, LedgerBatch, LedgerStore, RecordHead } from '../../ports/ledger-store.js';
import { checkBatch, checkIndexItems, checkPosition } from '../ledger-batch-check.js';

/** A `LedgerStore` method name, for fault hooks. */
export type LedgerStoreOperation = keyof LedgerStore;
/** Operations that write, so "failed but persisted" means something. */
export type LedgerStoreWrite = 'appendBatch' | 'putHead' | 'putIdempotency' | 'putIndex';

type Fault = { kind: 'fail'; error: unknown } | { kind: 'persist' } | { kind: 'race'; winner: LedgerBatch } | { kind: 'crash' };

interface TenantLedger {
  /** Ascending by first position. */
  readonly batches: LedgerBatch[];
  readonly heads: Map<string, RecordHead>;
  readonly idempotency: Map<string, IdempotencyRecord>;
  /** Set by `crashAfterBatchNext`, cleared by the next `readTail`. */
  crashed: boolean;
}

/**
 * In-memory `LedgerStore` for tests and benchmarks, with the DynamoDB
 * adapter's semantics (same contract suite): a batch is keyed by its first
 * position and never overwritten, heads keep the highest revision, the first
 * idempotency record stays. Values are copied in and out; each call is atomic.
 *
 * Fault hooks queue per operation and fire on its next calls, in order:
 * - `failNext(op, error)`: the call throws `error` and changes nothing;
 * - `failButPersistNext(op)`: the write takes effect, then the call throws
 *   `LedgerUnavailableError` (a timeout after the server committed);
 * - `loseRaceNext(winner)`: the next `appendBatch` finds `winner` (same tenant
 *   and first position) stored by another writer just before it, so it throws
 *   `PositionTakenError` and `winner` is what is stored;
 * - `crashAfterBatchNext()`: the writer dies between its batch and its index
 *   items. The next `appendBatch` stores its batch and returns; from then on
 *   every `putHead`, `putIdempotency` and `putIndex` of that tenant throws
 *   `LedgerUnavailableError` and writes nothing (the dead writer's puts never
 *   land) until the tenant's next `readTail`: every writer starts there, so
 *   the writer after it can roll the index items forward.
 *
 * @example
 * ```ts
 * const ledger = new MemoryLedgerStore();
 * ledger.loseRaceNext({ ...mine, entries: theirs });
 * await expect(ledger.appendBatch(mine)).rejects.toBeInstanceOf(PositionTakenError);
 * ```
 */
export class MemoryLedgerStore implements LedgerStore {
  readonly #tenants = new Map<string, TenantLedger>();
  readonly #faults = new Map<LedgerStoreOperation, Fault[]>();

  /** The next call of `op` throws `error` (default `LedgerUnavailableError`) without effect. */
  failNext(op: LedgerStoreOperation, error: unknown = new LedgerUnavailableError(`injected: ${op} unavailable`)): void {
    this.#queue(op, { kind: 'fail', error });
  }

  /** The next call of `op` takes effect, then throws `LedgerUnavailableError`. */
  failButPersistNext(op: LedgerStoreWrite): void {
    this.#queue(op, { kind: 'persist' });
  }

  /** The next `appendBatch` loses to `winner`, which must have that call's tenant and first position. */
  loseRaceNext(winner: LedgerBatch): void {
    this.#queue('appendBatch', { kind: 'race', winner: structuredClone(winner) });
  }

  /** The next `appendBatch` persists; index puts then fail until the next `readTail` (see the class doc). */
  crashAfterBatchNext(): void {
    this.#queue('appendBatch', { kind: 'crash' });
  }

  async readTail(tenant: string): Promise<LedgerBatch | undefined> {
    return this.#run('readTail', () => {
      const t = this.#tenant(tenant);
      t.crashed = false;
      return copy(t.batches.at(-1));
    });
  }

  async appendBatch(batch: LedgerBatch): Promise<void> {
    checkBatch(batch);
    this.#run('appendBatch', () => this.#insert(batch), () => {
      this.#tenant(batch.tenant).crashed = true;
    }, (winner) => {
      if (winner.tenant !== batch.tenant || winner.firstPosition !== batch.firstPosition) {
        throw new Error('loseRaceNext: the winner must have the tenant and first position of the append');
      }
      this.#insert(winner);
    });
  }

  async batchAt(tenant: string, position: number): Promise<LedgerBatch | undefined> {
    checkPosition(position);
    return this.#run('batchAt', () => {
      const { batches } = this.#tenant(tenant);
      const batch = batches[holding(batches, position)];
      return batch && position < batch.firstPosition + batch.entries.length ? copy(batch) : undefined;
    });
  }

  /** A snapshot taken at the first iteration: the batch holding `from` and all after it. */
  async *readBatches(tenant: string, from: number): AsyncGenerator<LedgerBatch> {
    checkPosition(from);
    const snapshot = this.#run('readBatches', () => {
      const { batches } = this.#tenant(tenant);
      const at = holding(batches, from);
      const batch = batches[at];
      return batch && from < batch.firstPosition + batch.entries.length ? batches.slice(at) : batches.slice(at + 1);
    });
    for (const batch of snapshot) yield structuredClone(batch);
  }

  async putHead(head: RecordHead): Promise<void> {
    checkPosition(head.position);
    this.#run('putHead', () => {
      const { heads } = this.#live(head.tenant, 'putHead');
      if ((heads.get(head.recordId)?.revision ?? -Infinity) < head.revision) heads.set(head.recordId, structuredClone(head));
    });
  }

  async getHead(tenant: string, recordId: string): Promise<RecordHead | undefined> {
    return this.#run('getHead', () => copy(this.#tenant(tenant).heads.get(recordId)));
  }

  async putIdempotency(record: IdempotencyRecord): Promise<void> {
    this.#run('putIdempotency', () => {
      const { idempotency } = this.#live(record.tenant, 'putIdempotency');
      if (!idempotency.has(record.key)) idempotency.set(record.key, structuredClone(record));
    });
  }

  async getIdempotency(tenant: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.#run('getIdempotency', () => copy(this.#tenant(tenant).idempotency.get(key)));
  }

  /** All of the items at once, with `putHead`'s and `putIdempotency`'s rules. */
  async putIndex(items: IndexItemsOf): Promise<void> {
    checkIndexItems(items);
    this.#run('putIndex', () => {
      const { heads, idempotency } = this.#live(items.tenant, 'putIndex');
      for (const h of items.heads) if ((heads.get(h.recordId)?.revision ?? -Infinity) < h.revision) heads.set(h.recordId, structuredClone(h));
      for (const r of items.idempotency) if (!idempotency.has(r.key)) idempotency.set(r.key, structuredClone(r));
    });
  }

  async getIndex(tenant: string, lookup: IndexLookup): Promise<IndexItems> {
    return this.#run('getIndex', () => {
      const t = this.#tenant(tenant);
      const found = <T>(ids: readonly string[], from: Map<string, T>) => new Map(ids.flatMap((id) => (from.has(id) ? [[id, structuredClone(from.get(id)!)] as const] : [])));
      return { heads: found(lookup.recordIds, t.heads), idempotency: found(lookup.keys, t.idempotency) };
    });
  }

  /** A snapshot of the tenants with a genesis batch. */
  async *tenants(): AsyncGenerator<string> {
    const snapshot = this.#run('tenants', () => [...this.#tenants].filter(([, t]) => t.batches[0]?.firstPosition === 0).map(([name]) => name));
    yield* snapshot;
  }

  /**
   * Applies the next queued fault of `op` around `apply`: a race first stores
   * the winner via `race`, so `apply` throws as a real conflict would; a crash
   * calls `crash` once `apply` succeeded.
   */
  #run<T>(op: LedgerStoreOperation, apply: () => T, crash?: () => void, race?: (winner: LedgerBatch) => void): T {
    const fault = this.#faults.get(op)?.shift();
    if (fault?.kind === 'fail') throw fault.error;
    if (fault?.kind === 'race') race?.(fault.winner);
    const result = apply();
    if (fault?.kind === 'crash') crash?.();
    if (fault?.kind === 'persist') throw new LedgerUnavailableError(`injected: ${op} persisted but the reply was lost`);
    return result;
  }

  #insert(batch: LedgerBatch): void {
    const { batches } = this.#tenant(batch.tenant);
    const at = holding(batches, batch.firstPosition);
    if (batches[at]?.firstPosition === batch.firstPosition) throw new PositionTakenError(batch.tenant, batch.firstPosition);
    batches.splice(at + 1, 0, structuredClone(batch));
  }

  /** The tenant's index, unless a crashed writer's puts are still in flight. */
  #live(tenant: string, op: LedgerStoreWrite): TenantLedger {
    const t = this.#tenant(tenant);
    if (t.crashed) throw new LedgerUnavailableError(`injected: the writer crashed after its batch; ${op} never landed`);
    return t;
  }

  #queue(op: LedgerStoreOperation, fault: Fault): void {
    const queue = this.#faults.get(op) ?? [];
    queue.push(fault);
    this.#faults.set(op, queue);
  }

  #tenant(tenant: string): TenantLedger {
    let t = this.#tenants.get(tenant);
    if (!t) {
      t = { batches: [], heads: new Map(), idempotency: new Map(), crashed: false };
      this.#tenants.set(tenant, t);
    }
    return t;
  }
}

/** Index of the batch with the greatest first position ≤ `position`, or −1 (binary search). */
function holding(batches: readonly LedgerBatch[], position: number): number {
  let lo = 0;
  let hi = batches.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((batches[mid]?.firstPosition ?? Infinity) <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function copy<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}
