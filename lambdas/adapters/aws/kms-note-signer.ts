/**
 * Checkpoint signing with an AWS KMS Ed25519 key (DESIGN §2): key spec
 * ECC_NIST_EDWARDS25519, `Sign` with ED25519_SHA_512 over the RAW note text, so
 * the signature is plain Ed25519 (RFC 8032) that any C2SP note verifier accepts.
 */
import { createPublicKey, type KeyObject, verify as ed25519Verify } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { InvalidKeyError } from '../../core/note-errors.js';
import { isValidKeyName, keyIdFor, type NoteSigner, verifierKeyFor } from '../../core/signed-note.js';
import { KeyServiceUnavailableError, KeyUnavailableError } from '../../ports/errors.js';
import { mapKmsError } from './kms-master-key.js';

const SIGNATURE_BYTES = 64;
/** KMS `Sign` takes RAW messages up to 4096 bytes; a checkpoint is far smaller. */
const MAX_RAW_MESSAGE_BYTES = 4096;

/** The raw 32-byte Ed25519 key of an SPKI DER public key, or undefined. */
function rawEd25519(spki: Uint8Array): { raw: Uint8Array; key: KeyObject } | undefined {
  try {
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return undefined;
    const x = key.export({ format: 'jwk' }).x;
    const raw = x === undefined ? undefined : new Uint8Array(Buffer.from(x, 'base64url'));
    return raw?.length === 32 ? { raw, key } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * {@link NoteSigner} backed by a KMS Ed25519 key. One KMS key can sign for every
 * tenant: create one signer per origin (`name`). Each signature is checked
 * against the public key read at creation before it is returned, so a replaced
 * key or a faulty answer never yields a checkpoint nobody can verify.
 * KMS errors map as in `mapKmsError` (retries are the injected client's).
 *
 * @example
 * const signer = await KmsNoteSigner.create(kms, process.env.SIGNING_KEY_ARN!, origin);
 * const note = await signCheckpoint({ origin, size, rootHash }, signer);
 * const vkey = signer.verifierKey; // served at /v1/tenants/{tenant}/log-key
 */
export class KmsNoteSigner implements NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** C2SP verifier key string of `name` and the KMS public key. */
  readonly verifierKey: string;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  readonly #kms: KMSClient;
  readonly #kmsKeyId: string;
  readonly #verifyKey: KeyObject;

  private constructor(kms: KMSClient, kmsKeyId: string, name: string, raw: Uint8Array, verifyKey: KeyObject) {
    this.#kms = kms;
    this.#kmsKeyId = kmsKeyId;
    this.#verifyKey = verifyKey;
    this.name = name;
    this.publicKey = raw;
    this.keyId = keyIdFor(name, raw);
    this.verifierKey = verifierKeyFor(name, raw);
  }

  /**
   * Reads the public key once (`GetPublicKey`). Throws core InvalidKeyError for an
   * invalid `name`; KeyUnavailableError unless the key is an Ed25519 SIGN_VERIFY key.
   */
  static async create(kms: KMSClient, kmsKeyId: string, name: string): Promise<KmsNoteSigner> {
    if (!isValidKeyName(name)) throw new InvalidKeyError(`invalid key name ${JSON.stringify(name)}`);
    const what = `KMS GetPublicKey of key ${kmsKeyId}`;
    let out;
    try {
      out = await kms.send(new GetPublicKeyCommand({ KeyId: kmsKeyId }));
    } catch (error) {
      throw mapKmsError(error, what);
    }
    const { KeySpec, KeyUsage, SigningAlgorithms, PublicKey } = out;
    if (KeySpec !== 'ECC_NIST_EDWARDS25519' || KeyUsage !== 'SIGN_VERIFY' || (SigningAlgorithms && !SigningAlgorithms.includes('ED25519_SHA_512'))) {
      throw new KeyUnavailableError(
        `KMS key ${kmsKeyId} is ${KeySpec ?? '?'} for ${KeyUsage ?? '?'}; checkpoints need an ECC_NIST_EDWARDS25519 SIGN_VERIFY key (ED25519_SHA_512)`);
    }
    const parsed = PublicKey && rawEd25519(PublicKey);
    if (!parsed) throw new KeyUnavailableError(`${what}: the public key is not an Ed25519 SPKI key`);
    return new KmsNoteSigner(kms, kmsKeyId, name, parsed.raw, parsed.key);
  }

  /**
   * Signs `message` with `Sign` (RAW, ED25519_SHA_512). Throws RangeError above 4096
   * bytes; KeyServiceUnavailableError for a malformed answer; KeyUnavailableError when
   * the signature does not verify under the public key read at creation.
   */
  async sign(message: Uint8Array): Promise<Uint8Array> {
    if (message.length > MAX_RAW_MESSAGE_BYTES) {
      throw new RangeError(`KMS signs RAW messages up to ${MAX_RAW_MESSAGE_BYTES} bytes, got ${message.length}`);
    }
    const what = `KMS Sign for ${this.name} with key ${this.#kmsKeyId}`;
    let out;
    try {
      out = await this.#kms.send(new SignCommand({
        KeyId: this.#kmsKeyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ED25519_SHA_512',
      }));
    } catch (error) {
      throw mapKmsError(error, what);
    }
    const signature = out.Signature;
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
      throw new KeyServiceUnavailableError(`${what}: expected a ${SIGNATURE_BYTES}-byte signature, got ${signature?.length ?? 'none'}`);
    }
    if (!ed25519Verify(null, message, this.#verifyKey, signature)) {
      throw new KeyUnavailableError(`${what}: the signature does not verify under the public key read at startup; was the key replaced?`);
    }
    return new Uint8Array(signature);
  }
}
