import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { FileMasterKey } from '../../lambdas/adapters/local/file-master-key.js';
import { originFor, signCheckpoint } from '../../lambdas/core/checkpoint.js';
import { CompactRange } from '../../lambdas/core/compact-range.js';
import { decodeEntry } from '../../lambdas/core/ledger-entry.js';
import { verifyLog } from '../../lambdas/core/log-verifier.js';
import { Ed25519NoteSigner, Ed25519NoteVerifier, generateSignerKeys } from '../../lambdas/core/signed-note.js';
import type { LedgerStore } from '../../lambdas/ports/ledger-store.js';
import type { MasterKey } from '../../lambdas/ports/master-key.js';
import { requestHash, type AppendedRecord, type AppendRequest, type LedgerService, type RecordInput } from '../../lambdas/services/ledger-service.js';

/**
 * Helpers for tests that append through `LedgerService` and then check what
 * the store holds: requests as the handler builds them, the stored entries,
 * and a full verification of the stored log against a fresh checkpoint.
 *
 * @example
 * ```ts
 * await ledger.append(appendRequest('k1', [{ stream: 's', payload: 1 }]));
 * expect((await verifyStored(store, 'acme')).ok).toBe(true);
 * ```
 */
export function appendRequest(key: string, records: RecordInput[], tenant = 'acme'): AppendRequest {
  return { tenant, idempotencyKey: key, requestHash: requestHash(JSON.stringify(records)), actor: 'user:alice', correlationId: `corr-${key}`, records };
}

/** Every stored entry's canonical bytes, in position order. */
export async function entriesOf(store: LedgerStore, tenant = 'acme'): Promise<Uint8Array[]> {
  const all: Uint8Array[] = [];
  for await (const batch of store.readBatches(tenant, 0)) all.push(...batch.entries);
  return all;
}

/** Signs a checkpoint over the stored log, checks the tail's compact range, and verifies the log against it. */
export async function verifyStored(store: LedgerStore, tenant = 'acme') {
  const entries = await entriesOf(store, tenant);
  const range = CompactRange.empty();
  for (const bytes of entries) range.append(decodeEntry(bytes).leafHash);
  const origin = originFor('govledger.test', tenant);
  const keys = generateSignerKeys(origin);
  const checkpoint = await signCheckpoint({ origin, size: entries.length, rootHash: range.root() }, Ed25519NoteSigner.fromSignerKey(keys.signerKey));
  const tail = await store.readTail(tenant);
  expect(tail?.range.map((h) => Buffer.from(h).toString('hex'))).toEqual(range.hashes.map((h) => Buffer.from(h).toString('hex')));
  return verifyLog(entries, { tenant, origin, verifier: new Ed25519NoteVerifier(keys.verifierKey), checkpoint });
}

/**
 * Sends one request to two services at once, as a client that retries on
 * another process: both must answer the same records, exactly one of them
 * as a replay. Returns the records.
 */
export async function appendTwice(first: LedgerService, second: LedgerService, request: AppendRequest): Promise<readonly AppendedRecord[]> {
  const [a, b] = await Promise.all([first.append(request), second.append(request)]);
  expect(b.records).toEqual(a.records);
  expect([a.replayed, b.replayed].filter(Boolean)).toHaveLength(1);
  return a.records;
}

/**
 * The stored log holds positions 0..count-1 with no gap and each
 * Idempotency-Key once, every acknowledged record sits at its position, and
 * the log verifies against a fresh checkpoint.
 */
export async function expectCompleteLog(store: LedgerStore, count: number, acknowledged: readonly AppendedRecord[], tenant = 'acme'): Promise<void> {
  const entries = (await entriesOf(store, tenant)).map((bytes) => decodeEntry(bytes).entry);
  expect(entries.map((e) => e.position)).toEqual(Array.from({ length: count }, (_, p) => p));
  expect(new Set(entries.map((e) => e.idempotencyKey)).size).toBe(count);
  for (const r of acknowledged) expect(entries[r.position]).toMatchObject({ recordId: r.recordId, revision: r.revision });
  expect((await verifyStored(store, tenant)).ok).toBe(true);
}

/** A file master key in a temporary directory, for one test file (its beforeAll/afterAll). */
export function useMasterKey(): () => MasterKey {
  let dir: string | undefined;
  let master: MasterKey | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'govledger-master-'));
    master = await FileMasterKey.open(dir, { create: true });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => master!;
}
