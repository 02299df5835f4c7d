import { CompactRange } from '../../lambdas/core/compact-range.js';
import { encodeBundle } from '../../lambdas/core/entry-bundle.js';
import { chainEntries, genesisTip, type ChainTip, type EntryDraft } from '../../lambdas/core/ledger-entry.js';
import { Ed25519NoteSigner, Ed25519NoteVerifier, generateSignerKeys, type NoteSigner } from '../../lambdas/core/signed-note.js';
import { entryBundlePath, TILE_WIDTH, tilePath, tilesForSize } from '../../lambdas/core/tlog-tiles.js';
import type { LedgerBatch, LedgerStore } from '../../lambdas/ports/ledger-store.js';
import { ReferenceTree } from '../core/reference-merkle.js';

const NOW = 1_790_000_000_000_000_000n;

/**
 * A tenant's ledger built the way `LedgerService` builds it: entries chained
 * with `chainEntries` (SYSTEM entries with a clear payload: no keys needed),
 * and each batch carrying the compact range [0, end) after it.
 *
 * @example
 * ```ts
 * const log = new LedgerLog('acme');
 * await log.appendTo(ledger, 600); // batches of 100 (the last one shorter)
 * log.reference().root(600); // independent RFC 9162 root
 * ```
 */
export class LedgerLog {
  readonly batches: LedgerBatch[] = [];
  readonly entries: Uint8Array[] = [];
  #tip: ChainTip;
  readonly #range = CompactRange.empty();
  #reference: ReferenceTree | undefined;

  constructor(readonly tenant: string) {
    this.#tip = genesisTip(tenant);
  }

  get size(): number {
    return this.#tip.size;
  }

  /** Builds batches of up to `per` entries until the log holds `size` entries; returns them. */
  grow(size: number, per = 100): LedgerBatch[] {
    const built: LedgerBatch[] = [];
    while (this.#tip.size < size) {
      const count = Math.min(per, size - this.#tip.size);
      const drafts: EntryDraft[] = Array.from({ length: count }, (_, i) => ({
        stream: 'audit', recordId: `sys-${this.#tip.size + i}`, revision: 1, operation: 'SYSTEM', actor: 'system:test',
        correlationId: `c-${this.#tip.size}`, idempotencyKey: `k-${this.#tip.size}`, signatures: [],
        payload: { system: { kind: 'test', details: { n: this.#tip.size + i } } },
      }));
      const first = this.#tip.size;
      const { entries, tip } = chainEntries(this.#tip, drafts, NOW);
      for (const e of entries) this.#range.append(e.leafHash);
      const batch: LedgerBatch = {
        tenant: this.tenant, firstPosition: first, entries: entries.map((e) => e.bytes), range: this.#range.hashes,
        lastLeafHash: tip.leafHash, lastTimestamp: tip.timestamp!, generation: tip.generation, heads: [], idempotency: [],
      };
      this.#tip = tip;
      this.entries.push(...batch.entries);
      this.batches.push(batch);
      built.push(batch);
    }
    this.#reference = undefined;
    return built;
  }

  /** `grow(size, per)`, then appends the new batches to `ledger`. */
  async appendTo(ledger: LedgerStore, size: number, per = 100): Promise<LedgerBatch[]> {
    const built = this.grow(size, per);
    for (const batch of built) await ledger.appendBatch(batch);
    return built;
  }

  /** The naive RFC 9162 reference tree over every entry so far (test/core/reference-merkle.ts). */
  reference(): ReferenceTree {
    this.#reference ??= new ReferenceTree(this.entries);
    return this.#reference;
  }

  /**
   * Every tile and entry bundle of the tree of `size`, by path, computed from
   * the reference tree and `encodeBundle`: what a publish must have stored.
   */
  expectedObjects(size: number): Map<string, Uint8Array> {
    const ref = this.reference();
    const out = new Map<string, Uint8Array>();
    for (const tile of tilesForSize(size)) {
      const hashes = Array.from({ length: tile.width }, (_, i) => ref.nodeHash({ level: 8 * tile.level, index: tile.index * TILE_WIDTH + i }));
      out.set(tilePath(tile), Buffer.concat(hashes));
      if (tile.level === 0) {
        const first = tile.index * TILE_WIDTH;
        out.set(entryBundlePath(tile.index, tile.width), encodeBundle(this.entries.slice(first, first + tile.width)));
      }
    }
    return out;
  }
}

/** Checkpoint signers as the wiring provides them: one generated Ed25519 key per origin. */
export class TestSigners {
  readonly #keys = new Map<string, { signerKey: string; verifierKey: string }>();

  signerFor(origin: string): NoteSigner {
    return Ed25519NoteSigner.fromSignerKey(this.#keysFor(origin).signerKey);
  }

  verifierFor(origin: string): Ed25519NoteVerifier {
    return new Ed25519NoteVerifier(this.#keysFor(origin).verifierKey);
  }

  #keysFor(origin: string): { signerKey: string; verifierKey: string } {
    let keys = this.#keys.get(origin);
    if (keys === undefined) {
      keys = generateSignerKeys(origin);
      this.#keys.set(origin, keys);
    }
    return keys;
  }
}
