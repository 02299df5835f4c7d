/**
 * The projector (DESIGN §1): the change-stream consumer named `projection`
 * that turns each ledger entry into one row of the query database, with its
 * payload decrypted where the tenant's keys allow.
 *
 * - Each change is decoded and validated (`decodeEntry`: canonical bytes, the
 *   stable schema) and must be the entry of its tenant and position with the
 *   leaf hash the stream claims, else `InvalidEntryError` (a corrupt delivery).
 * - SYSTEM payloads are stored in clear (they survive shredding); others are
 *   decrypted through the `KeyService`. A shredded tenant's payload is stored
 *   as null with state `shredded`; a key that is merely missing throws, and
 *   the tailer retries (the tenant's projection waits: a finding, not a skip).
 * - Rows go in idempotently by (tenant, position); a position already stored
 *   with other bytes is a `ChangeConflictError`, never an overwrite.
 * - `leafHashes` answers, per stored row, the leaf hash of its entry bytes
 *   only when every served column equals what those bytes decode to and the
 *   served payload is the one the envelope's HMAC commitment binds; a row
 *   that differs answers a hash no ledger entry has (`SHA-256("govledger/row-mismatch" ‖ leaf)`).
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import canonicalize from 'canonicalize';
import { toHex } from '../core/bytes.js';
import { InvalidEntryError } from '../core/errors.js';
import { decodeEntry, type Entry } from '../core/ledger-entry.js';
import { openPayload, verifyCommitment } from '../core/payload-envelope.js';
import { hashLeaf } from '../core/rfc9162-hasher.js';
import type { ChangeCopy, LedgerChange } from '../ports/change-stream.js';
import { ChangeConflictError, KeyShreddedError } from '../ports/errors.js';
import type { PayloadState, ProjectedEntry, ProjectionWriter } from '../ports/projection-store.js';
import type { KeyService } from './key-service.js';

/** The consumer name: cursors, logs and findings use it. */
export const PROJECTION_CONSUMER = 'projection';

type Keys = Pick<KeyService, 'dataKeyForRead'>;
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const MISMATCH = Buffer.from('govledger/row-mismatch', 'utf8');

/**
 * The `projection` consumer and copy (see the module doc).
 *
 * @example
 * const projector = new Projector(new PostgresProjectionWriter(projectorDb), keys);
 * await projector.apply(changes);                    // from the tailer or the stream handler
 * await projector.leafHashes('acme', 0, 1000);       // for cross-verification
 */
export class Projector implements ChangeCopy {
  readonly name = PROJECTION_CONSUMER;

  constructor(
    private readonly store: ProjectionWriter,
    private readonly keys: Keys,
  ) {}

  async apply(changes: readonly LedgerChange[]): Promise<void> {
    const byTenant = new Map<string, LedgerChange[]>();
    for (const change of changes) {
      const group = byTenant.get(change.tenant);
      if (group) group.push(change);
      else byTenant.set(change.tenant, [change]);
    }
    for (const [tenant, group] of byTenant) {
      const rows = await Promise.all(group.map((change) => this.#project(change)));
      const { conflicts } = await this.store.insert(tenant, rows);
      if (conflicts.length > 0) throw new ChangeConflictError(this.name, tenant, conflicts[0]!);
    }
  }

  async leafHashes(tenant: string, from: number, to: number): Promise<ReadonlyMap<number, string>> {
    const hashes = new Map<number, string>();
    for await (const row of this.store.rows(tenant, from, to)) hashes.set(row.position, await servedLeafHash(row, this.keys));
    return hashes;
  }

  async #project(change: LedgerChange): Promise<ProjectedEntry> {
    const { entry, leafHash } = decodeEntry(change.entry);
    if (entry.tenant !== change.tenant || entry.position !== change.position || toHex(leafHash) !== change.leafHash) {
      throw new InvalidEntryError(`the change for ${change.tenant}/${change.position} carries the entry ${entry.tenant}/${entry.position} or another leaf hash`);
    }
    return projectedEntry(entry, change.entry, toHex(leafHash), await this.#payload(entry));
  }

  async #payload(entry: Entry): Promise<{ payload: string | null; state: PayloadState }> {
    if ('system' in entry.payload) return { payload: canonicalize(entry.payload)!, state: 'clear' };
    try {
      const dek = await this.keys.dataKeyForRead(entry.tenant, entry.payload.kid, entry.payload.kv);
      const plaintext = openPayload(entry.payload, dek, entry);
      return { payload: UTF8.decode(plaintext), state: 'decrypted' };
    } catch (error) {
      if (error instanceof KeyShreddedError) return { payload: null, state: 'shredded' };
      throw error;
    }
  }
}

/** The row an entry projects to. */
export function projectedEntry(entry: Entry, bytes: Uint8Array, leafHash: string, payload: { payload: string | null; state: PayloadState }): ProjectedEntry {
  return {
    tenant: entry.tenant,
    position: entry.position,
    recordId: entry.recordId,
    revision: entry.revision,
    operation: entry.operation,
    stream: entry.stream,
    actor: entry.actor,
    correlationId: entry.correlationId,
    idempotencyKey: entry.idempotencyKey,
    generation: entry.generation,
    timestamp: entry.timestamp,
    prevHash: entry.prevHash,
    leafHash,
    entry: bytes,
    envelope: entry.payload,
    payload: payload.payload,
    payloadState: payload.state,
  };
}

/**
 * Whether a stored row serves exactly its entry: every column equal to what
 * its bytes decode to, and a payload that is the clear SYSTEM payload, the
 * plaintext the envelope's commitment binds, or null when (and only when)
 * the tenant's keys were shredded.
 *
 * @example
 * if (!(await rowMatchesEntry(row, keys))) throw new ChangeConflictError('projection', row.tenant, row.position);
 */
export async function rowMatchesEntry(row: ProjectedEntry, keys: Keys, leafHash: Uint8Array = hashLeaf(row.entry)): Promise<boolean> {
  // Parsed, not validated (decodeEntry): every caller compares the leaf hash of these bytes with the ledger's,
  // so bytes that are not the ledger's fail there whatever they parse to; the ledger validated its own on append.
  let entry: Entry;
  try {
    entry = JSON.parse(UTF8.decode(row.entry)) as Entry;
  } catch {
    return false;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.payload !== 'object' || entry.payload === null) return false;
  const expected = projectedEntry(entry, row.entry, toHex(leafHash), { payload: row.payload, state: row.payloadState });
  const fields = Object.keys(expected) as Array<keyof ProjectedEntry>;
  // Deep equality ignores key order, as canonical forms would, at a fraction of canonicalizing both.
  const same = (key: keyof ProjectedEntry) => (key === 'entry' ? true : key === 'envelope' ? isDeepStrictEqual(row.envelope, entry.payload) : row[key] === expected[key]);
  if (!fields.every(same)) return false;
  if ('system' in entry.payload) return row.payloadState === 'clear' && row.payload === canonicalize(entry.payload);
  if (row.payloadState === 'clear') return false;
  let dek;
  try {
    dek = await keys.dataKeyForRead(entry.tenant, entry.payload.kid, entry.payload.kv);
  } catch (error) {
    // Only a shredded tenant's row may lack its payload; a plaintext whose key is gone should have been purged.
    return error instanceof KeyShreddedError && row.payloadState === 'shredded' && row.payload === null;
  }
  if (row.payloadState !== 'decrypted' || row.payload === null) return false; // withheld while the key still opens it
  try {
    return verifyCommitment(entry.payload, dek, entry, Buffer.from(row.payload, 'utf8'));
  } catch {
    return false;
  }
}

/** The leaf hash a stored row stands for (see the module doc). */
export async function servedLeafHash(row: ProjectedEntry, keys: Keys): Promise<string> {
  const leaf = hashLeaf(row.entry);
  if (await rowMatchesEntry(row, keys, leaf)) return toHex(leaf);
  return createHash('sha256').update(MISMATCH).update(leaf).digest('hex');
}
