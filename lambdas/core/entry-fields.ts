/**
 * Reads the fields a verifier checks (position, prevHash, tenant, timestamp)
 * straight from an entry's canonical bytes, without parsing the JSON: parsing a
 * ~1 KiB entry costs several times its hash (bench/RESULTS.md).
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
const PREV_HASH_KEY = Buffer.from(',"prevHash":"', 'latin1');
const POSITION_KEY = Buffer.from(',"position":', 'latin1');
const TIMESTAMP_KEY = Buffer.from(',"timestamp":"', 'latin1');
const TENANT_KEY = Buffer.from(',"tenant":"', 'latin1');
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

/** Last occurrence of `pattern` starting before `before`, scanning backwards (short distances). */
function lastMatchBefore(bytes: Buffer, before: number, pattern: Buffer): number {
  const first = pattern[0];
  for (let at = before - pattern.length; at >= 0; at--) {
    if (bytes[at] === first && matchAt(bytes, at, pattern)) return at;
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
  out.tenantStart = tenant + TENANT_KEY.length;
  const prev = lastMatchBefore(bytes, tenant, PREV_HASH_KEY);
  if (prev < 0 || bytes[prev + PREV_HASH_KEY.length + 64] !== 0x22) return false;
  out.prevHashAt = prev + PREV_HASH_KEY.length;
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
