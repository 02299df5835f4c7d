/**
 * The ledger entry (DESIGN §2, stable format v1): model, validation, canonical
 * bytes (RFC 8785 through `canonicalize`), leaf hash and the prevHash chain.
 *
 * An entry's canonical bytes are what the log commits to: the leaf hash is
 * SHA-256(0x00 ‖ bytes) (RFC 9162 §2.1.1), and each entry names the leaf hash
 * of its predecessor in `prevHash`, so the leaves are a hash chain and the
 * leaves of the Merkle tree at once. Verifiers hash the stored bytes; they never
 * re-canonicalize a parsed entry (that costs ~6× the hashing).
 *
 * Nested objects (the payload envelope, the SYSTEM payload, signatures) are
 * strict schemas whose keys never repeat the top-level keys `position`,
 * `prevHash`, `tenant` or `timestamp`; the fast field scanner in
 * `entry-fields.ts` relies on that for signatures.
 */
import canonicalize from 'canonicalize';
import * as z from 'zod';
import { toHex } from './bytes.js';
import { EntryTooLargeError, InvalidEntryError } from './errors.js';
import { envelopeSchema } from './payload-envelope.js';
import { hashLeaf } from './rfc9162-hasher.js';

/** Entry format version written by this code. */
export const ENTRY_VERSION = 1;
/** Canonical bytes must fit a tlog-tiles bundle slot (16-bit length prefix). */
export const MAX_ENTRY_BYTES = 65_535;
/** prevHash of the entry at position 0. */
export const GENESIS_PREV_HASH = '0'.repeat(64);

const TENANT = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const TEXT = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;
const HEX64 = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** RFC 3339 UTC with exactly nine fractional digits: fixed width, so string order is time order. */
export const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{9})Z$/;

const position = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const tenantIdSchema = z.string().regex(TENANT, 'tenant: 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen');
export const timestampSchema = z.string().refine((s) => parseTimestamp(s) !== undefined, 'timestamp: RFC 3339 UTC with nine fractional digits');

/** An approver's detached signature over the record (verified by the approvals issue). */
export const signatureSchema = z.strictObject({
  signer: z.string().regex(TEXT),
  keyId: z.string().regex(TEXT),
  alg: z.enum(['Ed25519', 'ES256', 'RS256', 'WebAuthn']),
  sig: z.string().regex(BASE64).max(8192),
  authenticatorData: z.string().regex(BASE64).max(8192).optional(),
  clientDataJSON: z.string().regex(BASE64).max(8192).optional(),
});

/** The SYSTEM kind that records a recovery: the log continues from an earlier point (DESIGN §5). */
export const RECOVERY_KIND = 'recovery';
/** A C2SP signed note as text: printable ASCII lines, em dashes on signature lines, ending in a newline. */
const NOTE_TEXT = /^[\x20-\x7e\n\u2014]+\n$/;

/**
 * The details of a `recovery` SYSTEM entry, strict: positions
 * `[discarded.first, discarded.first + discarded.count)` of the log signed by
 * `previousCheckpoint` were discarded (a restore kept only the first `first`
 * entries); `retainedRoot` is the RFC 9162 root of that retained prefix and
 * `consistencyProof` (RFC 9162 §2.1.4, hex) proves the old checkpoint extends
 * it. From this entry on, the log carries `generation`. No key repeats a
 * top-level entry key that `entry-fields.ts` scans for.
 */
export const recoveryDetailsSchema = z.strictObject({
  generation: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  discarded: z.strictObject({ first: position, count: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
  previousCheckpoint: z.string().max(8192).regex(NOTE_TEXT),
  retainedRoot: z.string().regex(HEX64),
  consistencyProof: z.array(z.string().regex(HEX64)).max(128),
  reason: z.string().regex(TEXT),
  actor: z.string().regex(TEXT),
});

/** SYSTEM entries carry a clear payload (e.g. what was shredded, a recovery range) that survives shredding. */
export const systemPayloadSchema = z.strictObject({
  system: z
    .strictObject({
      kind: z.string().regex(NAME),
      details: z.record(z.string().regex(NAME), z.json()),
    })
    .superRefine((system, ctx) => {
      if (system.kind !== RECOVERY_KIND) return;
      const parsed = recoveryDetailsSchema.safeParse(system.details);
      for (const issue of parsed.error?.issues ?? []) ctx.addIssue({ code: 'custom', message: issue.message, path: ['details', ...issue.path] });
    }),
});

/** Objects parsed from JSON may carry an own "__proto__" key that copying would turn into a prototype. */
function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (value === null || typeof value !== 'object') return false;
  return Object.keys(value).some((k) => k === '__proto__' || hasProtoKey((value as Record<string, unknown>)[k]));
}

export const operationSchema = z.enum(['CREATE', 'UPDATE', 'DELETE', 'SYSTEM']);

export const entrySchema = z
  .strictObject({
    v: z.literal(ENTRY_VERSION),
    tenant: tenantIdSchema,
    position,
    timestamp: timestampSchema,
    generation: position,
    stream: z.string().regex(NAME),
    recordId: z.string().regex(NAME),
    revision: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    operation: operationSchema,
    actor: z.string().regex(TEXT),
    correlationId: z.string().regex(TEXT),
    idempotencyKey: z.string().regex(TEXT),
    signatures: z.array(signatureSchema).max(16),
    payload: z.union([envelopeSchema, systemPayloadSchema]),
    prevHash: z.string().regex(HEX64),
  })
  .refine((e) => (e.operation === 'SYSTEM') === 'system' in e.payload, {
    message: 'SYSTEM entries, and only they, carry a clear system payload',
    path: ['payload'],
  });

export type Entry = z.infer<typeof entrySchema>;
export type Signature = z.infer<typeof signatureSchema>;
/** What a SYSTEM entry records, in clear: a kind and its details. */
export type SystemPayload = z.infer<typeof systemPayloadSchema>['system'];
/** What a `recovery` SYSTEM entry records (see {@link recoveryDetailsSchema}). */
export type RecoveryDetails = z.infer<typeof recoveryDetailsSchema>;

/**
 * The recovery details of a SYSTEM payload of kind `recovery`, validated, or
 * undefined for any other payload.
 *
 * @example
 * const recovery = recoveryDetailsOf(entry.payload); // { generation: 1, discarded: { first: 20, count: 5 }, … }
 */
export function recoveryDetailsOf(payload: Entry['payload']): RecoveryDetails | undefined {
  if (!('system' in payload) || payload.system.kind !== RECOVERY_KIND) return undefined;
  const parsed = recoveryDetailsSchema.safeParse(payload.system.details);
  return parsed.success ? parsed.data : undefined;
}
export type Operation = z.infer<typeof operationSchema>;

/** An entry together with its canonical bytes and leaf hash. */
export interface EncodedEntry {
  readonly entry: Entry;
  readonly bytes: Uint8Array;
  readonly leafHash: Uint8Array;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** RFC 8785 text of a validated entry; canonicalize's own errors (e.g. lone surrogates) become InvalidEntryError. */
function canonical(entry: Entry): string {
  let text: string | undefined;
  try {
    text = canonicalize(entry);
  } catch (cause) {
    throw new InvalidEntryError(`entry cannot be canonicalized: ${(cause as Error).message}`, { cause });
  }
  if (text === undefined) throw new InvalidEntryError('entry cannot be canonicalized');
  return text;
}

/** Validates an entry; the error lists every problem with its field path. */
export function parseEntry(value: unknown): Entry {
  // Checked on the raw input: parsing copies objects, turning such a key into a prototype.
  if (hasProtoKey(value)) throw new InvalidEntryError('invalid entry: "__proto__" is not allowed as a key');
  const result = entrySchema.safeParse(value);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`).join('; ');
    throw new InvalidEntryError(`invalid entry: ${detail}`, { cause: result.error });
  }
  return result.data;
}

/**
 * Validates the entry and returns its canonical bytes and leaf hash.
 *
 * @example
 * const { bytes, leafHash } = encodeEntry(entry); // leafHash = SHA-256(0x00 ‖ bytes)
 */
export function encodeEntry(value: Entry): EncodedEntry {
  const entry = parseEntry(value);
  const text = canonical(entry);
  const bytes = new Uint8Array(Buffer.from(text, 'utf8'));
  if (bytes.length > MAX_ENTRY_BYTES) throw new EntryTooLargeError(bytes.length, MAX_ENTRY_BYTES + 1);
  return { entry, bytes, leafHash: hashLeaf(bytes) };
}

/**
 * Parses stored canonical bytes back into an entry, rejecting bytes that are
 * not valid JSON, not a valid entry, or not in canonical form (so two byte
 * strings never decode to the same entry).
 */
export function decodeEntry(bytes: Uint8Array): EncodedEntry {
  if (bytes.length > MAX_ENTRY_BYTES) throw new EntryTooLargeError(bytes.length, MAX_ENTRY_BYTES + 1);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch (cause) {
    throw new InvalidEntryError('entry bytes are not well-formed UTF-8', { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InvalidEntryError('entry bytes are not JSON', { cause });
  }
  const entry = parseEntry(value);
  if (canonical(entry) !== text) throw new InvalidEntryError('entry bytes are not in RFC 8785 canonical form');
  return { entry, bytes, leafHash: hashLeaf(bytes) };
}

/** 9999-12-31T23:59:59.999999999Z: the last instant RFC 3339's four-digit year can write. */
const MAX_TIMESTAMP_NANOS = 253_402_300_799_999_999_999n;

/** Nanoseconds since the Unix epoch of an entry timestamp, or undefined when malformed. */
export function parseTimestamp(text: string): bigint | undefined {
  const m = TIMESTAMP_PATTERN.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ns] = m;
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!);
  const back = new Date(ms);
  if (Number.isNaN(ms) || back.getUTCDate() !== +d! || back.getUTCMonth() !== +mo! - 1 || +h! > 23 || +mi! > 59 || +s! > 59) return undefined;
  if (back.getUTCFullYear() !== +y!) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt(ns!);
}

/** RFC 3339 UTC text with nine fractional digits for nanoseconds since the epoch. */
export function formatTimestamp(nanos: bigint): string {
  if (nanos < 0n || nanos > MAX_TIMESTAMP_NANOS) throw new InvalidEntryError('timestamps must lie between 1970-01-01 and 9999-12-31');
  const ms = Number(nanos / 1_000_000n);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

/** The next entry timestamp: max(now, previous + 1 ns), so timestamps strictly increase. */
export function nextTimestamp(previous: string | undefined, nowNanos: bigint): string {
  const prev = previous === undefined ? undefined : parseTimestamp(previous);
  if (previous !== undefined && prev === undefined) throw new InvalidEntryError(`previous timestamp ${previous} is malformed`);
  return formatTimestamp(prev !== undefined && prev >= nowNanos ? prev + 1n : nowNanos);
}

/** The end of a log: what the next appended entry links to. */
export interface ChainTip {
  readonly tenant: string;
  /** Next position (= number of entries). */
  readonly size: number;
  /** Lowercase hex leaf hash of entry size−1, GENESIS_PREV_HASH for an empty log. */
  readonly leafHash: string;
  /** Timestamp of entry size−1; undefined for an empty log. */
  readonly timestamp: string | undefined;
  readonly generation: number;
}

/** What a writer supplies per entry; the chain fills in the rest. */
export type EntryDraft = Omit<Entry, 'v' | 'tenant' | 'position' | 'timestamp' | 'generation' | 'prevHash'>;

/** The tip of an empty log. */
export function genesisTip(tenant: string, generation = 0): ChainTip {
  return { tenant, size: 0, leafHash: GENESIS_PREV_HASH, timestamp: undefined, generation };
}

/**
 * Chains drafts onto `tip`: consecutive positions, prevHash links and strictly
 * increasing timestamps. Returns the encoded entries and the new tip; nothing
 * is written, so a failure leaves no trace.
 *
 * @example
 * const { entries, tip: next } = chainEntries(tip, drafts, nowNanos);
 */
export function chainEntries(tip: ChainTip, drafts: readonly EntryDraft[], nowNanos: bigint): { entries: EncodedEntry[]; tip: ChainTip } {
  const entries: EncodedEntry[] = [];
  let { size, leafHash, timestamp } = tip;
  for (const draft of drafts) {
    timestamp = nextTimestamp(timestamp, nowNanos);
    const encoded = encodeEntry({
      ...draft,
      v: ENTRY_VERSION,
      tenant: tip.tenant,
      position: size,
      timestamp,
      generation: tip.generation,
      prevHash: leafHash,
    });
    entries.push(encoded);
    leafHash = toHex(encoded.leafHash);
    size += 1;
  }
  return { entries, tip: { ...tip, size, leafHash, timestamp } };
}
