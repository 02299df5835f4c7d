import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lambdas/adapters/aws/s3-object-store.js';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { LocalEventBus } from '../../lambdas/adapters/local/local-event-bus.js';
import { toBase64 } from '../../lambdas/core/bytes.js';
import { hashLeafHex } from '../../lambdas/core/rfc9162-hasher.js';
import type { LedgerChange } from '../../lambdas/ports/change-stream.js';
import { ChangeConflictError, ObjectStoreUnavailableError } from '../../lambdas/ports/errors.js';
import type { EventPublisher, LedgerEvent } from '../../lambdas/ports/event-publisher.js';
import type { ObjectStore } from '../../lambdas/ports/object-store.js';
import { decodeEventRecord, encodeEventRecord, EventArchive, eventKey, MAX_RUN } from '../../lambdas/services/event-archive.js';
import { listed } from '../ports/object-store.contract.js';
import { useS3rver } from '../support/s3rver.js';
import { LedgerLog } from '../support/ledger-log.js';

const { s3: engine, freshPrefix } = useS3rver();

/** Ledger changes of a real chained log (the first `size` entries of `tenant`). */
function changesOf(tenant: string, size: number): LedgerChange[] {
  const log = new LedgerLog(tenant);
  log.grow(size, 7);
  return log.entries.map((entry, position) => ({ tenant, position, entry, leafHash: hashLeafHex(entry) }));
}

const ACME = changesOf('acme', 12);
const ledgerHashes = (changes: readonly LedgerChange[]) => new Map(changes.map((c) => [c.position, c.leafHash]));

/** An archive on `objects` whose published events are recorded. */
function archiveOn(objects: ObjectStore, publisher?: EventPublisher): { archive: EventArchive; events: LedgerEvent[] } {
  const bus = new LocalEventBus();
  const events: LedgerEvent[] = [];
  bus.subscribe((e) => void events.push(e));
  return { archive: new EventArchive(objects, publisher ?? bus, { concurrency: 4 }), events };
}

interface StoreUnderTest {
  readonly objects: ObjectStore;
  /** The engine's raw key for an archive key (for tampering behind the adapter's back). */
  readonly raw?: (key: string) => string;
}

const stores: Array<[string, () => StoreUnderTest]> = [
  ['S3ObjectStore on s3rver', () => {
    const prefix = freshPrefix();
    const objects = engine().objects(prefix, { listPageSize: 5 });
    return { objects, raw: (key) => prefix + key };
  }],
  ['MemoryObjectStore', () => ({ objects: new MemoryObjectStore() })],
];

describe.each(stores)('EventArchive on %s', (_name, makeStore) => {
  let objects: ObjectStore;
  beforeEach(() => {
    ({ objects } = makeStore());
  });

  it('stores each run of consecutive positions as one write-once object of records, one per line, and publishes the same text', async () => {
    // Prepare
    const { archive, events } = archiveOn(objects);
    // Act
    await archive.apply(ACME.slice(0, 3));
    // Assess
    expect(await listed(objects.list('events/acme/'))).toEqual(['events/acme/0000000000000000-0000000000000002.jsonl']);
    const lines = Buffer.from((await objects.get('events/acme/0000000000000000-0000000000000002.jsonl'))!).toString().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(JSON.parse(lines[1]!)).toEqual({ entry: toBase64(ACME[1]!.entry), leafHash: ACME[1]!.leafHash, position: 1, tenant: 'acme', v: 1 });
    expect(events.map((e) => [e.type, e.tenant, e.position])).toEqual([0, 1, 2].map((p) => ['govledger.entry', 'acme', p]));
    expect(events.map((e) => e.detail)).toEqual(lines.slice(0, 3));
  });

  it('cuts runs at gaps, at tenants and at MAX_RUN positions', async () => {
    // Prepare
    const { archive } = archiveOn(objects);
    const long = changesOf('long', MAX_RUN + 2);
    // Act
    await archive.apply([...ACME.slice(5, 7), ACME[0]!, ACME[1]!, ACME[2]!, ...changesOf('acme-corp', 2)]);
    await archive.apply(long);
    // Assess
    expect(await listed(objects.list('events/acme/'))).toEqual(['events/acme/0000000000000000-0000000000000002.jsonl', 'events/acme/0000000000000005-0000000000000006.jsonl']);
    expect(await listed(objects.list('events/acme-corp/'))).toEqual(['events/acme-corp/0000000000000000-0000000000000001.jsonl']);
    expect(await listed(objects.list('events/long/'))).toEqual([eventKey('long', 0, MAX_RUN - 1), eventKey('long', MAX_RUN, MAX_RUN + 1)]);
    expect(await archive.leafHashes('long', MAX_RUN - 2, MAX_RUN + 2)).toEqual(ledgerHashes(long.slice(MAX_RUN - 2)));
  });

  it('answers the ledger leaf hashes for [from, to), and positions beyond with to = MAX_SAFE_INTEGER', async () => {
    // Prepare
    const { archive } = archiveOn(objects);
    await archive.apply(ACME);
    await archive.apply(changesOf('acme-corp', 3));
    // Act
    const window = await archive.leafHashes('acme', 3, 9);
    const beyond = await archive.leafHashes('acme', 10, Number.MAX_SAFE_INTEGER);
    // Assess
    expect(window).toEqual(ledgerHashes(ACME.slice(3, 9)));
    expect(beyond).toEqual(ledgerHashes(ACME.slice(10)));
    expect(await archive.leafHashes('other', 0, 100)).toEqual(new Map());
  });

  it('is idempotent: a redelivery changes nothing stored and publishes again (at least once)', async () => {
    // Prepare
    const { archive, events } = archiveOn(objects);
    await archive.apply(ACME.slice(0, 5));
    const before = await objects.get(eventKey('acme', 0, 4));
    // Act
    await archive.apply(ACME.slice(0, 5));
    await archive.apply(ACME.slice(1, 3)); // cut otherwise: held already, nothing new stored
    // Assess
    expect(await listed(objects.list('events/'))).toEqual([eventKey('acme', 0, 4)]);
    expect(await objects.get(eventKey('acme', 0, 4))).toEqual(before);
    expect(await archive.leafHashes('acme', 0, 100)).toEqual(ledgerHashes(ACME.slice(0, 5)));
    expect(events).toHaveLength(12);
  });

  it('ends in the same state from duplicated, reordered and overlapping deliveries', async () => {
    // Prepare
    const { archive } = archiveOn(objects);
    const reversed = [...ACME].reverse();
    // Act
    await archive.apply([...reversed.slice(0, 6), ...reversed.slice(0, 6)]);
    await archive.apply([ACME[2]!, ACME[0]!, ACME[2]!]);
    await archive.apply(reversed);
    // Assess
    expect(await archive.leafHashes('acme', 0, Number.MAX_SAFE_INTEGER)).toEqual(ledgerHashes(ACME));
  });

  it('refuses other bytes for a stored position with ChangeConflictError, keeping the copy and publishing nothing', async () => {
    // Prepare
    const { archive, events } = archiveOn(objects);
    await archive.apply(ACME.slice(0, 4));
    const forged = changesOf('acme', 4).map((c, i) => (i === 3 ? { ...c, entry: ACME[0]!.entry, leafHash: ACME[0]!.leafHash } : c));
    events.length = 0;
    // Act: the same cut, and one cut otherwise
    const sameCut = await archive.apply(forged).catch((e: unknown) => e);
    const otherCut = await archive.apply([...forged.slice(3), ...ACME.slice(4, 6)]).catch((e: unknown) => e);
    // Assess
    for (const error of [sameCut, otherCut]) {
      expect(error).toBeInstanceOf(ChangeConflictError);
      expect(error).toMatchObject({ code: 'CHANGE_CONFLICT', consumer: 'event-archive', tenant: 'acme', position: 3 });
    }
    expect(await listed(objects.list('events/'))).toEqual([eventKey('acme', 0, 3)]);
    expect(await archive.leafHashes('acme', 0, 10)).toEqual(ledgerHashes(ACME.slice(0, 4)));
    expect(events).toEqual([]);
  });

  it('refuses one call naming a position twice with different bytes, and a change whose leaf hash is not its bytes', async () => {
    // Prepare
    const { archive } = archiveOn(objects);
    const other = { ...ACME[1]!, entry: ACME[2]!.entry, leafHash: ACME[2]!.leafHash };
    // Act
    const twice = await archive.apply([ACME[1]!, other]).catch((e: unknown) => e);
    const lying = await archive.apply([{ ...ACME[0]!, leafHash: ACME[1]!.leafHash }]).catch((e: unknown) => e);
    // Assess
    expect(twice).toBeInstanceOf(ChangeConflictError);
    expect(lying).toBeInstanceOf(RangeError);
    expect(await listed(objects.list('events/'))).toEqual([]);
  });

  it('keeps its copies when the bus fails, and a redelivery publishes them', async () => {
    // Prepare
    const bus = new LocalEventBus();
    const published: number[] = [];
    bus.subscribe((e) => void published.push(e.position));
    let down = true;
    const flaky: EventPublisher = { publish: async (events) => (down ? Promise.reject(new Error('bus down')) : bus.publish(events)) };
    const { archive } = archiveOn(objects, flaky);
    // Act
    const failed = await archive.apply(ACME.slice(0, 3)).catch((e: unknown) => e);
    const copies = await archive.leafHashes('acme', 0, 3);
    down = false;
    await archive.apply(ACME.slice(0, 3));
    // Assess
    expect(failed).toMatchObject({ message: 'bus down' });
    expect(copies).toEqual(ledgerHashes(ACME.slice(0, 3)));
    expect(published).toEqual([0, 1, 2]);
  });
});

describe('EventArchive on s3rver, tampered behind the adapter', () => {
  let archive: EventArchive;
  let raw: (key: string) => string;
  const RUN = eventKey('acme', 0, 7);
  beforeEach(async () => {
    const store = stores[0]![1]();
    raw = store.raw!;
    archive = archiveOn(store.objects).archive;
    await archive.apply(ACME.slice(0, 8));
  });
  const put = (key: string, body: string | Uint8Array) => engine().client.send(new PutObjectCommand({ Bucket: engine().bucket, Key: raw(key), Body: body }));
  /** Rewrites one line of the stored run (0-based position = line). */
  const rewriteLine = async (position: number, line: string) => {
    const lines = Buffer.from(await (await engine().client.send(new GetObjectCommand({ Bucket: engine().bucket, Key: raw(RUN) }))).Body!.transformToByteArray()).toString().split('\n');
    lines[position] = line;
    await put(RUN, lines.join('\n'));
  };

  it('answers the hash of altered entry bytes, not the stored leafHash field', async () => {
    // Prepare
    const altered = Buffer.from(ACME[2]!.entry);
    altered[altered.length - 3] = altered[altered.length - 3]! ^ 1;
    await rewriteLine(2, encodeEventRecord({ tenant: 'acme', position: 2, leafHash: ACME[2]!.leafHash, entry: altered }));
    // Act
    const held = await archive.leafHashes('acme', 0, 8);
    // Assess
    expect(held.get(2)).toBe(hashLeafHex(altered));
    expect(held.get(2)).not.toBe(ACME[2]!.leafHash);
    expect([...held.keys()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('answers the recomputed hash when only the stored leafHash field was altered', async () => {
    // Prepare
    await rewriteLine(5, encodeEventRecord({ tenant: 'acme', position: 5, leafHash: 'ff'.repeat(32), entry: ACME[5]!.entry }));
    // Act
    const held = await archive.leafHashes('acme', 5, 6);
    // Assess
    expect(held).toEqual(ledgerHashes(ACME.slice(5, 6)));
  });

  it('leaves the positions of a deleted object absent, and a redelivery restores them', async () => {
    // Prepare
    await engine().client.send(new DeleteObjectCommand({ Bucket: engine().bucket, Key: raw(RUN) }));
    // Act
    const held = await archive.leafHashes('acme', 0, 8);
    await archive.apply([ACME[4]!]);
    // Assess
    expect(held.size).toBe(0);
    expect(await archive.leafHashes('acme', 0, 8)).toEqual(ledgerHashes(ACME.slice(4, 5)));
  });

  it('answers the hash of a line\'s raw bytes, even when they are not UTF-8', async () => {
    // Prepare
    const raw = Buffer.from([0xff, 0xfe, 0x7b]);
    await put(eventKey('acme', 30, 30), Buffer.concat([raw, Buffer.from('\n')]));
    // Act
    const held = await archive.leafHashes('acme', 30, 31);
    // Assess
    expect(held).toEqual(new Map([[30, hashLeafHex(raw)]]));
  });

  it('does not vouch for a record moved to another position, garbage, or a position two objects hold differently', async () => {
    // Prepare
    await rewriteLine(6, encodeEventRecord(ACME[0]!));
    await rewriteLine(7, 'not a record');
    await put(eventKey('acme', 20, 20), `${encodeEventRecord({ ...ACME[1]!, position: 20 })}\n`);
    const altered = Buffer.from(ACME[3]!.entry);
    altered[10] = altered[10]! ^ 1;
    await put(eventKey('acme', 3, 3), `${encodeEventRecord({ tenant: 'acme', position: 3, leafHash: ACME[3]!.leafHash, entry: altered })}\n`);
    // Act
    const held = await archive.leafHashes('acme', 3, Number.MAX_SAFE_INTEGER);
    // Assess
    expect(held.get(6)).toBe(hashLeafHex(Buffer.from(encodeEventRecord(ACME[0]!)))); // a record of position 0: its raw bytes
    expect(held.get(6)).not.toBe(ACME[6]!.leafHash);
    expect(held.get(7)).toBe(hashLeafHex(Buffer.from('not a record')));
    expect(held.get(20)).toBe(ACME[1]!.leafHash); // an extra position, for cross-verification to flag
    expect(held.get(3)).not.toBe(ACME[3]!.leafHash); // the run holds the ledger's record, the other object not
    expect(held.get(3)).not.toBe(hashLeafHex(altered));
    expect(held.get(4)).toBe(ACME[4]!.leafHash);
  });
});

describe('EventArchive on MemoryObjectStore with faults', () => {
  it('recovers from a put that persisted but failed: the redelivery succeeds and publishes once more', async () => {
    // Prepare
    const objects = new MemoryObjectStore();
    const { archive, events } = archiveOn(objects);
    objects.failButPersistNext((key) => key === eventKey('acme', 0, 2));
    // Act
    const failed = await archive.apply(ACME.slice(0, 3)).catch((e: unknown) => e);
    await archive.apply(ACME.slice(0, 3));
    // Assess
    expect(failed).toBeInstanceOf(ObjectStoreUnavailableError);
    expect(events.map((e) => e.position)).toEqual([0, 1, 2]);
    expect(await archive.leafHashes('acme', 0, 3)).toEqual(ledgerHashes(ACME.slice(0, 3)));
  });

  it('fails leafHashes when the store cannot list or read, rather than answering a partial map', async () => {
    // Prepare
    const objects = new MemoryObjectStore();
    const { archive } = archiveOn(objects);
    await archive.apply(ACME.slice(0, 3));
    objects.failNext('list');
    objects.failNext('get', undefined, (key) => key === eventKey('acme', 0, 2));
    // Act
    const listing = await archive.leafHashes('acme', 0, 3).catch((e: unknown) => e);
    const reading = await archive.leafHashes('acme', 0, 3).catch((e: unknown) => e);
    // Assess
    expect(listing).toBeInstanceOf(ObjectStoreUnavailableError);
    expect(reading).toBeInstanceOf(ObjectStoreUnavailableError);
  });
});

describe('event records', () => {
  it('round-trip exactly and refuse anything but a v1 record', () => {
    // Prepare
    const text = encodeEventRecord(ACME[3]!);
    const variants = [
      text.replace('"v":1', '"v":2'),
      text.replace('"v":1', '"v":1,"extra":true'),
      text.replace('"position":3', '"position":-3'),
      text.replace(/"entry":"[^"]+"/, '"entry":"not base64!"'),
      '[]',
      '{',
    ];
    // Act
    const decoded = decodeEventRecord(Buffer.from(text));
    // Assess
    expect(decoded).toEqual({ tenant: 'acme', position: 3, leafHash: ACME[3]!.leafHash, entry: new Uint8Array(ACME[3]!.entry) });
    for (const variant of variants) expect(decodeEventRecord(Buffer.from(variant))).toBeUndefined();
  });
});
