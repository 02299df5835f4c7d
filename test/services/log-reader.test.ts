import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { fromHex, toBase64, toHex } from '../../lambdas/core/bytes.js';
import { openCheckpoint } from '../../lambdas/core/checkpoint.js';
import { verifyConsistency, verifyInclusion } from '../../lambdas/core/merkle-proof.js';
import { ProofNodes } from '../../lambdas/core/merkle-proof.js';
import { tilesForNodes } from '../../lambdas/core/tlog-tiles.js';
import type { ObjectStore, PutOptions, VersionedObject } from '../../lambdas/ports/object-store.js';
import { LogRootMismatchError } from '../../lambdas/services/log-errors.js';
import { LogPublisher } from '../../lambdas/services/log-publisher.js';
import { LogReader } from '../../lambdas/services/log-reader.js';
import { refHashLeaf } from '../core/reference-merkle.js';
import { LedgerLog, TestSigners } from '../support/ledger-log.js';

const PREFIX = 'ledger.example.com';
const SIZES = [250, 600, 66_000] as const;
const LATEST = 66_000;

/** Counts the keys read, to show that a proof reads only the tiles it needs. */
class CountingObjects implements ObjectStore {
  gets: string[] = [];
  constructor(private readonly inner: ObjectStore) {}
  put(key: string, bytes: Uint8Array, options: PutOptions): Promise<void> {
    return this.inner.put(key, bytes, options);
  }
  get(key: string): Promise<Uint8Array | undefined> {
    this.gets.push(key);
    return this.inner.get(key);
  }
  list(prefix: string, startAfter?: string): AsyncIterable<string> {
    return this.inner.list(prefix, startAfter);
  }
  getVersioned(key: string): Promise<VersionedObject | undefined> {
    this.gets.push(key);
    return this.inner.getVersioned(key);
  }
  putIfMatch(key: string, bytes: Uint8Array, options: Pick<PutOptions, 'contentType'>, etag: string | undefined): Promise<string | undefined> {
    return this.inner.putIfMatch(key, bytes, options, etag);
  }
}

let log: LedgerLog;
let ledger: MemoryLedgerStore;
let objects: CountingObjects;
let reader: LogReader;
let checkpoints: Map<number, Uint8Array>;

/** Publishes acme's log at 250, 600 and 66 000 entries (batches of ≤ 100), keeping each checkpoint note. */
beforeAll(async () => {
  log = new LedgerLog('acme');
  ledger = new MemoryLedgerStore();
  objects = new CountingObjects(new MemoryObjectStore());
  checkpoints = new Map();
  const signers = new TestSigners();
  const publisher = new LogPublisher(ledger, objects, signers, { logPrefix: PREFIX });
  for (const size of SIZES) {
    await log.appendTo(ledger, size);
    await publisher.publish('acme');
    checkpoints.set(size, (await objects.get('acme/checkpoint'))!);
  }
  const verifier = signers.verifierFor(`${PREFIX}/acme`);
  for (const [size, note] of checkpoints) expect(openCheckpoint(note, verifier, { origin: `${PREFIX}/acme` }).size).toBe(size);
  reader = new LogReader(ledger, objects);
}, 60_000); // publishing 66,000 entries takes seconds; under a loaded CI core the default 10 s hook timeout is too tight

/** Deterministic pseudo-random integers in [0, n) (xorshift), so failures reproduce. */
function sampler(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

describe('LogReader.checkpoint and tile', () => {
  it('serves the latest checkpoint and tiles byte for byte as stored', async () => {
    // Act
    const checkpoint = await reader.checkpoint('acme');
    const tile = await reader.tile('acme', 'tile/2/000.p/1');
    const bundle = await reader.tile('acme', 'tile/entries/000.p/250');
    // Assess
    expect(checkpoint).toEqual(checkpoints.get(LATEST));
    expect(toHex(tile)).toBe(toHex(log.reference().nodeHash({ level: 16, index: 0 })));
    expect(bundle).toEqual(log.expectedObjects(250).get('tile/entries/000.p/250'));
  });

  it.each([
    ['a non-canonical path', 'tile/0/0', 'INVALID_TILE_PATH'],
    ['a full width written as partial', 'tile/0/000.p/256', 'INVALID_TILE_PATH'],
    ['a path escaping the log', '../checkpoint', 'INVALID_TILE_PATH'],
    ['a tile never published', 'tile/0/999', 'TILE_NOT_FOUND'],
    ['a width never published', 'tile/0/001.p/3', 'TILE_NOT_FOUND'],
  ])('refuses %s with %s', async (_, path, code) => {
    // Act
    const error = await reader.tile('acme', path).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code });
  });

  it('answers CHECKPOINT_NOT_FOUND before a tenant\'s first publish and INVALID_TENANT for a path-like tenant', async () => {
    // Act
    const missing = await reader.checkpoint('globex').catch((e: unknown) => e);
    const invalid = await reader.tile('acme/../globex', 'tile/0/000').catch((e: unknown) => e);
    // Assess
    expect(missing).toMatchObject({ code: 'CHECKPOINT_NOT_FOUND' });
    expect(invalid).toMatchObject({ code: 'INVALID_TENANT' });
  });
});

describe('LogReader.entry', () => {
  it('returns the canonical bytes and leaf hash of a published entry', async () => {
    // Act
    const got = await reader.entry('acme', 65_999);
    // Assess
    expect(got).toEqual({ position: 65_999, entry: toBase64(log.entries[65_999]!), leafHash: toHex(refHashLeaf(log.entries[65_999]!)) });
  });

  it('serves inclusion proofs that verify for random positions and tree sizes up to the checkpoint', async () => {
    // Prepare
    const next = sampler(0x5eed);
    const cases: Array<[number, number]> = [[0, 1], [0, LATEST], [LATEST - 1, LATEST], [255, 256], [256, 257], [65_535, 65_536], [100, 250], [599, 600]];
    for (let i = 0; i < 40; i++) {
      const treeSize = 1 + next(LATEST);
      cases.push([next(treeSize), treeSize]);
    }
    const ref = log.reference();
    // Act
    const proofs = await Promise.all(cases.map(([position, treeSize]) => reader.entry('acme', position, treeSize)));
    // Assess
    proofs.forEach((got, i) => {
      const [position, treeSize] = cases[i]!;
      const proof = got.inclusionProof!.map((h) => fromHex(h));
      expect(got.treeSize).toBe(treeSize);
      expect(() => verifyInclusion(position, treeSize, fromHex(got.leafHash), proof, ref.root(treeSize))).not.toThrow();
      expect(got.inclusionProof).toEqual(ref.path(position, treeSize).map(toHex));
    });
  });

  it('reads only the checkpoint and the tiles the proof needs', async () => {
    // Prepare
    const position = 12_345;
    const needed = tilesForNodes(ProofNodes.inclusion(position, 40_000).ids, 40_000).length;
    objects.gets = [];
    // Act
    await reader.entry('acme', position, 40_000);
    // Assess
    expect(objects.gets.filter((k) => k.startsWith('acme/tile/'))).toHaveLength(needed);
    expect(objects.gets).toHaveLength(needed + 1);
  });

  it.each([
    ['a position at the checkpoint size', LATEST, undefined, 'ENTRY_NOT_PUBLISHED'],
    ['a position at the tree size', 10, 10, 'POSITION_OUT_OF_RANGE'],
    ['a tree size beyond the checkpoint', 10, LATEST + 1, 'TREE_SIZE_BEYOND_CHECKPOINT'],
    ['a negative position', -1, undefined, 'INVALID_PROOF_RANGE'],
    ['a fractional tree size', 1, 2.5, 'INVALID_PROOF_RANGE'],
  ])('refuses %s with %s', async (_, position, treeSize, code) => {
    // Act
    const error = await reader.entry('acme', position, treeSize).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code });
  });

  it('refuses to serve a proof at the checkpoint size for a ledger entry altered after publication', async () => {
    // Prepare
    const altered = new MemoryLedgerStore();
    for (const b of log.batches) {
      const entries = b.firstPosition === 0 ? b.entries.map((e, i) => (i === 10 ? Uint8Array.from(e, (x, j) => (j === 5 ? x ^ 1 : x)) : e)) : b.entries;
      await altered.appendBatch({ ...b, entries });
    }
    // Act
    const error = await new LogReader(altered, objects).entry('acme', 10, LATEST).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(LogRootMismatchError);
  });
});

describe('LogReader.consistency', () => {
  it('serves consistency proofs that verify between published sizes and random pairs', async () => {
    // Prepare
    const next = sampler(0xc0ffee);
    const pairs: Array<[number, number]> = [[250, 600], [600, LATEST], [250, LATEST], [1, LATEST], [256, 65_536], [LATEST, LATEST]];
    for (let i = 0; i < 20; i++) {
      const to = 1 + next(LATEST);
      pairs.push([1 + next(to), to]);
    }
    const ref = log.reference();
    // Act
    const proofs = await Promise.all(pairs.map(([from, to]) => reader.consistency('acme', from, to)));
    // Assess
    proofs.forEach((got, i) => {
      const [from, to] = pairs[i]!;
      expect(got).toMatchObject({ from, to });
      expect(() => verifyConsistency(from, to, got.proof.map((h) => fromHex(h)), ref.root(from), ref.root(to))).not.toThrow();
      expect(got.proof).toEqual(ref.proof(from, to).map(toHex));
    });
  });

  it.each([
    ['from beyond to', 600, 250, 'INVALID_PROOF_RANGE'],
    ['from the empty tree', 0, 250, 'INVALID_PROOF_RANGE'],
    ['to beyond the checkpoint', 250, LATEST + 1, 'TREE_SIZE_BEYOND_CHECKPOINT'],
  ])('refuses %s with %s', async (_, from, to, code) => {
    // Act
    const error = await reader.consistency('acme', from, to).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ code });
  });
});
