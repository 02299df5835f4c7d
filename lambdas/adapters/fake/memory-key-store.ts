import { KeyExistsError, KeyServiceUnavailableError, KeyShreddedError, LegalHoldError } from '../../ports/errors.js';
import type { KeyStore, LegalHold, ShredMarker, StoredDek, StoredKek } from '../../ports/key-store.js';

/** A `KeyStore` method name, for fault hooks. */
export type KeyStoreOperation = keyof KeyStore;
/** Operations that write, so "failed but persisted" means something. */
export type KeyStoreWrite = 'putKek' | 'putDek' | 'putHold' | 'removeHold' | 'shredTenant';
/** Conditional puts, which a competing writer can beat. */
export interface RaceWinners {
  putKek: StoredKek;
  putDek: StoredDek;
  putHold: LegalHold;
}

type Fault = { kind: 'fail'; error: unknown } | { kind: 'persist' } | { kind: 'race'; winner: unknown };

interface TenantKeys {
  readonly keks: Map<number, StoredKek>;
  readonly deks: Map<string, StoredDek>;
  readonly holds: Map<string, LegalHold>;
  marker?: ShredMarker;
}

/**
 * In-memory `KeyStore` for tests and benchmarks, with the DynamoDB adapter's
 * semantics (same contract suite): puts never overwrite, any hold refuses a
 * shred, a re-run shred keeps the first marker, puts on a shredded tenant
 * throw `KeyShreddedError`. Values are copied in and out. Each call is atomic.
 *
 * Fault hooks queue per operation and fire on its next calls, in order
 * (sunlight's `failCheckpointButPersist` idea):
 * - `failNext(op, error)`: the call throws `error` and changes nothing;
 * - `failButPersistNext(op)`: the write takes effect, then the call throws
 *   `KeyServiceUnavailableError` (a timeout after the server committed);
 * - `loseRaceNext(op, winner)`: another writer's `winner` (same key) lands
 *   first, so the put throws `KeyExistsError` and `winner` is what is stored.
 *
 * @example
 * ```ts
 * const keys = new MemoryKeyStore();
 * keys.loseRaceNext('putKek', { ...mine, wrapped: theirs });
 * await expect(keys.putKek(mine)).rejects.toBeInstanceOf(KeyExistsError);
 * ```
 */
export class MemoryKeyStore implements KeyStore {
  readonly #tenants = new Map<string, TenantKeys>();
  readonly #faults = new Map<KeyStoreOperation, Fault[]>();

  /** The next call of `op` throws `error` (default `KeyServiceUnavailableError`) without effect. */
  failNext(op: KeyStoreOperation, error: unknown = new KeyServiceUnavailableError(`injected: ${op} unavailable`)): void {
    this.#queue(op, { kind: 'fail', error });
  }

  /** The next call of `op` takes effect, then throws `KeyServiceUnavailableError`. */
  failButPersistNext(op: KeyStoreWrite): void {
    this.#queue(op, { kind: 'persist' });
  }

  /** The next call of `op` loses to `winner`, which must have the same key as that call's value. */
  loseRaceNext<K extends keyof RaceWinners>(op: K, winner: RaceWinners[K]): void {
    this.#queue(op, { kind: 'race', winner: structuredClone(winner) });
  }

  async putKek(kek: StoredKek): Promise<void> {
    checkVersion(kek.version);
    this.#run('putKek', kek, (k) => `${k.tenant}/${k.version}`, (k) => {
      const t = this.#unshredded(k.tenant);
      if (t.keks.has(k.version)) throw new KeyExistsError(`KEK version ${k.version} of tenant ${k.tenant} already exists`);
      t.keks.set(k.version, structuredClone(k));
    });
  }

  async getKek(tenant: string, version: number): Promise<StoredKek | undefined> {
    checkVersion(version);
    return this.#run('getKek', undefined, null, () => copy(this.#tenant(tenant).keks.get(version)));
  }

  async latestKek(tenant: string): Promise<StoredKek | undefined> {
    return this.#run('latestKek', undefined, null, () => copy(sortedKeks(this.#tenant(tenant)).at(-1)));
  }

  async listKeks(tenant: string): Promise<StoredKek[]> {
    return this.#run('listKeks', undefined, null, () => structuredClone(sortedKeks(this.#tenant(tenant))));
  }

  async putDek(dek: StoredDek): Promise<void> {
    checkVersion(dek.kekVersion);
    const key = (d: StoredDek): string => `${d.id}#${d.kekVersion}`;
    this.#run('putDek', dek, (d) => `${d.tenant}/${key(d)}`, (d) => {
      const t = this.#unshredded(d.tenant);
      if (t.deks.has(key(d))) throw new KeyExistsError(`DEK ${d.id} (KEK ${d.kekVersion}) of tenant ${d.tenant} already exists`);
      t.deks.set(key(d), structuredClone(d));
    });
  }

  async getDek(tenant: string, id: string, kekVersion: number): Promise<StoredDek | undefined> {
    checkVersion(kekVersion);
    return this.#run('getDek', undefined, null, () => copy(this.#tenant(tenant).deks.get(`${id}#${kekVersion}`)));
  }

  async putHold(hold: LegalHold): Promise<void> {
    this.#run('putHold', hold, (h) => `${h.tenant}/${h.id}`, (h) => {
      const t = this.#tenant(h.tenant);
      if (t.holds.has(h.id)) throw new KeyExistsError(`hold ${h.id} of tenant ${h.tenant} already exists`);
      const { recordId, ...rest } = h;
      t.holds.set(h.id, structuredClone(recordId === undefined ? rest : h));
    });
  }

  async removeHold(tenant: string, id: string): Promise<void> {
    this.#run('removeHold', undefined, null, () => void this.#tenant(tenant).holds.delete(id));
  }

  async listHolds(tenant: string): Promise<LegalHold[]> {
    return this.#run('listHolds', undefined, null, () => structuredClone(sortedHolds(this.#tenant(tenant))));
  }

  async shredTenant(marker: ShredMarker): Promise<void> {
    this.#run('shredTenant', undefined, null, () => {
      const t = this.#tenant(marker.tenant);
      const ids = sortedHolds(t).map((h) => h.id);
      if (ids.length > 0) throw new LegalHoldError(`tenant ${marker.tenant} cannot be shredded while held (${ids.join(', ')})`, ids);
      t.marker ??= structuredClone(marker);
      t.keks.clear();
      t.deks.clear();
    });
  }

  async shredded(tenant: string): Promise<ShredMarker | undefined> {
    return this.#run('shredded', undefined, null, () => copy(this.#tenant(tenant).marker));
  }

  /**
   * Applies the next queued fault of `op` around `apply`. For a race, the
   * winner is stored first (it must share `keyOf` with `value`), so `apply`
   * itself throws the `KeyExistsError`, exactly as a real conflict would.
   */
  #run<V, T>(op: KeyStoreOperation, value: V, keyOf: ((v: V) => string) | null, apply: (v: V) => T): T {
    const fault = this.#faults.get(op)?.shift();
    if (fault?.kind === 'fail') throw fault.error;
    if (fault?.kind === 'race') {
      const winner = fault.winner as V;
      if (!keyOf || keyOf(winner) !== keyOf(value)) throw new Error(`loseRaceNext(${op}): the winner must have the same key as the put`);
      apply(winner);
    }
    const result = apply(value);
    if (fault?.kind === 'persist') throw new KeyServiceUnavailableError(`injected: ${op} persisted but the reply was lost`);
    return result;
  }

  #queue(op: KeyStoreOperation, fault: Fault): void {
    const queue = this.#faults.get(op) ?? [];
    queue.push(fault);
    this.#faults.set(op, queue);
  }

  #tenant(tenant: string): TenantKeys {
    let t = this.#tenants.get(tenant);
    if (!t) {
      t = { keks: new Map(), deks: new Map(), holds: new Map() };
      this.#tenants.set(tenant, t);
    }
    return t;
  }

  #unshredded(tenant: string): TenantKeys {
    const t = this.#tenant(tenant);
    if (t.marker) throw new KeyShreddedError(`tenant ${tenant} was shredded: cannot store keys`);
    return t;
  }
}

/** Same range as the DynamoDB adapter's 10-digit sort keys. */
function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1 || version > 9_999_999_999) {
    throw new RangeError(`KEK version must be an integer from 1 to 9999999999, got ${version}`);
  }
}

function copy<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}

function sortedKeks(t: TenantKeys): StoredKek[] {
  return [...t.keks.values()].sort((a, b) => a.version - b.version);
}

/** UTF-8 byte order of ids, as DynamoDB sorts `HOLD#<id>`. */
function sortedHolds(t: TenantKeys): LegalHold[] {
  return [...t.holds.values()].sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
}
