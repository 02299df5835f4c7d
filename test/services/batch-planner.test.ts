import { describe, expect, it } from 'vitest';
import { CompactRange } from '../../lambdas/core/compact-range.js';
import { decodeEntry } from '../../lambdas/core/ledger-entry.js';
import { MAX_BATCH_BYTES, type IndexItems } from '../../lambdas/ports/ledger-store.js';
import { buildBatch, lookupOf, planGroup, withTail, type PlanInput, type Planned } from '../../lambdas/services/batch-planner.js';
import { IdempotencyConflictError, RevisionConflictError } from '../../lambdas/services/errors.js';
import type { RecordInput } from '../../lambdas/services/ledger-service.js';
import { head, idem, ledgerBatch } from '../ports/ledger-store.contract.js';
import { appendRequest } from '../support/ledger-appends.js';

const NOW = 1_790_000_000_000_000_000n;
const none: IndexItems = { heads: new Map(), idempotency: new Map() };

/**
 * A plan input; records without `recordId` get a generated one. Its payloads
 * are clear SYSTEM payloads of about `payloadBytes` (no keys needed), so
 * `system` must be true for it to build.
 */
function input(key: string, records: RecordInput[], payloadBytes = 10, system = false): PlanInput {
  return {
    request: appendRequest(key, records),
    recordIds: records.map((r, i) => r.recordId ?? `rec_generated_${key}_${i}`),
    named: records.flatMap((r) => (r.recordId === undefined ? [] : [r.recordId])),
    payloads: records.map(() => ({ system: { kind: 'test', details: { text: 'x'.repeat(payloadBytes) } } })),
    system,
  };
}

/** A SYSTEM request of `count` entries of about `bytes` each. */
const systemInput = (key: string, count: number, bytes = 10) => input(key, Array.from({ length: count }, () => ({ stream: 'system', payload: 0 })), bytes, true);

function planAll(group: PlanInput[], index: IndexItems = none): Planned[] {
  return planGroup('acme', group, index).flatMap((o, i) => (o.kind === 'planned' ? [{ input: group[i]!, drafts: o.drafts, heads: o.heads }] : []));
}

describe('lookupOf and withTail', () => {
  it('looks up every key but only the record ids clients named', () => {
    // Act
    const lookup = lookupOf([input('k1', [{ stream: 's', payload: 1 }]), input('k2', [{ stream: 's', recordId: 'r', payload: 1 }, { stream: 's', recordId: 'r', payload: 2 }])]);
    // Assess
    expect(lookup).toEqual({ recordIds: ['r'], keys: ['k1', 'k2'] });
  });

  it('lays the tail\'s items over the store\'s: a higher revision wins, a stored idempotency record stays', () => {
    // Prepare
    const tail = { ...ledgerBatch('acme', 5, 2), heads: [head('acme', 'r', 4, 5), head('acme', 's', 1, 6)], idempotency: [idem('acme', 'k', 5, 'aa'), idem('acme', 'n', 6)] };
    const stored: IndexItems = { heads: new Map([['r', head('acme', 'r', 3, 4)], ['s', head('acme', 's', 2, 9)]]), idempotency: new Map([['k', idem('acme', 'k', 5, 'bb')]]) };
    // Act
    const index = withTail(stored, tail);
    // Assess
    expect(index.heads.get('r')).toEqual(head('acme', 'r', 4, 5));
    expect(index.heads.get('s')).toEqual(head('acme', 's', 2, 9));
    expect(index.idempotency.get('k')?.requestHash).toBe('bb');
    expect(index.idempotency.get('n')).toEqual(idem('acme', 'n', 6));
    expect(withTail(stored, undefined)).toBe(stored);
  });
});

describe('planGroup', () => {
  it('decides each request in order: replay, 422, wait for the same key, 409, and plans the rest on what came before', () => {
    // Prepare
    const committed = appendRequest('done', [{ stream: 's', payload: 1 }]);
    const index: IndexItems = {
      heads: new Map([['r', head('acme', 'r', 1, 0)]]),
      idempotency: new Map([['done', { ...idem('acme', 'done', 0, committed.requestHash), response: '[{"position":0}]' }]]),
    };
    const group = [
      { ...input('done', [{ stream: 's', payload: 1 }]), request: committed },
      input('done', [{ stream: 's', payload: 'another body' }]),
      input('u1', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 2 }]),
      input('u1', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 2 }]),
      input('u2', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 3 }]),
      input('c1', [{ stream: 's', recordId: 'new', payload: 4 }, { stream: 's', recordId: 'new', operation: 'DELETE', payload: 5 }]),
    ];
    // Act
    const outcomes = planGroup('acme', group, index);
    // Assess
    expect(outcomes.map((o) => o.kind)).toEqual(['replay', 'conflict', 'planned', 'again', 'conflict', 'planned']);
    expect(outcomes[0]).toEqual({ kind: 'replay', result: { records: [{ position: 0 }], replayed: true } });
    expect((outcomes[1] as { error: unknown }).error).toBeInstanceOf(IdempotencyConflictError);
    expect((outcomes[4] as { error: unknown }).error).toMatchObject({ expected: 1, actual: 2 });
    expect((outcomes[4] as { error: unknown }).error).toBeInstanceOf(RevisionConflictError);
    expect((outcomes[5] as { heads: unknown }).heads).toEqual([
      { tenant: 'acme', recordId: 'new', revision: 1, operation: 'CREATE' },
      { tenant: 'acme', recordId: 'new', revision: 2, operation: 'DELETE' },
    ]);
  });
});

describe('buildBatch', () => {
  it('chains the planned entries onto the tail, with each request\'s answer and idempotency record', () => {
    // Prepare
    const first = buildBatch('acme', undefined, planAll([systemInput('a', 1)]), NOW).batch;
    // Act
    const { batch, records, rest } = buildBatch('acme', first, planAll([systemInput('b', 2), systemInput('c', 1)]), NOW);
    // Assess
    const entries = batch.entries.map((bytes) => decodeEntry(bytes));
    expect(entries.map((e) => e.entry.position)).toEqual([1, 2, 3]);
    expect(entries[0]!.entry.prevHash).toBe(first.lastLeafHash);
    expect(records.map((r) => r.map((x) => x.position))).toEqual([[1, 2], [3]]);
    expect(batch.idempotency.map((r) => [r.key, r.firstPosition, r.count])).toEqual([['b', 1, 2], ['c', 3, 1]]);
    expect(rest).toEqual([]);
  });

  it('takes only the requests that fit MAX_BATCH_BYTES, at least the first, and leaves the rest for later', () => {
    // Prepare: five requests of ~100 KB of entry bytes each
    const planned = planAll(Array.from({ length: 5 }, (_, i) => systemInput(`big${i}`, 2, 50_000)));
    // Act
    const { batch, committed, rest } = buildBatch('acme', undefined, planned, NOW);
    const alone = buildBatch('acme', undefined, planAll([systemInput('huge', 8, 50_000)]), NOW);
    // Assess
    expect(committed.map((p) => p.input.request.idempotencyKey)).toEqual(['big0', 'big1', 'big2']);
    expect(rest.map((p) => p.input.request.idempotencyKey)).toEqual(['big3', 'big4']);
    expect(batch.entries.reduce((sum, e) => sum + e.byteLength, 0)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    const range = CompactRange.empty();
    for (const bytes of batch.entries) range.append(decodeEntry(bytes).leafHash);
    expect(batch.range).toEqual(range.hashes);
    expect(batch.lastLeafHash).toBe(Buffer.from(decodeEntry(batch.entries.at(-1)!).leafHash).toString('hex'));
    expect(alone.committed).toHaveLength(1);
  });
});
