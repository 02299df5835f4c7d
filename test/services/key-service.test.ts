import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../../lambdas/adapters/fake/memory-key-store.js';
import { FileMasterKey } from '../../lambdas/adapters/local/file-master-key.js';
import { originFor, signCheckpoint } from '../../lambdas/core/checkpoint.js';
import { CompactRange } from '../../lambdas/core/compact-range.js';
import { chainEntries, genesisTip, type EntryDraft } from '../../lambdas/core/ledger-entry.js';
import { verifyLog } from '../../lambdas/core/log-verifier.js';
import { openJson, sealJson, type Envelope } from '../../lambdas/core/payload-envelope.js';
import { Ed25519NoteSigner, Ed25519NoteVerifier, generateSignerKeys } from '../../lambdas/core/signed-note.js';
import { KeyShreddedError, KeyUnavailableError, LegalHoldError } from '../../lambdas/ports/errors.js';
import type { MasterKey } from '../../lambdas/ports/master-key.js';
import { KeyService, periodOf } from '../../lambdas/services/key-service.js';

let dir: string;
let master: MasterKey;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'govledger-keys-'));
  master = await FileMasterKey.open(dir, { create: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ctx = (tenant: string, i: number) => ({ tenant, recordId: `rec-${i}`, idempotencyKey: `idem-${i}` });

async function seal(keys: KeyService, tenant: string, i: number, value: unknown): Promise<Envelope> {
  return sealJson(value, await keys.dataKeyForWrite(tenant), ctx(tenant, i));
}

async function open(keys: KeyService, tenant: string, i: number, envelope: Envelope): Promise<unknown> {
  return openJson(envelope, await keys.dataKeyForRead(tenant, envelope.kid, envelope.kv), ctx(tenant, i));
}

describe('KeyService', () => {
  it('encrypts under this month\'s DEK and KEK v1, and a fresh process decrypts it', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    const writer = new KeyService(store, master, { clock: () => new Date('2026-11-23T10:00:00Z') });
    // Act
    const envelope = await seal(writer, 'acme', 1, { decision: 'approved' });
    const reader = new KeyService(store, master);
    // Assess
    expect(envelope).toMatchObject({ kid: '2026-11', kv: 1 });
    expect(await open(reader, 'acme', 1, envelope)).toEqual({ decision: 'approved' });
  });

  it('costs no key-store read and no unwrap per write once warm', async () => {
    // Prepare
    const keys = new KeyService(new MemoryKeyStore(), master);
    await seal(keys, 'acme', 0, 'warm-up');
    const before = { ...keys.stats };
    // Act
    for (let i = 1; i <= 500; i++) await seal(keys, 'acme', i, { i });
    // Assess
    expect(keys.stats).toEqual(before);
  });

  it('reads the store again once the cache TTL has passed', async () => {
    // Prepare
    const keys = new KeyService(new MemoryKeyStore(), master, { cacheTtlMs: 20 });
    await seal(keys, 'acme', 0, 'warm-up');
    const reads = keys.stats.storeReads;
    // Act
    await new Promise((r) => setTimeout(r, 40));
    await seal(keys, 'acme', 1, 'after ttl');
    // Assess
    expect(keys.stats.storeReads).toBeGreaterThan(reads);
  });

  it('rotation: new writes use KEK v2, history under v1 stays readable and is not re-encrypted', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    const keys = new KeyService(store, master);
    const old = await seal(keys, 'acme', 1, 'before rotation');
    // Act
    const { version } = await keys.rotate('acme');
    const fresh = new KeyService(store, master);
    const next = await seal(fresh, 'acme', 2, 'after rotation');
    // Assess
    expect(version).toBe(2);
    expect(next.kv).toBe(2);
    expect(await open(fresh, 'acme', 1, old)).toBe('before rotation');
    expect(await open(fresh, 'acme', 2, next)).toBe('after rotation');
    expect((await store.listKeks('acme')).map((k) => k.version)).toEqual([1, 2]);
  });

  it('concurrent first writes of a tenant agree on one KEK and one DEK', async () => {
    // Prepare: 20 processes sharing the store, none with a cached key
    const store = new MemoryKeyStore();
    const services = Array.from({ length: 20 }, () => new KeyService(store, master));
    // Act
    const envelopes = await Promise.all(services.map((s, i) => seal(s, 'acme', i, { i })));
    // Assess: every envelope opens with any process, under the same DEK
    const reader = new KeyService(store, master);
    for (const [i, e] of envelopes.entries()) expect(await open(reader, 'acme', i, e)).toEqual({ i });
    expect(new Set(envelopes.map((e) => `${e.kid}/${e.kv}`)).size).toBe(1);
    expect(await store.listKeks('acme')).toHaveLength(1);
  });

  it('survives a lost race on the DEK put by using the winner\'s key', async () => {
    // Prepare: KEK v1 exists; two fresh processes both find no December DEK
    const store = new MemoryKeyStore();
    await seal(new KeyService(store, master), 'acme', 0, 'creates KEK v1');
    const december = () => new Date('2026-12-01T00:00:00Z');
    const [first, second] = [new KeyService(store, master, { clock: december }), new KeyService(store, master, { clock: december })];
    // Act: both create a DEK; one put loses and must adopt the stored one
    const [a, b] = await Promise.all([seal(first, 'acme', 1, 'a'), seal(second, 'acme', 2, 'b')]);
    // Assess: both envelopes open with the one stored DEK
    const reader = new KeyService(store, master);
    expect([a.kid, b.kid]).toEqual(['2026-12', '2026-12']);
    expect(await open(reader, 'acme', 1, a)).toBe('a');
    expect(await open(reader, 'acme', 2, b)).toBe('b');
  });

  it('keeps tenants apart: a tenant\'s DEK does not open another tenant\'s envelope', async () => {
    // Prepare
    const keys = new KeyService(new MemoryKeyStore(), master);
    const envelope = await seal(keys, 'acme', 1, 'secret');
    // Act & Assess: globex has its own keys; acme's kid/kv under globex is another key
    await seal(keys, 'globex', 1, 'other');
    await expect(open(keys, 'globex', 1, envelope)).rejects.toThrow();
  });

  it('rejects a wrapped DEK that was tampered with in the store', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    const writer = new KeyService(store, master, { clock: () => new Date('2026-11-23T10:00:00Z') });
    await seal(writer, 'acme', 0, 'creates KEK v1');
    const good = (await store.getDek('acme', '2026-11', 1))!;
    const ct = Buffer.from(good.wrapped.ct, 'base64');
    ct[3]! ^= 0x01;
    await store.putDek({ ...good, id: '1999-01', wrapped: { iv: good.wrapped.iv, ct: ct.toString('base64') } });
    // Act & Assess
    await expect(new KeyService(store, master).dataKeyForRead('acme', '1999-01', 1)).rejects.toBeInstanceOf(KeyUnavailableError);
  });
});

describe('KeyService.shred', () => {
  async function signedLog(keys: KeyService, tenant: string, n: number) {
    const drafts: EntryDraft[] = [];
    for (let i = 0; i < n; i++) {
      drafts.push({ stream: 'decisions', recordId: `rec-${i}`, revision: 1, operation: 'CREATE', actor: 'user:a', correlationId: `c-${i}`, idempotencyKey: `idem-${i}`, signatures: [], payload: await seal(keys, tenant, i, { i }) });
    }
    const { entries } = chainEntries(genesisTip(tenant), drafts, 1_790_000_000_000_000_000n);
    const origin = originFor('govledger.test', tenant);
    const signing = generateSignerKeys(origin);
    const range = CompactRange.empty();
    for (const e of entries) range.append(e.leafHash);
    const checkpoint = await signCheckpoint({ origin, size: n, rootHash: range.root() }, Ed25519NoteSigner.fromSignerKey(signing.signerKey));
    return { entries, input: { tenant, origin, verifier: new Ed25519NoteVerifier(signing.verifierKey), checkpoint } };
  }

  it('makes the tenant\'s data unreadable (KeyShreddedError) while every entry still verifies', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    const keys = new KeyService(store, master);
    const log = await signedLog(keys, 'acme', 12);
    const envelope = log.entries[5]!.entry.payload as Envelope;
    // Act
    const marker = await keys.shred('acme', { actor: 'user:dpo', reason: 'contract ended' });
    // Assess
    expect(marker).toMatchObject({ tenant: 'acme', actor: 'user:dpo', reason: 'contract ended', kekVersions: [1] });
    await expect(open(keys, 'acme', 5, envelope)).rejects.toBeInstanceOf(KeyShreddedError);
    await expect(open(new KeyService(store, master), 'acme', 5, envelope)).rejects.toBeInstanceOf(KeyShreddedError);
    await expect(keys.dataKeyForWrite('acme')).rejects.toBeInstanceOf(KeyShreddedError);
    await expect(keys.rotate('acme')).rejects.toBeInstanceOf(KeyShreddedError);
    expect(verifyLog(log.entries.map((e) => e.bytes), log.input)).toMatchObject({ ok: true, size: 12 });
  });

  it('is refused under a legal hold, and nothing is destroyed', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    const keys = new KeyService(store, master);
    const envelope = await seal(keys, 'acme', 1, 'held');
    await store.putHold({ tenant: 'acme', id: 'case-42', reason: 'litigation', createdAt: '2026-11-23T00:00:00Z' });
    // Act
    const attempt = keys.shred('acme', { actor: 'user:dpo', reason: 'erasure request' });
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(LegalHoldError);
    await expect(attempt).rejects.toMatchObject({ holds: ['case-42'] });
    expect(await open(new KeyService(store, master), 'acme', 1, envelope)).toBe('held');
    expect(await store.shredded('acme')).toBeUndefined();
  });

  it('is idempotent: shredding twice returns the first marker', async () => {
    // Prepare
    const keys = new KeyService(new MemoryKeyStore(), master);
    await seal(keys, 'acme', 1, 'x');
    // Act
    const first = await keys.shred('acme', { actor: 'user:a', reason: 'first' });
    const second = await keys.shred('acme', { actor: 'user:b', reason: 'second' });
    // Assess
    expect(second).toEqual(first);
  });

  it('leaves other tenants readable', async () => {
    // Prepare
    const store = new MemoryKeyStore();
    const keys = new KeyService(store, master);
    const kept = await seal(keys, 'acme-corp', 1, 'kept');
    await seal(keys, 'acme', 1, 'gone');
    // Act
    await keys.shred('acme', { actor: 'user:dpo', reason: 'erasure' });
    // Assess
    expect(await open(new KeyService(store, master), 'acme-corp', 1, kept)).toBe('kept');
  });
});

describe('periodOf', () => {
  it('names the UTC month', () => {
    expect(periodOf(new Date('2026-12-31T23:59:59Z'))).toBe('2026-12');
    expect(periodOf(new Date('2027-01-01T00:00:00Z'))).toBe('2027-01');
  });
});

