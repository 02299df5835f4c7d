/**
 * The key hierarchy as a service (DESIGN §4): master key → per-tenant,
 * versioned KEK → DEK per tenant and month → payload envelope.
 *
 * - Writes use the DEK of the current month under the tenant's latest KEK,
 *   created on first use. A DEK is 32 random bytes wrapped by the KEK with
 *   AES-256-GCM (core `wrapKey`), its context naming tenant, DEK id and KEK
 *   version, so a wrapped key moved to another slot does not unwrap.
 * - Reads use the DEK an envelope names (`kid` = month, `kv` = KEK version).
 * - Unwrapped DEKs and KEKs live in a bounded in-memory cache (size and TTL),
 *   so in the steady state a write or read costs no master-key call and no
 *   key-store read. A rotation is seen by a warm process within the TTL.
 * - Rotation adds a KEK version; history is never re-encrypted.
 * - Crypto-shredding deletes every wrapped KEK and DEK of the tenant (refused
 *   under a legal hold) and drops them from this process's cache. Other warm
 *   processes keep cached keys until their TTL expires: the TTL bounds how
 *   long a shredded tenant stays readable anywhere.
 *
 * Granularity is the tenant: a per-record DEK would make every first write of
 * a record cost a wrapped-key write, and erasure requests arrive per tenant
 * (contract end) far more often than per record. Record-level erasure is
 * left to retention (a record's own DEK), which this layout leaves room for.
 */
import QuickLRU from 'quick-lru';
import { randomBytes } from 'node:crypto';
import { prepareDataKey, unwrapKey, wrapKey, type DataKey } from '../core/payload-envelope.js';
import { KeyExistsError, KeyShreddedError, KeyUnavailableError, LegalHoldError } from '../ports/errors.js';
import type { KeyStore, ShredMarker, StoredDek, StoredKek } from '../ports/key-store.js';
import type { MasterKey } from '../ports/master-key.js';

export interface KeyServiceOptions {
  /** Unwrapped keys kept per process (default 1000). */
  readonly cacheEntries?: number;
  /** How long an unwrapped key stays cached, ms (default 5 minutes). */
  readonly cacheTtlMs?: number;
  readonly clock?: () => Date;
}

/** The month a DEK covers, from a date: "YYYY-MM" (UTC). */
export function periodOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}

export class KeyService {
  private readonly keks: QuickLRU<string, Uint8Array>;
  private readonly deks: QuickLRU<string, DataKey>;
  private readonly latest: QuickLRU<string, number>;
  private readonly clock: () => Date;
  /** Master-key unwraps and key-store reads done, for tests and benchmarks. */
  readonly stats = { kekUnwraps: 0, dekUnwraps: 0, storeReads: 0 };

  constructor(
    private readonly store: KeyStore,
    private readonly master: MasterKey,
    options: KeyServiceOptions = {},
  ) {
    const max = options.cacheEntries ?? 1000;
    const ttl = options.cacheTtlMs ?? 5 * 60_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('cacheEntries must be a whole number ≥ 1');
    if (!Number.isFinite(ttl) || ttl < 1) throw new RangeError('cacheTtlMs must be ≥ 1');
    this.keks = new QuickLRU({ maxSize: max, maxAge: ttl });
    this.deks = new QuickLRU({ maxSize: max, maxAge: ttl });
    this.latest = new QuickLRU({ maxSize: max, maxAge: ttl });
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * The DEK for new payloads of `tenant`: this month's, under the latest KEK
   * (creating KEK v1 and the DEK on first use).
   *
   * @example
   * const envelope = sealJson(payload, await keys.dataKeyForWrite('acme'), { tenant: 'acme', recordId, idempotencyKey });
   */
  async dataKeyForWrite(tenant: string): Promise<DataKey> {
    const version = await this.latestVersion(tenant);
    const id = periodOf(this.clock());
    const cached = this.deks.get(dekKey(tenant, id, version));
    if (cached) return cached;
    const existing = await this.readDek(tenant, id, version);
    if (existing) return existing;
    const key = randomBytes(32);
    const kek = await this.kek(tenant, version);
    const dek: StoredDek = { tenant, id, kekVersion: version, wrapped: wrapKey(kek, key, dekContext(tenant, id, version)), createdAt: this.clock().toISOString() };
    try {
      await this.store.putDek(dek);
    } catch (error) {
      if (!(error instanceof KeyExistsError)) throw error;
      const winner = await this.readDek(tenant, id, version); // another writer created it first
      if (winner) return winner;
      throw error;
    }
    return this.remember(tenant, id, version, key);
  }

  /** The DEK an envelope names; KeyShreddedError once the tenant was shredded. */
  async dataKeyForRead(tenant: string, kid: string, kv: number): Promise<DataKey> {
    const cached = this.deks.get(dekKey(tenant, kid, kv));
    if (cached) return cached;
    const dek = await this.readDek(tenant, kid, kv);
    if (dek) return dek;
    await this.refuseIfShredded(tenant);
    throw new KeyUnavailableError(`no data key ${kid} v${kv} for tenant ${tenant}`);
  }

  /** Adds KEK version latest+1; new DEKs use it, old data stays readable. */
  async rotate(tenant: string): Promise<{ version: number }> {
    await this.refuseIfShredded(tenant);
    const current = await this.store.latestKek(tenant);
    const version = (current?.version ?? 0) + 1;
    await this.createKek(tenant, version);
    this.latest.set(tenant, version);
    return { version };
  }

  /**
   * Destroys every KEK and DEK of the tenant (refused with LegalHoldError
   * under a hold). The caller appends the SYSTEM entry recording it.
   */
  async shred(tenant: string, by: { actor: string; reason: string }): Promise<ShredMarker> {
    const holds = await this.store.listHolds(tenant);
    if (holds.length > 0) throw new LegalHoldError(`tenant ${tenant} is under legal hold`, holds.map((h) => h.id));
    const previous = await this.store.shredded(tenant);
    if (previous) return previous;
    const marker: ShredMarker = {
      tenant,
      shreddedAt: this.clock().toISOString(),
      actor: by.actor,
      reason: by.reason,
      kekVersions: (await this.store.listKeks(tenant)).map((k) => k.version),
    };
    await this.store.shredTenant(marker);
    this.forget(tenant);
    return marker;
  }

  /** The shredding marker of the tenant, if its keys were shredded. */
  async shredMarker(tenant: string): Promise<ShredMarker | undefined> {
    return this.store.shredded(tenant);
  }

  private async latestVersion(tenant: string): Promise<number> {
    const cached = this.latest.get(tenant);
    if (cached !== undefined) return cached;
    this.stats.storeReads++;
    const current = await this.store.latestKek(tenant);
    let version = current?.version;
    if (version === undefined) {
      await this.refuseIfShredded(tenant);
      version = 1;
      try {
        await this.createKek(tenant, version);
      } catch (error) {
        if (!(error instanceof KeyExistsError)) throw error; // another writer created v1 first
      }
    }
    this.latest.set(tenant, version);
    return version;
  }

  private async createKek(tenant: string, version: number): Promise<void> {
    const { plaintext, wrapped } = await this.master.generateKek({ tenant, kekVersion: version });
    const kek: StoredKek = { tenant, version, wrapped, masterKeyId: this.master.keyId, createdAt: this.clock().toISOString() };
    await this.store.putKek(kek);
    this.keks.set(kekKey(tenant, version), plaintext);
  }

  private async kek(tenant: string, version: number): Promise<Uint8Array> {
    const cached = this.keks.get(kekKey(tenant, version));
    if (cached) return cached;
    this.stats.storeReads++;
    const stored = await this.store.getKek(tenant, version);
    if (!stored) {
      await this.refuseIfShredded(tenant);
      throw new KeyUnavailableError(`tenant ${tenant} has no KEK version ${version}`);
    }
    this.stats.kekUnwraps++;
    const plaintext = await this.master.unwrapKek(stored.wrapped, { tenant, kekVersion: version });
    this.keks.set(kekKey(tenant, version), plaintext);
    return plaintext;
  }

  private async readDek(tenant: string, id: string, version: number): Promise<DataKey | undefined> {
    this.stats.storeReads++;
    const stored = await this.store.getDek(tenant, id, version);
    if (!stored) return undefined;
    const kek = await this.kek(tenant, version);
    this.stats.dekUnwraps++;
    let key: Uint8Array;
    try {
      key = unwrapKey(kek, stored.wrapped, dekContext(tenant, id, version));
    } catch (cause) {
      throw new KeyUnavailableError(`data key ${id} v${version} of tenant ${tenant} does not unwrap`, { cause });
    }
    return this.remember(tenant, id, version, key);
  }

  private remember(tenant: string, id: string, version: number, key: Uint8Array): DataKey {
    const dek = prepareDataKey({ id, version, key });
    key.fill(0);
    this.deks.set(dekKey(tenant, id, version), dek);
    return dek;
  }

  private async refuseIfShredded(tenant: string): Promise<void> {
    const marker = await this.store.shredded(tenant);
    if (marker) throw new KeyShreddedError(`tenant ${tenant}'s keys were shredded at ${marker.shreddedAt}`);
  }

  private forget(tenant: string): void {
    const prefix = `${tenant}\u0000`;
    for (const cache of [this.keks, this.deks] as const) {
      for (const key of [...cache.keys()]) if (key.startsWith(prefix)) cache.delete(key);
    }
    this.latest.delete(tenant);
  }
}

function kekKey(tenant: string, version: number): string {
  return `${tenant}\u0000${version}`;
}

function dekKey(tenant: string, id: string, version: number): string {
  return `${tenant}\u0000${id}\u0000${version}`;
}

function dekContext(tenant: string, id: string, kekVersion: number) {
  return { purpose: 'govledger/dek', tenant, dek: id, kekVersion };
}
