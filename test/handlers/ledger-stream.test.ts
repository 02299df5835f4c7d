import { GetItemCommand, type AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../lambdas/adapters/aws/eventbridge-publisher.js';
import { createLedgerTable, DynamoLedgerStore } from '../../lambdas/adapters/aws/dynamo-ledger-store.js';
import { S3ObjectStore } from '../../lambdas/adapters/aws/s3-object-store.js';
import { toHex } from '../../lambdas/core/bytes.js';
import { hashLeafHex } from '../../lambdas/core/rfc9162-hasher.js';
import { changesOfRecord, ledgerStreamHandler } from '../../lambdas/handlers/ledger-stream.js';
import type { ChangeConsumer, LedgerChange } from '../../lambdas/ports/change-stream.js';
import { decodeEventRecord, EventArchive } from '../../lambdas/services/event-archive.js';
import { head, idem } from '../ports/ledger-store.contract.js';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.js';
import { LedgerLog } from '../support/ledger-log.js';
import { startS3rver, type S3rverHandle } from '../support/s3rver.js';
import { memoryLogger } from './http-fixtures.js';

const TABLE = 'ledger';
const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/ledger/stream/2026-01-01T00:00:00.000';
const eventBridge = new EventBridgeClient({ region: 'eu-west-1' });
const bus = mockClient(eventBridge);

let db: DynaliteHandle;
let s3: S3rverHandle;
let log: LedgerLog;
/** The stream as DynamoDB would emit it for acme: each batch item, then its head and idempotency items. */
let records: DynamoDBRecord[];
let prefixes = 0;

beforeAll(async () => {
  [db, s3] = await Promise.all([startDynalite(), startS3rver()]);
  await createLedgerTable(db.client, TABLE);
  const store = new DynamoLedgerStore({ client: DynamoDBDocumentClient.from(db.client), tableName: TABLE });
  log = new LedgerLog('acme');
  const batches = await log.appendTo(store, 12, 5); // batches at 0, 5 and 10
  const keys: Array<[string, string]> = [];
  for (const batch of batches) {
    const last = batch.firstPosition + batch.entries.length - 1;
    await store.putHead(head('acme', `rec-${last}`, 1, last));
    await store.putIdempotency(idem('acme', `key-${batch.firstPosition}`, batch.firstPosition));
    keys.push([`B#${String(batch.firstPosition).padStart(16, '0')}`, 'INSERT'], [`H#rec-${last}`, 'INSERT'], [`I#key-${batch.firstPosition}`, 'INSERT']);
  }
  records = await Promise.all(keys.map(([sk], i) => streamRecord(sk, i)));
});
afterAll(async () => {
  await Promise.all([db.stop(), s3.stop()]);
});
beforeEach(() => {
  bus.reset();
  bus.on(PutEventsCommand).callsFake(async (input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_, i) => ({ EventId: `id-${i}` })) }));
});

/** The INSERT record of item `sk` in the stream's JSON wire shape, built from the item read back from dynalite. */
async function streamRecord(sk: string, index: number): Promise<DynamoDBRecord> {
  const { Item } = await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'TENANT#acme' }, sk: { S: sk } }, ConsistentRead: true }));
  const image = wireImage(Item!);
  return {
    eventID: `event-${index}`, eventName: 'INSERT', eventVersion: '1.1', eventSource: 'aws:dynamodb', awsRegion: 'eu-west-1', eventSourceARN: STREAM_ARN,
    dynamodb: {
      ApproximateCreationDateTime: 1_790_000_000 + index, Keys: { pk: image.pk!, sk: image.sk! }, NewImage: image,
      SequenceNumber: String(4_000_000_000_000_000_000n + BigInt(index)), SizeBytes: JSON.stringify(image).length, StreamViewType: 'NEW_IMAGE',
    },
  };
}

/** An SDK item as the stream serializes it: binaries as base64 text. */
function wireImage(item: Record<string, SdkAttributeValue>): Record<string, AttributeValue> {
  const wire = (v: SdkAttributeValue): AttributeValue => {
    if (v.B !== undefined) return { B: Buffer.from(v.B).toString('base64') };
    if (v.BS !== undefined) return { BS: v.BS.map((b) => Buffer.from(b).toString('base64')) };
    if (v.L !== undefined) return { L: v.L.map(wire) };
    if (v.M !== undefined) return { M: wireImage(v.M) };
    return v as AttributeValue;
  };
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, wire(v)]));
}

const ledgerChange = (position: number): LedgerChange => ({ tenant: 'acme', position, entry: log.entries[position]!, leafHash: hashLeafHex(log.entries[position]!) });
const seq = (r: DynamoDBRecord) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! });
const streamEvent = (list: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: list });

/** The event archive on a fresh s3rver prefix, publishing to the mocked EventBridge bus. */
function archive(maxAttempts = 3): EventArchive {
  const objects = new S3ObjectStore({ client: s3.client, bucket: s3.bucket, keyPrefix: `s${++prefixes}/`, conditionalPuts: s3.conditionalPuts ? 'native' : 'read-first' });
  return new EventArchive(objects, new EventBridgePublisher({ client: eventBridge, eventBusName: 'govledger', maxAttempts, sleep: async () => undefined }));
}

/** A consumer recording what it is given, failing on `failAt` when set. */
function recorder(failAt?: number): ChangeConsumer & { seen: LedgerChange[][] } {
  const seen: LedgerChange[][] = [];
  return {
    name: 'recorder', seen,
    apply: async (changes) => {
      if (changes.some((c) => c.position === failAt)) throw new Error(`cannot take ${failAt}`);
      seen.push([...changes]);
    },
  };
}

describe('changesOfRecord', () => {
  it('turns a batch item into one change per entry with the ledger bytes and leaf hashes', () => {
    // Act
    const changes = changesOfRecord(records[3]!); // the batch at position 5
    // Assess
    expect(changes).toEqual([5, 6, 7, 8, 9].map(ledgerChange));
    expect(changes!.map((c) => c.leafHash)).toEqual([5, 6, 7, 8, 9].map((p) => toHex(log.reference().leaf(p)))); // the naive reference's hashes
  });

  it('skips head and idempotency items and MODIFY or REMOVE records', () => {
    // Prepare
    const modified = { ...records[0]!, eventName: 'MODIFY' as const };
    const removed = { ...records[0]!, eventName: 'REMOVE' as const };
    // Act / Assess
    expect([records[1]!, records[2]!, modified, removed].map(changesOfRecord)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('refuses an INSERT without a new image, as a KEYS_ONLY stream would send it', () => {
    // Prepare
    const keysOnly = { ...records[0]!, dynamodb: { ...records[0]!.dynamodb, NewImage: undefined, StreamViewType: 'KEYS_ONLY' as const } };
    // Act / Assess
    expect(() => changesOfRecord(keysOnly)).toThrow(/NEW_IMAGE/);
  });
});

describe('ledgerStreamHandler', () => {
  it('copies every entry to the S3 event store and EventBridge, skipping index items, and reports no failure', async () => {
    // Prepare
    const events = archive();
    const other = recorder();
    const handler = ledgerStreamHandler({ consumers: [events, other], logger: memoryLogger() });
    // Act
    const response = await handler(streamEvent(records));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await events.leafHashes('acme', 0, Number.MAX_SAFE_INTEGER)).toEqual(new Map(log.entries.map((_, p) => [p, ledgerChange(p).leafHash])));
    expect(other.seen.map((changes) => changes.map((c) => c.position))).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]);
    const sent = bus.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(sent.map((e) => [e.Source, e.DetailType, e.EventBusName])).toEqual(Array(12).fill(['govledger', 'govledger.entry', 'govledger']));
    expect(sent.map((e) => decodeEventRecord(Buffer.from(e.Detail!))?.position)).toEqual(log.entries.map((_, p) => p));
  });

  it('reports the first failing record and every record after it, having applied the ones before', async () => {
    // Prepare
    const logger = memoryLogger();
    const failing = recorder(7);
    const events = archive();
    const handler = ledgerStreamHandler({ consumers: [failing, events], logger });
    // Act
    const response = await handler(streamEvent(records));
    // Assess
    expect(response.batchItemFailures).toEqual(records.slice(3).map(seq));
    expect(failing.seen.map((changes) => changes[0]!.position)).toEqual([0]);
    expect([...(await events.leafHashes('acme', 0, 100)).keys()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // the other consumer still took the record
    expect(logger.lines).toMatchObject([{ level: 'error', message: 'change consumer failed', fields: { consumer: 'recorder', tenant: 'acme', from: 5, count: 5 } }]);
  });

  it('fails the record when EventBridge keeps refusing entries, and succeeds on the retry once it takes them', async () => {
    // Prepare
    const events = archive(2);
    const handler = ledgerStreamHandler({ consumers: [events], logger: memoryLogger() });
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] });
    // Act
    const first = await handler(streamEvent(records.slice(0, 3)));
    bus.on(PutEventsCommand).callsFake(async (input: { Entries: unknown[] }) => ({ Entries: input.Entries.map(() => ({ EventId: 'ok' })) }));
    const retried = await handler(streamEvent(records.slice(0, 3)));
    // Assess
    expect(first.batchItemFailures).toEqual(records.slice(0, 3).map(seq));
    expect(retried.batchItemFailures).toEqual([]);
    expect((await events.leafHashes('acme', 0, 100)).size).toBe(5);
  });

  it('reports a conflicting copy (other bytes already archived) as a failure and logs CHANGE_CONFLICT', async () => {
    // Prepare
    const logger = memoryLogger();
    const events = archive();
    const forged = new LedgerLog('acme').grow(12, 3).flatMap((b) => b.entries);
    const differs = forged.findIndex((e, p) => p >= 5 && p < 10 && hashLeafHex(e) !== ledgerChange(p).leafHash);
    expect(differs).toBeGreaterThanOrEqual(5);
    await events.apply([{ tenant: 'acme', position: differs, entry: forged[differs]!, leafHash: hashLeafHex(forged[differs]!) }]);
    const handler = ledgerStreamHandler({ consumers: [events], logger });
    // Act
    const response = await handler(streamEvent(records));
    // Assess
    expect(response.batchItemFailures).toEqual(records.slice(3).map(seq));
    expect(logger.lines[0]?.fields).toMatchObject({ consumer: 'event-archive', error: { code: 'CHANGE_CONFLICT' } });
  });

  it('reports an undecodable image from that record on, and needs at least one consumer', async () => {
    // Prepare
    const logger = memoryLogger();
    const broken = { ...records[3]!, dynamodb: { ...records[3]!.dynamodb, NewImage: { pk: { S: 'TENANT#acme' }, sk: { S: 'B#0000000000000005' }, first: { N: '5' } } } };
    const handler = ledgerStreamHandler({ consumers: [recorder()], logger });
    // Act
    const response = await handler(streamEvent([records[0]!, broken, records[6]!]));
    // Assess
    expect(response.batchItemFailures).toEqual([broken, records[6]!].map(seq));
    expect(logger.lines[0]).toMatchObject({ message: 'stream record not decodable', fields: { eventID: 'event-3' } });
    expect(() => ledgerStreamHandler({ consumers: [], logger })).toThrow(RangeError);
  });
});
