import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

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
  /** Destroys the client, closes the server and removes the directory; safe to call twice. */
  stop(): Promise<void>;
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
    return { endpoint, client, bucket, conditionalPuts, stop };
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
