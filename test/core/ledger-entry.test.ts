import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64, toHex } from '../../lambdas/core/bytes.js';
import { EntryTooLargeError, InvalidEntryError } from '../../lambdas/core/errors.js';
import {
  chainEntries, type ChainTip, decodeEntry, encodeEntry, type Entry, type EntryDraft, formatTimestamp, GENESIS_PREV_HASH,
  genesisTip, MAX_ENTRY_BYTES, nextTimestamp, parseEntry, parseTimestamp,
} from '../../lambdas/core/ledger-entry.js';

// Published RFC 8785 known answers, read from ../shared/vectors/jcs-cyberphone.json:
// github.com/cyberphone/json-canonicalization @ 19d51d7fe467d4706a3ff08adf8a748f29fc21e0,
// testdata/input/*.json -> testdata/output/*.json.
interface JcsVectors { source: { repo: string; commit: string }; cases: { name: string; input: string; output: string }[] }
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const jcs = JSON.parse(readFileSync(path.resolve(repoRoot, '..', 'shared', 'vectors', 'jcs-cyberphone.json'), 'utf8')) as JcsVectors;

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const b64 = (n: number, fill: number): string => toBase64(new Uint8Array(n).fill(fill));
/** Last year RFC 3339 can write: 9999-12-31T23:59:59.999999999Z. */
const MAX_NANOS = 253_402_300_799_999_999_999n;

const ENVELOPE = { alg: 'A256GCM', kid: 'acme/dek/1', kv: 1, iv: b64(12, 1), ct: b64(32, 2), cm: b64(32, 3) };
const SIGNATURE = { signer: 'user:dana', keyId: 'approver-1', alg: 'Ed25519', sig: b64(64, 4) };
const SYSTEM_PAYLOAD = { system: { kind: 'shredded', details: { range: [0, 5], note: 'Löschung ✓' } } };

/** A valid CREATE entry (as an untyped record, so tests can break it), with `overrides` applied. */
function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1, tenant: 'acme', position: 3, timestamp: '2026-01-15T09:30:00.123456789Z', generation: 0,
    stream: 'policies', recordId: 'pol-1', revision: 1, operation: 'CREATE', actor: 'user:alice',
    correlationId: 'corr-1', idempotencyKey: 'idem-1', signatures: [SIGNATURE], payload: ENVELOPE,
    prevHash: 'ab'.repeat(32), ...overrides,
  };
}
const systemEntry = (overrides: Record<string, unknown> = {}) => entry({ operation: 'SYSTEM', signatures: [], payload: SYSTEM_PAYLOAD, ...overrides });
const without = (key: string) => Object.fromEntries(Object.entries(entry()).filter(([k]) => k !== key));
const asEntry = (value: Record<string, unknown>) => value as unknown as Entry;

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, none was thrown');
}
/** parseEntry's message lists issues as "<path>: <message>", joined by "; ". */
const namesField = (field: string) => new RegExp(`(?:entry: |; )${field.replace(/[.()]/g, '\\$&')}: `);

describe('canonicalize (RFC 8785), as the entry code uses it', () => {
  it.each(jcs.cases)('turns cyberphone $name into the published output', ({ input, output }) => {
    // Act
    const result = canonicalize(JSON.parse(input));
    // Assess
    expect(result).toBe(output);
    expect(Buffer.from(result!, 'utf8').equals(Buffer.from(output, 'utf8'))).toBe(true);
  });

  it('gives encodeEntry its bytes: canonical UTF-8 of the entry, whatever the key order', () => {
    // Prepare
    const reversed = Object.fromEntries(Object.entries(systemEntry()).reverse());
    // Act
    const { bytes } = encodeEntry(asEntry(reversed));
    // Assess
    expect(text(bytes)).toBe(canonicalize(systemEntry()));
    expect(text(bytes)).toMatch(/^\{"actor":"user:alice","correlationId":"corr-1",.*,"timestamp":"2026-01-15T09:30:00\.123456789Z","v":1\}$/);
  });
});

describe('parseEntry', () => {
  it.each([
    ['a CREATE entry with an envelope and a signature', entry()],
    ['a SYSTEM entry with a clear payload', systemEntry()],
    ['a WebAuthn signature with its optional fields', entry({ signatures: [{ ...SIGNATURE, alg: 'WebAuthn', authenticatorData: b64(37, 5), clientDataJSON: b64(40, 6) }] })],
    ['the largest position and revision', entry({ position: Number.MAX_SAFE_INTEGER, revision: Number.MAX_SAFE_INTEGER })],
    ['a leap day', entry({ timestamp: '2028-02-29T23:59:59.999999999Z' })],
    ['a one-character tenant', entry({ tenant: 'a' })],
    ['a 63-character tenant', entry({ tenant: `a${'-'.repeat(61)}z` })],
  ])('accepts %s unchanged', (_, value) => {
    // Act
    const parsed = parseEntry(value);
    // Assess
    expect(parsed).toEqual(value);
  });

  it.each([
    ['v', 'version 2', entry({ v: 2 })],
    ['v', 'version "1"', entry({ v: '1' })],
    ['v', 'a missing version', without('v')],
    ['tenant', 'an uppercase tenant', entry({ tenant: 'Acme' })],
    ['tenant', 'a tenant starting with a hyphen', entry({ tenant: '-acme' })],
    ['tenant', 'a tenant ending with a hyphen', entry({ tenant: 'acme-' })],
    ['tenant', 'an empty tenant', entry({ tenant: '' })],
    ['tenant', 'a 64-character tenant', entry({ tenant: 'a'.repeat(64) })],
    ['tenant', 'a tenant with "/"', entry({ tenant: 'acme/eu' })],
    ['tenant', 'a tenant with "_"', entry({ tenant: 'ac_me' })],
    ['tenant', 'a numeric tenant', entry({ tenant: 42 })],
    ['position', 'a negative position', entry({ position: -1 })],
    ['position', 'a fractional position', entry({ position: 1.5 })],
    ['position', 'a string position', entry({ position: '3' })],
    ['position', 'an unsafe position', entry({ position: Number.MAX_SAFE_INTEGER + 1 })],
    ['position', 'a NaN position', entry({ position: Number.NaN })],
    ['timestamp', 'February 30th', entry({ timestamp: '2026-02-30T00:00:00.000000000Z' })],
    ['timestamp', 'February 29th of a common year', entry({ timestamp: '2026-02-29T00:00:00.000000000Z' })],
    ['timestamp', 'month 13', entry({ timestamp: '2026-13-01T00:00:00.000000000Z' })],
    ['timestamp', 'hour 24', entry({ timestamp: '2026-01-01T24:00:00.000000000Z' })],
    ['timestamp', 'minute 60', entry({ timestamp: '2026-01-01T23:60:00.000000000Z' })],
    ['timestamp', 'a leap second', entry({ timestamp: '2016-12-31T23:59:60.000000000Z' })],
    ['timestamp', 'missing nanoseconds', entry({ timestamp: '2026-01-15T09:30:00Z' })],
    ['timestamp', 'milliseconds only', entry({ timestamp: '2026-01-15T09:30:00.123Z' })],
    ['timestamp', 'ten fractional digits', entry({ timestamp: '2026-01-15T09:30:00.1234567890Z' })],
    ['timestamp', 'an offset instead of Z', entry({ timestamp: '2026-01-15T09:30:00.123456789+00:00' })],
    ['timestamp', 'a lowercase z', entry({ timestamp: '2026-01-15T09:30:00.123456789z' })],
    ['timestamp', 'a space instead of T', entry({ timestamp: '2026-01-15 09:30:00.123456789Z' })],
    ['timestamp', 'epoch milliseconds', entry({ timestamp: 1768469400123 })],
    ['generation', 'a negative generation', entry({ generation: -1 })],
    ['generation', 'a fractional generation', entry({ generation: 0.5 })],
    ['stream', 'an empty stream', entry({ stream: '' })],
    ['stream', 'a stream with a space', entry({ stream: 'my policies' })],
    ['stream', 'a non-ASCII stream', entry({ stream: 'política' })],
    ['stream', 'a 129-character stream', entry({ stream: 'p'.repeat(129) })],
    ['recordId', 'a recordId starting with "-"', entry({ recordId: '-pol' })],
    ['recordId', 'a recordId with "/"', entry({ recordId: 'pol/1' })],
    ['recordId', 'a numeric recordId', entry({ recordId: 1 })],
    ['revision', 'revision 0', entry({ revision: 0 })],
    ['revision', 'a negative revision', entry({ revision: -1 })],
    ['revision', 'a fractional revision', entry({ revision: 1.5 })],
    ['operation', 'an unknown operation', entry({ operation: 'READ' })],
    ['operation', 'a lowercase operation', entry({ operation: 'create' })],
    ['operation', 'a missing operation', without('operation')],
    ['actor', 'an empty actor', entry({ actor: '' })],
    ['actor', 'an actor with a leading space', entry({ actor: ' alice' })],
    ['actor', 'an actor with a trailing space', entry({ actor: 'alice ' })],
    ['actor', 'an actor with a newline', entry({ actor: 'ali\nce' })],
    ['actor', 'a non-ASCII actor', entry({ actor: 'zoë' })],
    ['actor', 'a 257-character actor', entry({ actor: 'a'.repeat(257) })],
    ['correlationId', 'an empty correlationId', entry({ correlationId: '' })],
    ['correlationId', 'a null correlationId', entry({ correlationId: null })],
    ['idempotencyKey', 'an empty idempotencyKey', entry({ idempotencyKey: '' })],
    ['idempotencyKey', 'an idempotencyKey with a tab', entry({ idempotencyKey: 'a\tb' })],
    ['signatures', 'signatures that are not an array', entry({ signatures: SIGNATURE })],
    ['signatures', '17 signatures', entry({ signatures: Array(17).fill(SIGNATURE) })],
    ['signatures.0.alg', 'a signature with an unknown alg', entry({ signatures: [{ ...SIGNATURE, alg: 'HS256' }] })],
    ['signatures.0.sig', 'a signature that is not base64', entry({ signatures: [{ ...SIGNATURE, sig: 'not base64!' }] })],
    ['signatures.0.signer', 'a signature without signer', entry({ signatures: [{ ...SIGNATURE, signer: undefined }] })],
    ['signatures.1.keyId', 'a second signature with an empty keyId', entry({ signatures: [SIGNATURE, { ...SIGNATURE, keyId: '' }] })],
    ['payload', 'a SYSTEM entry with an envelope payload', entry({ operation: 'SYSTEM' })],
    ['payload', 'a CREATE entry with a system payload', systemEntry({ operation: 'CREATE' })],
    ['payload', 'an UPDATE entry with a system payload', systemEntry({ operation: 'UPDATE' })],
    ['payload', 'a DELETE entry with a system payload', systemEntry({ operation: 'DELETE' })],
    ['payload', 'an envelope with an extra key', entry({ payload: { ...ENVELOPE, ip: '192.0.2.1' } })],
    ['payload.iv', 'an envelope with an 11-byte iv', entry({ payload: { ...ENVELOPE, iv: b64(11, 1) } })],
    ['payload', 'an envelope of another algorithm', entry({ payload: { ...ENVELOPE, alg: 'A128GCM' } })],
    ['payload.system.kind', 'a system payload with a bad kind', systemEntry({ payload: { system: { kind: 'bad kind', details: {} } } })],
    ['payload', 'a system payload with a bad details key', systemEntry({ payload: { system: { kind: 'k', details: { 'a b': 1 } } } })],
    ['payload', 'a system payload with an extra key', systemEntry({ payload: { ...SYSTEM_PAYLOAD, ip: '192.0.2.1' } })],
    ['payload', 'a missing payload', without('payload')],
    ['prevHash', 'an uppercase prevHash', entry({ prevHash: 'AB'.repeat(32) })],
    ['prevHash', 'a 63-digit prevHash', entry({ prevHash: '0'.repeat(63) })],
    ['prevHash', 'a 65-digit prevHash', entry({ prevHash: '0'.repeat(65) })],
    ['prevHash', 'a non-hex prevHash', entry({ prevHash: 'g'.repeat(64) })],
    ['prevHash', 'a 0x-prefixed prevHash', entry({ prevHash: `0x${'0'.repeat(62)}` })],
    ['prevHash', 'a base64 prevHash', entry({ prevHash: b64(32, 9) })],
    ['(entry)', 'null', null],
    ['(entry)', 'an array', [entry()]],
    ['(entry)', 'a JSON string of an entry', JSON.stringify(entry())],
  ])('rejects %s: %s', (field, _, value) => {
    // Act
    const error = thrown(() => parseEntry(value));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
    expect(error).toMatchObject({ code: 'INVALID_ENTRY' });
    expect(error.message).toMatch(namesField(field));
  });

  it.each([
    ['(entry)', 'an unknown top-level field', entry({ clientIp: '192.0.2.1' }), 'clientIp'],
    ['signatures.0', 'a signature with an unknown key', entry({ signatures: [{ ...SIGNATURE, comment: 'lgtm' }] }), 'comment'],
  ])('rejects %s with %s, naming the unknown key', (field, _, value, key) => {
    // Act
    const error = thrown(() => parseEntry(value));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
    expect(error.message).toMatch(namesField(field));
    expect(error.message).toContain(`"${key}"`);
  });

  it('lists every problem at once and passes the validation error on as cause', () => {
    // Act
    const error = thrown(() => parseEntry(entry({ position: -1, revision: 0, prevHash: 'x' })));
    // Assess
    for (const field of ['position', 'revision', 'prevHash']) expect(error.message).toMatch(namesField(field));
    expect(error.cause).toBeDefined();
  });
});

describe('encodeEntry', () => {
  /** A valid entry whose canonical bytes are exactly `size` long (ASCII padding in ct and actor). */
  function entryOfSize(size: number): Record<string, unknown> {
    const small = encodeEntry(asEntry(entry({ actor: 'a' }))).bytes.length;
    const room = size - small + ENVELOPE.ct.length;
    const ctBytes = Math.floor(room / 4) * 3;
    return entry({ payload: { ...ENVELOPE, ct: b64(ctBytes, 2) }, actor: `a${'b'.repeat(room - (ctBytes / 3) * 4)}` });
  }

  it('returns the canonical UTF-8 bytes and leaf hash SHA-256(0x00 ‖ bytes)', () => {
    // Act
    const { entry: encoded, bytes, leafHash } = encodeEntry(asEntry(systemEntry()));
    // Assess
    expect(encoded).toEqual(systemEntry());
    expect(Buffer.from(bytes).equals(Buffer.from(canonicalize(systemEntry())!, 'utf8'))).toBe(true);
    expect(toHex(leafHash)).toBe(createHash('sha256').update(Buffer.from([0])).update(bytes).digest('hex'));
  });

  it('validates before encoding', () => {
    // Act
    const error = thrown(() => encodeEntry(asEntry(entry({ revision: 0 }))));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
    expect(error.message).toMatch(namesField('revision'));
  });

  it('accepts canonical bytes of exactly 65535 bytes, the bundle slot limit', () => {
    // Prepare
    const value = entryOfSize(65_535);
    // Act
    const { bytes } = encodeEntry(asEntry(value));
    // Assess
    expect(MAX_ENTRY_BYTES).toBe(65_535);
    expect(bytes.length).toBe(65_535);
  });

  it('throws EntryTooLargeError at 65536 bytes, one past the limit', () => {
    // Prepare
    const value = entryOfSize(65_536);
    expect(utf8(canonicalize(value)!).length).toBe(65_536);
    // Act
    const error = thrown(() => encodeEntry(asEntry(value)));
    // Assess
    expect(error).toBeInstanceOf(EntryTooLargeError);
    expect(error).toMatchObject({ code: 'ENTRY_TOO_LARGE', size: 65_536 });
  });

  it('counts UTF-8 bytes, not UTF-16 code units', () => {
    // Prepare: 3 bytes per "€" in UTF-8, 1 code unit in UTF-16
    const note = '€'.repeat(21_900);
    const value = systemEntry({ payload: { system: { kind: 'k', details: { note } } } });
    expect(canonicalize(value)!.length).toBeLessThan(65_536);
    // Act
    const error = thrown(() => encodeEntry(asEntry(value)));
    // Assess
    expect(error).toBeInstanceOf(EntryTooLargeError);
  });

  // Regression: `canonicalize` throws a plain Error on a lone surrogate, which the
  // SYSTEM details (z.json()) let through; encodeEntry must raise a CoreError.
  it('rejects a lone surrogate in SYSTEM details with InvalidEntryError', () => {
    // Prepare
    const value = systemEntry({ payload: { system: { kind: 'k', details: { note: 'broken \ud800 text' } } } });
    // Act
    const error = thrown(() => encodeEntry(asEntry(value)));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
  });

  // Regression: zod's record parse assigns a "__proto__" key, setting the prototype
  // instead of a property, so the key vanishes from the committed bytes.
  it('never silently drops a "__proto__" key from SYSTEM details', () => {
    // Prepare
    const value = JSON.parse(JSON.stringify(systemEntry()).replace('"details":{', '"details":{"x":{"__proto__":{"a":1}},')) as Entry;
    // Act
    let outcome: string;
    try {
      outcome = text(encodeEntry(value).bytes);
    } catch (error) {
      outcome = error instanceof InvalidEntryError ? 'rejected' : `threw ${String(error)}`;
    }
    // Assess: either rejected or committed as given
    if (outcome !== 'rejected') expect(outcome).toContain('"x":{"__proto__":{"a":1}}');
  });
});

describe('decodeEntry', () => {
  const canonical = text(encodeEntry(asEntry(systemEntry())).bytes);

  it('decodes canonical bytes to the same entry, bytes and leaf hash', () => {
    // Prepare
    const encoded = encodeEntry(asEntry(systemEntry()));
    // Act
    const decoded = decodeEntry(encoded.bytes);
    // Assess
    expect(decoded.entry).toEqual(encoded.entry);
    expect(Buffer.from(decoded.bytes).equals(Buffer.from(encoded.bytes))).toBe(true);
    expect(toHex(decoded.leafHash)).toBe(toHex(encoded.leafHash));
  });

  it('decodes a view into a larger buffer by its own bytes only', () => {
    // Prepare
    const bytes = utf8(canonical);
    const buffer = new Uint8Array(bytes.length + 20).fill(0x20);
    buffer.set(bytes, 10);
    // Act
    const decoded = decodeEntry(buffer.subarray(10, 10 + bytes.length));
    // Assess
    expect(decoded.entry).toEqual(systemEntry());
  });

  it.each([
    ['extra whitespace after a colon', canonical.replace('"actor":', '"actor": ')],
    ['pretty-printing', JSON.stringify(JSON.parse(canonical), null, 2)],
    ['a trailing newline', `${canonical}\n`],
    ['reordered keys', JSON.stringify(entry({ operation: 'SYSTEM', signatures: [], payload: SYSTEM_PAYLOAD }))],
    ['an escaped ASCII letter', canonical.replace('"actor":"user:alice"', '"actor":"user:\\u0061lice"')],
    ['an escaped solidus', canonical.replace('"idempotencyKey":"idem-1"', '"idempotencyKey":"idem\\/1"')],
    ['an escaped non-ASCII character', canonical.replace('Löschung', 'L\\u00f6schung')],
    ['an uppercase \\u escape', canonical.replace('✓', '\\u2713')],
    ['a number written 3.0', canonical.replace('"position":3', '"position":3.0')],
    ['a number written 3e0', canonical.replace('"position":3', '"position":3e0')],
    ['a duplicate key', canonical.replace('"actor":"user:alice"', '"actor":"user:mallory","actor":"user:alice"')],
  ])('rejects bytes that differ from RFC 8785 form by %s', (_, variant) => {
    // Prepare
    expect(variant).not.toBe(canonical);
    // Act
    const error = thrown(() => decodeEntry(utf8(variant)));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
    expect(error.message).toMatch(/canonical/);
  });

  it.each([
    ['empty bytes', new Uint8Array(0)],
    ['plain text', utf8('not json')],
    ['truncated JSON', utf8(canonical.slice(0, -1))],
    ['a UTF-8 byte order mark', new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(canonical)])],
    ['NaN', utf8(canonical.replace('"position":3', '"position":NaN'))],
  ])('rejects %s as not JSON', (_, bytes) => {
    // Act
    const error = thrown(() => decodeEntry(bytes));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
    expect(error.message).toMatch(/not JSON/);
  });

  it('rejects canonical JSON that is not a valid entry, naming the field', () => {
    // Prepare
    const bytes = utf8(canonicalize(systemEntry({ revision: 0 }))!);
    // Act
    const error = thrown(() => decodeEntry(bytes));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
    expect(error.message).toMatch(namesField('revision'));
  });

  it('throws EntryTooLargeError for more than 65535 bytes before parsing', () => {
    // Prepare
    const bytes = new Uint8Array(65_536).fill(0x20);
    // Act
    const error = thrown(() => decodeEntry(bytes));
    // Assess
    expect(error).toBeInstanceOf(EntryTooLargeError);
    expect(error).toMatchObject({ size: 65_536 });
  });

  // Regression: decoding with Buffer#toString('utf8') would replace
  // malformed sequences with U+FFFD, so 0xFF and 0xFE both decode to the entry whose
  // canonical text holds "\uFFFD": two byte strings (two leaf hashes), one entry.
  it('rejects bytes that are not well-formed UTF-8', () => {
    // Prepare
    const bytes = Buffer.from(canonical, 'utf8');
    const at = bytes.indexOf(Buffer.from('ö', 'utf8'));
    const malformed = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 2)]);
    // Act
    const error = thrown(() => decodeEntry(malformed));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
  });

  // Regression: as in encodeEntry, a "\ud800" escape reaches canonicalize, which throws a plain Error.
  it('rejects an escaped lone surrogate with InvalidEntryError', () => {
    // Prepare
    const bytes = utf8(canonical.replace('Löschung', '\\ud800'));
    // Act
    const error = thrown(() => decodeEntry(bytes));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
  });
});

describe('parseTimestamp and formatTimestamp', () => {
  it.each([
    ['1970-01-01T00:00:00.000000000Z', 0n],
    ['1970-01-01T00:00:00.000000001Z', 1n],
    ['2026-01-15T09:30:00.123456789Z', 1_768_469_400_123_456_789n],
    ['2028-02-29T12:00:00.000000000Z', 1_835_438_400_000_000_000n],
    ['9999-12-31T23:59:59.999999999Z', MAX_NANOS],
  ])('maps %s to %s ns since the epoch and back', (textForm, nanos) => {
    // Act
    const parsed = parseTimestamp(textForm);
    const formatted = formatTimestamp(nanos);
    // Assess
    expect(parsed).toBe(nanos);
    expect(formatted).toBe(textForm);
  });

  it('round-trips any instant from 1970 to 9999 with nanosecond precision', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_NANOS }), (nanos) => {
        // Act
        const formatted = formatTimestamp(nanos);
        // Assess
        expect(formatted).toHaveLength(30);
        expect(parseTimestamp(formatted)).toBe(nanos);
      }),
    );
  });

  it('orders text the way it orders time (fixed width)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_NANOS }), fc.bigInt({ min: 0n, max: MAX_NANOS }), (a, b) => {
        // Act
        const [ta, tb] = [formatTimestamp(a), formatTimestamp(b)];
        // Assess
        expect(ta < tb).toBe(a < b);
      }),
    );
  });

  it.each([
    '2026-02-30T00:00:00.000000000Z', '2026-04-31T00:00:00.000000000Z', '2100-02-29T00:00:00.000000000Z',
    '2026-00-10T00:00:00.000000000Z', '2026-01-00T00:00:00.000000000Z', '2026-01-15T09:30:00Z',
    '2026-01-15T09:30:00.12345678Z', '2026-01-15T09:30:00.123456789', '2026-01-15T09:30:00.123456789+01:00',
    '2026-1-15T09:30:00.123456789Z', ' 2026-01-15T09:30:00.123456789Z', '2026-01-15T09:30:00.123456789Z\n',
    '２０２６-01-15T09:30:00.123456789Z', '',
  ])('rejects %j', (textForm) => {
    // Act
    const parsed = parseTimestamp(textForm);
    // Assess
    expect(parsed).toBeUndefined();
  });

  it('refuses instants before 1970', () => {
    // Act
    const error = thrown(() => formatTimestamp(-1n));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
  });

  // Regression: past year 9999 formatTimestamp returned '+010000-01-01T00:00.000000000Z'
  // (Date#toISOString's expanded year, sliced), and past Date's range a RangeError.
  it.each([MAX_NANOS + 1n, 8_640_000_000_000_001_000_000n])('refuses %s ns, after 9999-12-31, with InvalidEntryError', (nanos) => {
    // Act
    const error = thrown(() => formatTimestamp(nanos));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
  });
});

describe('nextTimestamp', () => {
  const T = 1_768_469_400_123_456_789n;

  it.each([
    ['the clock for the first entry', undefined, T, T],
    ['the clock when it is ahead', formatTimestamp(T - 5n), T, T],
    ['previous + 1 ns when the clock repeats', formatTimestamp(T), T, T + 1n],
    ['previous + 1 ns when the clock went backwards', formatTimestamp(T), T - 3_600_000_000_000n, T + 1n],
  ])('returns %s', (_, previous, now, expected) => {
    // Act
    const next = nextTimestamp(previous, now);
    // Assess
    expect(next).toBe(formatTimestamp(expected));
  });

  it('strictly increases over any clock readings, repeats and jumps back included', () => {
    const reading = fc.oneof(fc.bigInt({ min: T - 10n, max: T + 10n }), fc.bigInt({ min: 0n, max: 2n * T }));
    fc.assert(
      fc.property(fc.array(reading, { minLength: 1, maxLength: 40 }), (clock) => {
        // Act
        const stamps: string[] = [];
        for (const now of clock) stamps.push(nextTimestamp(stamps.at(-1), now));
        // Assess
        stamps.forEach((stamp, i) => {
          expect(parseTimestamp(stamp)! >= clock[i]!).toBe(true);
          if (i > 0) expect(parseTimestamp(stamp)! > parseTimestamp(stamps[i - 1]!)!).toBe(true);
          if (i > 0) expect(stamp > stamps[i - 1]!).toBe(true);
        });
      }),
    );
  });

  it('refuses a malformed previous timestamp', () => {
    // Act
    const error = thrown(() => nextTimestamp('2026-01-15T09:30:00Z', T));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
  });
});

describe('chainEntries', () => {
  const NOW = 1_768_469_400_123_456_789n;
  const draft = (n: number, overrides: Record<string, unknown> = {}): EntryDraft => ({
    stream: 'policies', recordId: `pol-${n}`, revision: 1, operation: 'CREATE', actor: 'user:alice',
    correlationId: `corr-${n}`, idempotencyKey: `idem-${n}`, signatures: [], payload: ENVELOPE, ...overrides,
  } as EntryDraft);
  const drafts = (count: number, from = 0) => Array.from({ length: count }, (_, i) => draft(from + i));
  function deepFreeze<T>(value: T): T {
    if (value !== null && typeof value === 'object') {
      for (const v of Object.values(value)) deepFreeze(v);
      Object.freeze(value);
    }
    return value;
  }

  it('starts a log at position 0 with a prevHash of 64 zeros', () => {
    // Act
    const { entries } = chainEntries(genesisTip('acme', 2), drafts(1), NOW);
    // Assess
    expect(GENESIS_PREV_HASH).toBe('0000000000000000000000000000000000000000000000000000000000000000');
    expect(entries[0]!.entry).toMatchObject({ v: 1, tenant: 'acme', position: 0, generation: 2, prevHash: GENESIS_PREV_HASH, timestamp: formatTimestamp(NOW) });
  });

  it('gives consecutive positions and links each prevHash to the previous leaf hash, across batches', () => {
    // Prepare
    const first = chainEntries(genesisTip('acme'), drafts(3), NOW);
    // Act
    const second = chainEntries(first.tip, drafts(4, 3), NOW + 1_000n);
    // Assess
    const all = [...first.entries, ...second.entries];
    expect(all.map((e) => e.entry.position)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    all.slice(1).forEach((e, i) => expect(e.entry.prevHash).toBe(toHex(all[i]!.leafHash)));
    expect(second.tip).toEqual({ tenant: 'acme', size: 7, leafHash: toHex(all[6]!.leafHash), timestamp: all[6]!.entry.timestamp, generation: 0 });
  });

  it('gives strictly increasing timestamps within a batch at one clock reading', () => {
    // Act
    const { entries } = chainEntries(genesisTip('acme'), drafts(3), NOW);
    // Assess
    expect(entries.map((e) => e.entry.timestamp)).toEqual([NOW, NOW + 1n, NOW + 2n].map(formatTimestamp));
  });

  it('encodes each entry as encodeEntry does', () => {
    // Act
    const { entries } = chainEntries(genesisTip('acme'), drafts(2), NOW);
    // Assess
    for (const e of entries) expect(toBase64(e.bytes)).toBe(toBase64(encodeEntry(e.entry).bytes));
  });

  it('produces the same bytes whether drafts come in one batch or several', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), (cut) => {
        // Prepare
        const all = drafts(6);
        // Act
        const whole = chainEntries(genesisTip('acme'), all, NOW);
        const head = chainEntries(genesisTip('acme'), all.slice(0, cut), NOW);
        const tail = chainEntries(head.tip, all.slice(cut), NOW);
        // Assess
        expect([...head.entries, ...tail.entries].map((e) => toBase64(e.bytes))).toEqual(whole.entries.map((e) => toBase64(e.bytes)));
        expect(tail.tip).toEqual(whole.tip);
      }),
      { numRuns: 20 },
    );
  });

  it('changes neither the input tip nor the drafts, and returns a new tip', () => {
    // Prepare
    const tip: ChainTip = deepFreeze(chainEntries(genesisTip('acme'), drafts(2), NOW).tip);
    const input = deepFreeze(drafts(3, 2));
    const before = structuredClone({ tip, input });
    // Act
    const result = chainEntries(tip, input, NOW);
    // Assess
    expect({ tip, input }).toEqual(before);
    expect(result.tip).not.toBe(tip);
    expect(result.tip.size).toBe(5);
  });

  it('returns no entries and an equal tip for no drafts', () => {
    // Prepare
    const tip = genesisTip('acme');
    // Act
    const result = chainEntries(tip, [], NOW);
    // Assess
    expect(result.entries).toEqual([]);
    expect(result.tip).toEqual(tip);
  });

  it('throws for an invalid draft mid-batch, returning nothing and leaving the tip as it was', () => {
    // Prepare
    const tip = deepFreeze(genesisTip('acme'));
    const batch = [draft(0), draft(1, { revision: 0 }), draft(2)];
    let result: unknown;
    // Act
    const error = thrown(() => {
      result = chainEntries(tip, batch, NOW);
    });
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
    expect(error.message).toMatch(namesField('revision'));
    expect(result).toBeUndefined();
    expect(tip).toEqual(genesisTip('acme'));
  });

  it('rejects a tip whose tenant is not a valid tenant id', () => {
    // Act
    const error = thrown(() => chainEntries(genesisTip('Acme Corp'), drafts(1), NOW));
    // Assess
    expect(error).toBeInstanceOf(InvalidEntryError);
    expect(error.message).toMatch(namesField('tenant'));
  });
});
