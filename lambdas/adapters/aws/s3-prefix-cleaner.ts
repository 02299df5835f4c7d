/**
 * Empties a key prefix of a bucket: the drill's teardown removes the events
 * its replay copied to the scratch bucket (`drills/<run>/…`). The scratch
 * bucket expires everything after a few days anyway; this makes teardown
 * leave nothing behind at once. `ListObjects` pages (not V2: see
 * `S3ObjectStore` on s3rver) feed `DeleteObjects` batches of up to 1,000
 * keys; any key S3 could not delete fails the call (the role needs
 * `s3:ListBucket` and `s3:DeleteObject` on the prefix).
 */
import { DeleteObjectsCommand, ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { checkObjectPrefix } from '../../ports/object-store.js';

/**
 * Deletes every object under `prefix` (a non-empty prefix ending in `/`),
 * listing `pageSize` keys at a time (default S3's 1,000); resolves with how many there were.
 *
 * @example
 * await deleteS3Prefix(s3, 'govledger-dev-scratch-…', 'drills/drill-20260105t020000000z/');
 */
export async function deleteS3Prefix(client: S3Client, bucket: string, prefix: string, options: { pageSize?: number } = {}): Promise<number> {
  checkObjectPrefix(prefix);
  if (prefix === '' || !prefix.endsWith('/')) throw new RangeError(`refusing to empty ${JSON.stringify(prefix)}: name a prefix ending in "/"`);
  let deleted = 0;
  let marker: string | undefined;
  for (;;) {
    const page = await client.send(new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, ...(options.pageSize ? { MaxKeys: options.pageSize } : {}), ...(marker ? { Marker: marker } : {}) }));
    const keys = (page.Contents ?? []).map((o) => o.Key!).filter((k) => k.startsWith(prefix));
    if (keys.length > 0) {
      const out = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
      const failed = out.Errors ?? [];
      if (failed.length > 0) throw new Error(`could not delete ${failed.length} of ${keys.length} objects under ${prefix}: ${failed[0]!.Key}: ${failed[0]!.Code ?? ''} ${failed[0]!.Message ?? ''}`.trim());
      deleted += keys.length;
    }
    if (!page.IsTruncated || keys.length === 0) return deleted;
    marker = keys[keys.length - 1];
  }
}
