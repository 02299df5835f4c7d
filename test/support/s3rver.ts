import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll } from 'vitest';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../lambdas/adapters/aws/s3-object-store.js';

/** A running s3rver on a temporary directory and an SDK client pointed at it. */
export interface S3rverHandle {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /**
   * Region `local`, dummy credentials, path-style URLs, checksums only when
   * required (s3rver rejects the SDK's default trailing checksums) and
   * `maxAttempts: 1` so faults surface at once.
   */
  readonly client: S3Client;
  /** A bucket created at start, empty. */
  readonly bucket: string;
  /**
   * Whether the engine honours `PutObject` with `If-None-Match: *` (a 412 when
   * the key exists). s3rver 3.7.1 ignores the header and overwrites, so this is
   * false there: adapters must be told (see `S3ObjectStore`'s `conditionalPuts`).
   */
  readonly conditionalPuts: boolean;
  /** An `S3ObjectStore` on the bucket under `keyPrefix`, write-once as the engine allows. */
  objects(keyPrefix: string, options?: Pick<S3ObjectStoreOptions, 'listPageSize'>): S3ObjectStore;
  /** Destroys the client, closes the server and removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * One s3rver for a test file: started before its first test, stopped after
 * its last; `s3()` is the handle (inside tests and hooks), `freshPrefix()` a
 * key prefix no other test of the file uses.
 *
 * @example
 * ```ts
 * const { s3, freshPrefix } = useS3rver();
 * it('…', async () => { const objects = s3().objects(freshPrefix()); … });
 * ```
 */
export function useS3rver(bucket?: string): { s3: () => S3rverHandle; freshPrefix: () => string } {
  let handle: S3rverHandle | undefined;
  let prefixes = 0;
  beforeAll(async () => {
    handle = await startS3rver(bucket);
  });
  afterAll(async () => {
    await handle?.stop();
  });
  return {
    s3: () => {
      if (handle === undefined) throw new Error('s3rver is started in beforeAll: use it inside a test or a hook');
      return handle;
    },
    freshPrefix: () => `p${++prefixes}/`,
  };
}

/**
 * Starts s3rver on 127.0.0.1 with an ephemeral port and a fresh temporary
 * directory, creates `bucket` and probes whether conditional puts work.
 * Generic on purpose: any S3 adapter's tests can share it.
 *
 * @example
 * ```ts
 * let s3: S3rverHandle;
 * beforeAll(async () => { s3 = await startS3rver(); });
 * afterAll(() => s3.stop());
 * ```
 */
export async function startS3rver(bucket = 'govledger-test'): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), 'govledger-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      client.destroy();
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const conditionalPuts = await probeConditionalPuts(client, bucket);
    const objects = (keyPrefix: string, options: Pick<S3ObjectStoreOptions, 'listPageSize'> = {}) =>
      new S3ObjectStore({ client, bucket, keyPrefix, conditionalPuts: conditionalPuts ? 'native' : 'read-first', ...options });
    return { endpoint, client, bucket, conditionalPuts, objects, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Puts a probe key twice with `If-None-Match: *`: a 412 on the second means the engine enforces it. */
async function probeConditionalPuts(client: S3Client, bucket: string): Promise<boolean> {
  const Key = '.probe/if-none-match';
  const put = () => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: new Uint8Array([1]), IfNoneMatch: '*' }));
  try {
    await put();
    await put();
    return false;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return true;
    throw error;
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
  }
}
