import { ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteS3Prefix } from '../../lambdas/adapters/aws/s3-prefix-cleaner.js';
import { startS3rver, type S3rverHandle } from '../support/s3rver.js';

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.stop();
});

const put = (key: string) => s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: key }));
async function keys(prefix: string): Promise<string[]> {
  return ((await s3.client.send(new ListObjectsCommand({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!).sort();
}

describe('deleteS3Prefix on s3rver', () => {
  it('deletes every object under the prefix, page after page, and nothing beside it', async () => {
    // Prepare: a drill's copied events, and another run's beside them
    const mine = Array.from({ length: 7 }, (_, i) => `drills/drill-a/events/acme/${String(i).padStart(16, '0')}-${String(i).padStart(16, '0')}.jsonl`);
    for (const key of [...mine, 'drills/drill-b/events/acme/x.jsonl', 'drills/drill-a-other/y.jsonl']) await put(key);
    // Act
    const deleted = await deleteS3Prefix(s3.client, s3.bucket, 'drills/drill-a/', { pageSize: 3 });
    // Assess
    expect(deleted).toBe(7);
    expect(await keys('drills/')).toEqual(['drills/drill-a-other/y.jsonl', 'drills/drill-b/events/acme/x.jsonl']);
  });

  it('is done at once when nothing is there (a teardown after a replay that never started)', async () => {
    // Act
    const deleted = await deleteS3Prefix(s3.client, s3.bucket, 'drills/never/');
    // Assess
    expect(deleted).toBe(0);
  });

  it.each(['', 'drills', 'drills/../x/'])('refuses to empty %j (a whole bucket, or no folder)', async (prefix) => {
    // Act
    const emptying = deleteS3Prefix(s3.client, s3.bucket, prefix);
    // Assess
    await expect(emptying).rejects.toBeInstanceOf(RangeError);
  });
});
