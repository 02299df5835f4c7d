import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLedgerTable, DynamoLedgerStore } from '../../lambdas/adapters/aws/dynamo-ledger-store.js';
import { MemoryKeyStore } from '../../lambdas/adapters/fake/memory-key-store.js';
import { LedgerUnavailableError } from '../../lambdas/ports/errors.js';
import type { LedgerStore } from '../../lambdas/ports/ledger-store.js';
import { IdempotencyConflictError, RevisionConflictError } from '../../lambdas/services/errors.js';
import { KeyService } from '../../lambdas/services/key-service.js';
import { LedgerService, type AppendResult } from '../../lambdas/services/ledger-service.js';
import { rejection } from '../ports/ledger-store.contract.js';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.js';
import { appendRequest as request, appendTwice, entriesOf, expectCompleteLog, useMasterKey } from '../support/ledger-appends.js';

const masterKey = useMasterKey();
let db: DynaliteHandle;
let tables = 0;
beforeAll(async () => {
  db = await startDynalite();
  return () => db.stop();
});

/** A fresh ledger table on the shared dynalite, and one key store for every process. */
async function setup() {
  const tableName = `ledger-${++tables}`;
  await createLedgerTable(db.client, tableName);
  const store = new DynamoLedgerStore({ client: DynamoDBDocumentClient.from(db.client), tableName });
  const keyStore = new MemoryKeyStore();
  const process = (groupCommit: boolean, over: LedgerStore = store) =>
    new LedgerService(over, new KeyService(keyStore, masterKey()), { backoffMs: 2, maxAttempts: 100, groupCommit });
  return { store, process };
}

describe('LedgerService on dynalite', () => {
  it('2 group-committing processes × 16 writers × 5 appends, each retried at once on another process: no gap, no duplicate, nothing lost', async () => {
    // Prepare
    const { store, process } = await setup();
    const processes = Array.from({ length: 2 }, () => process(true));
    // Act
    const acknowledged = await Promise.all(Array.from({ length: 16 }, async (_, w) => {
      const mine = [];
      for (let j = 0; j < 5; j++) {
        const req = request(`w${w}-${j}`, [{ stream: 's', recordId: `w${w}`, expectedRevision: j, payload: { w, j } }]);
        mine.push(...(await appendTwice(processes[w % 2]!, processes[(w + 1) % 2]!, req)));
      }
      return mine;
    }));
    // Assess
    await expectCompleteLog(store, 80, acknowledged.flat());
    expect(await store.getHead('acme', 'w7')).toMatchObject({ revision: 5, operation: 'UPDATE' });
  }, 60_000);

  it('answers 409 and 422 right when the conflicting requests race in one group and across processes', async () => {
    // Prepare: record r at revision 1, key k0 committed
    const { store, process } = await setup();
    const [p1, p2] = [process(true), process(true)];
    const k0 = request('k0', [{ stream: 's', recordId: 'r', payload: 0 }]);
    await p1.append(k0);
    // Act: six updates all expecting revision 1, a reused key with another body, and a create of an existing record
    const outcomes = await Promise.allSettled<AppendResult>([
      ...Array.from({ length: 6 }, (_, i) => (i % 2 ? p1 : p2).append(request(`u${i}`, [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: i }]))),
      p2.append(request('k0', [{ stream: 's', recordId: 'r', payload: 'other body' }])),
      p1.append(request('c1', [{ stream: 's', recordId: 'r', operation: 'CREATE', payload: 1 }])),
    ]);
    // Assess
    const updates = outcomes.slice(0, 6);
    expect(updates.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of updates) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(RevisionConflictError);
    expect((outcomes[6] as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyConflictError);
    expect((outcomes[7] as PromiseRejectedResult).reason).toBeInstanceOf(RevisionConflictError);
    expect(await entriesOf(store)).toHaveLength(2);
    expect(await store.getHead('acme', 'r')).toMatchObject({ revision: 2, position: 1 });
  });

  it('completes the index items of a writer that died after its batch, before the next put', async () => {
    // Prepare: the first process's index writes never land
    const { store, process } = await setup();
    const dying = new Proxy(store, {
      get: (target, op) => {
        if (op === 'putIndex') return () => Promise.reject(new LedgerUnavailableError('the process died'));
        const value: unknown = Reflect.get(target, op, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const first = request('k1', [{ stream: 's', recordId: 'r', payload: 1 }]);
    const committed = await process(false, dying).append(first);
    expect(await store.getIdempotency('acme', 'k1')).toBeUndefined();
    const next = process(false);
    // Act
    const stale = await rejection(next.append(request('k2', [{ stream: 's', recordId: 'r', expectedRevision: 0, payload: 2 }])));
    const update = await next.append(request('k3', [{ stream: 's', recordId: 'r', expectedRevision: 1, payload: 3 }]));
    const retry = await next.append(first);
    // Assess
    expect(stale).toBeInstanceOf(RevisionConflictError);
    expect(update.records).toMatchObject([{ position: 1, revision: 2 }]);
    expect(retry).toEqual({ records: committed.records, replayed: true });
    expect(await store.getIdempotency('acme', 'k1')).toMatchObject({ firstPosition: 0 });
    expect(await entriesOf(store)).toHaveLength(2);
  });
});
