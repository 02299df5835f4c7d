import { generateKeyPairSync, sign as ed25519Sign } from 'node:crypto';
import { GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient, SignCommand, type GetPublicKeyCommandOutput } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLedgerTable, DynamoLedgerStore } from '../../lambdas/adapters/aws/dynamo-ledger-store.js';
import { S3ObjectStore } from '../../lambdas/adapters/aws/s3-object-store.js';
import { openCheckpoint } from '../../lambdas/core/checkpoint.js';
import { Ed25519NoteVerifier } from '../../lambdas/core/signed-note.js';
import { KmsCheckpointSigners } from '../../lambdas/entry/shared/kms-adapters.js';
import { powertools } from '../../lambdas/entry/shared/powertools.js';
import { publishOnStream, streamedBatch } from '../../lambdas/entry/shared/stream-publisher.js';
import { LogPublisher, type PublishResult } from '../../lambdas/services/log-publisher.js';
import { BATCH_ITEM_SK_PREFIX } from '../../lib/stateless-stack.js';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.js';
import { LedgerLog } from '../support/ledger-log.js';
import { startS3rver, type S3rverHandle } from '../support/s3rver.js';

const PREFIX = 'ledger.example.com';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/0123abcd-0000-4000-8000-000000000000';
const TABLE = 'ledger';
const kms = mockClient(KMSClient);
const signingKey = generateKeyPairSync('ed25519');
const PUBLIC_KEY: GetPublicKeyCommandOutput = {
  KeyId: KEY_ARN, KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ED25519_SHA_512'],
  PublicKey: new Uint8Array(signingKey.publicKey.export({ format: 'der', type: 'spki' })), $metadata: {},
};

let db: DynaliteHandle;
let s3: S3rverHandle;
let store: DynamoLedgerStore;
let objects: S3ObjectStore;
let sequence = 0;

beforeAll(async () => {
  process.env.AWS_REGION ??= 'eu-west-1';
  [db, s3] = await Promise.all([startDynalite(), startS3rver()]);
  await createLedgerTable(db.client, TABLE);
  store = new DynamoLedgerStore({ client: DynamoDBDocumentClient.from(db.client), tableName: TABLE });
  objects = new S3ObjectStore({ client: s3.client, bucket: s3.bucket, conditionalPuts: s3.conditionalPuts ? 'native' : 'read-first' });
}, 60_000);
afterAll(async () => {
  await Promise.all([db?.stop(), s3?.stop()]);
});
beforeEach(() => {
  kms.reset();
  // KMS has no local engine: GetPublicKey answers the SPKI of a real Ed25519 key, Sign signs with it.
  kms.on(GetPublicKeyCommand).resolves(PUBLIC_KEY);
  kms.on(SignCommand).callsFake((input: { Message: Uint8Array }) => ({ KeyId: KEY_ARN, SigningAlgorithm: 'ED25519_SHA_512', Signature: new Uint8Array(ed25519Sign(null, input.Message, signingKey.privateKey)) }));
});

/** An attribute value as Lambda's JSON stream event carries it: binaries base64-encoded. */
function wire(value: AttributeValue): Record<string, unknown> {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.L !== undefined) return { L: value.L.map(wire) };
  if (value.M !== undefined) return { M: Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, wire(v)])) };
  return value as unknown as Record<string, unknown>;
}

/** The stream record DynamoDB Streams emits for the item stored under (tenant, sk), read back raw from the engine. */
async function recordOf(tenant: string, sk: string, eventName: 'INSERT' | 'MODIFY' = 'INSERT'): Promise<DynamoDBRecord> {
  const { Item } = await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `TENANT#${tenant}` }, sk: { S: sk } }, ConsistentRead: true }));
  if (!Item) throw new Error(`no item ${tenant}/${sk}`);
  sequence += 1;
  return {
    eventID: `e-${sequence}`, eventName, eventSource: 'aws:dynamodb',
    dynamodb: { Keys: { pk: { S: `TENANT#${tenant}` }, sk: { S: sk } }, NewImage: Object.fromEntries(Object.entries(Item).map(([k, v]) => [k, wire(v)])) as never, SequenceNumber: String(1000 + sequence), StreamViewType: 'NEW_IMAGE' },
  };
}
const batchSk = (first: number) => `${BATCH_ITEM_SK_PREFIX}${String(first).padStart(16, '0')}`;

/** Appends `log`'s new batches up to `size` and returns their stream records. */
async function append(log: LedgerLog, size: number, per = 40): Promise<DynamoDBRecord[]> {
  const batches = await log.appendTo(store, size, per);
  return Promise.all(batches.map((b) => recordOf(log.tenant, batchSk(b.firstPosition))));
}

const context = (remainingMs = 60_000) => ({ getRemainingTimeInMillis: () => remainingMs }) as Context;
const quietLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

type Publisher = { publish(tenant: string): Promise<PublishResult> };

/** The publisher entry's wiring over the engines; `wrap` may put a faulty publisher in front of the real one. */
function handler(options: { wrap?: (real: Publisher) => Publisher; maxEntries?: number; logger?: typeof quietLogger } = {}) {
  const signers = new KmsCheckpointSigners({ signingKeyArn: KEY_ARN, logPrefix: PREFIX }, powertools());
  const real = new LogPublisher(store, objects, signers, { logPrefix: PREFIX, ...(options.maxEntries ? { maxEntries: options.maxEntries } : {}) });
  const publisher = options.wrap ? options.wrap(real) : real;
  return { signers, publish: publishOnStream({ publisher, prepare: (origin) => signers.ready(origin), logPrefix: PREFIX, logger: options.logger ?? quietLogger }) };
}

/** The tenant's stored checkpoint, opened with the verifier key `GET …/log-key` serves. */
async function checkpointOf(tenant: string, signers: KmsCheckpointSigners) {
  const note = await objects.get(`${tenant}/checkpoint`);
  if (!note) return undefined;
  return openCheckpoint(note, new Ed25519NoteVerifier(await signers.verifierKeyFor(tenant)), { origin: `${PREFIX}/${tenant}` });
}

describe('streamedBatch', () => {
  it('reads the tenant and the log size after a batch from items the DynamoDB adapter wrote; index items and modifies are not batches', async () => {
    // Prepare
    const log = new LedgerLog('decode');
    const [first, second] = await append(log, 70);
    await store.putIdempotency({ tenant: 'decode', key: 'k', requestHash: 'h', response: '{}', firstPosition: 0, count: 1 });
    // Act
    const batches = [streamedBatch(first!), streamedBatch(second!)];
    // Assess
    expect(batches).toEqual([{ tenant: 'decode', end: 40 }, { tenant: 'decode', end: 70 }]);
    expect(streamedBatch(await recordOf('decode', 'I#k'))).toBeUndefined();
    expect(streamedBatch(await recordOf('decode', batchSk(0), 'MODIFY'))).toBeUndefined();
    expect(first!.dynamodb!.Keys!.sk!.S!.startsWith(BATCH_ITEM_SK_PREFIX)).toBe(true); // what the event source filter lets through
  });
});

describe('publishOnStream', () => {
  it('publishes each tenant once per invocation, up to the newest batch delivered, with a checkpoint the KMS key signed', async () => {
    // Prepare
    const acme = new LedgerLog('acme');
    const beta = new LedgerLog('beta');
    const records = [...(await append(acme, 130)), ...(await append(beta, 45))];
    const { publish, signers } = handler();
    // Act
    const result = await publish({ Records: records }, context());
    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect((await checkpointOf('acme', signers))?.size).toBe(130);
    expect((await checkpointOf('beta', signers))?.size).toBe(45);
    expect(kms.commandCalls(SignCommand)).toHaveLength(2);
    expect(kms.commandCalls(GetPublicKeyCommand).map((c) => c.args[0].input)).toEqual([{ KeyId: KEY_ARN }, { KeyId: KEY_ARN }]); // one per origin, then cached
  });

  it('publishes a backlog larger than one step in several steps within the invocation', async () => {
    // Prepare
    const log = new LedgerLog('steps');
    const records = await append(log, 600, 100);
    const { publish, signers } = handler({ maxEntries: 250 });
    // Act
    const result = await publish({ Records: records.slice(-1) }, context());
    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect((await checkpointOf('steps', signers))?.size).toBe(600);
    expect(kms.commandCalls(SignCommand)).toHaveLength(2); // checkpoints at 300, then 600
  });

  it('reports a failing tenant by its first record, so the stream retries from there, and still publishes the others', async () => {
    // Prepare
    const good = new LedgerLog('good');
    const bad = new LedgerLog('bad');
    const badRecords = await append(bad, 50);
    const goodRecords = await append(good, 50);
    const errors: unknown[] = [];
    const { publish, signers } = handler({
      wrap: (real) => ({ publish: (tenant) => (tenant === 'bad' ? Promise.reject(new Error('S3 is down')) : real.publish(tenant)) }),
      logger: { ...quietLogger, error: (...args: unknown[]) => void errors.push(args) },
    });
    // Act
    const result = await publish({ Records: [...badRecords, ...goodRecords] }, context());
    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: badRecords[0]!.dynamodb!.SequenceNumber }] });
    expect((await checkpointOf('good', signers))?.size).toBe(50);
    expect(await objects.get('bad/checkpoint')).toBeUndefined();
    expect(errors).toHaveLength(1);
  });

  it('reports a batch insert that does not decode, for the retries and then the dead-letter queue', async () => {
    // Prepare
    const log = new LedgerLog('broken');
    const [record] = await append(log, 10);
    const broken = structuredClone(record!);
    delete (broken.dynamodb!.NewImage as Record<string, unknown>).entries;
    const { publish } = handler();
    // Act
    const result = await publish({ Records: [broken] }, context());
    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: broken.dynamodb!.SequenceNumber }] });
  });

  it('starts no publish when the invocation is about to time out, and reports the tenant for a retry', async () => {
    // Prepare
    const log = new LedgerLog('late');
    const records = await append(log, 20);
    const { publish } = handler();
    // Act
    const result = await publish({ Records: records }, context(5_000));
    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]!.dynamodb!.SequenceNumber }] });
    expect(await objects.get('late/checkpoint')).toBeUndefined();
  });
});

describe('KmsCheckpointSigners', () => {
  it('refuses to hand out a signer before ready(), and retries a creation that failed', async () => {
    // Prepare
    const { signers } = handler();
    kms.on(GetPublicKeyCommand).rejectsOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })).resolves(PUBLIC_KEY);
    // Act
    const first = signers.ready(`${PREFIX}/retry`);
    // Assess
    expect(() => signers.signerFor(`${PREFIX}/retry`)).toThrow(/call ready/);
    await expect(first).rejects.toThrow(/throttled|ThrottlingException/);
    await expect(signers.ready(`${PREFIX}/retry`)).resolves.toMatchObject({ name: `${PREFIX}/retry` });
    expect(signers.signerFor(`${PREFIX}/retry`).name).toBe(`${PREFIX}/retry`);
  });
});
