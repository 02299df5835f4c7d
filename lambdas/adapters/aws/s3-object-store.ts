import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsCommand, PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { bytesEqual } from '../../core/bytes.js';
import {
  checkObjectKey,
  checkObjectPrefix,
  ObjectImmutableError,
  ObjectStoreUnavailableError,
  type ObjectStore,
  type PutOptions,
  type VersionedObject,
} from '../../ports/object-store.js';
import { errorName, isTransient } from './aws-errors.js';

/**
 * How write-once puts and compare-and-swap (`putIfMatch`) are enforced:
 * - `native` (AWS): `PutObject` with `If-None-Match: *`, which S3 answers with
 *   412 when the key exists (S3 conditional writes), atomically.
 * - `read-first` (embedded engines only): s3rver 3.7.1 ignores `If-None-Match`
 *   and `If-Match` and overwrites, so the adapter reads the key first and puts
 *   only when it is absent (write-once) or still has the ETag named
 *   (`putIfMatch`). s3rver also writes a file in place, so a read during a
 *   write can see it torn. Hence every operation on a key (get, put, swap)
 *   runs alone in this process, from its read to the end of its put: atomic
 *   between the writers of one process, which is all the embedded engine
 *   serves (its data directory is locked to one process). Writers in other
 *   processes are not excluded: never choose it on AWS. The headers are still
 *   sent, so an engine that honours them keeps the atomic guarantee.
 */
export type ConditionalPuts = 'native' | 'read-first';

export interface S3ObjectStoreOptions {
  /** The caller's client; its `maxAttempts` bounds the SDK's own retries (the port's "bounded"). */
  readonly client: S3Client;
  readonly bucket: string;
  /** Prepended to every key: '' (default) or a prefix ending in '/', e.g. 'log/'. */
  readonly keyPrefix?: string;
  /** Default `native`; see {@link ConditionalPuts}. */
  readonly conditionalPuts?: ConditionalPuts;
  /** `MaxKeys` of each `ListObjectsV2` page: 1..1000 (S3's maximum and the default). */
  readonly listPageSize?: number;
}

/**
 * `ObjectStore` on an S3 bucket (versioned, Object Lock in compliance mode on
 * AWS; s3rver locally, which ignores Object Lock).
 *
 * - Every put carries `ChecksumSHA256` of the bytes: S3 rejects a corrupted
 *   upload, and Object Lock buckets require a checksum (or Content-MD5) on each
 *   put whatever the client's checksum settings.
 * - An immutable put adds `IfNoneMatch: '*'`. On 412 (the key exists) or 409
 *   (a concurrent conditional write to the key) it reads the object: identical
 *   bytes are success (a re-run after a crash), other bytes
 *   `ObjectImmutableError`, still absent (the other write is in flight)
 *   `ObjectStoreUnavailableError`, so the caller retries.
 * - A mutable put overwrites: on a versioned bucket the old version stays,
 *   retained by Object Lock, an audit trail of every checkpoint.
 * - `putIfMatch` is `PutObject` with `If-Match: <etag>`, or `If-None-Match: *`
 *   for a key expected absent (S3 conditional writes; the role needs
 *   `s3:GetObject` besides `s3:PutObject`). A 412 (another ETag), a 404 (the
 *   key is gone) or a 409 `ConditionalRequestConflict` (a racing conditional
 *   write) means the swap was lost: it resolves with undefined and the caller
 *   re-reads. `getVersioned` is `GetObject`, keeping the `ETag`.
 * - `list` pages through `ListObjects` with `Prefix` and `Marker` = the last
 *   key of the previous page (S3's documented way when there is no
 *   delimiter), stripping the adapter's key prefix; the role needs
 *   `s3:ListBucket`. Not `ListObjectsV2`: s3rver 3.7.1 answers a truncated V2
 *   listing with a 500, as its continuation tokens use DES, which Node's
 *   OpenSSL 3 refuses. s3rver lists in directory-walk order, which is byte
 *   order except across sibling names that prefix one another (`a/b` and
 *   `a-b/`, or `a/b` and `a/b/c`): keep listed prefixes to one flat level.
 * - `get` maps `NoSuchKey` to undefined. The role needs `s3:ListBucket`, else
 *   S3 answers a missing key with 403, which passes through as a deployment bug.
 * - Throttling (`SlowDown`), 5xx and network errors left after the client's
 *   retries become `ObjectStoreUnavailableError` (cause kept); others pass through.
 *
 * @example
 * ```ts
 * const objects = new S3ObjectStore({ client: new S3Client({}), bucket: process.env.LOG_BUCKET!, keyPrefix: 'log/' });
 * await objects.put('acme/tile/0/000', tile, { contentType: 'application/octet-stream', immutable: true });
 * ```
 */
export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #mode: ConditionalPuts;
  readonly #pageSize: number;

  constructor(options: S3ObjectStoreOptions) {
    const prefix = options.keyPrefix ?? '';
    if (prefix !== '') checkObjectKey(`${prefix}x`);
    if (prefix !== '' && !prefix.endsWith('/')) throw new RangeError(`key prefix ${JSON.stringify(prefix)} must end in '/'`);
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = prefix;
    this.#mode = options.conditionalPuts ?? 'native';
    this.#pageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1 || this.#pageSize > 1000) {
      throw new RangeError(`listPageSize is 1..1000, got ${this.#pageSize}`);
    }
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions): Promise<void> {
    checkObjectKey(key);
    return this.#serial(key, () => this.#put(key, bytes, options));
  }

  async #put(key: string, bytes: Uint8Array, options: PutOptions): Promise<void> {
    if (options.immutable && this.#mode === 'read-first') {
      const existing = (await this.#read(key))?.bytes;
      if (existing !== undefined) return same(key, existing, bytes);
    }
    const input: PutObjectCommandInput = { ...this.#putInput(key, bytes, options.contentType), ...(options.immutable ? { IfNoneMatch: '*' } : {}) };
    try {
      await this.#client.send(new PutObjectCommand(input));
    } catch (error) {
      if (!options.immutable || !isConditionFailed(error)) throw translate(error, 'PutObject', key);
      const existing = (await this.#read(key))?.bytes;
      if (existing === undefined) {
        throw new ObjectStoreUnavailableError(`S3 PutObject of ${key}: a concurrent write is in flight`, { cause: error });
      }
      same(key, existing, bytes, error);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.getVersioned(key))?.bytes;
  }

  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    checkObjectKey(key);
    return this.#serial(key, () => this.#read(key));
  }

  async #read(key: string): Promise<VersionedObject | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }));
      return { bytes: out.Body === undefined ? new Uint8Array() : await out.Body.transformToByteArray(), etag: out.ETag ?? '' };
    } catch (error) {
      if (errorName(error) === 'NoSuchKey') return undefined;
      throw translate(error, 'GetObject', key);
    }
  }

  async putIfMatch(key: string, bytes: Uint8Array, options: Pick<PutOptions, 'contentType'>, etag: string | undefined): Promise<string | undefined> {
    checkObjectKey(key);
    if (this.#mode === 'native') return this.#swap(key, bytes, options.contentType, etag);
    return this.#serial(key, async () => ((await this.#read(key))?.etag === etag ? this.#swap(key, bytes, options.contentType, etag) : undefined));
  }

  /** In read-first mode, one operation on a key at a time in this process (see {@link ConditionalPuts}); else at once. */
  #serial<T>(key: string, operation: () => Promise<T>): Promise<T> {
    return this.#mode === 'read-first' ? exclusive(`${this.#bucket}/${this.#prefix}${key}`, operation) : operation();
  }

  /** The conditional PutObject: the new ETag, or undefined when the condition failed. */
  async #swap(key: string, bytes: Uint8Array, contentType: string, etag: string | undefined): Promise<string | undefined> {
    const condition = etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag };
    try {
      const out = await this.#client.send(new PutObjectCommand({ ...this.#putInput(key, bytes, contentType), ...condition }));
      return out.ETag ?? (await this.#read(key))?.etag;
    } catch (error) {
      if (isConditionFailed(error) || errorName(error) === 'NoSuchKey' || statusOf(error) === 404) return undefined;
      throw translate(error, 'PutObject', key);
    }
  }

  /** Every put carries the SHA-256 of its bytes (see the class doc). */
  #putInput(key: string, bytes: Uint8Array, contentType: string): PutObjectCommandInput {
    return { Bucket: this.#bucket, Key: this.#prefix + key, Body: bytes, ContentType: contentType, ChecksumSHA256: createHash('sha256').update(bytes).digest('base64') };
  }

  async *list(prefix: string, startAfter?: string): AsyncGenerator<string> {
    checkObjectPrefix(prefix);
    const base = { Bucket: this.#bucket, Prefix: this.#prefix + prefix, MaxKeys: this.#pageSize };
    let after = startAfter === undefined ? undefined : this.#prefix + startAfter;
    for (;;) {
      const input = after === undefined ? base : { ...base, Marker: after };
      const out = await this.#client.send(new ListObjectsCommand(input)).catch((error: unknown) => {
        throw translate(error, 'ListObjects', prefix);
      });
      const keys = (out.Contents ?? []).flatMap(({ Key }) => (Key === undefined ? [] : [Key]));
      for (const key of keys) yield key.slice(this.#prefix.length);
      if (!out.IsTruncated || keys.length === 0) return;
      after = keys[keys.length - 1];
    }
  }
}

/** Returns when an immutable object's stored bytes equal the put's, else ObjectImmutableError. */
function same(key: string, existing: Uint8Array, bytes: Uint8Array, cause?: unknown): void {
  if (!bytesEqual(existing, bytes)) throw new ObjectImmutableError(key, cause === undefined ? undefined : { cause });
}

const statusOf = (error: unknown): number | undefined => (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;

/** 412 PreconditionFailed (the key exists) or 409 ConditionalRequestConflict (a racing conditional write). */
function isConditionFailed(error: unknown): boolean {
  const status = statusOf(error);
  const name = errorName(error);
  return status === 412 || status === 409 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
}

/** A transient SDK error becomes `ObjectStoreUnavailableError`; anything else is returned unchanged. */
function translate(error: unknown, operation: string, key: string): unknown {
  if (!isTransient(error) && errorName(error) !== 'SlowDown') return error;
  return new ObjectStoreUnavailableError(`S3 ${operation} of ${key} failed: ${(error as Error).message}`, { cause: error });
}

/** Per process, the tail of each key's queue of `exclusive` sections (read-first `putIfMatch`). */
const sections = new Map<string, Promise<void>>();

/** Runs `section` once every earlier section on `name` in this process has ended. */
async function exclusive<T>(name: string, section: () => Promise<T>): Promise<T> {
  const before = sections.get(name) ?? Promise.resolve();
  let done!: () => void;
  const ended = new Promise<void>((resolve) => (done = resolve));
  const mine = before.then(() => ended);
  sections.set(name, mine);
  await before;
  try {
    return await section();
  } finally {
    done();
    if (sections.get(name) === mine) sections.delete(name);
  }
}
