import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lambdas/adapters/aws/s3-object-store.js';
import { S3ReportSink } from '../../lambdas/adapters/aws/s3-report-sink.js';
import { ObjectImmutableError, ObjectStoreUnavailableError, type ObjectStore } from '../../lambdas/ports/object-store.js';
import { useS3rver } from '../support/s3rver.js';

const { s3: engine, freshPrefix } = useS3rver();

/** A sink on a fresh key prefix of the shared s3rver bucket, write-once as the engine allows, and the prefix. */
function sink(): { reports: S3ReportSink; objects: S3ObjectStore; prefix: string } {
  const s3 = engine();
  const prefix = freshPrefix();
  const objects = s3.objects(prefix);
  return { reports: new S3ReportSink({ objects, uri: (key) => `s3://${s3.bucket}/${prefix}${key}` }), objects, prefix };
}

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));
const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value)}\n`);

async function rawObject(key: string): Promise<{ body: string; contentType: string | undefined }> {
  const out = await engine().client.send(new GetObjectCommand({ Bucket: engine().bucket, Key: key }));
  return { body: await out.Body!.transformToString(), contentType: out.ContentType };
}

describe('S3ReportSink on s3rver', () => {
  describe('writeReport', () => {
    it('stores <tenant>/<runId>.json and .txt and answers the JSON\'s S3 URI', async () => {
      // Prepare
      const { reports, prefix } = sink();
      // Act
      const location = await reports.writeReport('acme', '20260105T020000000Z-ab12cd34', json({ ok: true }), 'acme: OK\n');
      // Assess
      expect(location).toBe(`s3://${engine().bucket}/${prefix}acme/20260105T020000000Z-ab12cd34.json`);
      expect(await rawObject(`${prefix}acme/20260105T020000000Z-ab12cd34.json`)).toEqual({ body: '{"ok":true}\n', contentType: 'application/json' });
      expect(await rawObject(`${prefix}acme/20260105T020000000Z-ab12cd34.txt`)).toEqual({ body: 'acme: OK\n', contentType: 'text/plain; charset=utf-8' });
    });

    it('accepts the same report again (a retried task) but never overwrites a run\'s report with other bytes', async () => {
      // Prepare
      const { reports, objects } = sink();
      await reports.writeReport('acme', 'run-1', json({ findings: 0 }), 'acme: OK\n');
      // Act
      const again = reports.writeReport('acme', 'run-1', json({ findings: 0 }), 'acme: OK\n');
      const forged = reports.writeReport('acme', 'run-1', json({ findings: 3 }), 'acme: OK\n');
      // Assess
      await expect(again).resolves.toMatch(/acme\/run-1\.json$/);
      await expect(forged).rejects.toBeInstanceOf(ObjectImmutableError);
      expect(text(await objects.get('acme/run-1.json'))).toBe('{"findings":0}\n');
    });

    it.each([['../acme', 'run-1'], ['acme', '../run'], ['acme', 'a/b'], ['acme', 'last-run'], ['acme', '']])('refuses tenant %j / run id %j before touching the bucket', async (tenant, runId) => {
      // Prepare
      const { reports, objects } = sink();
      // Act
      const write = reports.writeReport(tenant, runId, json({}), '');
      // Assess
      await expect(write).rejects.toBeInstanceOf(RangeError);
      const keys: string[] = [];
      for await (const key of objects.list('')) keys.push(key);
      expect(keys).toEqual([]);
    });
  });

  describe('lastRun and setLastRun', () => {
    it('has no pointer before the first verified run, then the one set, as <tenant>/last-run.json', async () => {
      // Prepare
      const { reports, prefix } = sink();
      // Act
      const before = await reports.lastRun('acme');
      await reports.setLastRun('acme', { runId: 'run-1', position: 41 });
      // Assess
      expect(before).toBeUndefined();
      expect(await reports.lastRun('acme')).toEqual({ runId: 'run-1', position: 41 });
      expect(await reports.lastRun('other')).toBeUndefined();
      expect((await rawObject(`${prefix}acme/last-run.json`)).body).toBe('{"runId":"run-1","position":41}\n');
    });

    it('only moves the pointer forward: a slower, older run finishing late does not move it back', async () => {
      // Prepare
      const { reports } = sink();
      await reports.setLastRun('acme', { runId: 'run-2', position: 90 });
      // Act
      await reports.setLastRun('acme', { runId: 'run-1', position: 41 });
      const afterOld = await reports.lastRun('acme');
      await reports.setLastRun('acme', { runId: 'run-3', position: 120 });
      // Assess
      expect(afterOld).toEqual({ runId: 'run-2', position: 90 });
      expect(await reports.lastRun('acme')).toEqual({ runId: 'run-3', position: 120 });
    });

    it('ends at the newest pointer when runs record theirs concurrently', async () => {
      // Prepare
      const { reports } = sink();
      const positions = [7, 3, 12, 5, 9, 1, 11];
      // Act
      await Promise.all(positions.map((position) => reports.setLastRun('acme', { runId: `run-${position}`, position })));
      // Assess
      expect(await reports.lastRun('acme')).toEqual({ runId: 'run-12', position: 12 });
    });

    it('treats an unreadable pointer as none and replaces it', async () => {
      // Prepare
      const { reports, prefix } = sink();
      await engine().client.send(new PutObjectCommand({ Bucket: engine().bucket, Key: `${prefix}acme/last-run.json`, Body: 'not json' }));
      // Act
      const before = await reports.lastRun('acme');
      await reports.setLastRun('acme', { runId: 'run-1', position: 2 });
      // Assess
      expect(before).toBeUndefined();
      expect(await reports.lastRun('acme')).toEqual({ runId: 'run-1', position: 2 });
    });

    it('gives up with an error when other writers keep winning the swap', async () => {
      // Prepare: another writer swaps in an older pointer right after each read, so every swap of ours loses
      const { objects } = sink();
      let rewrites = 0;
      const racing: ObjectStore = {
        put: (...args) => objects.put(...args),
        get: (key) => objects.get(key),
        list: (prefix, after) => objects.list(prefix, after),
        putIfMatch: (...args) => objects.putIfMatch(...args),
        getVersioned: async (key) => {
          const read = await objects.getVersioned(key);
          await objects.putIfMatch(key, json({ runId: 'other', position: rewrites++ % 2 }), { contentType: 'application/json' }, read?.etag);
          return read;
        },
      };
      const reports = new S3ReportSink({ objects: racing, uri: (key) => key, maxSwaps: 3 });
      // Act
      const set = reports.setLastRun('acme', { runId: 'run-1', position: 2 });
      // Assess
      await expect(set).rejects.toThrow(/kept changing: gave up after 3 compare-and-swap rounds/);
      await expect(set).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
      expect(rewrites).toBe(3);
    });
  });
});
