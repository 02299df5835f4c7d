/**
 * Fixture builder for verifier tests: a tenant log of real entries (payloads
 * sealed with sealJson under a test DEK, chained with chainEntries), a generated
 * checkpoint key, checkpoints signed at chosen sizes, and tamper helpers that
 * work on the stored bytes the way an attacker with write access to the store
 * would: they never re-canonicalize and never touch the input arrays (every
 * helper returns new arrays and new byte copies).
 */
import { createHash, randomBytes } from 'node:crypto';
import { fromBase64, toBase64, toHex } from '../../lambdas/core/bytes.js';
import { originFor, signCheckpoint } from '../../lambdas/core/checkpoint.js';
import {
  chainEntries, encodeEntry, ENTRY_VERSION, formatTimestamp, genesisTip,
  type ChainTip, type EncodedEntry, type EntryDraft, type Signature,
} from '../../lambdas/core/ledger-entry.js';
import type { LogVerificationInput } from '../../lambdas/core/log-verifier.js';
import { ProofNodes } from '../../lambdas/core/merkle-proof.js';
import { prepareDataKey, sealJson, type DataKey } from '../../lambdas/core/payload-envelope.js';
import { Ed25519NoteSigner, Ed25519NoteVerifier, generateSignerKeys } from '../../lambdas/core/signed-note.js';

export const PREFIX = 'ledger.example.com';
export const TENANT = 'acme';
/** 2025-06-15T…: entries are timestamped from here on, 1 µs apart. */
export const BASE_NANOS = 1_750_000_000_000_000_000n;
const STEP_NANOS = 1_000n;

/** A checkpoint key pair whose name is `origin`. */
export interface LogKeys {
  readonly signer: Ed25519NoteSigner;
  readonly verifier: Ed25519NoteVerifier;
}

export function makeKeys(origin: string): LogKeys {
  const { signerKey, verifierKey } = generateSignerKeys(origin);
  return { signer: Ed25519NoteSigner.fromSignerKey(signerKey), verifier: new Ed25519NoteVerifier(verifierKey) };
}

export function makeDataKey(tenant: string): DataKey {
  return prepareDataKey({ id: `${tenant}/dek/2025-06`, version: 1, key: randomBytes(32) });
}

/** What a writer bug may do to entry `position`: another tenant, a clock that went back. */
export interface WriterQuirks {
  /** Tenant the writer stamps on entry `position` (default: the log's). */
  readonly tenantAt?: (position: number) => string | undefined;
  /** A timestamp the writer sets for entry `position`, ignoring the previous one. */
  readonly timestampAt?: (position: number) => bigint | undefined;
  /** Draft of entry `position` (default: an encrypted CREATE, see `draftFor`). */
  readonly draftAt?: (position: number, tenant: string, dek: DataKey) => EntryDraft;
}

/** An ordinary CREATE entry draft with a sealed JSON payload. */
export function draftFor(position: number, tenant: string, dek: DataKey, signatures: Signature[] = []): EntryDraft {
  const recordId = `rec-${position % 7}`;
  const idempotencyKey = `idem-${position}`;
  return {
    stream: 'decisions',
    recordId,
    revision: 1 + Math.floor(position / 7),
    operation: 'CREATE',
    actor: `user:auditor-${position % 3}`,
    correlationId: `corr-${position}`,
    idempotencyKey,
    signatures,
    payload: sealJson({ decision: position % 2 === 0 ? 'approve' : 'reject', note: `entry ${position}` }, dek, { tenant, recordId, idempotencyKey }),
  };
}

export interface TestLog {
  readonly tenant: string;
  readonly origin: string;
  readonly keys: LogKeys;
  readonly dek: DataKey;
  /** The stored canonical bytes, position order. Treat as read-only. */
  readonly entries: readonly Uint8Array[];
  readonly encoded: readonly EncodedEntry[];
  readonly tip: ChainTip;
  /** RFC 9162 root of entries [0, size), computed independently of the verifier. */
  rootAt(size: number): Uint8Array;
  /** Lowercase hex leaf hash of entry `position`. */
  leafHex(position: number): string;
  /** A checkpoint at `size` signed with the log's key. */
  checkpoint(size?: number): Promise<string>;
  /** Verification input for this log; `overrides` replace fields. */
  input(checkpoint: string | Uint8Array, overrides?: Partial<LogVerificationInput>): LogVerificationInput;
}

/**
 * Builds a log of `size` entries. With `quirks` the writer misbehaves at chosen
 * positions but still chains and hashes correctly, so its checkpoints are valid.
 * @example const log = buildLog(40); const cp = await log.checkpoint(40);
 */
export function buildLog(size: number, options: { tenant?: string; keys?: LogKeys; quirks?: WriterQuirks } = {}): TestLog {
  const tenant = options.tenant ?? TENANT;
  const origin = originFor(PREFIX, tenant);
  const keys = options.keys ?? makeKeys(origin);
  const dek = makeDataKey(tenant);
  const quirks = options.quirks ?? {};
  const encoded: EncodedEntry[] = [];
  let tip = genesisTip(tenant);
  for (let p = 0; p < size; p++) {
    const entryTenant = quirks.tenantAt?.(p) ?? tenant;
    const forced = quirks.timestampAt?.(p);
    const draft = quirks.draftAt?.(p, entryTenant, dek) ?? draftFor(p, entryTenant, dek);
    // chainEntries gives max(now, previous + 1ns): a forced clock forgets the previous timestamp.
    const from: ChainTip = forced === undefined ? { ...tip, tenant: entryTenant } : { ...tip, tenant: entryTenant, timestamp: undefined };
    const now = forced ?? BASE_NANOS + BigInt(p) * STEP_NANOS;
    const chained = chainEntries(from, [draft], now);
    encoded.push(chained.entries[0]!);
    tip = { ...chained.tip, tenant };
  }
  const leaves = encoded.map((e) => e.leafHash);
  const entries = encoded.map((e) => e.bytes);
  const rootAt = (n: number): Uint8Array => rootOf(entries.slice(0, n));
  return {
    tenant, origin, keys, dek, entries, encoded, tip, rootAt,
    leafHex: (position) => toHex(leaves[position]!),
    checkpoint: (n = size) => signCheckpoint({ origin, size: n, rootHash: rootAt(n) }, keys.signer),
    input: (checkpoint, overrides = {}) => ({ tenant, origin, verifier: keys.verifier, checkpoint, ...overrides }),
  };
}

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** MTH of leaf hashes (RFC 9162 §2.1.1 recursion, k = largest power of two < n), independent of the core. */
function mth(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Uint8Array.of(0x01), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** RFC 9162 root of the given leaf hashes. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return mth(leaves);
}

/** RFC 9162 root of stored entry bytes taken as leaves 0..n−1 (whatever they claim). */
export function rootOf(entries: readonly Uint8Array[]): Uint8Array {
  return mth(entries.map((e) => sha256(Uint8Array.of(0x00), e)));
}

/** The RFC 9162 consistency proof size1 → size2 over `entries`, assembled as a log serves it. */
export function consistencyProof(entries: readonly Uint8Array[], size1: number, size2: number): Uint8Array[] {
  const leaves = entries.slice(0, size2).map((e) => sha256(Uint8Array.of(0x00), e));
  const nodes = ProofNodes.consistency(size1, size2);
  return nodes.rehash(nodes.ids.map(({ level, index }) => mth(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level))));
}

/** Deep copies of stored bytes, to compare before and after a verification. */
export function snapshot(entries: readonly Uint8Array[]): Uint8Array[] {
  return entries.map((e) => new Uint8Array(e));
}

/** An async stream of the entries, as a store reader yields them. */
export async function* streamOf(entries: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const e of entries) yield e;
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
const fromLatin1 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

/** Attacker-style edits of stored bytes and of the stored sequence. */
export const tamper = {
  /** Changes one character inside the payload ciphertext (still strict base64 and canonical JSON). */
  payloadByte(bytes: Uint8Array): Uint8Array {
    const text = latin1(bytes);
    const at = text.indexOf('"ct":"') + '"ct":"'.length + 8;
    const swapped = text[at] === 'A' ? 'B' : 'A';
    return fromLatin1(text.slice(0, at) + swapped + text.slice(at + 1));
  },
  /** Replaces the 64 hex digits of the top-level prevHash. */
  prevHash(bytes: Uint8Array, hex: string): Uint8Array {
    const text = latin1(bytes);
    const key = ',"prevHash":"';
    const at = text.lastIndexOf(key) + key.length;
    return fromLatin1(text.slice(0, at) + hex + text.slice(at + 64));
  },
  /** The first `length` bytes only (a torn write). */
  cut(bytes: Uint8Array, length: number): Uint8Array {
    return new Uint8Array(bytes.subarray(0, length));
  },
  /** Drops positions [from, to) of the stored sequence. */
  remove(entries: readonly Uint8Array[], from: number, to = from + 1): Uint8Array[] {
    return [...entries.slice(0, from), ...entries.slice(to)];
  },
  /** Swaps stored entries i and i+1. */
  swap(entries: readonly Uint8Array[], i: number): Uint8Array[] {
    const out = [...entries];
    [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
    return out;
  },
  /** Stores `extra` at stream index `at`, shifting the rest. */
  insert(entries: readonly Uint8Array[], at: number, extra: Uint8Array): Uint8Array[] {
    return [...entries.slice(0, at), extra, ...entries.slice(at)];
  },
  /** Replaces stored entry `at`. */
  replace(entries: readonly Uint8Array[], at: number, bytes: Uint8Array): Uint8Array[] {
    return entries.map((e, i) => (i === at ? bytes : e));
  },
  /**
   * A forged entry claiming `position` that links to the genuine entry
   * position−1 (an attacker can read the store and the hash function is public),
   * with a payload sealed under the attacker's own key.
   */
  forge(log: TestLog, position: number): Uint8Array {
    const previous = log.encoded[position - 1]!.entry;
    const attackerKey = makeDataKey(log.tenant);
    const draft = { ...draftFor(position, log.tenant, attackerKey), actor: 'user:mallory' };
    return encodeEntry({
      ...draft,
      v: ENTRY_VERSION,
      tenant: log.tenant,
      position,
      timestamp: formatTimestamp(BASE_NANOS + BigInt(position) * STEP_NANOS),
      generation: previous.generation,
      prevHash: log.leafHex(position - 1),
    }).bytes;
  },
  /** Flips one bit of the Ed25519 signature (not of the key id) in every signature line of a note. */
  signature(note: string): string {
    const [text, block] = [note.slice(0, note.lastIndexOf('\n\n') + 2), note.slice(note.lastIndexOf('\n\n') + 2)];
    const lines = block.split('\n').map((line) => {
      const space = line.lastIndexOf(' ');
      if (space < 0) return line;
      const raw = fromBase64(line.slice(space + 1))!;
      raw[4 + 10]! ^= 0x01;
      return `${line.slice(0, space + 1)}${toBase64(raw)}`;
    });
    return text + lines.join('\n');
  },
};
