/**
 * Frozen entry format vectors (DESIGN §2, stable): test/vectors/entry-v1.json was
 * generated once by test/vectors/generate-entry-vectors.ts. Today's code must rebuild
 * every field from the stored inputs byte for byte. A failure here means the stable
 * format changed: fix the code, never regenerate the file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import canonicalize from 'canonicalize';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toBase64, toHex } from '../../lambdas/core/bytes.js';
import { openCheckpoint, signCheckpoint } from '../../lambdas/core/checkpoint.js';
import { CompactRange } from '../../lambdas/core/compact-range.js';
import { decodeBundle, EntryBundleBuilder } from '../../lambdas/core/entry-bundle.js';
import {
  chainEntries, decodeEntry, type EncodedEntry, type Entry, type EntryDraft, genesisTip,
} from '../../lambdas/core/ledger-entry.js';
import { type DataKey, openJson, prepareDataKey, sealPayloadWithIv } from '../../lambdas/core/payload-envelope.js';
import { Ed25519NoteSigner, Ed25519NoteVerifier, encodeSignerKey } from '../../lambdas/core/signed-note.js';
import { TileBuilder } from '../../lambdas/core/tile-builder.js';

interface DraftInput extends Omit<EntryDraft, 'payload'> {
  payload: { sealJson: unknown; ivHex: string } | { system: { kind: string; details: Record<string, unknown> } };
}
interface EntryVectors {
  inputs: {
    tenant: string;
    generation: number;
    origin: string;
    checkpointSignerSeedHex: string;
    dataKey: { id: string; version: number; keyHex: string };
    batches: { now: string; nowNanos: string; drafts: DraftInput[] }[];
  };
  entries: { position: number; entry: Entry; canonicalUtf8: string; canonicalBase64: string; leafHashHex: string }[];
  roots: { size: number; rootHex: string }[];
  checkpoint: { size: number; rootHex: string; vkey: string; note: string };
  tile: { path: string; base64: string };
  bundle: { path: string; base64: string };
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const vectors = JSON.parse(readFileSync(path.join(repoRoot, 'test', 'vectors', 'entry-v1.json'), 'utf8')) as EntryVectors;
const { inputs } = vectors;
const storedBytes = (i: number): Uint8Array => fromBase64(vectors.entries[i]!.canonicalBase64)!;

/** Seals a draft's payload from its JSON value and fixed IV, as sealJson does with a random one. */
function draftOf(input: DraftInput, dek: DataKey): EntryDraft {
  if (!('sealJson' in input.payload)) return input as EntryDraft;
  const ctx = { tenant: inputs.tenant, recordId: input.recordId, idempotencyKey: input.idempotencyKey };
  const plaintext = Buffer.from(canonicalize(input.payload.sealJson)!, 'utf8');
  return { ...input, payload: sealPayloadWithIv(plaintext, dek, ctx, Buffer.from(input.payload.ivHex, 'hex')) };
}

/** Replays the stored inputs through today's chainEntries, batch by batch. */
function replay(dek: DataKey): EncodedEntry[] {
  let tip = genesisTip(inputs.tenant, inputs.generation);
  const out: EncodedEntry[] = [];
  for (const batch of inputs.batches) {
    const { entries, tip: next } = chainEntries(tip, batch.drafts.map((d) => draftOf(d, dek)), BigInt(batch.nowNanos));
    out.push(...entries);
    tip = next;
  }
  return out;
}

/** Naive RFC 9162 §2.1.1 MTH with node:crypto, independent of the core hasher. */
function referenceRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return createHash('sha256').update(Buffer.from([1])).update(referenceRoot(leaves.slice(0, k))).update(referenceRoot(leaves.slice(k))).digest();
}

let dek: DataKey;
let replayed: EncodedEntry[];
beforeAll(() => {
  dek = prepareDataKey({ id: inputs.dataKey.id, version: inputs.dataKey.version, key: Buffer.from(inputs.dataKey.keyHex, 'hex') });
  replayed = replay(dek);
});

describe('entry-v1.json', () => {
  it('covers every operation, entries with and without signatures, and non-ASCII canonical text', () => {
    // Prepare
    const entries = vectors.entries.map((e) => e.entry);
    // Act
    const operations = new Set(entries.map((e) => e.operation));
    const signed = entries.filter((e) => e.signatures.length > 0).length;
    const nonAscii = vectors.entries.filter((e) => /[^\x00-\x7f]/.test(e.canonicalUtf8)).length;
    // Assess
    expect([...operations].sort()).toEqual(['CREATE', 'DELETE', 'SYSTEM', 'UPDATE']);
    expect(signed).toBeGreaterThan(0);
    expect(signed).toBeLessThan(entries.length);
    expect(nonAscii).toBeGreaterThan(0);
    expect(vectors.roots.map((r) => r.size)).toEqual(entries.map((_, i) => i + 1));
  });
});

describe('chainEntries on the frozen inputs', () => {
  it('rebuilds every entry object, sealed payloads, timestamps and prevHash links included', () => {
    // Act
    const entries = replayed.map((e) => e.entry);
    // Assess
    expect(entries).toEqual(vectors.entries.map((e) => e.entry));
    expect(entries.map((e) => e.position)).toEqual(vectors.entries.map((e) => e.position));
  });
});

describe('sealed payloads of the frozen entries', () => {
  it('open back to the JSON values they were sealed from', () => {
    // Prepare
    const drafts = inputs.batches.flatMap((b) => b.drafts);
    // Act
    const opened = vectors.entries.map(({ entry }) => ('system' in entry.payload ? entry.payload : openJson(entry.payload, dek, entry)));
    // Assess
    expect(opened).toEqual(drafts.map((d) => ('sealJson' in d.payload ? d.payload.sealJson : d.payload)));
  });
});

describe('encodeEntry on the frozen entries', () => {
  it('reproduces the canonical bytes, as UTF-8 text and as base64', () => {
    // Act
    const texts = replayed.map((e) => Buffer.from(e.bytes).toString('utf8'));
    const base64 = replayed.map((e) => toBase64(e.bytes));
    // Assess
    expect(texts).toEqual(vectors.entries.map((e) => e.canonicalUtf8));
    expect(base64).toEqual(vectors.entries.map((e) => e.canonicalBase64));
  });

  it('reproduces every leaf hash, which is SHA-256(0x00 ‖ canonical bytes)', () => {
    // Act
    const leaves = replayed.map((e) => toHex(e.leafHash));
    // Assess
    expect(leaves).toEqual(vectors.entries.map((e) => e.leafHashHex));
    vectors.entries.forEach((e, i) => {
      expect(createHash('sha256').update(Buffer.from([0])).update(storedBytes(i)).digest('hex')).toBe(e.leafHashHex);
    });
  });

  it('links each entry to the leaf hash of the one before, and the first to 64 zeros', () => {
    // Act
    const links = vectors.entries.map((e) => e.entry.prevHash);
    // Assess
    expect(links).toEqual(['0'.repeat(64), ...vectors.entries.slice(0, -1).map((e) => e.leafHashHex)]);
  });
});

describe('decodeEntry on the frozen bytes', () => {
  it('returns the stored entry, bytes and leaf hash for every entry', () => {
    vectors.entries.forEach((stored, i) => {
      // Act
      const decoded = decodeEntry(storedBytes(i));
      // Assess
      expect(decoded.entry).toEqual(stored.entry);
      expect(toBase64(decoded.bytes)).toBe(stored.canonicalBase64);
      expect(toHex(decoded.leafHash)).toBe(stored.leafHashHex);
    });
  });
});

describe('Merkle roots of the frozen log', () => {
  it('reproduces the RFC 9162 root at every size 1..6', () => {
    // Prepare
    const range = CompactRange.empty();
    // Act
    const roots = replayed.map((e) => {
      range.append(e.leafHash);
      return toHex(range.root());
    });
    // Assess
    expect(roots).toEqual(vectors.roots.map((r) => r.rootHex));
    const leaves = vectors.entries.map((e) => Buffer.from(e.leafHashHex, 'hex'));
    expect(vectors.roots.map((r) => referenceRoot(leaves.slice(0, r.size)).toString('hex'))).toEqual(roots);
  });
});

describe('signed checkpoint of the frozen log', () => {
  const signer = () => Ed25519NoteSigner.fromSignerKey(encodeSignerKey(inputs.origin, Buffer.from(inputs.checkpointSignerSeedHex, 'hex')));

  it('derives the stored verifier key from the fixed seed and origin', () => {
    // Act
    const vkey = signer().verifierKey;
    // Assess
    expect(vkey).toBe(vectors.checkpoint.vkey);
  });

  it('re-signs the exact stored note (Ed25519 is deterministic)', async () => {
    // Prepare
    const rootHash = Buffer.from(vectors.roots.at(-1)!.rootHex, 'hex');
    // Act
    const note = await signCheckpoint({ origin: inputs.origin, size: replayed.length, rootHash }, signer());
    // Assess
    expect(note).toBe(vectors.checkpoint.note);
  });

  it('verifies with the stored vkey and commits to the size-6 root', () => {
    // Act
    const checkpoint = openCheckpoint(vectors.checkpoint.note, new Ed25519NoteVerifier(vectors.checkpoint.vkey), { origin: inputs.origin });
    // Assess
    expect(checkpoint.size).toBe(vectors.checkpoint.size);
    expect(toHex(checkpoint.rootHash)).toBe(vectors.checkpoint.rootHex);
    expect(vectors.checkpoint.rootHex).toBe(vectors.roots.at(-1)!.rootHex);
  });
});

describe('tiles of the frozen log', () => {
  it('reproduces the level-0 tile path and bytes', () => {
    // Prepare
    const builder = new TileBuilder(0, new Map());
    const range = CompactRange.empty();
    // Act
    for (const e of replayed) range.append(e.leafHash, builder.visitor);
    const tiles = builder.changedTiles();
    // Assess
    expect(tiles.map((t) => [t.path, toBase64(t.bytes)])).toEqual([[vectors.tile.path, vectors.tile.base64]]);
    expect(toHex(fromBase64(vectors.tile.base64)!)).toBe(vectors.entries.map((e) => e.leafHashHex).join(''));
  });

  it('reproduces the entry bundle path and bytes, which decode to the canonical bytes', () => {
    // Prepare
    const builder = new EntryBundleBuilder(0);
    // Act
    for (const e of replayed) builder.add(e.bytes);
    const bundles = builder.changedBundles();
    // Assess
    expect(bundles.map((b) => [b.path, toBase64(b.bytes)])).toEqual([[vectors.bundle.path, vectors.bundle.base64]]);
    expect(decodeBundle(fromBase64(vectors.bundle.base64)!, replayed.length).map(toBase64)).toEqual(vectors.entries.map((e) => e.canonicalBase64));
  });
});
