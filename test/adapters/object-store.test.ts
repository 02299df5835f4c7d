import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lambdas/adapters/aws/s3-object-store.js';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { ObjectImmutableError, ObjectStoreUnavailableError } from '../../lambdas/ports/object-store.js';
import { listed, objectStoreContract } from '../ports/object-store.contract.js';
import { useS3rver } from '../support/s3rver.js';

const { s3: engine, freshPrefix } = useS3rver();

objectStoreContract('S3ObjectStore on s3rver', async () => ({ store: engine().objects(freshPrefix()), atomicImmutable: engine().conditionalPuts, listsInByteOrder: false }));
objectStoreContract('MemoryObjectStore', async () => ({ store: new MemoryObjectStore(), atomicImmutable: true }));

describe('S3ObjectStore on s3rver', () => {
  it('detects that s3rver ignores If-None-Match, which is why the embedded engine needs read-first', () => {
    // Assess: if this fails, s3rver learned conditional puts: switch the local wiring to 'native'
    expect(engine().conditionalPuts).toBe(false);
  });

  it('stores under its key prefix with the content type given', async () => {
    // Prepare
    const prefix = freshPrefix();
    const store = engine().objects(prefix);
    // Act
    await store.put('acme/checkpoint', new TextEncoder().encode('cp\n'), { contentType: 'text/plain; charset=utf-8', immutable: false });
    // Assess
    const raw = await engine().client.send(new GetObjectCommand({ Bucket: engine().bucket, Key: `${prefix}acme/checkpoint` }));
    expect(raw.ContentType).toBe('text/plain; charset=utf-8');
    expect(await raw.Body!.transformToString()).toBe('cp\n');
  });
});

// Mock one client instance, not the class: the s3rver suites above share S3Client's prototype.
const mocked = new S3Client({ region: 'eu-west-1' });
const s3Mock = mockClient(mocked);
const client = () => mocked;
const bytes = new Uint8Array([1, 2, 3]);
const sha = createHash('sha256').update(bytes).digest('base64');
const binary = { contentType: 'application/octet-stream', immutable: true } as const;

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
}
/** A GetObject answer whose body yields `content`. */
const body = (content: Uint8Array) => ({ Body: { transformToByteArray: async () => content } as never });

describe('S3ObjectStore.put (mocked S3)', () => {
  beforeEach(() => s3Mock.reset());
  const store = (conditionalPuts?: 'native' | 'read-first') =>
    new S3ObjectStore({ client: client(), bucket: 'log-bucket', keyPrefix: 'log/', ...(conditionalPuts ? { conditionalPuts } : {}) });

  it('sends an immutable put as PutObject with IfNoneMatch "*" and a SHA-256 checksum, reading nothing', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).resolves({});
    // Act
    await store().put('acme/tile/0/000', bytes, binary);
    // Assess
    expect(s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'log-bucket', Key: 'log/acme/tile/0/000', Body: bytes, ContentType: 'application/octet-stream', ChecksumSHA256: sha, IfNoneMatch: '*' },
    ]);
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('sends a mutable put as a plain PutObject, without IfNoneMatch', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).resolves({});
    // Act
    await store().put('acme/checkpoint', bytes, { contentType: 'text/plain; charset=utf-8', immutable: false });
    // Assess
    expect(s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'log-bucket', Key: 'log/acme/checkpoint', Body: bytes, ContentType: 'text/plain; charset=utf-8', ChecksumSHA256: sha },
    ]);
  });

  it('accepts a 412 when the stored object holds identical bytes, after one exact GetObject', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    s3Mock.on(GetObjectCommand).resolves(body(bytes.slice()));
    // Act
    await store().put('acme/tile/0/000', bytes, binary);
    // Assess
    expect(s3Mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: 'log-bucket', Key: 'log/acme/tile/0/000' }]);
  });

  it('turns a 412 over other bytes into ObjectImmutableError, keeping the cause', async () => {
    // Prepare
    const conflict = s3Error('PreconditionFailed', 412);
    s3Mock.on(PutObjectCommand).rejects(conflict);
    s3Mock.on(GetObjectCommand).resolves(body(new Uint8Array([9])));
    // Act
    const result = store().put('acme/tile/0/000', bytes, binary);
    // Assess
    await expect(result).rejects.toBeInstanceOf(ObjectImmutableError);
    await expect(result).rejects.toMatchObject({ code: 'OBJECT_IMMUTABLE', cause: conflict });
  });

  it('turns a 409 ConditionalRequestConflict with no object yet into ObjectStoreUnavailableError', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));
    s3Mock.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404));
    // Act
    const result = store().put('acme/tile/0/000', bytes, binary);
    // Assess
    await expect(result).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
  });

  it('in read-first mode reads first and skips the put when identical bytes are stored', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).resolves(body(bytes.slice()));
    // Act
    await store('read-first').put('acme/tile/0/000', bytes, binary);
    // Assess
    expect(s3Mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: 'log-bucket', Key: 'log/acme/tile/0/000' }]);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('in read-first mode puts with IfNoneMatch when the key is absent', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404));
    s3Mock.on(PutObjectCommand).resolves({});
    // Act
    await store('read-first').put('acme/tile/0/000', bytes, binary);
    // Assess
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ Key: 'log/acme/tile/0/000', IfNoneMatch: '*' });
  });

  it.each([
    ['SlowDown', 503],
    ['InternalError', 500],
  ])('turns %s into ObjectStoreUnavailableError and lets AccessDenied through', async (name, status) => {
    // Prepare
    s3Mock.on(PutObjectCommand).rejectsOnce(s3Error(name, status)).rejectsOnce(s3Error('AccessDenied', 403));
    // Act
    const transient = store().put('acme/checkpoint', bytes, binary);
    await expect(transient).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
    const denied = store().put('acme/checkpoint', bytes, binary);
    // Assess
    await expect(denied).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('refuses a key prefix that does not end in "/"', () => {
    // Act / Assess
    expect(() => new S3ObjectStore({ client: client(), bucket: 'b', keyPrefix: 'log' })).toThrow(RangeError);
    expect(() => new S3ObjectStore({ client: client(), bucket: 'b', keyPrefix: '/log/' })).toThrow(RangeError);
  });
});

describe('S3ObjectStore.get (mocked S3)', () => {
  beforeEach(() => s3Mock.reset());

  it('maps NoSuchKey to undefined and a 503 to ObjectStoreUnavailableError', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejectsOnce(s3Error('NoSuchKey', 404)).rejectsOnce(s3Error('ServiceUnavailable', 503));
    const store = new S3ObjectStore({ client: client(), bucket: 'log-bucket' });
    // Act
    const missing = await store.get('acme/checkpoint');
    const failed = store.get('acme/checkpoint');
    // Assess
    expect(missing).toBeUndefined();
    await expect(failed).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
    expect(s3Mock.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({ Bucket: 'log-bucket', Key: 'acme/checkpoint' });
  });
});

describe('S3ObjectStore.list', () => {
  beforeEach(() => s3Mock.reset());

  it('pages through s3rver with a small page size, across key prefixes', async () => {
    // Prepare
    const store = engine().objects(freshPrefix(), { listPageSize: 2 });
    const keys = Array.from({ length: 7 }, (_, i) => `events/acme/${String(i).padStart(16, '0')}`);
    for (const key of keys) await store.put(key, bytes, binary);
    // Act
    const all = await listed(store.list('events/acme/'));
    const rest = await listed(store.list('events/acme/', keys[2]));
    // Assess
    expect(all).toEqual(keys);
    expect(rest).toEqual(keys.slice(3));
  });

  it('sends ListObjects with its key prefix, each page starting after the last key, and strips the prefix', async () => {
    // Prepare
    s3Mock
      .on(ListObjectsCommand)
      .resolvesOnce({ Contents: [{ Key: 'log/events/acme/1' }], IsTruncated: true })
      .resolvesOnce({ Contents: [{ Key: 'log/events/acme/2' }], IsTruncated: false });
    const store = new S3ObjectStore({ client: client(), bucket: 'log-bucket', keyPrefix: 'log/', listPageSize: 1 });
    // Act
    const keys = await listed(store.list('events/acme/', 'events/acme/0'));
    // Assess
    expect(keys).toEqual(['events/acme/1', 'events/acme/2']);
    expect(s3Mock.commandCalls(ListObjectsCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'log-bucket', Prefix: 'log/events/acme/', MaxKeys: 1, Marker: 'log/events/acme/0' },
      { Bucket: 'log-bucket', Prefix: 'log/events/acme/', MaxKeys: 1, Marker: 'log/events/acme/1' },
    ]);
  });

  it('turns a 503 into ObjectStoreUnavailableError and refuses a page size beyond 1..1000', async () => {
    // Prepare
    s3Mock.on(ListObjectsCommand).rejects(s3Error('SlowDown', 503));
    const store = new S3ObjectStore({ client: client(), bucket: 'log-bucket' });
    // Act
    const failed = listed(store.list('events/'));
    // Assess
    await expect(failed).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
    expect(() => new S3ObjectStore({ client: client(), bucket: 'b', listPageSize: 1001 })).toThrow(RangeError);
  });
});

describe('MemoryObjectStore fault hooks', () => {
  it('fails the next matching put without effect, and persists then fails on failButPersistNext', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    store.failNext('put', undefined, (key) => key.endsWith('/checkpoint'));
    store.failButPersistNext((key) => key.startsWith('acme/tile'));
    // Act
    await store.put('acme/other', bytes, binary); // not matched by either fault
    const failed = await store.put('acme/checkpoint', bytes, binary).catch((e: unknown) => e);
    const persisted = await store.put('acme/tile/0/000', bytes, binary).catch((e: unknown) => e);
    // Assess
    expect(failed).toBeInstanceOf(ObjectStoreUnavailableError);
    expect(persisted).toBeInstanceOf(ObjectStoreUnavailableError);
    expect(store.keys()).toEqual(['acme/other', 'acme/tile/0/000']);
    expect(store.putLog.map((p) => p.key)).toEqual(['acme/other', 'acme/tile/0/000']);
  });

  it('refuses a key put both mutable and immutable with RangeError', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    await store.put('acme/tile/0/000', bytes, binary);
    // Act
    const result = store.put('acme/tile/0/000', bytes, { ...binary, immutable: false });
    // Assess
    await expect(result).rejects.toBeInstanceOf(RangeError);
  });
});
