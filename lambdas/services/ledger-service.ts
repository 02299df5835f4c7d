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
 */
import { createHash, randomUUID } from 'node:crypto';
import { toHex } from '../core/bytes.js';
import { CompactRange } from '../core/compact-range.js';
import { chainEntries, genesisTip, type ChainTip, type EntryDraft, type Operation, type Signature } from '../core/ledger-entry.js';
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
  /** Wall clock in nanoseconds since the epoch. */
  readonly clock?: () => bigint;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
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
  }

  /**
   * Appends the request's records as one batch, or answers its replay.
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
    for (let attempt = 1; ; attempt++) {
      const tail = await this.store.readTail(request.tenant);
      if (tail) await this.rollForward(tail);
      const replay = await this.replay(request);
      if (replay) return replay;
      const { drafts, heads } = await this.plan(request, recordIds, payloads);
      const batch = this.build(request, tail, drafts, heads);
      try {
        await this.store.appendBatch(batch.batch);
      } catch (error) {
        if (!(error instanceof PositionTakenError) && !(error instanceof LedgerUnavailableError)) throw error;
        // Lost race, or an outcome we cannot know: the next attempt's replay check settles it.
        if (attempt >= this.maxAttempts) throw new LedgerBusyError(`tenant ${request.tenant} is busy; retry shortly`, { cause: error });
        await this.sleep(this.random() * this.backoffMs * 2 ** Math.min(attempt, 8));
        continue;
      }
      await this.rollForward(batch.batch).catch(() => undefined); // the next writer completes it if this fails
      return { records: batch.records, replayed: false };
    }
  }

  /** Writes the index items a batch implies; idempotent. */
  private async rollForward(batch: LedgerBatch): Promise<void> {
    await Promise.all([...batch.heads.map((h) => this.store.putHead(h)), ...batch.idempotency.map((r) => this.store.putIdempotency(r))]);
  }

  private async replay(request: AppendRequest): Promise<AppendResult | undefined> {
    const previous = await this.store.getIdempotency(request.tenant, request.idempotencyKey);
    if (!previous) return undefined;
    if (previous.requestHash !== request.requestHash) {
      throw new IdempotencyConflictError(`Idempotency-Key ${JSON.stringify(request.idempotencyKey)} was used with another request body`);
    }
    return { records: JSON.parse(previous.response) as AppendedRecord[], replayed: true };
  }

  /** Operations and revisions from the current heads; RevisionConflictError on a mismatch. */
  private async plan(request: AppendRequest, recordIds: readonly string[], payloads: readonly EntryDraft['payload'][]) {
    const current = new Map<string, RecordHead | undefined>();
    for (const id of new Set(recordIds)) current.set(id, await this.store.getHead(request.tenant, id));
    const drafts: EntryDraft[] = [];
    const heads: Array<Omit<RecordHead, 'position'>> = [];
    request.records.forEach((record, i) => {
      const recordId = recordIds[i]!;
      const head = current.get(recordId);
      const revision = head?.revision ?? 0;
      const live = head !== undefined && head.operation !== 'DELETE';
      const operation = record.operation ?? (live ? 'UPDATE' : 'CREATE');
      if (record.expectedRevision !== undefined && record.expectedRevision !== revision) {
        throw new RevisionConflictError(recordId, record.expectedRevision, revision);
      }
      if (operation === 'CREATE' ? live : !live) {
        throw new RevisionConflictError(recordId, record.expectedRevision ?? revision, revision, operation === 'CREATE' ? 'already exists' : 'does not exist');
      }
      const next = { tenant: request.tenant, recordId, revision: revision + 1, operation } as const;
      current.set(recordId, { ...next, position: -1 });
      heads.push(next);
      drafts.push({
        stream: record.stream,
        recordId,
        revision: next.revision,
        operation,
        actor: request.actor,
        correlationId: request.correlationId,
        idempotencyKey: request.idempotencyKey,
        signatures: [...(record.signatures ?? [])],
        payload: payloads[i]!,
      });
    });
    return { drafts, heads };
  }

  private build(request: AppendRequest, tail: LedgerBatch | undefined, drafts: readonly EntryDraft[], heads: ReadonlyArray<Omit<RecordHead, 'position'>>) {
    const tip: ChainTip = tail
      ? { tenant: request.tenant, size: tail.firstPosition + tail.entries.length, leafHash: tail.lastLeafHash, timestamp: tail.lastTimestamp, generation: tail.generation }
      : genesisTip(request.tenant);
    const { entries, tip: next } = chainEntries(tip, drafts, this.clock());
    const range = tail ? CompactRange.from(0, tip.size, tail.range) : CompactRange.empty();
    for (const e of entries) range.append(e.leafHash);
    const records: AppendedRecord[] = entries.map((e) => ({ position: e.entry.position, leafHash: toHex(e.leafHash), timestamp: e.entry.timestamp, recordId: e.entry.recordId, revision: e.entry.revision }));
    const idempotency: IdempotencyRecord = { tenant: request.tenant, key: request.idempotencyKey, requestHash: request.requestHash, response: JSON.stringify(records), firstPosition: tip.size, count: entries.length };
    const batch: LedgerBatch = {
      tenant: request.tenant,
      firstPosition: tip.size,
      entries: entries.map((e) => e.bytes),
      range: range.hashes,
      lastLeafHash: next.leafHash,
      lastTimestamp: next.timestamp!,
      generation: next.generation,
      heads: heads.map((h, i) => ({ ...h, position: tip.size + i })),
      idempotency: [idempotency],
    };
    return { batch, records };
  }
}
