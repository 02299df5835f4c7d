/**
 * Appending to a tenant's ledger (DESIGN §3): one request becomes one batch,
 * written with one conditional put on its first position.
 *
 * Per attempt: read the tail (strongly consistent) → complete its index items
 * (record heads, idempotency records: idempotent puts, so a writer that
 * crashed between its batch and its index items is completed by the next)
 * while reading the index items the requests need, with the tail's laid over
 * them → answer a replay from the idempotency record, or refuse a reused key
 * with another body → check expected revisions against the heads → chain the
 * entries onto the tail → once the tail's index items are durable, put. The
 * pure half (planning, building the batch) is `batch-planner.ts`. A lost race
 * (`PositionTakenError`) re-reads and retries with full jitter; after
 * `maxAttempts` the caller gets `LedgerBusyError` (HTTP 503 with
 * Retry-After). A put whose outcome is unknown (the store failed after it may
 * have persisted) is settled by re-reading: the batch carries the request's
 * idempotency record, so its presence tells. An acknowledged write is never
 * lost and never doubled.
 *
 * Round trips per batch: one index read (`getIndex`), one put and one index
 * write (`putIndex`), plus a tail read when the tail is not cached. The index
 * write is answered after: it overlaps the next batch's read, and only the
 * next put waits for it, which keeps "only the tail can lag" true.
 *
 * With `groupCommit` (a long-lived process such as the local server), a
 * tenant's concurrent requests queue while a batch is written and then go
 * out together as the next batch: each keeps its own positions, replay and
 * conflict answers, and the conditional put still stops other processes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { RECOVERY_KIND, type Operation, type RecoveryDetails, type Signature, type SystemPayload } from '../core/ledger-entry.js';
import { sealJson } from '../core/payload-envelope.js';
import { LedgerUnavailableError, PositionTakenError } from '../ports/errors.js';
import type { LedgerBatch, LedgerStore } from '../ports/ledger-store.js';
import { MAX_BATCH_ENTRIES } from '../ports/ledger-store.js';
import { buildBatch, lookupOf, planGroup, withTail, type Outcome, type PlanInput, type Planned } from './batch-planner.js';
import { LedgerBusyError, ServiceInputError } from './errors.js';
import type { KeyService } from './key-service.js';
import { RECOVERY_RECORD_ID, recoveryKeyOf } from './recovery-record.js';

/** One record of a request, as the API takes it (DESIGN §3 HTTP API). */
export interface RecordInput {
  readonly stream: string;
  readonly recordId?: string;
  readonly operation?: Exclude<Operation, 'SYSTEM'>;
  readonly expectedRevision?: number;
  readonly payload: unknown;
  readonly signatures?: readonly Signature[];
}

/** One API request: its records, with the Idempotency-Key and who sent it. */
export interface AppendRequest {
  readonly tenant: string;
  readonly idempotencyKey: string;
  /** SHA-256 hex of the request body as received: a retry with another body is refused. */
  readonly requestHash: string;
  readonly actor: string;
  readonly correlationId: string;
  readonly records: readonly RecordInput[];
}

/** Where one record landed: what the API answers per record. */
export interface AppendedRecord {
  readonly position: number;
  readonly leafHash: string;
  readonly timestamp: string;
  readonly recordId: string;
  readonly revision: number;
}

/** A request's answer: its records in order. */
export interface AppendResult {
  readonly records: readonly AppendedRecord[];
  /** True when this answers a retry of an already committed request. */
  readonly replayed: boolean;
}

/** Options of {@link LedgerService}. */
export interface LedgerServiceOptions {
  /** Attempts before LedgerBusyError (default 8). */
  readonly maxAttempts?: number;
  /** Base of the exponential, fully jittered backoff between attempts, ms (default 10). */
  readonly backoffMs?: number;
  /**
   * Group commit (DESIGN §3): queue this process's concurrent appends per
   * tenant and write them together, one conditional put per batch of up to
   * 100 entries. For a long-lived process (the local server); on Lambda each
   * request is its own batch. Default false.
   */
  readonly groupCommit?: boolean;
  /** Wall clock in nanoseconds since the epoch. */
  readonly clock?: () => bigint;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A request waiting for its batch, with the promise to settle. */
interface Prepared extends PlanInput {
  /** A recovery, always alone in its batch: the generation it starts. */
  readonly generation?: number;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/** SHA-256 hex of a request body, as `AppendRequest.requestHash` wants it. */
export function requestHash(body: Uint8Array | string): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * Appends to tenants' ledgers (see the module doc).
 *
 * @example
 * const ledger = new LedgerService(store, keys, { groupCommit: true });
 * const { records, replayed } = await ledger.append(request);
 */
export class LedgerService {
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly clock: () => bigint;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly groupCommit: boolean;
  /** Group commit: requests waiting per tenant while a batch is being written. */
  private readonly queues = new Map<string, Prepared[]>();
  /** Group commit: the last batch this process appended per tenant (the likely tail). */
  private readonly tails = new Map<string, LedgerBatch>();
  /** Per tenant, the last batch whose index items this process writes or wrote; `done` is true once they are durable. */
  private readonly indexing = new Map<string, { readonly first: number; readonly done: Promise<boolean> }>();

  constructor(
    private readonly store: LedgerStore,
    private readonly keys: KeyService,
    options: LedgerServiceOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.backoffMs = options.backoffMs ?? 10;
    this.clock = options.clock ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.groupCommit = options.groupCommit ?? false;
  }

  /**
   * Appends the request's records (one batch, or part of a group commit), or
   * answers its replay.
   *
   * @example
   * const { records } = await ledger.append({ tenant, idempotencyKey, requestHash: requestHash(body), actor, correlationId, records: [{ stream: 'decisions', payload }] });
   */
  async append(request: AppendRequest): Promise<AppendResult> {
    if (request.records.length < 1 || request.records.length > MAX_BATCH_ENTRIES) {
      throw new ServiceInputError(`a request carries 1..${MAX_BATCH_ENTRIES} records, not ${request.records.length}`);
    }
    const recordIds = request.records.map((r) => r.recordId ?? `rec_${randomUUID()}`);
    const named = request.records.flatMap((r) => (r.recordId === undefined ? [] : [r.recordId]));
    const dek = await this.keys.dataKeyForWrite(request.tenant);
    const payloads = request.records.map((r, i) => sealJson(r.payload, dek, { tenant: request.tenant, recordId: recordIds[i]!, idempotencyKey: request.idempotencyKey }));
    return this.enqueue({ request, recordIds, named, payloads, system: false });
  }

  /**
   * Appends a SYSTEM entry (key rotation, crypto-shredding, recovery, reports):
   * its payload stays in clear, so it is readable after shredding, and it
   * needs no data key.
   *
   * @example
   * await ledger.appendSystem('acme', { kind: 'crypto-shred', details: { reason } }, 'user:dpo');
   */
  async appendSystem(tenant: string, system: SystemPayload, actor: string): Promise<AppendedRecord> {
    const id = randomUUID();
    const request: AppendRequest = {
      tenant,
      idempotencyKey: `system:${id}`,
      requestHash: requestHash(JSON.stringify(system)),
      actor,
      correlationId: id,
      records: [{ stream: 'system', payload: system }],
    };
    const result = await this.enqueue({ request, recordIds: [`system-${system.kind}-${id}`], named: [], payloads: [{ system }], system: true });
    return result.records[0]!;
  }

  /**
   * Appends the `recovery` SYSTEM entry (DESIGN §5) that starts generation
   * `recovery.generation`: alone in its batch, which like every later batch
   * carries the new generation. Its Idempotency-Key derives from the
   * checkpoint it forks from, so a second call for the same fork (whatever
   * its reason) answers the first entry as a replay, also under a race.
   * Validation of the recovery itself is `RecoveryService`'s.
   *
   * @example
   * const { records: [entry], replayed } = await ledger.appendRecovery('acme', details, 'user:ops');
   */
  appendRecovery(tenant: string, recovery: RecoveryDetails, actor: string): Promise<AppendResult> {
    const system: SystemPayload = { kind: RECOVERY_KIND, details: recovery };
    const { previousCheckpoint } = recovery;
    const request: AppendRequest = {
      tenant, idempotencyKey: recoveryKeyOf(previousCheckpoint), requestHash: requestHash(previousCheckpoint), actor, correlationId: randomUUID(), records: [{ stream: 'system', payload: system }],
    };
    const input = { request, recordIds: [RECOVERY_RECORD_ID], named: [RECOVERY_RECORD_ID], payloads: [{ system }], system: true, generation: recovery.generation };
    return new Promise<AppendResult>((resolve, reject) => void this.commit(tenant, [{ ...input, resolve, reject }]));
  }

  private enqueue(input: PlanInput): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      const prepared: Prepared = { ...input, resolve, reject };
      const { tenant } = input.request;
      if (!this.groupCommit) return void this.commit(tenant, [prepared]);
      const queue = this.queues.get(tenant);
      if (queue) queue.push(prepared);
      else {
        this.queues.set(tenant, [prepared]);
        void this.drain(tenant);
      }
    });
  }

  /** Writes a tenant's queued requests, up to MAX_BATCH_ENTRIES entries per batch, until none is left. */
  private async drain(tenant: string): Promise<void> {
    const queue = this.queues.get(tenant)!;
    while (queue.length > 0) {
      let entries = 0;
      let take = 0;
      while (take < queue.length && entries + queue[take]!.request.records.length <= MAX_BATCH_ENTRIES) entries += queue[take++]!.request.records.length;
      await this.commit(tenant, queue.splice(0, take));
    }
    this.queues.delete(tenant);
  }

  /** Puts requests back at the head of the tenant's queue, in order (group commit), or commits them apart. */
  private requeue(tenant: string, prepared: readonly Prepared[]): void {
    const queue = this.queues.get(tenant);
    if (queue) queue.unshift(...prepared);
    else for (const p of prepared) void this.commit(tenant, [p]);
  }

  /**
   * Commits a group of requests as one batch. Per attempt: take the tail (the
   * cached one first), complete its index items while reading the group's
   * (one round trip for all), settle replays and conflicts, then — once the
   * tail's items are durable — put the rest. The batch's own index items are
   * written after its requests are answered, while the next batch is planned;
   * that batch's put waits for them. Every request is resolved or rejected,
   * never left pending.
   */
  private async commit(tenant: string, group: Prepared[]): Promise<void> {
    let pending = group;
    try {
      for (let attempt = 1; ; attempt++) {
        // With group commit, this process's last batch is usually still the tail: skip the read and let
        // the conditional put tell (a lost race drops the cached tail and re-reads).
        const tail = (attempt === 1 ? this.tails.get(tenant) : undefined) ?? (await this.store.readTail(tenant));
        const indexed = tail ? this.indexed(tail) : Promise.resolve();
        indexed.catch(() => undefined); // awaited before the put; a group with nothing to put must not leave it unhandled
        const index = withTail(await this.store.getIndex(tenant, lookupOf(pending)), tail);
        const planned = this.settle(tenant, pending, planGroup(tenant, pending, index));
        pending = planned.map((p) => p.input);
        if (planned.length === 0) return;
        const { batch, committed, records, rest } = buildBatch(tenant, startingGeneration(tail, group[0]?.generation), planned, this.clock());
        pending = committed.map((p) => p.input);
        this.requeue(tenant, rest.map((p) => p.input));
        await indexed;
        try {
          await this.store.appendBatch(batch);
        } catch (error) {
          this.tails.delete(tenant);
          if (!(error instanceof PositionTakenError) && !(error instanceof LedgerUnavailableError)) throw error;
          // Lost race, or an outcome we cannot know: the next attempt's replay check settles it.
          if (attempt >= this.maxAttempts) throw new LedgerBusyError(`tenant ${tenant} is busy; retry shortly`, { cause: error });
          await this.sleep(this.random() * this.backoffMs * 2 ** Math.min(attempt, 8));
          continue;
        }
        if (this.groupCommit) this.tails.set(tenant, batch);
        committed.forEach((p, i) => p.input.resolve({ records: records[i]!, replayed: false }));
        // The batch is durable and answered. If its index items fail, the next writer rolls them forward.
        this.indexing.set(tenant, { first: batch.firstPosition, done: this.store.putIndex(batch).then(() => true, () => false) });
        return;
      }
    } catch (error) {
      for (const p of pending) p.reject(error);
    }
  }

  /** Resolves once the tail's index items are durable: written by this process already, or now (idempotent). */
  private async indexed(tail: LedgerBatch): Promise<void> {
    const known = this.indexing.get(tail.tenant);
    if (known?.first === tail.firstPosition && (await known.done)) return;
    const done = this.store.putIndex(tail);
    this.indexing.set(tail.tenant, { first: tail.firstPosition, done: done.then(() => true, () => false) });
    await done;
  }

  /** Answers replays, rejects conflicts, requeues repeated keys; returns the requests to commit, in order. */
  private settle(tenant: string, group: readonly Prepared[], outcomes: readonly Outcome[]): Planned<Prepared>[] {
    const planned: Planned<Prepared>[] = [];
    const again: Prepared[] = [];
    outcomes.forEach((outcome, i) => {
      const input = group[i]!;
      if (outcome.kind === 'replay') input.resolve(outcome.result);
      else if (outcome.kind === 'conflict') input.reject(outcome.error);
      else if (outcome.kind === 'again') again.push(input);
      else planned.push({ input, drafts: outcome.drafts, heads: outcome.heads });
    });
    this.requeue(tenant, again);
    return planned;
  }
}

/** The tail as the next batch builds on it: a recovery starts its (higher) generation there. */
function startingGeneration(tail: LedgerBatch | undefined, generation: number | undefined): LedgerBatch | undefined {
  if (generation === undefined) return tail;
  if (tail === undefined || generation <= tail.generation) {
    throw new ServiceInputError(`a recovery's generation ${generation} must follow a retained log's (${tail?.generation ?? 'none'})`);
  }
  return { ...tail, generation };
}
