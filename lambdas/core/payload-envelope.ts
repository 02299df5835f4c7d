/**
 * The encrypted payload envelope of every ledger entry (DESIGN §4): AES-256-GCM under a
 * per-tenant DEK plus a keyed commitment, as a flat JSON object of strings and integers
 * so the entry's RFC 8785 bytes (and so the chain) verify even after the DEK is shredded.
 *
 * Construction v1 (the known-answer test pins it; changing any line is a format break):
 *
 *   encKey    = HKDF-SHA-256(IKM = DEK, salt = empty (RFC 5869 §2.2: 32 zero bytes),
 *                            info = "govledger/v1/payload-enc",    L = 32)
 *   commitKey = HKDF-SHA-256(IKM = DEK, salt = empty, info = "govledger/v1/payload-commit", L = 32)
 *   AAD       = UTF-8(RFC 8785({ alg: "A256GCM", kid, kv, tenant, recordId, idempotencyKey }))
 *   iv        = 12 random bytes
 *   ct        = AES-256-GCM(encKey, iv, plaintext, AAD) ‖ 16-byte tag
 *   cm        = HMAC-SHA-256(commitKey, u32be(len(AAD)) ‖ AAD ‖ plaintext)
 *   envelope  = { alg, kid, kv, iv, ct, cm }   (binary fields in strict padded base64)
 *
 * GCM alone is not key-committing (one ciphertext can open under two keys to two
 * plaintexts); `cm` binds DEK, context and plaintext, so opening checks it after GCM.
 * It is deterministic for equal (key, context, plaintext), keyed so it cannot be
 * brute-forced once the DEK is gone, and lets an auditor holding the DEK confirm one
 * plaintext without decrypting anything else. Random 96-bit nonces: keep each DEK well
 * below 2^32 seals (one DEK per tenant and period does).
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, KeyObject, randomBytes, randomFillSync } from 'node:crypto';
import canonicalize from 'canonicalize';
import * as z from 'zod';
import { bytesEqual, fromBase64, toBase64 } from './bytes.js';
import { CoreError } from './errors.js';

export const ENVELOPE_ALG = 'A256GCM';
const IV_BYTES = 12, TAG_BYTES = 16, KEY_BYTES = 32, CM_BYTES = 32, MAX_WRAPPED_KEY_BYTES = 1024;
const ENC_INFO = 'govledger/v1/payload-enc', COMMIT_INFO = 'govledger/v1/payload-commit';
const WRAP_PURPOSE = 'govledger/v1/key-wrap';
/** Key ids: 1..256 printable ASCII characters, no spaces. */
const KEY_ID = /^[\x21-\x7e]{1,256}$/;

/** An envelope, wrapped key or their context is malformed. */
export class InvalidEnvelopeError extends CoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ENVELOPE', message, options);
  }
}

/** Authentication failed (GCM tag or commitment). Says nothing about where. */
export class DecryptionFailedError extends CoreError {
  constructor(message = 'payload authentication failed', options?: { cause?: unknown }) {
    super('DECRYPTION_FAILED', message, options);
  }
}

/** A key's public name, as the envelope carries it. */
export interface KeyName { kid: string; kv: number }

/** The envelope names a different key id/version than the key supplied. */
export class KeyMismatchError extends DecryptionFailedError {
  constructor(readonly envelopeKey: KeyName, readonly suppliedKey: KeyName) {
    super(`envelope was sealed with key ${envelopeKey.kid} v${envelopeKey.kv}; ` +
      `supplied key is ${suppliedKey.kid} v${suppliedKey.kv}`);
  }
}

/** Key material or a key handle is unusable (wrong length, bad id/version, not prepared). */
export class InvalidKeyMaterialError extends CoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_KEY', message, options);
  }
}

const base64Bytes = (min: number, max: number) =>
  z.string().refine((text) => {
    const n = fromBase64(text)?.length;
    return n !== undefined && n >= min && n <= max;
  }, `expected strict base64 of ${min === max ? min : `at least ${min}`} bytes`);

/** The stable envelope shape: exactly these six keys, nothing else. */
export const envelopeSchema = z.strictObject({
  alg: z.literal(ENVELOPE_ALG),
  kid: z.string().regex(KEY_ID),
  kv: z.int().min(1),
  iv: base64Bytes(IV_BYTES, IV_BYTES),
  ct: base64Bytes(TAG_BYTES, Infinity),
  cm: base64Bytes(CM_BYTES, CM_BYTES),
});
export type Envelope = z.infer<typeof envelopeSchema>;

/** What the ciphertext is bound to besides the key (extra properties are ignored). */
export interface PayloadContext {
  readonly tenant: string;
  readonly recordId: string;
  readonly idempotencyKey: string;
}

/** A prepared DEK: id and version in the clear, derived subkeys held privately. */
export interface DataKey {
  readonly id: string;
  readonly version: number;
}

const subkeys = new WeakMap<DataKey, { enc: KeyObject; commit: KeyObject }>();

/**
 * Validates a DEK and derives its two subkeys once, so sealing and opening derive nothing.
 * The handle serializes to `{ id, version }` only; a look-alike object is rejected.
 * Throws {@link InvalidKeyMaterialError}.
 * @example
 * const dek = prepareDataKey({ id: 'acme/dek/2025-06', version: 1, key: randomBytes(32) });
 */
export function prepareDataKey(input: { id: string; version: number; key: Uint8Array }): DataKey {
  const problem = typeof input?.id !== 'string' || !KEY_ID.test(input.id) ? 'key id must be 1..256 printable ASCII, no spaces'
    : !Number.isSafeInteger(input.version) || input.version < 1 ? 'key version must be an integer ≥ 1'
      : !(input.key instanceof Uint8Array) || input.key.length !== KEY_BYTES ? `DEK must be ${KEY_BYTES} bytes` : undefined;
  if (problem) throw new InvalidKeyMaterialError(problem);
  const derive = (info: string): KeyObject => {
    const bytes = new Uint8Array(hkdfSync('sha256', input.key, new Uint8Array(0), info, KEY_BYTES));
    const key = createSecretKey(bytes);
    bytes.fill(0);
    return key;
  };
  const handle: DataKey = Object.freeze({ id: input.id, version: input.version });
  subkeys.set(handle, { enc: derive(ENC_INFO), commit: derive(COMMIT_INFO) });
  return handle;
}

function subkeysOf(key: DataKey): { enc: KeyObject; commit: KeyObject } {
  const found = subkeys.get(key);
  if (!found) throw new InvalidKeyMaterialError('not a prepared DataKey; call prepareDataKey');
  return found;
}

function jcs(value: unknown, what: string): string {
  let text: string | undefined, cause: unknown;
  try { text = canonicalize(value); } catch (error) { cause = error; }
  if (text === undefined) throw new InvalidEnvelopeError(`${what} is not serializable as RFC 8785 JSON`, { cause });
  return text;
}

function payloadAad(kid: string, kv: number, ctx: PayloadContext): Buffer {
  for (const field of ['tenant', 'recordId', 'idempotencyKey'] as const) {
    if (typeof ctx?.[field] !== 'string' || ctx[field].length === 0) {
      throw new InvalidEnvelopeError(`context.${field} must be a non-empty string`);
    }
  }
  const { tenant, recordId, idempotencyKey } = ctx;
  return Buffer.from(jcs({ alg: ENVELOPE_ALG, kid, kv, tenant, recordId, idempotencyKey }, 'context'));
}

function commitment(commitKey: KeyObject, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(aad.length);
  return createHmac('sha256', commitKey).update(length).update(aad).update(plaintext).digest();
}

function gcmSeal(key: KeyObject, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** Plaintext (a plain Uint8Array) only if the tag verifies; otherwise the partial output is wiped. */
function gcmOpen(key: KeyObject, iv: Uint8Array, ct: Uint8Array, aad: Uint8Array, failure: string): Uint8Array {
  const body = ct.length - TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad).setAuthTag(ct.subarray(body));
  const out = decipher.update(ct.subarray(0, body));
  try { decipher.final(); } catch (cause) {
    out.fill(0);
    throw new DecryptionFailedError(failure, { cause });
  }
  const plaintext = new Uint8Array(out);
  out.fill(0);
  return plaintext;
}

function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidEnvelopeError(`${what} must be a Uint8Array`);
}

/**
 * Encrypts `plaintext` under `key`, bound to `ctx`, with a fresh random nonce.
 * Throws {@link InvalidEnvelopeError} for a bad context, {@link InvalidKeyMaterialError} for a bad key.
 * @example
 * const payload = sealPayload(bytes, dek, { tenant: 'acme', recordId: 'r1', idempotencyKey: 'k1' });
 */
export function sealPayload(plaintext: Uint8Array, key: DataKey, ctx: PayloadContext): Envelope {
  return sealPayloadWithIv(plaintext, key, ctx, freshIv());
}

/**
 * Random 96-bit nonces, cut from a pool filled by the CSPRNG 1024 at a time:
 * one `randomBytes(12)` call costs ~4 µs here, a fifth of a whole seal. Each
 * pool byte is handed out once, as a copy, and the pool is private to this
 * module (worker threads load their own).
 */
const ivPool = Buffer.allocUnsafe(IV_BYTES * 1024);
let ivPoolUsed = ivPool.length;

function freshIv(): Uint8Array {
  if (ivPoolUsed + IV_BYTES > ivPool.length) {
    randomFillSync(ivPool);
    ivPoolUsed = 0;
  }
  const iv = Buffer.from(ivPool.subarray(ivPoolUsed, ivPoolUsed + IV_BYTES));
  ivPoolUsed += IV_BYTES;
  return iv;
}

/**
 * @internal For test vectors only: reusing an iv under one DEK destroys GCM's security.
 * Production code calls {@link sealPayload}.
 */
export function sealPayloadWithIv(plaintext: Uint8Array, key: DataKey, ctx: PayloadContext, iv: Uint8Array): Envelope {
  assertBytes(plaintext, 'plaintext');
  if (!(iv instanceof Uint8Array) || iv.length !== IV_BYTES) throw new InvalidEnvelopeError(`iv must be ${IV_BYTES} bytes`);
  const { enc, commit } = subkeysOf(key);
  const aad = payloadAad(key.id, key.version, ctx);
  const ct = toBase64(gcmSeal(enc, iv, plaintext, aad));
  return { alg: ENVELOPE_ALG, kid: key.id, kv: key.version, iv: toBase64(iv), ct, cm: toBase64(commitment(commit, aad, plaintext)) };
}

/**
 * Seals the RFC 8785 canonical UTF-8 bytes of a JSON value.
 * Throws {@link InvalidEnvelopeError} when the value is not JSON (undefined, NaN, BigInt, cycles).
 * @example
 * const payload = sealJson({ decision: 'approve' }, dek, ctx);
 */
export function sealJson(value: unknown, key: DataKey, ctx: PayloadContext): Envelope {
  return sealPayload(Buffer.from(jcs(value, 'payload')), key, ctx);
}

interface Checked { envelope: Envelope; aad: Buffer; enc: KeyObject; commit: KeyObject }

/** Schema, then key id/version, then the AAD: everything before any crypto. */
function check(envelope: unknown, key: DataKey, ctx: PayloadContext): Checked {
  const parsed = envelopeSchema.safeParse(envelope);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new InvalidEnvelopeError(`invalid envelope: ${where}`, { cause: parsed.error });
  }
  const { enc, commit } = subkeysOf(key);
  const { kid, kv } = parsed.data;
  if (kid !== key.id || kv !== key.version) {
    throw new KeyMismatchError({ kid, kv }, { kid: key.id, kv: key.version });
  }
  return { envelope: parsed.data, aad: payloadAad(kid, kv, ctx), enc, commit };
}

/** Strict base64 already checked by the schema. */
const bytesOf = (text: string): Uint8Array => fromBase64(text) as Uint8Array;

/**
 * Decrypts an envelope: strict schema, key id/version match, GCM tag, then the commitment
 * (constant time). Returns the whole plaintext or throws: {@link InvalidEnvelopeError}
 * (malformed), {@link KeyMismatchError} (other key), {@link DecryptionFailedError} (auth).
 * @example
 * const bytes = openPayload(entry.payload, dek, entry);
 */
export function openPayload(envelope: unknown, key: DataKey, ctx: PayloadContext): Uint8Array {
  const { envelope: env, aad, enc, commit } = check(envelope, key, ctx);
  const plaintext = gcmOpen(enc, bytesOf(env.iv), bytesOf(env.ct), aad, 'payload authentication failed');
  if (!bytesEqual(commitment(commit, aad, plaintext), bytesOf(env.cm))) {
    plaintext.fill(0);
    throw new DecryptionFailedError();
  }
  return plaintext;
}

/**
 * {@link openPayload}, then parses the UTF-8 JSON. Non-JSON plaintext is an {@link InvalidEnvelopeError}.
 * @example
 * const record = openJson(entry.payload, dek, entry) as { decision: string };
 */
export function openJson(envelope: unknown, key: DataKey, ctx: PayloadContext): unknown {
  const bytes = openPayload(envelope, key, ctx);
  try { return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)); } catch (cause) {
    throw new InvalidEnvelopeError('payload is not UTF-8 JSON', { cause });
  }
}

/**
 * Whether `plaintext` is what the envelope commits to under `key` and `ctx`, without
 * decrypting. Malformed envelopes and other keys throw as in {@link openPayload}.
 * @example
 * verifyCommitment(entry.payload, dek, entry, claimedBytes); // true or false
 */
export function verifyCommitment(envelope: unknown, key: DataKey, ctx: PayloadContext, plaintext: Uint8Array): boolean {
  assertBytes(plaintext, 'plaintext');
  const { envelope: env, aad, commit } = check(envelope, key, ctx);
  return bytesEqual(commitment(commit, aad, plaintext), bytesOf(env.cm));
}

/** A KEK: 32 raw bytes or a 32-byte secret KeyObject. */
export type WrappingKey = Uint8Array | KeyObject;
/** Context bound to a wrapped key (e.g. tenant, KEK version): strings and safe integers. */
export type WrapContext = Readonly<Record<string, string | number>>;

/** A wrapped key: AES-256-GCM under the KEK, ct ‖ 16-byte tag. */
export const wrappedKeySchema = z.strictObject({
  iv: base64Bytes(IV_BYTES, IV_BYTES),
  ct: base64Bytes(TAG_BYTES + 1, TAG_BYTES + MAX_WRAPPED_KEY_BYTES),
});
export type WrappedKey = z.infer<typeof wrappedKeySchema>;

const wrapContextSchema = z.record(z.string(), z.union([z.string(), z.int()]));

function kekObject(kek: WrappingKey): KeyObject {
  if (kek instanceof Uint8Array && kek.length === KEY_BYTES) return createSecretKey(kek);
  if (kek instanceof KeyObject && kek.type === 'secret' && kek.symmetricKeySize === KEY_BYTES) return kek;
  throw new InvalidKeyMaterialError(`KEK must be ${KEY_BYTES} bytes (Uint8Array or secret KeyObject)`);
}

/** AAD = UTF-8(RFC 8785({ purpose: "govledger/v1/key-wrap", context })). */
function wrapAad(context: WrapContext): Buffer {
  const parsed = wrapContextSchema.safeParse(context);
  if (!parsed.success) {
    throw new InvalidEnvelopeError('wrap context must map names to strings or safe integers', { cause: parsed.error });
  }
  return Buffer.from(jcs({ purpose: WRAP_PURPOSE, context: parsed.data }, 'wrap context'));
}

/**
 * Wraps key material (1..1024 bytes) under a KEK with AES-256-GCM and a random nonce,
 * bound to `context`. Throws {@link InvalidKeyMaterialError} or {@link InvalidEnvelopeError}.
 * @example
 * const wrapped = wrapKey(kek, dekBytes, { tenant: 'acme', kekVersion: 2 });
 */
export function wrapKey(kek: WrappingKey, keyToWrap: Uint8Array, context: WrapContext): WrappedKey {
  if (!(keyToWrap instanceof Uint8Array) || keyToWrap.length < 1 || keyToWrap.length > MAX_WRAPPED_KEY_BYTES) {
    throw new InvalidKeyMaterialError(`key to wrap must be 1..${MAX_WRAPPED_KEY_BYTES} bytes`);
  }
  const iv = randomBytes(IV_BYTES);
  return { iv: toBase64(iv), ct: toBase64(gcmSeal(kekObject(kek), iv, keyToWrap, wrapAad(context))) };
}

/**
 * Unwraps a {@link wrapKey} result; `context` must equal the one given when wrapping.
 * Throws {@link InvalidEnvelopeError} (malformed), {@link DecryptionFailedError} (wrong KEK,
 * context or tampering), {@link InvalidKeyMaterialError} (bad KEK).
 * @example
 * const dekBytes = unwrapKey(kek, wrapped, { tenant: 'acme', kekVersion: 2 });
 */
export function unwrapKey(kek: WrappingKey, wrapped: unknown, context: WrapContext): Uint8Array {
  const parsed = wrappedKeySchema.safeParse(wrapped);
  if (!parsed.success) throw new InvalidEnvelopeError('invalid wrapped key', { cause: parsed.error });
  return gcmOpen(kekObject(kek), bytesOf(parsed.data.iv), bytesOf(parsed.data.ct), wrapAad(context), 'key unwrap failed');
}
