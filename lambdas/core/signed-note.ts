/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519, interoperable with Go's
 * golang.org/x/mod/sumdb/note: key ids, verifier and signer key strings, signing
 * and opening notes. Pure: no I/O beyond node:crypto. Base64 is decoded strictly
 * (canonical, padded), so no two signature lines decode to the same bytes.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sign as ed25519Sign, verify as ed25519Verify } from 'node:crypto';
import { concatBytes, fromBase64, toBase64 } from './bytes.js';
import { InvalidKeyError, InvalidNoteError, InvalidSignatureError, UnverifiedNoteError } from './note-errors.js';
import { sha256 } from './rfc9162-hasher.js';

/** Signature type byte of Ed25519 (signed-note §Signature types). */
const ALG_ED25519 = 0x01;
/** Go's note.Open limit; the spec requires accepting at least 16. */
export const MAX_NOTE_SIGNATURES = 100;
const SIG_PREFIX = '\u2014 '; // em dash, space
const PRIVATE_PREFIX = 'PRIVATE+KEY+';
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_ID_HEX = /^[0-9a-f]{8}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /[\u0000-\u0009\u000B-\u001F]/;
const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** One signature line of a note: key name, key id and the base64 as written. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly base64: string;
}

/** A note after {@link openNote}: its text and which signatures verified. */
export interface OpenedNote {
  readonly text: string;
  readonly verified: NoteSignature[];
  readonly unverified: NoteSignature[];
}

/** Signs note text. Async so an AWS KMS signer (`Sign`, ED25519_SHA_512, RAW) can implement it. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The raw signature over `message` (64 bytes for Ed25519); rejects on failure. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Checks signatures of one key, identified by `name` and `keyId`. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /** True iff `signature` is a valid signature of `message`; never throws. */
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * Whether `name` may name a key: non-empty, well-formed, no Unicode White_Space
 * (as Go's unicode.IsSpace), no '+', and (stricter than Go) no control characters,
 * which no note may carry anyway.
 * @example isValidKeyName('example.com/log') // true; isValidKeyName('a b') // false
 */
export function isValidKeyName(name: string): boolean {
  if (typeof name !== 'string' || name === '' || name.includes('+')) return false;
  return !/\p{White_Space}/u.test(name) && !CONTROL.test(name) && !LONE_SURROGATE.test(name);
}

function keyHash(name: string, key: Uint8Array): number {
  return sha256(concatBytes(encoder.encode(name), Uint8Array.of(0x0a), key)).readUInt32BE(0);
}

function checkName(name: string): void {
  if (!isValidKeyName(name)) throw new InvalidKeyError(`invalid key name ${JSON.stringify(name)}`);
}

function hex8(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** Raw 32-byte public key of an Ed25519 KeyObject (public or private). */
function rawPublicKey(key: KeyObject): Uint8Array {
  if (key.asymmetricKeyType !== 'ed25519') throw new InvalidKeyError('expected an Ed25519 key');
  const spki = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_ED25519.length));
}

/** The Ed25519 private key of a 32-byte seed (RFC 8032); the intermediate PKCS#8 copy is wiped. */
export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8_ED25519, seed]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/**
 * Key id of an Ed25519 key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], big-endian.
 * @example keyIdFor('PeterNeumann', publicKey) // 0xc74f20a3 for Go's example key
 */
export function keyIdFor(name: string, publicKey: Uint8Array): number {
  checkName(name);
  if (publicKey.length !== 32) throw new InvalidKeyError(`Ed25519 public key must be 32 bytes, got ${publicKey.length}`);
  return keyHash(name, concatBytes(Uint8Array.of(ALG_ED25519), publicKey));
}

/**
 * Verifier key string `<name>+<hex id>+<base64(0x01 ‖ public key)>` for a raw
 * 32-byte public key or an Ed25519 KeyObject (e.g. from a KMS SPKI export).
 * @example verifierKeyFor('example.com/log', pub) // 'example.com/log+1a2b3c4d+AR…'
 */
export function verifierKeyFor(name: string, publicKey: Uint8Array | KeyObject): string {
  const raw = publicKey instanceof Uint8Array ? publicKey : rawPublicKey(publicKey);
  const id = keyIdFor(name, raw);
  return `${name}+${hex8(id)}+${toBase64(concatBytes(Uint8Array.of(ALG_ED25519), raw))}`;
}

/** Splits `<name>+<hex id>+<base64>` (the base64 may itself contain '+'). */
function splitKey(kind: string, text: string): { name: string; keyId: number; key: Uint8Array } {
  const i = text.indexOf('+');
  const j = i < 0 ? -1 : text.indexOf('+', i + 1);
  if (j < 0) throw new InvalidKeyError(`malformed ${kind}: expected <name>+<key id>+<key>`);
  const name = text.slice(0, i);
  const id = text.slice(i + 1, j);
  const key = fromBase64(text.slice(j + 1));
  checkName(name);
  if (!KEY_ID_HEX.test(id)) throw new InvalidKeyError(`malformed ${kind}: key id must be 8 lowercase hex digits`);
  if (!key || key.length === 0) throw new InvalidKeyError(`malformed ${kind}: key is not strict base64`);
  return { name, keyId: Number.parseInt(id, 16), key };
}

function checkEd25519(kind: string, key: Uint8Array): Uint8Array {
  if (key[0] !== ALG_ED25519) throw new InvalidKeyError(`${kind}: unknown signature algorithm ${key[0]}`);
  if (key.length !== 33) throw new InvalidKeyError(`${kind}: Ed25519 key must be 32 bytes, got ${key.length - 1}`);
  return key.subarray(1);
}

/**
 * Parses a verifier key, checking that its key id matches name and key (as Go's
 * note.NewVerifier). Throws InvalidKeyError (`INVALID_KEY`) otherwise.
 * @example parseVerifierKey('PeterNeumann+c74f20a3+ARpc…') // { name: 'PeterNeumann', keyId: 0xc74f20a3, publicKey }
 */
export function parseVerifierKey(vkey: string): { name: string; keyId: number; publicKey: Uint8Array } {
  const { name, keyId, key } = splitKey('verifier key', vkey);
  const expected = keyHash(name, key);
  if (keyId !== expected) {
    throw new InvalidKeyError(`verifier key id ${hex8(keyId)} does not match name and key (expected ${hex8(expected)})`);
  }
  return { name, keyId, publicKey: checkEd25519('verifier key', key) };
}

/**
 * Signer key string `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ 32-byte seed)>` (Go's format).
 * @example encodeSignerKey('example.com/log', seed) // 'PRIVATE+KEY+example.com/log+…'
 */
export function encodeSignerKey(name: string, seed: Uint8Array): string {
  if (seed.length !== 32) throw new InvalidKeyError(`Ed25519 seed must be 32 bytes, got ${seed.length}`);
  const id = keyIdFor(name, rawPublicKey(ed25519PrivateKeyFromSeed(seed)));
  return `${PRIVATE_PREFIX}${name}+${hex8(id)}+${toBase64(concatBytes(Uint8Array.of(ALG_ED25519), seed))}`;
}

/**
 * Parses a signer key, deriving the public key and checking the key id (as Go's
 * note.NewSigner). Throws InvalidKeyError (`INVALID_KEY`) otherwise.
 * @example parseSignerKey(skey).publicKey // 32 bytes
 */
export function parseSignerKey(skey: string): { name: string; keyId: number; seed: Uint8Array; publicKey: Uint8Array } {
  if (!skey.startsWith(PRIVATE_PREFIX)) throw new InvalidKeyError(`malformed signer key: must start with ${PRIVATE_PREFIX}`);
  const { name, keyId, key } = splitKey('signer key', skey.slice(PRIVATE_PREFIX.length));
  const seed = checkEd25519('signer key', key);
  const publicKey = rawPublicKey(ed25519PrivateKeyFromSeed(seed));
  const expected = keyIdFor(name, publicKey);
  if (keyId !== expected) {
    throw new InvalidKeyError(`signer key id ${hex8(keyId)} does not match name and key (expected ${hex8(expected)})`);
  }
  return { name, keyId, seed, publicKey };
}

/**
 * A fresh Ed25519 key pair for `name`, as Go's note.GenerateKey. Keep `signerKey` secret.
 * @example const { signerKey, verifierKey } = generateSignerKeys('example.com/log')
 */
export function generateSignerKeys(name: string): { signerKey: string; verifierKey: string } {
  checkName(name);
  const { privateKey } = generateKeyPairSync('ed25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const signerKey = encodeSignerKey(name, new Uint8Array(pkcs8.subarray(PKCS8_ED25519.length)));
  return { signerKey, verifierKey: verifierKeyFor(name, privateKey) };
}

/**
 * node:crypto Ed25519 {@link NoteSigner}.
 * @example const signer = Ed25519NoteSigner.fromSignerKey(process.env.SKEY!)
 */
export class Ed25519NoteSigner implements NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** Verifier key string of this signer's public key. */
  readonly verifierKey: string;
  readonly #key: KeyObject;

  private constructor(name: string, key: KeyObject) {
    const publicKey = rawPublicKey(key);
    this.name = name;
    this.#key = key;
    this.keyId = keyIdFor(name, publicKey);
    this.verifierKey = verifierKeyFor(name, publicKey);
  }

  /** From a `PRIVATE+KEY+…` string; throws InvalidKeyError. */
  static fromSignerKey(skey: string): Ed25519NoteSigner {
    const { name, seed } = parseSignerKey(skey);
    return new Ed25519NoteSigner(name, ed25519PrivateKeyFromSeed(seed));
  }

  /** From an Ed25519 private KeyObject; throws InvalidKeyError. */
  static fromKeyObject(name: string, privateKey: KeyObject): Ed25519NoteSigner {
    checkName(name);
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
      throw new InvalidKeyError('expected an Ed25519 private key');
    }
    return new Ed25519NoteSigner(name, privateKey);
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(ed25519Sign(null, message, this.#key)));
  }
}

/**
 * node:crypto Ed25519 {@link NoteVerifier} from a verifier key string.
 * @example new Ed25519NoteVerifier('PeterNeumann+c74f20a3+ARpc…').keyId // 0xc74f20a3
 */
export class Ed25519NoteVerifier implements NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly #key: KeyObject;

  /** Throws InvalidKeyError (`INVALID_KEY`) on a malformed or inconsistent key. */
  constructor(vkey: string) {
    const { name, keyId, publicKey } = parseVerifierKey(vkey);
    this.name = name;
    this.keyId = keyId;
    this.publicKey = publicKey;
    try {
      this.#key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' });
    } catch (cause) {
      throw new InvalidKeyError('verifier key: not an Ed25519 public key', { cause });
    }
  }

  verify(message: Uint8Array, signature: Uint8Array): boolean {
    try {
      return ed25519Verify(null, message, this.#key, signature);
    } catch {
      return false;
    }
  }
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch (cause) {
    throw new InvalidNoteError('note is not valid UTF-8', { cause });
  }
}

/** Rejects what no note may contain: ill-formed UTF-16 (not UTF-8) and control characters but '\n'. */
function checkNoteChars(what: string, text: string): void {
  if (LONE_SURROGATE.test(text)) throw new InvalidNoteError(`${what} is not valid UTF-8 (unpaired surrogate)`);
  const m = CONTROL.exec(text);
  if (m) {
    const code = m[0].charCodeAt(0).toString(16).padStart(4, '0');
    throw new InvalidNoteError(`${what} contains control character U+${code.toUpperCase()} at offset ${m.index}`);
  }
}

/**
 * Signs `text` with every signer (in parallel) and returns the signed note:
 * text, a blank line, then one `— <name> <base64(key id ‖ signature)>` line per signer.
 * The text must end in '\n', be valid UTF-8 without control characters; it may
 * contain empty lines (the last blank line separates the signatures). Throws
 * InvalidNoteError, InvalidKeyError (bad signer name or id), InvalidSignatureError
 * (empty signature), or the signer's own error.
 * @example await signNote('hello\n', [signer]) // 'hello\n\n— name AbCd…\n'
 */
export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<string> {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw new InvalidNoteError('note text must end in a newline');
  checkNoteChars('note text', text);
  if (signers.length === 0 || signers.length > MAX_NOTE_SIGNATURES) {
    throw new InvalidNoteError(`a note needs 1 to ${MAX_NOTE_SIGNATURES} signers, got ${signers.length}`);
  }
  for (const s of signers) {
    checkName(s.name);
    if (!Number.isInteger(s.keyId) || s.keyId < 0 || s.keyId > 0xffffffff) {
      throw new InvalidKeyError(`signer ${s.name}: key id must be a uint32, got ${s.keyId}`);
    }
  }
  const message = encoder.encode(text);
  const signatures = await Promise.all(signers.map((s) => s.sign(message)));
  const lines = signers.map((s, k) => {
    const sig = signatures[k];
    if (!(sig instanceof Uint8Array) || sig.length === 0) {
      throw new InvalidSignatureError(s.name, s.keyId, `signer ${s.name}+${hex8(s.keyId)} returned no signature`);
    }
    const id = new Uint8Array(4);
    new DataView(id.buffer).setUint32(0, s.keyId);
    return `${SIG_PREFIX}${s.name} ${toBase64(concatBytes(id, sig))}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Parses a signed note and verifies it, with Go's note.Open semantics: signatures
 * of unknown keys (name and id not both matching a verifier) are kept in
 * `unverified`; a known key's failing signature is InvalidSignatureError;
 * repeated signatures of one key are dropped (only the first is checked);
 * no verified signature is UnverifiedNoteError (both `INVALID_SIGNATURE`).
 * Malformed notes (not UTF-8, control characters, no blank line before the
 * signatures, bad signature line, > 100 signatures) are InvalidNoteError
 * (`INVALID_NOTE`); two verifiers with the same name and id are InvalidKeyError.
 * @example openNote(note, [new Ed25519NoteVerifier(vkey)]).text
 */
/** A note's text and signature block, checked for form only (InvalidNoteError). */
function splitNote(note: string | Uint8Array): { text: string; block: string } {
  const s = typeof note === 'string' ? note : decodeUtf8(note);
  checkNoteChars('note', s);
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new InvalidNoteError('note has no blank line before its signatures');
  const block = s.slice(split + 2);
  if (!block.endsWith('\n')) throw new InvalidNoteError('note signature block is empty or does not end in a newline');
  return { text: s.slice(0, split + 1), block };
}

/**
 * The text of a well-formed note WITHOUT verifying any signature: only for
 * notes this service wrote itself (e.g. reading back its own checkpoint's
 * size). Anything received from elsewhere goes through `openNote`.
 */
export function unverifiedNoteText(note: string | Uint8Array): string {
  return splitNote(note).text;
}

export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, block } = splitNote(note);
  const message = encoder.encode(text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seenLines = new Set<string>();
  const seenKeys = new Set<string>();
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw new InvalidNoteError(`note has ${lines.length} signatures; at most ${MAX_NOTE_SIGNATURES} are accepted`);
  }
  lines.forEach((line, k) => {
    const where = `signature line ${k + 1}`;
    if (!line.startsWith(SIG_PREFIX)) throw new InvalidNoteError(`${where} does not start with an em dash and a space`);
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const base64 = space < 0 ? '' : rest.slice(space + 1);
    if (!isValidKeyName(name)) throw new InvalidNoteError(`${where} has an invalid key name ${JSON.stringify(name)}`);
    const raw = fromBase64(base64);
    if (!raw || raw.length < 5) throw new InvalidNoteError(`${where} does not hold strict base64 of key id and signature`);
    const keyId = Buffer.from(raw.buffer, raw.byteOffset, 4).readUInt32BE(0);
    const matches = verifiers.filter((v) => v.name === name && v.keyId === keyId);
    const sig: NoteSignature = { name, keyId, base64 };
    if (matches.length > 1) throw new InvalidKeyError(`ambiguous key ${name}+${hex8(keyId)}: several verifiers match`);
    const verifier = matches[0];
    if (!verifier) {
      if (!seenLines.has(line)) unverified.push(sig);
      seenLines.add(line);
      return;
    }
    const key = `${name}+${hex8(keyId)}`;
    if (seenKeys.has(key)) return;
    seenKeys.add(key);
    if (!verifier.verify(message, raw.subarray(4))) throw new InvalidSignatureError(name, keyId);
    verified.push(sig);
  });
  if (verified.length === 0) throw new UnverifiedNoteError(unverified);
  return { text, verified, unverified };
}
