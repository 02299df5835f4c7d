/**
 * Reads the fields a verifier checks (position, prevHash, tenant, timestamp)
 * straight from an entry's canonical bytes, without parsing the JSON: parsing a
 * ~1 KiB entry costs several times its hash (bench/RESULTS.md).
 *
 * Why this is exact for entries the writer produced: in RFC 8785 form the keys
 * are sorted, so the entry ends with
 *   …,"position":P,"prevHash":"H","recordId":…,"revision":N,"signatures":[…],
 *   "stream":"…","tenant":"T","timestamp":"TS","v":1}
 * A JSON string never contains an unescaped quote, so `,"timestamp":"` and
 * `,"tenant":"` can only occur as keys, and the last such occurrence is the
 * top-level one (only scalars follow). `,"prevHash":"` is searched backwards
 * from there; the only object in between is `signatures`, whose strict schema
 * has no key of that name. Bytes that were altered after signing change the
 * leaf hash and fail the root check whatever this reader returns; the deep
 * verification mode (`decodeEntry`) parses and validates every entry in full.
 */
const PREV_HASH_KEY = Buffer.from(',"prevHash":"', 'latin1');
const POSITION_KEY = Buffer.from(',"position":', 'latin1');
const TIMESTAMP_KEY = Buffer.from(',"timestamp":"', 'latin1');
const TENANT_KEY = Buffer.from(',"tenant":"', 'latin1');
const TIMESTAMP_LENGTH = 30; // YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ
const QUOTE = 0x22;

/** The verifier-relevant fields of one entry, as found in its bytes. */
export interface EntryFields {
  /** Position field; -1 when it cannot be read. */
  position: number;
  /** Byte offset of the 64 hex digits of prevHash; -1 when not found. */
  prevHashAt: number;
  /** The timestamp text (30 characters), or '' when not found. */
  timestamp: string;
  /** Byte range [tenantStart, tenantEnd) of the tenant value. */
  tenantStart: number;
  tenantEnd: number;
}

/** Scans `bytes` (canonical entry bytes) into `out`; returns false when the shape is not an entry's. */
export function scanEntryFields(bytes: Buffer, out: EntryFields): boolean {
  out.position = -1;
  out.prevHashAt = -1;
  out.timestamp = '';
  const ts = bytes.lastIndexOf(TIMESTAMP_KEY);
  if (ts < 0) return false;
  const tsStart = ts + TIMESTAMP_KEY.length;
  if (bytes[tsStart + TIMESTAMP_LENGTH] !== QUOTE) return false;
  out.timestamp = bytes.toString('latin1', tsStart, tsStart + TIMESTAMP_LENGTH);
  const tenant = bytes.lastIndexOf(TENANT_KEY, ts);
  if (tenant < 0 || bytes[ts - 1] !== QUOTE) return false;
  out.tenantStart = tenant + TENANT_KEY.length;
  out.tenantEnd = ts - 1;
  const prev = bytes.lastIndexOf(PREV_HASH_KEY, tenant);
  if (prev < 0) return false;
  out.prevHashAt = prev + PREV_HASH_KEY.length;
  if (bytes[out.prevHashAt + 64] !== QUOTE) return false;
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
  if (scale === 1 || scale > 1e16) return false;
  const keyAt = i + 1 - POSITION_KEY.length;
  if (keyAt < 0 || bytes.compare(POSITION_KEY, 0, POSITION_KEY.length, keyAt, i + 1) !== 0) return false;
  if (bytes[i + 1] === 0x30 && scale > 10) return false; // leading zero
  out.position = position;
  return true;
}

/** A reusable result object for `scanEntryFields`. */
export function emptyEntryFields(): EntryFields {
  return { position: -1, prevHashAt: -1, timestamp: '', tenantStart: 0, tenantEnd: 0 };
}
