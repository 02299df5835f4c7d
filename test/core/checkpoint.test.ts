import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../lambdas/core/bytes.js';
import {
  formatCheckpoint, openCheckpoint, originFor, parseCheckpoint, signCheckpoint,
} from '../../lambdas/core/checkpoint.js';
import { CheckpointOriginMismatchError, UnverifiedNoteError } from '../../lambdas/core/note-errors.js';
import { EMPTY_ROOT } from '../../lambdas/core/rfc9162-hasher.js';
import { Ed25519NoteSigner, Ed25519NoteVerifier, generateSignerKeys, signNote } from '../../lambdas/core/signed-note.js';

const ORIGIN = 'ledger.example.com/acme';
const ROOT = new Uint8Array(32).map((_, i) => i * 7);
const B64_ROOT = toBase64(ROOT);
const code = (c: string) => expect.objectContaining({ code: c });
const keysFor = (name: string) => {
  const { signerKey, verifierKey } = generateSignerKeys(name);
  return { signer: Ed25519NoteSigner.fromSignerKey(signerKey), verifier: new Ed25519NoteVerifier(verifierKey) };
};
const log = keysFor(ORIGIN);

describe('formatCheckpoint and parseCheckpoint', () => {
  it('parses and re-formats the C2SP tlog-checkpoint.md example body unchanged', () => {
    // Prepare: body of the example in github.com/C2SP/C2SP tlog-checkpoint.md
    const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    // Act
    const parsed = parseCheckpoint(body);
    // Assess
    expect(parsed.origin).toBe('example.com/behind-the-sofa');
    expect(parsed.size).toBe(20852163);
    expect(parsed.extensions).toEqual([]);
    expect(formatCheckpoint(parsed)).toBe(body);
  });

  it('formats the exact line layout, with extension lines after the root', () => {
    // Act
    const body = formatCheckpoint({ origin: ORIGIN, size: 0, rootHash: EMPTY_ROOT, extensions: ['ext one', '— x'] });
    // Assess
    expect(body).toBe(`${ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n— x\n`);
  });

  it('round-trips any origin, safe size, root and extension lines', () => {
    // Prepare
    const line = fc.string({ minLength: 1, unit: 'grapheme' }).filter((l) => !/[\u0000-\u001F]/.test(l));
    const checkpoint = fc.record({
      origin: line,
      size: fc.maxSafeNat(),
      rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      extensions: fc.array(line, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(checkpoint, (cp) => {
        // Act
        const body = formatCheckpoint(cp);
        // Assess
        expect(parseCheckpoint(body)).toEqual(cp);
        expect(formatCheckpoint(parseCheckpoint(body))).toBe(body);
      }),
    );
  });

  it('accepts the largest safe size', () => {
    // Act & Assess
    expect(parseCheckpoint(`${ORIGIN}\n9007199254740991\n${B64_ROOT}\n`).size).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    ['a leading zero', `${ORIGIN}\n01\n${B64_ROOT}\n`, /leading zeros/],
    ['a zero with a leading zero', `${ORIGIN}\n00\n${B64_ROOT}\n`, /leading zeros/],
    ['a negative size', `${ORIGIN}\n-1\n${B64_ROOT}\n`, /not decimal/],
    ['a plus sign', `${ORIGIN}\n+1\n${B64_ROOT}\n`, /not decimal/],
    ['a fractional size', `${ORIGIN}\n1.0\n${B64_ROOT}\n`, /not decimal/],
    ['an exponent', `${ORIGIN}\n1e3\n${B64_ROOT}\n`, /not decimal/],
    ['a hex size', `${ORIGIN}\n0x10\n${B64_ROOT}\n`, /not decimal/],
    ['a padded size', `${ORIGIN}\n 1\n${B64_ROOT}\n`, /not decimal/],
    ['non-ASCII digits', `${ORIGIN}\n\u0661\n${B64_ROOT}\n`, /not decimal/],
    ['an empty size', `${ORIGIN}\n\n${B64_ROOT}\n`, /not decimal/],
    ['a size beyond 2^53 - 1', `${ORIGIN}\n9007199254740992\n${B64_ROOT}\n`, /exceeds/],
    ['a 31-byte root', `${ORIGIN}\n1\n${toBase64(ROOT.subarray(1))}\n`, /32 bytes, got 31/],
    ['a 33-byte root', `${ORIGIN}\n1\n${toBase64(new Uint8Array(33))}\n`, /32 bytes, got 33/],
    ['an unpadded root', `${ORIGIN}\n1\n${B64_ROOT.replace('=', '')}\n`, /strict base64/],
    ['a hex root', `${ORIGIN}\n1\n${'00'.repeat(32)}\n`, /strict base64|32 bytes/],
    ['a missing root line', `${ORIGIN}\n1\n`, /got 2 line/],
    ['only an origin', `${ORIGIN}\n`, /got 1 line/],
    ['no final newline', `${ORIGIN}\n1\n${B64_ROOT}`, /end in a newline/],
    ['an empty origin', `\n1\n${B64_ROOT}\n`, /origin must be non-empty/],
    ['an empty extension line', `${ORIGIN}\n1\n${B64_ROOT}\n\n`, /extension line 1 must be non-empty/],
    ['a control character in the origin', `${ORIGIN}\r\n1\n${B64_ROOT}\n`, /origin contains a control/],
  ])('rejects %s as INVALID_CHECKPOINT', (_, body, message) => {
    // Act & Assess
    expect(() => parseCheckpoint(body)).toThrow(code('INVALID_CHECKPOINT'));
    expect(() => parseCheckpoint(body)).toThrow(message);
  });

  it.each([
    ['a negative size', { origin: ORIGIN, size: -1, rootHash: ROOT }],
    ['a fractional size', { origin: ORIGIN, size: 1.5, rootHash: ROOT }],
    ['an unsafe size', { origin: ORIGIN, size: 2 ** 53, rootHash: ROOT }],
    ['a NaN size', { origin: ORIGIN, size: Number.NaN, rootHash: ROOT }],
    ['a 31-byte root', { origin: ORIGIN, size: 1, rootHash: ROOT.subarray(1) }],
    ['an empty origin', { origin: '', size: 1, rootHash: ROOT }],
    ['an origin with a newline', { origin: 'a\nb', size: 1, rootHash: ROOT }],
    ['an extension with a newline', { origin: ORIGIN, size: 1, rootHash: ROOT, extensions: ['a\nb'] }],
    ['an empty extension', { origin: ORIGIN, size: 1, rootHash: ROOT, extensions: [''] }],
  ])('refuses to format %s', (_, input) => {
    // Act & Assess
    expect(() => formatCheckpoint(input)).toThrow(code('INVALID_CHECKPOINT'));
  });
});

describe('originFor', () => {
  it('joins prefix and tenant with a slash', () => {
    // Act & Assess
    expect(originFor('ledger.example.com', 'acme')).toBe(ORIGIN);
    expect(originFor('example.com/logs', 't-1')).toBe('example.com/logs/t-1');
  });

  it.each([
    ['', 'acme'], ['ledger.example.com/', 'acme'], ['ledger.example.com', ''],
    ['ledger.example.com', 'a/b'], ['ledger.example.com', 'a b'], ['ledger+x', 'acme'],
  ])('rejects prefix %j with tenant %j', (prefix, tenant) => {
    // Act & Assess
    expect(() => originFor(prefix, tenant)).toThrow(code('INVALID_CHECKPOINT'));
  });
});

describe('signCheckpoint and openCheckpoint', () => {
  it('round-trips a signed checkpoint with extensions', async () => {
    // Prepare
    const input = { origin: ORIGIN, size: 42, rootHash: ROOT, extensions: ['e1'] };
    // Act
    const note = await signCheckpoint(input, log.signer);
    const opened = openCheckpoint(note, log.verifier, { origin: ORIGIN });
    // Assess
    expect(note.startsWith(`${ORIGIN}\n42\n${B64_ROOT}\ne1\n\n\u2014 ${ORIGIN} `)).toBe(true);
    expect(opened).toEqual(input);
  });

  it('ignores extra signatures from unknown keys, such as witnesses', async () => {
    // Prepare
    const witness = keysFor('witness.example/w1');
    const body = formatCheckpoint({ origin: ORIGIN, size: 7, rootHash: ROOT });
    const note = await signNote(body, [log.signer, witness.signer]);
    // Act
    const opened = openCheckpoint(note, log.verifier, { origin: ORIGIN });
    // Assess
    expect(opened.size).toBe(7);
  });

  it('refuses to sign with a key whose name is not the origin', async () => {
    // Prepare
    const other = keysFor('ledger.example.com/other');
    // Act & Assess
    await expect(signCheckpoint({ origin: ORIGIN, size: 1, rootHash: ROOT }, other.signer)).rejects.toThrow(
      CheckpointOriginMismatchError,
    );
  });

  it('rejects a checkpoint signed by a different key with the same name', async () => {
    // Prepare
    const impostor = keysFor(ORIGIN);
    const note = await signCheckpoint({ origin: ORIGIN, size: 1, rootHash: ROOT }, impostor.signer);
    // Act & Assess
    expect(() => openCheckpoint(note, log.verifier, { origin: ORIGIN })).toThrow(UnverifiedNoteError);
    expect(() => openCheckpoint(note, log.verifier, { origin: ORIGIN })).toThrow(code('INVALID_SIGNATURE'));
  });

  it('rejects a tampered tree size', async () => {
    // Prepare
    const note = await signCheckpoint({ origin: ORIGIN, size: 10, rootHash: ROOT }, log.signer);
    // Act & Assess
    expect(() => openCheckpoint(note.replace('\n10\n', '\n11\n'), log.verifier, { origin: ORIGIN })).toThrow(
      code('INVALID_SIGNATURE'),
    );
  });

  it('rejects a verifier for another origin, naming expected and found', async () => {
    // Prepare
    const other = keysFor('ledger.example.com/other');
    const note = await signCheckpoint({ origin: 'ledger.example.com/other', size: 1, rootHash: ROOT }, other.signer);
    // Act & Assess
    expect(() => openCheckpoint(note, other.verifier, { origin: ORIGIN })).toThrow(
      'verifier key name must equal the log origin: expected origin "ledger.example.com/acme", found "ledger.example.com/other"',
    );
  });

  it('rejects a validly signed checkpoint whose origin line is another log', async () => {
    // Prepare: the log's own key signs a body claiming another origin (bypassing signCheckpoint)
    const body = formatCheckpoint({ origin: 'ledger.example.com/other', size: 1, rootHash: ROOT });
    const note = await signNote(body, [log.signer]);
    // Act
    const act = () => openCheckpoint(note, log.verifier, { origin: ORIGIN });
    // Assess
    expect(act).toThrow(CheckpointOriginMismatchError);
    expect(act).toThrow(code('INVALID_CHECKPOINT'));
    expect(act).toThrow('expected origin "ledger.example.com/acme", found "ledger.example.com/other"');
  });

  it('rejects a validly signed note that is not a checkpoint', async () => {
    // Prepare
    const note = await signNote(`${ORIGIN}\n01\n${B64_ROOT}\n`, [log.signer]);
    // Act & Assess
    expect(() => openCheckpoint(note, log.verifier, { origin: ORIGIN })).toThrow(code('INVALID_CHECKPOINT'));
  });
});
