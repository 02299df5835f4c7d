import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lambdas/adapters/aws/s3-object-store.js';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { toHex } from '../../lambdas/core/bytes.js';
import { openCheckpoint } from '../../lambdas/core/checkpoint.js';
import { ObjectStoreUnavailableError, type ObjectStore } from '../../lambdas/ports/object-store.js';
import { LogPublisher } from '../../lambdas/services/log-publisher.js';
import { LedgerLog, TestSigners } from '../support/ledger-log.js';
import { startS3rver, type S3rverHandle } from '../support/s3rver.js';

const PREFIX = 'ledger.example.com';
const ORIGIN = `${PREFIX}/acme`;
const CHECKPOINT = 'acme/checkpoint';
const signers = new TestSigners();
const isCheckpoint = (key: string) => key === CHECKPOINT;

/** 600 chained entries in batches of ≤ 100, ending at 250 and 600. */
let log: LedgerLog;
let s3: S3rverHandle;
let prefixes = 0;
beforeAll(async () => {
  log = new LedgerLog('acme');
  for (const size of [250, 600]) log.grow(size);
  s3 = await startS3rver('govledger-race');
});
afterAll(async () => {
  await s3.stop();
});

async function appendUpTo(ledger: MemoryLedgerStore, from: number, size: number): Promise<void> {
  for (const b of log.batches) if (b.firstPosition >= from && b.firstPosition + b.entries.length <= size) await ledger.appendBatch(b);
}

const publisher = (ledger: MemoryLedgerStore, objects: ObjectStore, maxEntries?: number) =>
  new LogPublisher(ledger, objects, signers, { logPrefix: PREFIX, ...(maxEntries ? { maxEntries } : {}) });

/** The stored checkpoint verifies, has `size`, and every tile and bundle of that tree is stored exactly. */
async function expectPublished(objects: ObjectStore, size: number): Promise<void> {
  const checkpoint = openCheckpoint((await objects.get(CHECKPOINT))!, signers.verifierFor(ORIGIN), { origin: ORIGIN });
  expect(checkpoint.size).toBe(size);
  expect(toHex(checkpoint.rootHash)).toBe(toHex(log.reference().root(size)));
  for (const [path, bytes] of log.expectedObjects(size)) expect(toHex((await objects.get(`acme/${path}`))!), path).toBe(toHex(bytes));
}

/** `objects`, except that its first swap of the checkpoint first awaits `race` (another publisher's turn). */
function racing(objects: ObjectStore, race: () => Promise<unknown>): ObjectStore {
  let pending: (() => Promise<unknown>) | undefined = race;
  return new Proxy(objects, {
    get(target, op) {
      const value: unknown = Reflect.get(target, op, target);
      if (op !== 'putIfMatch' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return async (key: string, ...rest: unknown[]) => {
        const turn = isCheckpoint(key) ? pending : undefined;
        pending = undefined;
        await turn?.();
        return value.call(target, key, ...rest);
      };
    },
  });
}

const engines: Array<[string, () => ObjectStore]> = [
  ['MemoryObjectStore', () => new MemoryObjectStore()],
  ['S3ObjectStore on s3rver', () => new S3ObjectStore({ client: s3.client, bucket: s3.bucket, keyPrefix: `r${++prefixes}/`, conditionalPuts: s3.conditionalPuts ? 'native' : 'read-first' })],
];

describe.each(engines)('two publishers racing over %s', (_name, makeObjects) => {
  it('never moves the checkpoint backwards: a stale publisher finds a larger one stored and writes nothing', async () => {
    // Prepare: A publishes 250 from a ledger of 250; just before A swaps, the ledger grows and B publishes 600
    const ledger = new MemoryLedgerStore();
    await appendUpTo(ledger, 0, 250);
    const objects = makeObjects();
    const b = publisher(ledger, objects);
    const a = publisher(ledger, racing(objects, async () => {
      await appendUpTo(ledger, 250, 600);
      await b.publish('acme');
    }));
    // Act
    const result = await a.publish('acme');
    // Assess
    expect(result).toEqual({ size: 600, root: toHex(log.reference().root(600)), published: false });
    await expectPublished(objects, 600);
  });

  it('re-reads after a lost swap against a smaller, newer checkpoint and then swaps its own in', async () => {
    // Prepare: A publishes 600; just before A swaps, B publishes only the first 100 entries
    const ledger = new MemoryLedgerStore();
    await appendUpTo(ledger, 0, 600);
    const objects = makeObjects();
    const b = publisher(ledger, objects, 100);
    const a = publisher(ledger, racing(objects, () => b.publish('acme')));
    // Act
    const result = await a.publish('acme');
    // Assess
    expect(result).toMatchObject({ size: 600, published: true });
    await expectPublished(objects, 600);
  });

  it('many concurrent publishes while the ledger grows: every checkpoint read is at least the one before, ending at the ledger', async () => {
    // Prepare
    const ledger = new MemoryLedgerStore();
    const objects = makeObjects();
    const publishers = [publisher(ledger, objects, 150), publisher(ledger, objects, 150)];
    const seen: number[] = [];
    const watch = async () => {
      const note = await objects.get(CHECKPOINT);
      if (note) seen.push(openCheckpoint(note, signers.verifierFor(ORIGIN), { origin: ORIGIN }).size);
    };
    // Act
    for (const size of [250, 600]) {
      await appendUpTo(ledger, size === 250 ? 0 : 250, size);
      await Promise.all(Array.from({ length: 6 }, (_, i) => publishers[i % 2]!.publish('acme').then(watch)));
    }
    while ((await publishers[0]!.publish('acme')).published);
    // Assess
    expect(seen.length).toBeGreaterThan(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!, `checkpoint ${i}`).toBeGreaterThanOrEqual(seen[i - 1]!);
    await expectPublished(objects, 600);
  });
});

describe('LogPublisher compare-and-swap faults (MemoryObjectStore)', () => {
  it('gives up with ObjectStoreUnavailableError after casAttempts lost swaps', async () => {
    // Prepare: before each of A's swaps, someone rewrites the checkpoint (a writer that ignores the rule)
    const ledger = new MemoryLedgerStore();
    await appendUpTo(ledger, 0, 250);
    const objects = new MemoryObjectStore();
    const rewrite = async () => objects.put(CHECKPOINT, (await objects.get(CHECKPOINT))!, { contentType: 'text/plain', immutable: false });
    await publisher(ledger, objects, 100).publish('acme');
    for (let i = 0; i < 3; i++) objects.beforeNext('putIfMatch', rewrite, isCheckpoint);
    const a = new LogPublisher(ledger, objects, signers, { logPrefix: PREFIX, casAttempts: 3 });
    // Act
    const error = await a.publish('acme').catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(ObjectStoreUnavailableError);
    await expect(a.publish('acme')).resolves.toMatchObject({ size: 250, published: true });
  });

  it('settles a swap that stored its checkpoint but reported a failure on the re-run', async () => {
    // Prepare
    const ledger = new MemoryLedgerStore();
    await appendUpTo(ledger, 0, 250);
    const objects = new MemoryObjectStore();
    objects.failButPersistNext(isCheckpoint, 'putIfMatch');
    const a = publisher(ledger, objects);
    // Act
    const error = await a.publish('acme').catch((e: unknown) => e);
    const rerun = await a.publish('acme');
    // Assess
    expect(error).toBeInstanceOf(ObjectStoreUnavailableError);
    expect(rerun).toMatchObject({ size: 250, published: false });
    await expectPublished(objects, 250);
  });
});
