import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { toHex } from '../../lambdas/core/bytes.js';
import { openCheckpoint } from '../../lambdas/core/checkpoint.js';
import { EMPTY_ROOT } from '../../lambdas/core/rfc9162-hasher.js';
import { ObjectStoreUnavailableError } from '../../lambdas/ports/object-store.js';
import type { LedgerBatch } from '../../lambdas/ports/ledger-store.js';
import { CheckpointInvalidError, LedgerBehindCheckpointError, LogRootMismatchError } from '../../lambdas/services/log-errors.js';
import { LogPublisher, type LogPublisherOptions } from '../../lambdas/services/log-publisher.js';
import { LedgerLog, TestSigners } from '../support/ledger-log.js';

const PREFIX = 'ledger.example.com';
const origin = (tenant: string) => `${PREFIX}/${tenant}`;
const signers = new TestSigners();

/** 66 000 chained entries in batches of ≤ 100 ending at 250 and 600, built once: tests append prefixes of it. */
let big: LedgerLog;
beforeAll(() => {
  big = new LedgerLog('acme');
  for (const size of [250, 600, 66_000]) big.grow(size);
});

function setup(options: Partial<LogPublisherOptions> = {}) {
  const ledger = new MemoryLedgerStore();
  const objects = new MemoryObjectStore();
  const publisher = new LogPublisher(ledger, objects, signers, { logPrefix: PREFIX, ...options });
  return { ledger, objects, publisher };
}

/** Appends `log`'s batches that end at or below `size` and start at or after `from`. */
async function appendUpTo(ledger: MemoryLedgerStore, log: LedgerLog, from: number, size: number): Promise<void> {
  for (const b of log.batches) if (b.firstPosition >= from && b.firstPosition + b.entries.length <= size) await ledger.appendBatch(b);
}

/** The stored checkpoint, verified with the tenant's verifier key. */
async function verifiedCheckpoint(objects: MemoryObjectStore, tenant: string) {
  const note = (await objects.get(`${tenant}/checkpoint`))!;
  return openCheckpoint(note, signers.verifierFor(origin(tenant)), { origin: origin(tenant) });
}

async function contents(objects: MemoryObjectStore, keys: readonly string[]): Promise<Map<string, string>> {
  return new Map(await Promise.all(keys.map(async (k) => [k, toHex((await objects.get(k))!)] as const)));
}

describe('LogPublisher.publish', () => {
  it('publishes 0 → 250 → 600 → 66000: verifiable checkpoints, every tile and bundle exact, full ones written once', async () => {
    // Prepare
    const { ledger, objects, publisher } = setup();
    const fullTiles = new Map<string, string>();
    let published = 0;
    for (const size of [250, 600, 66_000]) {
      await appendUpTo(ledger, big, published, size);
      const logBefore = objects.putLog.length;
      // Act
      const result = await publisher.publish('acme');
      // Assess
      const checkpoint = await verifiedCheckpoint(objects, 'acme');
      expect(result).toEqual({ size, root: toHex(big.reference().root(size)), published: true });
      expect(checkpoint.size).toBe(size);
      expect(toHex(checkpoint.rootHash)).toBe(result.root);
      const expected = big.expectedObjects(size);
      const stored = await contents(objects, [...expected.keys()].map((p) => `acme/${p}`));
      for (const [path, bytes] of expected) expect(stored.get(`acme/${path}`), path).toBe(toHex(bytes));
      const round = objects.putLog.slice(logBefore);
      expect(round.at(-1)).toEqual({ key: 'acme/checkpoint', immutable: false });
      for (const [key, hex] of fullTiles) expect(toHex((await objects.get(key))!), key).toBe(hex);
      for (const { key } of round.filter((p) => p.immutable)) {
        expect(fullTiles.has(key), `${key} written twice`).toBe(false);
        fullTiles.set(key, toHex((await objects.get(key))!));
      }
      published = size;
    }
    for (const path of big.expectedObjects(250).keys()) expect(objects.keys(`acme/${path}`), path).toContain(`acme/${path}`);
  });

  it('signs the empty tree for an empty ledger', async () => {
    // Prepare
    const { objects, publisher } = setup();
    // Act
    const result = await publisher.publish('acme');
    // Assess
    expect(result).toEqual({ size: 0, root: toHex(EMPTY_ROOT), published: true });
    expect((await verifiedCheckpoint(objects, 'acme')).size).toBe(0);
  });

  it('writes nothing when the ledger holds nothing new', async () => {
    // Prepare
    const { ledger, objects, publisher } = setup();
    await appendUpTo(ledger, big, 0, 600);
    const first = await publisher.publish('acme');
    const puts = objects.putLog.length;
    // Act
    const again = await publisher.publish('acme');
    // Assess
    expect(again).toEqual({ ...first, published: false });
    expect(objects.putLog).toHaveLength(puts);
  });

  it('writes the same objects whether it flushes every 100 entries or publishes in steps of 300', async () => {
    // Prepare
    const reference = setup();
    const chunked = setup({ flushEntries: 100 });
    const stepped = setup({ maxEntries: 300 });
    for (const s of [reference, chunked, stepped]) await appendUpTo(s.ledger, big, 0, 1000);
    // Act
    await reference.publisher.publish('acme');
    await chunked.publisher.publish('acme');
    const sizes: number[] = [];
    for (let r = await stepped.publisher.publish('acme'); r.published; r = await stepped.publisher.publish('acme')) sizes.push(r.size);
    // Assess
    expect(sizes).toEqual([350, 700, 1000]); // each stops at the batch that reaches 300 new entries
    const want = await contents(reference.objects, reference.objects.keys());
    expect(await contents(chunked.objects, chunked.objects.keys())).toEqual(want);
    const steppedAll = await contents(stepped.objects, stepped.objects.keys());
    for (const [key, hex] of want) expect(steppedAll.get(key), key).toBe(hex); // plus partials of 300, 600, 900
  });

  it('survives a crash between the tiles and the checkpoint: the old checkpoint stays valid, a re-run completes', async () => {
    // Prepare
    const { ledger, objects, publisher } = setup();
    await appendUpTo(ledger, big, 0, 250);
    await publisher.publish('acme');
    const before = await objects.get('acme/checkpoint');
    await appendUpTo(ledger, big, 250, 600);
    objects.failNext('putIfMatch', new Error('process killed'), (key) => key === 'acme/checkpoint');
    // Act
    const crashed = await publisher.publish('acme').catch((e: unknown) => e);
    const afterCrash = await objects.get('acme/checkpoint');
    const rerun = await publisher.publish('acme');
    // Assess
    expect(crashed).toMatchObject({ message: 'process killed' });
    expect(afterCrash).toEqual(before);
    expect(rerun).toMatchObject({ size: 600, published: true });
    expect((await verifiedCheckpoint(objects, 'acme')).size).toBe(600);
  });

  it('completes on a re-run after a full tile was stored but its put reported a failure', async () => {
    // Prepare
    const { ledger, objects, publisher } = setup();
    await appendUpTo(ledger, big, 0, 600);
    objects.failButPersistNext((key) => key === 'acme/tile/0/000');
    // Act
    const failed = await publisher.publish('acme').catch((e: unknown) => e);
    const rerun = await publisher.publish('acme');
    // Assess
    expect(failed).toBeInstanceOf(ObjectStoreUnavailableError);
    expect(await objects.get('acme/checkpoint').then((c) => c !== undefined)).toBe(true);
    expect(rerun).toEqual({ size: 600, root: toHex(big.reference().root(600)), published: true });
  });

  it.each<[string, (b: LedgerBatch) => LedgerBatch]>([
    ['an entry was altered', (b) => ({ ...b, entries: b.entries.map((e, i) => (i === 20 ? Uint8Array.from(e, (x, j) => (j === 30 ? x ^ 1 : x)) : e)) })],
    ['the stored compact range was altered', (b) => ({ ...b, range: b.range.map((h, i) => (i === 0 ? h.map((x) => x ^ 0xff) : h)) })],
  ])('refuses to sign when %s in the ledger, writing nothing', async (_, tamper) => {
    // Prepare
    const { ledger, objects, publisher } = setup();
    await appendUpTo(ledger, big, 0, 250);
    await publisher.publish('acme');
    const before = await objects.get('acme/checkpoint');
    const puts = objects.putLog.length;
    for (const b of big.batches.filter((x) => x.firstPosition >= 250 && x.firstPosition < 600)) {
      await ledger.appendBatch(b.firstPosition === 350 ? tamper(b) : b);
    }
    // Act
    const error = await publisher.publish('acme').catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(LogRootMismatchError);
    expect(error).toMatchObject({ code: 'LOG_ROOT_MISMATCH', against: 'ledger', size: 450 });
    expect(await objects.get('acme/checkpoint')).toEqual(before);
    expect(objects.putLog).toHaveLength(puts);
  });

  it('refuses to extend published tiles that no longer hash to the published root', async () => {
    // Prepare
    const { ledger, objects, publisher } = setup();
    await appendUpTo(ledger, big, 0, 600);
    await publisher.publish('acme');
    await objects.put('acme/tile/0/002.p/88', new Uint8Array(88 * 32), { contentType: 'application/octet-stream', immutable: false });
    await appendUpTo(ledger, big, 600, 700);
    // Act
    const error = await publisher.publish('acme').catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code: 'LOG_ROOT_MISMATCH', against: 'checkpoint', size: 600 });
  });

  it('refuses a ledger that ends before the published checkpoint, and a checkpoint of another origin', async () => {
    // Prepare
    const { ledger, objects, publisher } = setup();
    await appendUpTo(ledger, big, 0, 600);
    await publisher.publish('acme');
    const shorter = new MemoryLedgerStore();
    await appendUpTo(shorter, big, 0, 250);
    // Act
    const behind = await new LogPublisher(shorter, objects, signers, { logPrefix: PREFIX }).publish('acme').catch((e: unknown) => e);
    const foreign = await new LogPublisher(ledger, objects, signers, { logPrefix: 'other.example' }).publish('acme').catch((e: unknown) => e);
    // Assess
    expect(behind).toBeInstanceOf(LedgerBehindCheckpointError);
    expect(foreign).toBeInstanceOf(CheckpointInvalidError);
  });

  it('keeps tenants apart in the object store, each with its own origin', async () => {
    // Prepare
    const { ledger, objects, publisher } = setup();
    const globex = new LedgerLog('globex');
    await appendUpTo(ledger, big, 0, 250);
    await globex.appendTo(ledger, 300);
    await publisher.publish('globex');
    const globexObjects = await contents(objects, objects.keys('globex/'));
    // Act
    await publisher.publish('acme');
    await appendUpTo(ledger, big, 250, 600);
    await publisher.publish('acme');
    // Assess
    expect(await contents(objects, objects.keys('globex/'))).toEqual(globexObjects);
    expect(objects.keys().every((k) => k.startsWith('acme/') || k.startsWith('globex/'))).toBe(true);
    expect(await verifiedCheckpoint(objects, 'globex')).toMatchObject({ origin: origin('globex'), size: 300 });
    expect(await verifiedCheckpoint(objects, 'acme')).toMatchObject({ origin: origin('acme'), size: 600 });
    const acmeKeys = new Set(['checkpoint', ...big.expectedObjects(250).keys(), ...big.expectedObjects(600).keys()]);
    expect(objects.keys('acme/')).toEqual([...acmeKeys].map((p) => `acme/${p}`).sort());
  });
});
