/**
 * Appending to a tenant's ledger (DESIGN §3): one request becomes one batch,
 * written with one conditional put on its first position.
 *
 * Per attempt: read the tail (strongly consistent) → roll its index items
 * forward (record heads, idempotency records: idempotent puts, so a writer
 * that crashed between its batch and its index items is completed by the
 * next) → answer a replay from the idempotency record, or refuse a reused key
 * with another body → check expected revisions against the heads → chain the
 * entries onto the tail → put. A lost race (`PositionTakenError`) re-reads
 * and retries with full jitter; after `maxAttempts` the caller gets
 * `LedgerBusyError` (HTTP 503 with Retry-After). A put whose outcome is
 * unknown (the store failed after it may have persisted) is settled by
 * re-reading: the batch carries the request's idempotency record, so its
 * presence tells. An acknowledged write is never lost and never doubled.
 *
 * With `groupCommit` (a long-lived process such as the local server), a
 * tenant's concurrent requests queue while a batch is written and then go
 * out together as the next batch: each keeps its own positions, replay and
 * conflict answers, and the conditional put still stops other processes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { toHex } from '../core/bytes.js';
import { CompactRange } from '../core/compact-range.js';
import { chainEntries, genesisTip, type ChainTip, type EntryDraft, type Operation, type Signature, type SystemPayload } from '../core/ledger-entry.js';
import { sealJson } from '../core/payload-envelope.js';
import { LedgerUnavailableError, PositionTakenError } from '../ports/errors.js';
import type { IdempotencyRecord, LedgerBatch, LedgerStore, RecordHead } from '../ports/ledger-store.js';
import { MAX_BATCH_ENTRIES } from '../ports/ledger-store.js';
import type { KeyService } from './key-service.js';
import { IdempotencyConflictError, LedgerBusyError, RevisionConflictError, ServiceInputError } from './errors.js';

export interface RecordInput {
  readonly stream: string;
  readonly recordId?: string;
  readonly operation?: Exclude<Operation, 'SYSTEM'>;
  readonly expectedRevision?: number;
  readonly payload: unknown;
  readonly signatures?: readonly Signature[];
}

export interface AppendRequest {
  readonly tenant: string;
  readonly idempotencyKey: string;
  /** SHA-256 hex of the request body as received: a retry with another body is refused. */
  readonly requestHash: string;
  readonly actor: string;
  readonly correlationId: string;
  readonly records: readonly RecordInput[];
}

export interface AppendedRecord {
  readonly position: number;
  readonly leafHash: string;
  readonly timestamp: string;
  readonly recordId: string;
  readonly revision: number;
}

export interface AppendResult {
  readonly records: readonly AppendedRecord[];
  /** True when this answers a retry of an already committed request. */
  readonly replayed: boolean;
}

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

/** A request with its record ids fixed and payloads sealed: stable across attempts. */
interface Prepared {
  readonly request: AppendRequest;
  readonly recordIds: readonly string[];
  readonly payloads: readonly EntryDraft['payload'][];
  /** A SYSTEM entry: a fresh record id, no revision checks. */
  readonly system: boolean;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/** A request that passed its checks, with its drafts and the heads they produce. */
interface Planned {
  readonly prepared: Prepared;
  readonly drafts: readonly EntryDraft[];
  readonly heads: ReadonlyArray<Omit<RecordHead, 'position'>>;
}

/** SHA-256 hex of a request body, as `AppendRequest.requestHash` wants it. */
export function requestHash(body: Uint8Array | string): string {
  return createHash('sha256').update(body).digest('hex');
}

export class LedgerService {
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly clock: () => bigint;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly groupCommit: boolean;
  /** Group commit: requests waiting per tenant while a batch is being written. */
  private readonly queues = new Map<string, Prepared[]>();
  /** Per tenant, the batch whose index items this process wrote itself: no need to roll it forward again. */
  private readonly rolledForward = new Map<string, number>();
  /** Group commit: the last batch this process appended per tenant (the likely tail). */
  private readonly tails = new Map<string, LedgerBatch>();

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
    const dek = await this.keys.dataKeyForWrite(request.tenant);
    const payloads = request.records.map((r, i) => sealJson(r.payload, dek, { tenant: request.tenant, recordId: recordIds[i]!, idempotencyKey: request.idempotencyKey }));
    return this.enqueue(request, recordIds, payloads, false);
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
    const result = await this.enqueue(request, [`system-${system.kind}-${id}`], [{ system }], true);
    return result.records[0]!;
  }

  private enqueue(request: AppendRequest, recordIds: readonly string[], payloads: readonly EntryDraft['payload'][], system: boolean): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      const prepared: Prepared = { request, recordIds, payloads, system, resolve, reject };
      if (!this.groupCommit) {
        void this.commit(request.tenant, [prepared]);
        return;
      }
      const queue = this.queues.get(request.tenant);
      if (queue) queue.push(prepared);
      else {
        this.queues.set(request.tenant, [prepared]);
        void this.drain(request.tenant);
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

  /**
   * Commits a group of requests as one batch. Per attempt: read the tail, roll
   * it forward, settle replays and conflicts request by request, then put the
   * rest. Every request is resolved or rejected, never left pending.
   */
  private async commit(tenant: string, group: Prepared[]): Promise<void> {
    let pending = group;
    try {
      for (let attempt = 1; pending.length > 0; attempt++) {
        // With group commit, this process's last batch is usually still the tail: skip the read and let
        // the conditional put tell (a lost race drops the cached tail and re-reads).
        const cached = attempt === 1 ? this.tails.get(tenant) : undefined;
        const tail = cached ?? (await this.store.readTail(tenant));
        if (tail && this.rolledForward.get(tenant) !== tail.firstPosition) await this.rollForward(tail);
        const planned = await this.plan(tenant, pending);
        pending = planned.map((p) => p.prepared);
        if (planned.length === 0) return;
        const batch = this.build(tenant, tail, planned);
        try {
          await this.store.appendBatch(batch.batch);
        } catch (error) {
          this.tails.delete(tenant);
          if (!(error instanceof PositionTakenError) && !(error instanceof LedgerUnavailableError)) throw error;
          // Lost race, or an outcome we cannot know: the next attempt's replay check settles it.
          if (attempt >= this.maxAttempts) throw new LedgerBusyError(`tenant ${tenant} is busy; retry shortly`, { cause: error });
          await this.sleep(this.random() * this.backoffMs * 2 ** Math.min(attempt, 8));
          continue;
        }
        if (this.groupCommit) this.tails.set(tenant, batch.batch);
        // The batch is durable: answer now. Its index items follow (before this tenant's next batch
        // is planned); if they fail, the next writer rolls them forward.
        planned.forEach((p, i) => p.prepared.resolve({ records: batch.records[i]!, replayed: false }));
        await this.rollForward(batch.batch).then(
          () => this.rolledForward.set(tenant, batch.batch.firstPosition),
          () => undefined,
        );
        return;
      }
    } catch (error) {
      for (const p of pending) p.reject(error);
    }
  }

  /** Writes the index items a batch implies; idempotent. */
  private async rollForward(batch: LedgerBatch): Promise<void> {
    await Promise.all([...batch.heads.map((h) => this.store.putHead(h)), ...batch.idempotency.map((r) => this.store.putIdempotency(r))]);
  }

  /** The committed answer for a retried request; IdempotencyConflictError for another body under the same key. */
  private replay(request: AppendRequest, previous: IdempotencyRecord | undefined): AppendResult | undefined {
    if (!previous) return undefined;
    if (previous.requestHash !== request.requestHash) {
      throw new IdempotencyConflictError(`Idempotency-Key ${JSON.stringify(request.idempotencyKey)} was used with another request body`);
    }
    return { records: JSON.parse(previous.response) as AppendedRecord[], replayed: true };
  }

  /**
   * Settles replays and conflicts request by request (resolving or rejecting
   * them) and plans the rest in order: operations and revisions from the
   * current heads, each request seeing those planned before it. The group's
   * idempotency records and heads are read concurrently, once.
   */
  private async plan(tenant: string, group: readonly Prepared[]): Promise<Planned[]> {
    const ids = [...new Set(group.flatMap((p) => p.recordIds))];
    const [previous, current] = await Promise.all([
      Promise.all(group.map((p) => this.store.getIdempotency(tenant, p.request.idempotencyKey))),
      Promise.all(ids.map((id) => this.store.getHead(tenant, id))),
    ]);
    const heads = new Map<string, Omit<RecordHead, 'position'> | undefined>(ids.map((id, i) => [id, current[i]]));
    const planned: Planned[] = [];
    const keys = new Set<string>();
    for (const [index, prepared] of group.entries()) {
      const { request } = prepared;
      try {
        const replay = this.replay(request, previous[index]);
        if (replay) {
          prepared.resolve(replay);
          continue;
        }
        if (keys.has(request.idempotencyKey)) {
          // the same key twice in one group: the second waits for the first's commit and replays it
          this.requeue(tenant, prepared);
          continue;
        }
        const local = new Map(heads);
        const drafts: EntryDraft[] = [];
        const next: Array<Omit<RecordHead, 'position'>> = [];
        request.records.forEach((record, i) => {
          const recordId = prepared.recordIds[i]!;
          const head = local.get(recordId);
          const revision = head?.revision ?? 0;
          const live = head !== undefined && head.operation !== 'DELETE';
          const operation = prepared.system ? 'SYSTEM' : (record.operation ?? (live ? 'UPDATE' : 'CREATE'));
          if (record.expectedRevision !== undefined && record.expectedRevision !== revision) {
            throw new RevisionConflictError(recordId, record.expectedRevision, revision);
          }
          if (operation !== 'SYSTEM' && (operation === 'CREATE' ? live : !live)) {
            throw new RevisionConflictError(recordId, record.expectedRevision ?? revision, revision, operation === 'CREATE' ? 'already exists' : 'does not exist');
          }
          const after = { tenant, recordId, revision: revision + 1, operation } as const;
          local.set(recordId, after);
          next.push(after);
          drafts.push({
            stream: record.stream,
            recordId,
            revision: after.revision,
            operation,
            actor: request.actor,
            correlationId: request.correlationId,
            idempotencyKey: request.idempotencyKey,
            signatures: [...(record.signatures ?? [])],
            payload: prepared.payloads[i]!,
          });
        });
        for (const [id, h] of local) heads.set(id, h);
        keys.add(request.idempotencyKey);
        planned.push({ prepared, drafts, heads: next });
      } catch (error) {
        if (!(error instanceof IdempotencyConflictError) && !(error instanceof RevisionConflictError)) throw error;
        prepared.reject(error);
      }
    }
    return planned;
  }

  /** Puts a request back at the head of its tenant's queue (group commit only). */
  private requeue(tenant: string, prepared: Prepared): void {
    const queue = this.queues.get(tenant);
    if (queue) queue.unshift(prepared);
    else void this.commit(tenant, [prepared]);
  }

  private build(tenant: string, tail: LedgerBatch | undefined, planned: readonly Planned[]) {
    const tip: ChainTip = tail
      ? { tenant, size: tail.firstPosition + tail.entries.length, leafHash: tail.lastLeafHash, timestamp: tail.lastTimestamp, generation: tail.generation }
      : genesisTip(tenant);
    const { entries, tip: next } = chainEntries(tip, planned.flatMap((p) => p.drafts), this.clock());
    const range = tail ? CompactRange.from(0, tip.size, tail.range) : CompactRange.empty();
    for (const e of entries) range.append(e.leafHash);
    const all: AppendedRecord[] = entries.map((e) => ({ position: e.entry.position, leafHash: toHex(e.leafHash), timestamp: e.entry.timestamp, recordId: e.entry.recordId, revision: e.entry.revision }));
    const records: AppendedRecord[][] = [];
    const idempotency: IdempotencyRecord[] = [];
    let offset = 0;
    for (const p of planned) {
      const mine = all.slice(offset, offset + p.drafts.length);
      records.push(mine);
      const { request } = p.prepared;
      idempotency.push({ tenant, key: request.idempotencyKey, requestHash: request.requestHash, response: JSON.stringify(mine), firstPosition: tip.size + offset, count: mine.length });
      offset += p.drafts.length;
    }
    const batch: LedgerBatch = {
      tenant,
      firstPosition: tip.size,
      entries: entries.map((e) => e.bytes),
      range: range.hashes,
      lastLeafHash: next.leafHash,
      lastTimestamp: next.timestamp!,
      generation: next.generation,
      heads: planned.flatMap((p) => p.heads).map((h, i) => ({ ...h, position: tip.size + i })),
      idempotency,
    };
    return { batch, records };
  }
}
