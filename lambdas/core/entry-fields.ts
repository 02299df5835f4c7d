/**
 * Reads the fields a verifier checks (position, prevHash, tenant, timestamp)
 * straight from an entry's canonical bytes, without parsing the JSON: parsing a
 * ~1 KiB entry costs several times its hash (bench/RESULTS.md). `HeldEntry`
 * keeps an entry read this way while a verifier holds it back.
 *
 * Why this is exact for entries the writer produced: in RFC 8785 form the keys
 * are sorted, so a v1 entry is
 *   {"actor":…,"correlationId":…,"generation":G,"idempotencyKey":…,"operation":"OP",
 *    "payload":{…},"position":P,"prevHash":"H","recordId":…,"revision":N,
 *    "signatures":[…],"stream":"…","tenant":"T","timestamp":"TS","v":1}
 * - the tail `,"timestamp":"<30 chars>","v":1}` has a fixed length, so the
 *   timestamp and the end of the tenant value sit at fixed offsets from the end;
 * - a JSON string never holds an unescaped quote, so a key pattern like
 *   `,"prevHash":"` occurs only as a key; searching backwards from the tenant
 *   it is found after crossing only recordId, revision, signatures and stream,
 *   and the strict signature schema has no key of that name, so the first hit
 *   is the top-level key (whatever a SYSTEM payload before it contains).
 * Bytes altered after signing change the leaf hash and fail the root check
 * whatever this reader returns; deep verification (`decodeEntry`) parses and
 * validates every entry in full.
 */
import { LeafInput } from './rfc9162-hasher.js';

/** A key searched backwards; `shift[c]`: how far the search may move left when byte c is under the key's first byte. */
interface BackwardPattern {
  readonly bytes: Buffer;
  readonly shift: Uint8Array;
}

/**
 * Horspool's skip table, mirrored for a right-to-left search: when the window
 * starting at `at` does not match, the next window that can, at − j, must have
 * pattern[j] = bytes[at] for some j ≥ 1; the smallest such j is the safe shift,
 * and the pattern's length when no byte of it after the first is bytes[at].
 */
function backwardPattern(text: string): BackwardPattern {
  const bytes = Buffer.from(text, 'latin1');
  const shift = new Uint8Array(256).fill(bytes.length);
  for (let j = bytes.length - 1; j >= 1; j--) shift[bytes[j]!] = j;
  return { bytes, shift };
}

const PREV_HASH_KEY = backwardPattern(',"prevHash":"');
const POSITION_KEY = Buffer.from(',"position":', 'latin1');
const TIMESTAMP_KEY = Buffer.from(',"timestamp":"', 'latin1');
const TENANT_KEY = backwardPattern(',"tenant":"');
const TAIL = Buffer.from('","v":1}', 'latin1');
const TIMESTAMP_LENGTH = 30; // YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ
/** Offset of `,"timestamp":"` from the end of the entry. */
const TIMESTAMP_FROM_END = TAIL.length + TIMESTAMP_LENGTH + TIMESTAMP_KEY.length;

/** The verifier-relevant fields of one entry, as found in its bytes. */
export interface EntryFields {
  position: number;
  /** Byte offset of the 64 hex digits of prevHash. */
  prevHashAt: number;
  /** Byte offset of the 30-character timestamp. */
  timestampAt: number;
  /** Byte range [tenantStart, tenantEnd) of the tenant value. */
  tenantStart: number;
  tenantEnd: number;
  /** Whether the tenant is the expected one passed to `scanEntryFields`. */
  tenantMatches: boolean;
}

/** The bytes `,"tenant":"<tenant>"` that `scanEntryFields` matches in place. */
export function tenantPattern(tenant: string): Buffer {
  return Buffer.from(`,"tenant":${JSON.stringify(tenant)}`, 'utf8');
}

/** A reusable result object for `scanEntryFields`. */
export function emptyEntryFields(): EntryFields {
  return { position: -1, prevHashAt: -1, timestampAt: -1, tenantStart: 0, tenantEnd: 0, tenantMatches: false };
}

/** Whether `pattern` occurs in `bytes` at `at` (a plain loop: Buffer.compare's argument checks cost more for short patterns). */
function matchAt(bytes: Buffer, at: number, pattern: Buffer): boolean {
  if (at < 0 || at + pattern.length > bytes.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    if (bytes[at + i] !== pattern[i]) return false;
  }
  return true;
}

/** Last occurrence of `pattern` that ends by `before`, scanning backwards (short distances). */
function lastMatchBefore(bytes: Buffer, before: number, pattern: BackwardPattern): number {
  const first = pattern.bytes[0];
  let at = before - pattern.bytes.length;
  while (at >= 0) {
    const c = bytes[at]!;
    if (c === first && matchAt(bytes, at, pattern.bytes)) return at;
    at -= pattern.shift[c]!;
  }
  return -1;
}

/**
 * Scans canonical entry bytes into `out`; returns false when they do not have
 * the shape of a v1 entry. `expectedTenant`, the bytes `,"tenant":"<tenant>"`
 * (see `tenantPattern`), is checked at its fixed place first (the fast path).
 */
export function scanEntryFields(bytes: Buffer, out: EntryFields, expectedTenant?: Buffer): boolean {
  const ts = bytes.length - TIMESTAMP_FROM_END;
  if (!matchAt(bytes, ts, TIMESTAMP_KEY) || !matchAt(bytes, bytes.length - TAIL.length, TAIL)) return false;
  out.timestampAt = ts + TIMESTAMP_KEY.length;
  out.tenantEnd = ts - 1;
  let tenant: number;
  out.tenantMatches = expectedTenant !== undefined && matchAt(bytes, ts - expectedTenant.length, expectedTenant);
  if (out.tenantMatches) {
    tenant = ts - expectedTenant!.length;
  } else {
    tenant = lastMatchBefore(bytes, ts, TENANT_KEY);
    if (tenant < 0 || bytes[ts - 1] !== 0x22) return false;
  }
  out.tenantStart = tenant + TENANT_KEY.bytes.length;
  const prev = lastMatchBefore(bytes, tenant, PREV_HASH_KEY);
  if (prev < 0 || bytes[prev + PREV_HASH_KEY.bytes.length + 64] !== 0x22) return false;
  out.prevHashAt = prev + PREV_HASH_KEY.bytes.length;
  // Digits of the position run backwards from the comma before ,"prevHash".
  let position = 0;
  let scale = 1;
  let i = prev - 1;
  for (; i >= 0; i--) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x39) break;
    position += (c - 0x30) * scale;
    scale *= 10;
  }
  if (scale === 1 || scale > 1e16 || (bytes[i + 1] === 0x30 && scale > 10)) return false;
  if (!matchAt(bytes, i + 1 - POSITION_KEY.length, POSITION_KEY)) return false;
  out.position = position;
  return true;
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/**
 * Whether `bytes[at, at + 64)` are the lowercase hex digits of a 32-character
 * `'binary'` digest string (a stored prevHash against a leaf hash), compared in
 * place: no string is made of the stored bytes.
 */
function isHexOfDigest(bytes: Uint8Array, at: number, digest: string): boolean {
  if (at < 0 || at + 2 * digest.length > bytes.length) return false;
  for (let i = 0; i < digest.length; i++) {
    const c = digest.charCodeAt(i);
    if (bytes[at + 2 * i] !== HEX_DIGITS[c >> 4] || bytes[at + 2 * i + 1] !== HEX_DIGITS[c & 15]) return false;
  }
  return true;
}

/** Byte-wise order of a[aAt, +aLength) and b[bAt, +bLength): negative, 0 or positive, as JavaScript orders latin1 strings. */
function compareBytes(a: Uint8Array, aAt: number, aLength: number, b: Uint8Array, bAt: number, bLength: number): number {
  const n = Math.min(aLength, bLength);
  for (let i = 0; i < n; i++) {
    const d = a[aAt + i]! - b[bAt + i]!;
    if (d !== 0) return d;
  }
  return aLength - bLength;
}

/**
 * An entry as a verifier reads and holds it back: its bytes, kept in its own
 * leaf-hash input (the copy hashing needs anyway), its leaf hash as
 * node:crypto's 32-character binary string, and where prevHash and the
 * timestamp sit in those bytes, compared in place. Reused once settled, so
 * reading allocates nothing per entry but the digest string.
 */
export class HeldEntry {
  position = 0;
  /** Index in the stream of stored entries. */
  streamIndex = 0;
  /** Leaf hash as a binary string. */
  leaf = '';
  private readonly input = new LeafInput();
  private prevHashAt = 0;
  private timestampAt = 0;

  /** Takes in the bytes `scanEntryFields` read into `fields`, and hashes them. */
  load(bytes: Uint8Array, fields: EntryFields): void {
    this.position = fields.position;
    this.input.load(bytes);
    this.leaf = this.input.digest();
    this.prevHashAt = fields.prevHashAt + 1;
    this.timestampAt = fields.timestampAt + 1;
  }

  /** Whether this entry's prevHash is `leaf` (a binary-string leaf hash). */
  linksTo(leaf: string): boolean {
    return isHexOfDigest(this.input.bytes, this.prevHashAt, leaf);
  }

  /** Order of this entry's timestamp and `other`'s (or the given one's), as strings order them. */
  compareTimestamp(other: HeldEntry | Buffer): number {
    const bytes = this.input.bytes;
    if (other instanceof HeldEntry) return compareBytes(bytes, this.timestampAt, TIMESTAMP_LENGTH, other.input.bytes, other.timestampAt, TIMESTAMP_LENGTH);
    return compareBytes(bytes, this.timestampAt, TIMESTAMP_LENGTH, other, 0, other.length);
  }

  /** The leaf hash, the prevHash and the timestamp as the API prints them (for results and findings). */
  get leafHex(): string {
    return digestHex(this.leaf);
  }
  get prevHash(): string {
    return this.input.bytes.toString('latin1', this.prevHashAt, this.prevHashAt + 64);
  }
  get timestamp(): string {
    return this.input.bytes.toString('latin1', this.timestampAt, this.timestampAt + TIMESTAMP_LENGTH);
  }
}

/** Lowercase hex of a binary-string digest. */
export function digestHex(digest: string): string {
  return Buffer.from(digest, 'latin1').toString('hex');
}
