import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CoreError } from '../../lambdas/core/errors.js';
import { InvalidSignatureError, UnverifiedNoteError } from '../../lambdas/core/note-errors.js';
import {
  Ed25519NoteSigner, Ed25519NoteVerifier, type NoteSigner, encodeSignerKey, generateSignerKeys, isValidKeyName,
  keyIdFor, openNote, parseSignerKey, parseVerifierKey, signNote, verifierKeyFor,
} from '../../lambdas/core/signed-note.js';

// Published vectors, gathered in ../shared/vectors/signed-notes.json from
// github.com/golang/mod sumdb/note/note_test.go (TestSign, TestOpen, TestNewVerifier)
// and github.com/C2SP/C2SP signed-note.md (exact commits are in the file's `sources`).
interface Vectors {
  valid: { name: string; vkey: string; text: string; note: string }[];
  badKeys: { vkey: string; why: string }[];
}
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const vectors = JSON.parse(
  readFileSync(path.resolve(repoRoot, '..', 'shared', 'vectors', 'signed-notes.json'), 'utf8'),
) as Vectors;
const [peter, peterAndEnoch, enoch] = vectors.valid as [Vectors['valid'][number], Vectors['valid'][number], Vectors['valid'][number]];
const singleSigned = vectors.valid.filter((v) => v.note.split('\u2014').length === 2);
const peterV = new Ed25519NoteVerifier(peter.vkey);
const enochV = new Ed25519NoteVerifier(enoch.vkey);
const TEXT = peter.text;
const PETER_SIG = peter.note.slice(TEXT.length + 1);
const ENOCH_SIG = enoch.note.slice(TEXT.length + 1);
// Go's signer key for the PeterNeumann vector (golang/mod sumdb/note/note_test.go TestSign);
// not in the shared vectors file, so it lives here.
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const code = (c: string) => expect.objectContaining({ code: c });

/** Every proper substring and every single-byte increment of `key` (Go's TestNewVerifier manglings). */
function manglings(key: string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= key.length; i++) for (let j = i + 1; j <= key.length; j++) if (i !== 0 || j !== key.length) out.push(key.slice(i, j));
  for (let i = 0; i < key.length; i++) out.push(key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1));
  return out;
}

describe('openNote with published vectors', () => {
  it.each(vectors.valid)('verifies $name', (v) => {
    // Prepare
    const verifier = new Ed25519NoteVerifier(v.vkey);
    // Act
    const opened = openNote(v.note, [verifier]);
    // Assess
    expect(opened.text).toBe(v.text);
    expect(opened.verified).toEqual([expect.objectContaining({ name: verifier.name, keyId: verifier.keyId })]);
  });

  it('keeps signatures of unknown keys as unverified, and verifies both when both keys are known', () => {
    // Act
    const one = openNote(peterAndEnoch.note, [peterV]);
    const both = openNote(peterAndEnoch.note, [peterV, enochV]);
    // Assess
    expect(one.verified.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(one.unverified).toEqual([{ name: 'EnochRoot', keyId: 0xaf0cfe78, base64: ENOCH_SIG.slice(12, -1) }]);
    expect(both.verified.map((s) => [s.name, s.keyId])).toEqual([['PeterNeumann', 0xc74f20a3], ['EnochRoot', 0xaf0cfe78]]);
    expect(both.unverified).toEqual([]);
  });

  it('accepts the note as bytes too', () => {
    // Act
    const opened = openNote(new TextEncoder().encode(peter.note), [peterV]);
    // Assess
    expect(opened.text).toBe(TEXT);
  });

  it.each(singleSigned)('rejects $name with any single byte of text or signature line flipped', (v) => {
    // Prepare
    const verifier = new Ed25519NoteVerifier(v.vkey);
    const bytes = new TextEncoder().encode(v.note);
    expect(openNote(bytes, [verifier]).verified).toHaveLength(1);
    for (let i = 0; i < bytes.length; i++) {
      const mutated = bytes.slice();
      mutated[i]! ^= 0x01;
      // Act & Assess
      expect(() => openNote(mutated, [verifier]), `byte ${i}`).toThrow(CoreError);
    }
  });

  it('rejects a note whose only signature is from an unknown key, listing what it found', () => {
    // Act
    const act = () => openNote(peterAndEnoch.note, []);
    // Assess
    expect(act).toThrow(UnverifiedNoteError);
    expect(act).toThrow(code('INVALID_SIGNATURE'));
    expect(act).toThrow(/no verifiable signatures.*PeterNeumann\+c74f20a3, EnochRoot\+af0cfe78/);
  });

  it('rejects a known key whose signature fails, naming the key', () => {
    // Prepare: Go's TestOpen "Invalid signature"
    const note = `${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    // Act & Assess
    expect(() => openNote(note, [peterV])).toThrow(InvalidSignatureError);
    expect(() => openNote(note, [peterV])).toThrow('invalid signature for key PeterNeumann+c74f20a3');
  });

  it('drops repeated signatures as Go does: repeated known keys once, identical unknown lines once', () => {
    // Prepare: Go's TestOpen "Duplicated verified and unverified signatures"
    const enochAbcd = `${ENOCH_SIG.slice(0, 60)}ABCD${ENOCH_SIG.slice(60)}`;
    const note = `${TEXT}\n${PETER_SIG}${PETER_SIG}${ENOCH_SIG}${ENOCH_SIG}${enochAbcd}`;
    // Act
    const opened = openNote(note, [peterV]);
    // Assess
    expect(opened.verified).toHaveLength(1);
    expect(opened.unverified.map((s) => s.base64)).toEqual([ENOCH_SIG.slice(12, -1), enochAbcd.slice(12, -1)]);
  });

  it('ignores a signature from a key sharing the name but not the id of a known key', async () => {
    // Prepare
    const impostor = Ed25519NoteSigner.fromSignerKey(generateSignerKeys('PeterNeumann').signerKey);
    const note = `${peter.note}${(await signNote(TEXT, [impostor])).slice(TEXT.length + 1)}`;
    // Act
    const opened = openNote(note, [peterV]);
    // Assess
    expect(opened.verified).toHaveLength(1);
    expect(opened.unverified).toEqual([expect.objectContaining({ name: 'PeterNeumann', keyId: impostor.keyId })]);
  });

  it('rejects ambiguous verifiers (same name and key id) as INVALID_KEY', () => {
    // Act & Assess
    expect(() => openNote(peter.note, [peterV, new Ed25519NoteVerifier(peter.vkey)])).toThrow(code('INVALID_KEY'));
  });

  it('accepts 100 signatures and rejects 101 as INVALID_NOTE', () => {
    // Act & Assess
    expect(openNote(`${TEXT}\n${PETER_SIG.repeat(100)}`, [peterV]).verified).toHaveLength(1);
    expect(() => openNote(`${TEXT}\n${PETER_SIG.repeat(101)}`, [peterV])).toThrow(/101 signatures/);
    expect(() => openNote(`${TEXT}\n${PETER_SIG.repeat(101)}`, [])).toThrow(code('INVALID_NOTE'));
  });

  it.each([
    ['text only (Go TestOpen)', TEXT, /no blank line/],
    ['no signature lines (Go TestOpen)', `${TEXT}\n`, /signature block/],
    ['no final newline (Go TestOpen)', `${TEXT}\n${PETER_SIG.slice(0, -1)}`, /signature block/],
    ['a control character (Go TestOpen)', `\x01${TEXT}\n${PETER_SIG}`, /control character U\+0001/],
    ['a carriage return', `${TEXT.replace('\n', '\r\n')}\n${PETER_SIG}`, /control character U\+000D/],
    ['an unpaired surrogate', `\uD800${TEXT}\n${PETER_SIG}`, /not valid UTF-8/],
    ['a key name with a space (Go TestOpen)', `${TEXT}\n\u2014 Bad Name ${PETER_SIG.slice(15)}`, /base64/],
    ['an unexpected line (Go TestOpen)', `${TEXT}\n${PETER_SIG}Unexpected line.\n`, /line 2 does not start/],
    ['a hyphen instead of an em dash', `${TEXT}\n-${PETER_SIG.slice(1)}`, /line 1 does not start/],
    ['a key name with a plus', `${TEXT}\n${PETER_SIG.replace('Peter', 'Pe+ter')}`, /invalid key name/],
    ['no base64', `${TEXT}\n\u2014 PeterNeumann\n`, /strict base64/],
    ['unpadded base64', `${TEXT}\n${PETER_SIG.replace('=\n', '\n')}`, /strict base64/],
    ['non-canonical base64 (trailing bits)', `${TEXT}\n${PETER_SIG.replace('AM=\n', 'AN=\n')}`, /strict base64/],
    ['a signature shorter than 5 bytes', `${TEXT}\n\u2014 PeterNeumann x08gow==\n`, /strict base64/],
  ])('rejects a note with %s as INVALID_NOTE', (_, note, message) => {
    // Act & Assess
    expect(() => openNote(note, [peterV])).toThrow(code('INVALID_NOTE'));
    expect(() => openNote(note, [peterV])).toThrow(message);
  });

  it('rejects bytes that are not UTF-8 (Go TestOpen "\\xff")', () => {
    // Prepare
    const bytes = new Uint8Array([0xff, ...new TextEncoder().encode(peter.note)]);
    // Act & Assess
    expect(() => openNote(bytes, [peterV])).toThrow(code('INVALID_NOTE'));
  });
});

describe('signNote', () => {
  it('reproduces the Go x/mod TestSign note byte for byte', async () => {
    // Prepare
    const signer = Ed25519NoteSigner.fromSignerKey(PETER_SKEY);
    // Act
    const note = await signNote(TEXT, [signer]);
    // Assess
    expect(note).toBe(peter.note);
  });

  it('round-trips arbitrary texts, including empty lines, with several generated keys', async () => {
    // Prepare
    const signers = ['a.example/log', 'witness.example/w1'].map((n) => Ed25519NoteSigner.fromSignerKey(generateSignerKeys(n).signerKey));
    const verifiers = signers.map((s) => new Ed25519NoteVerifier(s.verifierKey));
    const line = fc.string({ unit: 'grapheme' }).filter((l) => !/[\u0000-\u001F]/.test(l));
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 5 }), async (lines) => {
        const text = lines.map((l) => `${l}\n`).join('');
        // Act
        const opened = openNote(await signNote(text, signers), verifiers);
        // Assess
        expect(opened.text).toBe(text);
        expect(opened.verified.map((s) => s.keyId)).toEqual(signers.map((s) => s.keyId));
      }),
      { numRuns: 50 },
    );
  });

  it.each([
    ['a text without a final newline', 'hello', /end in a newline/],
    ['an empty text', '', /end in a newline/],
    ['a control character', 'a\tb\n', /control character U\+0009/],
    ['an unpaired surrogate', '\uDC00\n', /unpaired surrogate/],
  ])('rejects %s as INVALID_NOTE', async (_, text, message) => {
    // Prepare
    const signer = Ed25519NoteSigner.fromSignerKey(PETER_SKEY);
    // Act & Assess
    await expect(signNote(text, [signer])).rejects.toThrow(code('INVALID_NOTE'));
    await expect(signNote(text, [signer])).rejects.toThrow(message);
  });

  it('rejects no signers, bad signer names and ids, empty signatures, and passes signer errors on', async () => {
    // Prepare
    const fake = (over: Partial<NoteSigner>): NoteSigner => ({ name: 'a', keyId: 1, sign: async () => new Uint8Array(64), ...over });
    const boom = new Error('kms down');
    // Act & Assess
    await expect(signNote('x\n', [])).rejects.toThrow(code('INVALID_NOTE'));
    await expect(signNote('x\n', [fake({ name: 'bad name' })])).rejects.toThrow(code('INVALID_KEY'));
    await expect(signNote('x\n', [fake({ keyId: 2 ** 32 })])).rejects.toThrow(code('INVALID_KEY'));
    await expect(signNote('x\n', [fake({ sign: async () => new Uint8Array(0) })])).rejects.toThrow(code('INVALID_SIGNATURE'));
    await expect(signNote('x\n', [fake({ sign: () => Promise.reject(boom) })])).rejects.toBe(boom);
  });
});

describe('verifier and signer keys', () => {
  it('derives the published key ids from name and public key', () => {
    for (const v of vectors.valid) {
      // Act
      const { name, keyId, publicKey } = parseVerifierKey(v.vkey);
      // Assess
      expect(keyIdFor(name, publicKey)).toBe(keyId);
      expect(verifierKeyFor(name, publicKey)).toBe(v.vkey);
    }
  });

  it.each(vectors.badKeys)('rejects the published bad key ($why) as INVALID_KEY', ({ vkey }) => {
    // Act & Assess
    expect(() => new Ed25519NoteVerifier(vkey)).toThrow(code('INVALID_KEY'));
  });

  it('rejects every substring and single-byte increment of a published verifier key', () => {
    for (const key of manglings(peter.vkey)) {
      // Act & Assess
      expect(() => parseVerifierKey(key), key).toThrow(code('INVALID_KEY'));
    }
  });

  it('rejects every substring and single-byte increment of a signer key (Go TestNewSigner)', () => {
    for (const key of manglings(PETER_SKEY)) {
      // Act & Assess
      expect(() => parseSignerKey(key), key).toThrow(code('INVALID_KEY'));
    }
  });

  it('round-trips generated keys through every encoding', async () => {
    // Prepare
    const { signerKey, verifierKey } = generateSignerKeys('example.com/log');
    // Act
    const parsed = parseSignerKey(signerKey);
    const signer = Ed25519NoteSigner.fromSignerKey(signerKey);
    const verifier = new Ed25519NoteVerifier(verifierKey);
    const sig = await signer.sign(new Uint8Array([1, 2, 3]));
    // Assess
    expect(encodeSignerKey(parsed.name, parsed.seed)).toBe(signerKey);
    expect(verifierKeyFor(parsed.name, parsed.publicKey)).toBe(verifierKey);
    expect(signer.verifierKey).toBe(verifierKey);
    expect([signer.name, signer.keyId]).toEqual([verifier.name, verifier.keyId]);
    expect(verifier.verify(new Uint8Array([1, 2, 3]), sig)).toBe(true);
    expect(verifier.verify(new Uint8Array([1, 2, 4]), sig)).toBe(false);
    expect(verifier.verify(new Uint8Array([1, 2, 3]), sig.subarray(1))).toBe(false);
  });

  it('builds a signer from a node:crypto KeyObject and rejects non-Ed25519 or public keys', async () => {
    // Prepare
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    // Act
    const signer = Ed25519NoteSigner.fromKeyObject('example.com/log', privateKey);
    const note = await signNote('hi\n', [signer]);
    // Assess
    expect(openNote(note, [new Ed25519NoteVerifier(verifierKeyFor('example.com/log', publicKey))]).text).toBe('hi\n');
    expect(() => Ed25519NoteSigner.fromKeyObject('example.com/log', publicKey)).toThrow(code('INVALID_KEY'));
    expect(() => Ed25519NoteSigner.fromKeyObject('example.com/log', generateKeyPairSync('x25519').privateKey)).toThrow(code('INVALID_KEY'));
    expect(() => Ed25519NoteSigner.fromKeyObject('bad name', privateKey)).toThrow(code('INVALID_KEY'));
  });

  it('rejects wrong-length public keys and seeds', () => {
    // Act & Assess
    expect(() => keyIdFor('a', new Uint8Array(31))).toThrow(code('INVALID_KEY'));
    expect(() => encodeSignerKey('a', new Uint8Array(33))).toThrow(code('INVALID_KEY'));
    expect(() => parseVerifierKey(peter.vkey.replace('c74f20a3', 'C74F20A3'))).toThrow(/lowercase hex/);
  });
});

describe('isValidKeyName', () => {
  it.each(['example.com/log', 'PeterNeumann', 'ü/ключ', '\u2014'])('accepts %j', (name) => {
    // Act & Assess
    expect(isValidKeyName(name)).toBe(true);
  });

  it.each(['', 'a b', 'a+b', 'a\tb', 'a\nb', 'a\u00a0b', 'a\u2028b', 'a\u3000b', 'a\u0085b', 'a\u0001b', '\uD800'])(
    'rejects %j',
    (name) => {
      // Act & Assess
      expect(isValidKeyName(name)).toBe(false);
    },
  );
});
