import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteItemCommand, PutItemCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { createLedgerTable, DynamoLedgerStore } from '../../lambdas/adapters/aws/dynamo-ledger-store.js';
import { S3ObjectStore } from '../../lambdas/adapters/aws/s3-object-store.js';
import { MemoryKeyStore } from '../../lambdas/adapters/fake/memory-key-store.js';
import { FileReportSink } from '../../lambdas/adapters/local/file-report-sink.js';
import { CompactRange } from '../../lambdas/core/compact-range.js';
import { toHex } from '../../lambdas/core/bytes.js';
import { chainEntries, type EntryDraft, type RecoveryDetails } from '../../lambdas/core/ledger-entry.js';
import type { MasterKey } from '../../lambdas/ports/master-key.js';
import { KeyService } from '../../lambdas/services/key-service.js';
import { LedgerService } from '../../lambdas/services/ledger-service.js';
import { LogPublisher } from '../../lambdas/services/log-publisher.js';
import { LogReader } from '../../lambdas/services/log-reader.js';
import { RecoveryService } from '../../lambdas/services/recovery.js';
import type { VerificationDeps } from '../../lambdas/services/verification/run-verification.js';
import { ReferenceTree } from '../core/reference-merkle.js';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.js';
import { appendRequest, entriesOf, useMasterKey } from '../support/ledger-appends.js';
import { TestSigners } from '../support/ledger-log.js';
import { startS3rver, type S3rverHandle } from '../support/s3rver.js';

/** Every item of `tenant`'s partition of a ledger table, as the engine stores it. */
export async function tenantItems(client: DynamoDBClient, table: string, tenant: string): Promise<Array<Record<string, AttributeValue>>> {
  const items: Array<Record<string, AttributeValue>> = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []).filter((i) => i.pk?.S === `TENANT#${tenant}`));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/**
 * A point-in-time restore of one tenant's partition, done through the
 * engine: every item written since `snapshot` was taken is deleted and every
 * item of the snapshot is put back as it was (batches, heads, idempotency
 * records), which is what DynamoDB PITR leaves for that partition.
 */
export async function restoreTenant(client: DynamoDBClient, table: string, tenant: string, snapshot: ReadonlyArray<Record<string, AttributeValue>>): Promise<void> {
  const keyOf = (item: Record<string, AttributeValue>): string => `${item.pk!.S}|${item.sk!.S}`;
  const kept = new Set(snapshot.map(keyOf));
  for (const item of await tenantItems(client, table, tenant)) {
    if (!kept.has(keyOf(item))) await client.send(new DeleteItemCommand({ TableName: table, Key: { pk: item.pk!, sk: item.sk! } }));
  }
  for (const item of snapshot) await client.send(new PutItemCommand({ TableName: table, Item: item }));
}

/**
 * A dynalite, an s3rver, a master key and a reports directory for one test
 * file (its beforeAll/afterAll); the returned function makes a fresh
 * `recoveryWorld` on them, each on its own table and bucket prefix.
 */
export function useRecoveryWorlds(): (tenant?: string) => ReturnType<typeof recoveryWorld> {
  const master = useMasterKey();
  let db: DynaliteHandle;
  let s3: S3rverHandle;
  let dir: string;
  let worlds = 0;
  beforeAll(async () => {
    [db, s3, dir] = await Promise.all([startDynalite(), startS3rver(), mkdtemp(join(tmpdir(), 'govledger-recovery-'))]);
  });
  afterAll(async () => {
    await Promise.all([db?.stop(), s3?.stop(), dir && rm(dir, { recursive: true, force: true })]);
  });
  return (tenant = 'acme') => recoveryWorld(db, s3, dir, `w${++worlds}`, master(), tenant);
}

export const RECOVERY_PREFIX = 'recovery.example';
const signers = new TestSigners();

/**
 * A tenant's ledger on its own dynalite table and its published log under
 * its own prefix of the s3rver bucket, with every service a recovery
 * touches: ledger, publisher, reader, recovery, and verification deps
 * (without downstream copies). `append(n, per)` appends n records in requests
 * of `per`; `snapshot`/`restore` take and restore the tenant's partition.
 */
export async function recoveryWorld(db: DynaliteHandle, s3: S3rverHandle, reportsDir: string, name: string, master: MasterKey, tenant = 'acme') {
  const table = `ledger-${name}`;
  await createLedgerTable(db.client, table);
  const store = new DynamoLedgerStore({ client: DynamoDBDocumentClient.from(db.client), tableName: table });
  const objects = new S3ObjectStore({ client: s3.client, bucket: s3.bucket, keyPrefix: `${name}/`, conditionalPuts: s3.conditionalPuts ? 'native' : 'read-first' });
  const ledger = new LedgerService(store, new KeyService(new MemoryKeyStore(), master));
  const verifierFor = (origin: string) => signers.verifierFor(origin);
  const publisher = new LogPublisher(store, objects, signers, { logPrefix: RECOVERY_PREFIX });
  const reports = new FileReportSink(join(reportsDir, name));
  const recovery = new RecoveryService({
    ledger: store, log: new LogReader(store, objects), reports, appendRecovery: (t, d, a) => ledger.appendRecovery(t, d, a), verifierFor, logPrefix: RECOVERY_PREFIX,
  });
  const deps: VerificationDeps = { ledger: store, objects, reports, logPrefix: RECOVERY_PREFIX, copies: [], verifierFor, appendSystem: (t, s, a) => ledger.appendSystem(t, s, a) };
  let requests = 0;
  const append = async (count: number, per = 1): Promise<void> => {
    for (let done = 0; done < count; done += per) {
      const records = Array.from({ length: Math.min(per, count - done) }, (_, i) => ({ stream: 'decisions', recordId: `d-${(done + i) % 7}`, payload: { n: done + i } }));
      await ledger.append(appendRequest(`${name}-${++requests}`, records, tenant));
    }
  };
  const size = async (): Promise<number> => {
    const tail = await store.readTail(tenant);
    return tail === undefined ? 0 : tail.firstPosition + tail.entries.length;
  };
  return {
    tenant, table, store, objects, ledger, publisher, recovery, deps, reports, append, size,
    origin: `${RECOVERY_PREFIX}/${tenant}`,
    verifier: verifierFor(`${RECOVERY_PREFIX}/${tenant}`),
    note: async (): Promise<string> => new TextDecoder().decode(await objects.get(`${tenant}/checkpoint`)),
    snapshot: () => tenantItems(db.client, table, tenant),
    restore: (snapshot: ReadonlyArray<Record<string, AttributeValue>>) => restoreTenant(db.client, table, tenant, snapshot),
    /** Lowercase hex RFC 9162 root of the stored entries [0, n), recomputed from their bytes. */
    rootOf: async (n: number): Promise<string> => toHex(new ReferenceTree((await entriesOf(store, tenant)).slice(0, n)).root(n)),
    /** What a genuine recovery of a restore to `first` records (to forge variations of it). */
    genuineDetails: async (first: number, previousCheckpoint: string, oldSize: number): Promise<RecoveryDetails> => ({
      generation: 1, discarded: { first, count: oldSize - first }, previousCheckpoint, retainedRoot: toHex(new ReferenceTree((await entriesOf(store, tenant)).slice(0, first)).root(first)),
      consistencyProof: [...(await new LogReader(store, objects).consistency(tenant, first, oldSize)).proof], reason: 'forged', actor: 'user:mallory',
    }),
    /** A writer that missed the recovery: one SYSTEM entry chained onto the tail with generation `generation`. */
    appendStale: async (generation: number): Promise<number> => {
      const tail = (await store.readTail(tenant))!;
      const first = tail.firstPosition + tail.entries.length;
      const draft: EntryDraft = {
        stream: 'system', recordId: `stale-${first}`, revision: 1, operation: 'SYSTEM', actor: 'system:stale', correlationId: 'stale', idempotencyKey: `stale-${first}`,
        signatures: [], payload: { system: { kind: 'stale', details: {} } },
      };
      const { entries, tip } = chainEntries({ tenant, size: first, leafHash: tail.lastLeafHash, timestamp: tail.lastTimestamp, generation }, [draft], BigInt(Date.now()) * 1_000_000n);
      const range = CompactRange.from(0, first, tail.range);
      range.append(entries[0]!.leafHash);
      await store.appendBatch({ tenant, firstPosition: first, entries: [entries[0]!.bytes], range: range.hashes, lastLeafHash: tip.leafHash, lastTimestamp: tip.timestamp!, generation, heads: [], idempotency: [] });
      return first;
    },
  };
}
