import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { bytesEqual } from '../../core/bytes.js';
import {
  checkObjectKey,
  ObjectImmutableError,
  ObjectStoreUnavailableError,
  type ObjectStore,
  type PutOptions,
} from '../../ports/object-store.js';
import { errorName, isTransient } from './aws-errors.js';

/**
 * How write-once puts are enforced:
 * - `native` (AWS): `PutObject` with `If-None-Match: *`, which S3 answers with
 *   412 when the key exists (S3 conditional writes), atomically.
 * - `read-first` (embedded engines only): s3rver 3.7.1 ignores `If-None-Match`
 *   and overwrites, so the adapter reads the key first and puts only when it is
 *   absent. Not atomic: two writers racing on one key could both put. The local
 *   runtime is one process whose `PublishScheduler` runs one publish per tenant
 *   at a time, and concurrent publishes of one log write identical bytes
 *   anyway; never choose it on AWS. The header is still sent, so an engine that
 *   honours it keeps the atomic guarantee.
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

  constructor(options: S3ObjectStoreOptions) {
    const prefix = options.keyPrefix ?? '';
    if (prefix !== '') checkObjectKey(`${prefix}x`);
    if (prefix !== '' && !prefix.endsWith('/')) throw new RangeError(`key prefix ${JSON.stringify(prefix)} must end in '/'`);
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = prefix;
    this.#mode = options.conditionalPuts ?? 'native';
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions): Promise<void> {
    checkObjectKey(key);
    if (options.immutable && this.#mode === 'read-first') {
      const existing = await this.get(key);
      if (existing !== undefined) return same(key, existing, bytes);
    }
    const input: PutObjectCommandInput = {
      Bucket: this.#bucket,
      Key: this.#prefix + key,
      Body: bytes,
      ContentType: options.contentType,
      ChecksumSHA256: createHash('sha256').update(bytes).digest('base64'),
      ...(options.immutable ? { IfNoneMatch: '*' } : {}),
    };
    try {
      await this.#client.send(new PutObjectCommand(input));
    } catch (error) {
      if (!options.immutable || !isConditionFailed(error)) throw translate(error, 'PutObject', key);
      const existing = await this.get(key);
      if (existing === undefined) {
        throw new ObjectStoreUnavailableError(`S3 PutObject of ${key}: a concurrent write is in flight`, { cause: error });
      }
      same(key, existing, bytes, error);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkObjectKey(key);
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }));
      return out.Body === undefined ? new Uint8Array() : await out.Body.transformToByteArray();
    } catch (error) {
      if (errorName(error) === 'NoSuchKey') return undefined;
      throw translate(error, 'GetObject', key);
    }
  }
}

/** Returns when an immutable object's stored bytes equal the put's, else ObjectImmutableError. */
function same(key: string, existing: Uint8Array, bytes: Uint8Array, cause?: unknown): void {
  if (!bytesEqual(existing, bytes)) throw new ObjectImmutableError(key, cause === undefined ? undefined : { cause });
}

/** 412 PreconditionFailed (the key exists) or 409 ConditionalRequestConflict (a racing conditional write). */
function isConditionFailed(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const name = errorName(error);
  return status === 412 || status === 409 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
}

/** A transient SDK error becomes `ObjectStoreUnavailableError`; anything else is returned unchanged. */
function translate(error: unknown, operation: string, key: string): unknown {
  if (!isTransient(error) && errorName(error) !== 'SlowDown') return error;
  return new ObjectStoreUnavailableError(`S3 ${operation} of ${key} failed: ${(error as Error).message}`, { cause: error });
}
