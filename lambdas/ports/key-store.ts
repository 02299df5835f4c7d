/**
 * Where wrapped keys live: per tenant, the versioned KEKs (wrapped by the
 * master key) and the DEKs (wrapped by a KEK), plus legal holds and the
 * shredding marker. Holds only wrapped material: a dump of the store reveals
 * no key without the master key.
 *
 * Contract for every adapter:
 * - Reads are strongly consistent.
 * - `putKek`, `putDek` and `putHold` never overwrite: when the version, DEK or
 *   hold id already exists they throw `KeyExistsError` (a lost race: re-read
 *   and use the winner's key). Once the tenant is shredded, `putKek` and
 *   `putDek` throw `KeyShreddedError`. A put that returns is durable.
 *   `removeHold` of a missing hold does nothing.
 * - KEK versions are whole numbers from 1 to 9,999,999,999 (else RangeError);
 *   `latestKek` returns the highest, or undefined for a tenant without keys;
 *   `listKeks` is ascending by version, `listHolds` by id.
 * - `shredTenant` deletes every KEK and DEK item of the tenant and records the
 *   marker, idempotently (a re-run keeps the first marker and finishes the
 *   deletes of a crashed run); afterwards `getKek`/`getDek` return undefined
 *   and `shredded` returns the marker. It refuses (throws `LegalHoldError`)
 *   while any hold, tenant- or record-level, exists: a shred destroys every
 *   record of the tenant.
 * - Transient faults are retried inside the adapter (bounded); then
 *   `KeyServiceUnavailableError`.
 *
 * Adapters: DynamoDB (a table of its own, see docs), an in-memory fake with
 * fault injection for tests.
 */
export interface StoredKek {
  readonly tenant: string;
  readonly version: number;
  /** The master key's wrapped form (`MasterKey.generateKek`). */
  readonly wrapped: Uint8Array;
  /** Which master key wrapped it. */
  readonly masterKeyId: string;
  /** RFC 3339. */
  readonly createdAt: string;
}

export interface StoredDek {
  readonly tenant: string;
  /** DEK id, e.g. the period "2026-11"; the envelope's `kid`. */
  readonly id: string;
  /** KEK version that wraps it; the envelope's `kv`. */
  readonly kekVersion: number;
  /** AES-256-GCM wrap by the KEK (core `wrapKey`): `{ iv, ct }`, base64. */
  readonly wrapped: { readonly iv: string; readonly ct: string };
  readonly createdAt: string;
}

export interface LegalHold {
  readonly tenant: string;
  readonly id: string;
  /** Undefined: the whole tenant is held. */
  readonly recordId?: string;
  readonly reason: string;
  readonly createdAt: string;
}

export interface ShredMarker {
  readonly tenant: string;
  readonly shreddedAt: string;
  readonly actor: string;
  readonly reason: string;
  /** KEK versions destroyed. */
  readonly kekVersions: readonly number[];
}

export interface KeyStore {
  putKek(kek: StoredKek): Promise<void>;
  getKek(tenant: string, version: number): Promise<StoredKek | undefined>;
  latestKek(tenant: string): Promise<StoredKek | undefined>;
  listKeks(tenant: string): Promise<StoredKek[]>;
  putDek(dek: StoredDek): Promise<void>;
  getDek(tenant: string, id: string, kekVersion: number): Promise<StoredDek | undefined>;
  putHold(hold: LegalHold): Promise<void>;
  removeHold(tenant: string, id: string): Promise<void>;
  listHolds(tenant: string): Promise<LegalHold[]>;
  shredTenant(marker: ShredMarker): Promise<void>;
  shredded(tenant: string): Promise<ShredMarker | undefined>;
}
