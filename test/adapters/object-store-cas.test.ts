import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lambdas/adapters/aws/s3-object-store.js';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { ObjectStoreUnavailableError } from '../../lambdas/ports/object-store.js';
import { objectStoreCasContract } from '../ports/object-store-cas.contract.js';
import { useS3rver } from '../support/s3rver.js';

const { s3: engine, freshPrefix } = useS3rver('govledger-cas');

objectStoreCasContract('S3ObjectStore on s3rver', async () => ({ store: engine().objects(freshPrefix()), atomicImmutable: engine().conditionalPuts }));
objectStoreCasContract('MemoryObjectStore', async () => ({ store: new MemoryObjectStore(), atomicImmutable: true }));

const TEXT = { contentType: 'text/plain; charset=utf-8' };
const note = new TextEncoder().encode('checkpoint');

describe('S3ObjectStore.putIfMatch on s3rver', () => {
  it('s3rver ignores If-Match, which is why the embedded engine needs read-first', async () => {
    // Prepare
    const { client, bucket: Bucket } = engine();
    const Key = `${freshPrefix()}checkpoint`;
    await client.send(new PutObjectCommand({ Bucket, Key, Body: note }));
    // Act: a swap naming a tag the object never had
    const put = client.send(new PutObjectCommand({ Bucket, Key, Body: new Uint8Array([1]), IfMatch: '"not-the-etag"' }));
    // Assess
    await expect(put).resolves.toBeDefined();
  });
});

const BUCKET = 'log-bucket';
const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const mock = mockClient(client);
const failure = (name: string, status: number) => new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });

describe('S3ObjectStore compare-and-swap (mocked S3)', () => {
  beforeEach(() => mock.reset());

  it('swaps with PutObject If-Match <etag>, or If-None-Match "*" for a key expected absent, and answers the new ETag', async () => {
    // Prepare
    mock.on(PutObjectCommand).resolves({ ETag: '"new"' });
    const store = new S3ObjectStore({ client, bucket: BUCKET, keyPrefix: 'log/' });
    // Act
    const tags = [await store.putIfMatch('acme/checkpoint', note, TEXT, '"old"'), await store.putIfMatch('acme/checkpoint', note, TEXT, undefined)];
    // Assess
    expect(tags).toEqual(['"new"', '"new"']);
    const inputs = mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    const base = { Bucket: BUCKET, Key: 'log/acme/checkpoint', Body: note, ContentType: TEXT.contentType, ChecksumSHA256: expect.any(String) };
    expect(inputs).toEqual([{ ...base, IfMatch: '"old"' }, { ...base, IfNoneMatch: '*' }]);
    expect(mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it.each([
    ['412 PreconditionFailed (another ETag)', failure('PreconditionFailed', 412)],
    ['409 ConditionalRequestConflict (a racing write)', failure('ConditionalRequestConflict', 409)],
    ['404 NoSuchKey (the object is gone)', failure('NoSuchKey', 404)],
  ])('answers undefined, a lost swap, on %s', async (_name, error) => {
    // Prepare
    mock.on(PutObjectCommand).rejects(error);
    // Act
    const tag = await new S3ObjectStore({ client, bucket: BUCKET }).putIfMatch('acme/checkpoint', note, TEXT, '"old"');
    // Assess
    expect(tag).toBeUndefined();
  });

  it('turns a 503 into ObjectStoreUnavailableError, and getVersioned keeps the ETag of GetObject', async () => {
    // Prepare
    mock.on(PutObjectCommand).rejects(failure('SlowDown', 503));
    mock.on(GetObjectCommand).resolves({ ETag: '"e1"', Body: { transformToByteArray: async () => note } as never });
    const store = new S3ObjectStore({ client, bucket: BUCKET });
    // Act
    const put = store.putIfMatch('acme/checkpoint', note, TEXT, '"e0"');
    const got = await store.getVersioned('acme/checkpoint');
    // Assess
    await expect(put).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
    expect(got).toEqual({ bytes: note, etag: '"e1"' });
  });

  it('in read-first mode reads the ETag first and sends no put when it is not the one named', async () => {
    // Prepare
    mock.on(GetObjectCommand).resolves({ ETag: '"current"', Body: { transformToByteArray: async () => note } as never });
    mock.on(PutObjectCommand).resolves({ ETag: '"next"' });
    const store = new S3ObjectStore({ client, bucket: BUCKET, conditionalPuts: 'read-first' });
    // Act
    const lost = await store.putIfMatch('acme/checkpoint', note, TEXT, '"stale"');
    const won = await store.putIfMatch('acme/checkpoint', note, TEXT, '"current"');
    // Assess
    expect([lost, won]).toEqual([undefined, '"next"']);
    expect(mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.IfMatch)).toEqual(['"current"']);
  });
});
