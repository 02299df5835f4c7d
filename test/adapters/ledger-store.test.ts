import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerTable, DynamoLedgerStore } from '../../lambdas/adapters/aws/dynamo-ledger-store.js';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { LedgerUnavailableError, PositionTakenError } from '../../lambdas/ports/errors.js';
import { appendAll, collect, head, idem, ledgerBatch, ledgerStoreContract, rejection } from '../ports/ledger-store.contract.js';
import { ledgerIndexContract } from '../ports/ledger-store-index.contract.js';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.js';

let db: DynaliteHandle;
let tables = 0;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

/** A fresh table per test on the shared dynalite server; `queries` counts Query calls. */
async function dynamoStore(): Promise<{ store: DynamoLedgerStore; queries: () => number }> {
  const tableName = `ledger-${++tables}`;
  await createLedgerTable(db.client, tableName);
  const client = DynamoDBDocumentClient.from(db.client);
  let queries = 0;
  client.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'QueryCommand') queries += 1;
      return next(args);
    },
    { step: 'initialize' },
  );
  return { store: new DynamoLedgerStore({ client, tableName }), queries: () => queries };
}

ledgerStoreContract('DynamoLedgerStore on dynalite', dynamoStore);
ledgerStoreContract('MemoryLedgerStore', async () => ({ store: new MemoryLedgerStore() }));
ledgerIndexContract('DynamoLedgerStore on dynalite', dynamoStore);
ledgerIndexContract('MemoryLedgerStore', async () => ({ store: new MemoryLedgerStore() }));

describe('DynamoLedgerStore on dynalite', () => {
  it('pages readBatches over 1.2 MB with more than one query after batchAt', async () => {
    // Prepare
    const { store, queries } = await dynamoStore();
    await appendAll(store, 'acme', Array.from({ length: 40 }, () => 100), 300);
    const before = queries();
    // Act
    const read = await collect(store.readBatches('acme', 0));
    // Assess
    expect(read).toHaveLength(40);
    expect(queries() - before).toBeGreaterThanOrEqual(3); // batchAt + at least two pages
  });

  it('creates its table idempotently, keeping the items', async () => {
    // Prepare
    const { store } = await dynamoStore();
    const batch = ledgerBatch('acme', 0);
    await store.appendBatch(batch);
    // Act
    await createLedgerTable(db.client, `ledger-${tables}`);
    // Assess
    expect(await store.readTail('acme')).toEqual(batch);
  });

  it('throws LedgerUnavailableError with the network error as cause when the server is down', async () => {
    // Prepare
    const down = await startDynalite();
    await down.stop();
    const store = new DynamoLedgerStore({ client: DynamoDBDocumentClient.from(down.client), tableName: 'ledger' });
    // Act
    const read = store.readTail('acme');
    // Assess
    await expect(read).rejects.toBeInstanceOf(LedgerUnavailableError);
    await expect(read).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE', cause: { code: 'ECONNREFUSED' } });
  });
});

describe('MemoryLedgerStore fault hooks', () => {
  it('failNext throws the given error once and changes nothing', async () => {
    // Prepare
    const store = new MemoryLedgerStore();
    const boom = new Error('boom');
    store.failNext('appendBatch', boom);
    const batch = ledgerBatch('acme', 0);
    // Act
    const first = rejection(store.appendBatch(batch));
    // Assess
    expect(await first).toBe(boom);
    expect(await store.readTail('acme')).toBeUndefined();
    await store.appendBatch(batch);
    expect(await store.readTail('acme')).toEqual(batch);
  });

  it('failNext defaults to LedgerUnavailableError and works on reads, readBatches included', async () => {
    // Prepare
    const store = new MemoryLedgerStore();
    await appendAll(store, 'acme', [2]);
    store.failNext('readBatches');
    store.failNext('getHead');
    // Act
    const read = rejection(collect(store.readBatches('acme', 0)));
    // Assess
    expect(await read).toBeInstanceOf(LedgerUnavailableError);
    await expect(store.getHead('acme', 'r')).rejects.toBeInstanceOf(LedgerUnavailableError);
    expect(await collect(store.readBatches('acme', 0))).toHaveLength(1);
  });

  it('failButPersistNext persists the write, then throws LedgerUnavailableError', async () => {
    // Prepare
    const store = new MemoryLedgerStore();
    const batch = ledgerBatch('acme', 0);
    store.failButPersistNext('appendBatch');
    store.failButPersistNext('putHead');
    // Act
    const append = rejection(store.appendBatch(batch));
    const put = rejection(store.putHead(head('acme', 'r', 2)));
    // Assess
    expect(await append).toBeInstanceOf(LedgerUnavailableError);
    expect(await put).toBeInstanceOf(LedgerUnavailableError);
    expect(await store.readTail('acme')).toEqual(batch);
    expect(await store.getHead('acme', 'r')).toEqual(head('acme', 'r', 2));
    await expect(store.appendBatch(batch)).rejects.toBeInstanceOf(PositionTakenError);
  });

  it('loseRaceNext stores the winner and throws PositionTakenError', async () => {
    // Prepare
    const store = new MemoryLedgerStore();
    const [mine, theirs] = [ledgerBatch('acme', 0, 2), ledgerBatch('acme', 0, 5)];
    store.loseRaceNext(theirs);
    // Act
    const append = rejection(store.appendBatch(mine));
    // Assess
    expect(await append).toMatchObject({ code: 'POSITION_TAKEN', position: 0 });
    expect(await store.readTail('acme')).toEqual(theirs);
  });

  it('loseRaceNext refuses a winner at another position or tenant', async () => {
    // Prepare
    const store = new MemoryLedgerStore();
    store.loseRaceNext(ledgerBatch('acme', 3));
    store.loseRaceNext(ledgerBatch('acme-corp', 0));
    // Act
    const errors = [await rejection(store.appendBatch(ledgerBatch('acme', 0))), await rejection(store.appendBatch(ledgerBatch('acme', 0)))];
    // Assess
    for (const error of errors) expect(error).toEqual(new Error('loseRaceNext: the winner must have the tenant and first position of the append'));
    expect(await store.readTail('acme')).toBeUndefined();
    expect(await store.readTail('acme-corp')).toBeUndefined();
  });

  it('crashAfterBatchNext keeps the batch and drops its index puts until the next readTail of that tenant', async () => {
    // Prepare
    const store = new MemoryLedgerStore();
    const batch = ledgerBatch('acme', 0, 3);
    const rolled = head('acme', 'rec-2', 1, 2); // what ledgerBatch puts in the batch
    const record = idem('acme', 'key-0', 0);
    store.crashAfterBatchNext();
    // Act
    await store.appendBatch(batch);
    const lost = [await rejection(store.putHead(rolled)), await rejection(store.putIdempotency(record))];
    await store.putHead(head('acme-corp', 'r', 1)); // other tenants are unaffected
    const tail = await store.readTail('acme'); // the next writer starts here and rolls forward
    await store.putHead(rolled);
    await store.putIdempotency(record);
    // Assess
    for (const error of lost) expect(error).toBeInstanceOf(LedgerUnavailableError);
    expect(tail).toEqual(batch);
    expect(tail?.heads).toEqual([rolled]);
    expect(tail?.idempotency).toEqual([record]);
    expect(await store.getHead('acme', rolled.recordId)).toEqual(rolled);
    expect(await store.getIdempotency('acme', record.key)).toEqual(record);
    expect(await store.getHead('acme-corp', 'r')).toEqual(head('acme-corp', 'r', 1));
  });
});
