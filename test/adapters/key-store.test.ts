import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyTable, DynamoKeyStore } from '../../lambdas/adapters/aws/dynamo-key-store.js';
import { MemoryKeyStore } from '../../lambdas/adapters/fake/memory-key-store.js';
import { KeyExistsError, KeyServiceUnavailableError } from '../../lambdas/ports/errors.js';
import { dek, hold, kek, keyStoreContract, marker } from '../ports/key-store.contract.js';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.js';

let db: DynaliteHandle;
let tables = 0;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

/** A fresh table per test on the shared dynalite server. */
async function dynamoStore(): Promise<DynamoKeyStore> {
  const tableName = `keys-${++tables}`;
  await createKeyTable(db.client, tableName);
  return new DynamoKeyStore({ client: DynamoDBDocumentClient.from(db.client), tableName });
}

keyStoreContract('DynamoKeyStore on dynalite', async () => ({ store: await dynamoStore() }));
keyStoreContract('MemoryKeyStore', async () => ({ store: new MemoryKeyStore() }));

describe('createKeyTable', () => {
  it('is idempotent: a second call on an existing table succeeds and keeps its items', async () => {
    // Prepare
    const store = await dynamoStore();
    await store.putKek(kek('acme', 1));
    // Act
    await createKeyTable(db.client, `keys-${tables}`);
    // Assess
    expect(await store.latestKek('acme')).toMatchObject({ version: 1 });
  });
});

describe('DynamoKeyStore on an unreachable server', () => {
  it('throws KeyServiceUnavailableError with the network error as cause', async () => {
    // Prepare
    const down = await startDynalite();
    await down.stop();
    const store = new DynamoKeyStore({ client: DynamoDBDocumentClient.from(down.client), tableName: 'keys' });
    // Act
    const read = store.getKek('acme', 1);
    // Assess
    await expect(read).rejects.toBeInstanceOf(KeyServiceUnavailableError);
    await expect(read).rejects.toMatchObject({ code: 'KEY_SERVICE_UNAVAILABLE', cause: { code: 'ECONNREFUSED' } });
  });
});

describe('MemoryKeyStore fault hooks', () => {
  it('failNext throws the given error once and changes nothing', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    const boom = new Error('boom');
    store.failNext('putKek', boom);
    // Act
    const first = store.putKek(kek('acme', 1));
    // Assess
    await expect(first).rejects.toBe(boom);
    expect(await store.getKek('acme', 1)).toBeUndefined();
    await store.putKek(kek('acme', 1));
    expect(await store.getKek('acme', 1)).toBeDefined();
  });

  it('failNext defaults to KeyServiceUnavailableError and works on reads', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    store.failNext('latestKek');
    // Act / Assess
    await expect(store.latestKek('acme')).rejects.toBeInstanceOf(KeyServiceUnavailableError);
    expect(await store.latestKek('acme')).toBeUndefined();
  });

  it('failButPersistNext persists the write, then throws KeyServiceUnavailableError', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    const stored = dek('acme', 'p', 1);
    store.failButPersistNext('putDek');
    store.failButPersistNext('shredTenant');
    // Act
    const put = store.putDek(stored);
    await expect(put).rejects.toBeInstanceOf(KeyServiceUnavailableError);
    const retry = store.putDek(stored);
    // Assess
    await expect(retry).rejects.toBeInstanceOf(KeyExistsError);
    expect(await store.getDek('acme', 'p', 1)).toEqual(stored);
    await expect(store.shredTenant(marker('acme'))).rejects.toBeInstanceOf(KeyServiceUnavailableError);
    expect(await store.shredded('acme')).toEqual(marker('acme'));
  });

  it('loseRaceNext stores the competing value and throws KeyExistsError', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    const mine = kek('acme', 2);
    const theirs = kek('acme', 2);
    store.loseRaceNext('putKek', theirs);
    store.loseRaceNext('putHold', { ...hold('acme', 'h1'), reason: 'theirs' });
    // Act
    const put = store.putKek(mine);
    // Assess
    await expect(put).rejects.toBeInstanceOf(KeyExistsError);
    expect(await store.getKek('acme', 2)).toEqual(theirs);
    await expect(store.putHold(hold('acme', 'h1'))).rejects.toBeInstanceOf(KeyExistsError);
    expect(await store.listHolds('acme')).toEqual([{ ...hold('acme', 'h1'), reason: 'theirs' }]);
  });

  it('loseRaceNext refuses a winner whose key differs from the put', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    store.loseRaceNext('putKek', kek('acme', 3));
    // Act
    const put = store.putKek(kek('acme', 2));
    // Assess
    await expect(put).rejects.toThrow('the winner must have the same key as the put');
    expect(await store.listKeks('acme')).toEqual([]);
  });
});
