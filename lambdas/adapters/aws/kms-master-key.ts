/**
 * AWS KMS master key (DESIGN §4): KEKs are KMS data keys, wrapped by a symmetric
 * KMS key (optionally in a CloudHSM custom key store) and bound to an encryption
 * context, so KMS itself refuses to unwrap a KEK for another tenant or version.
 */
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { KeyServiceUnavailableError, KeyUnavailableError, type PortError } from '../../ports/errors.js';
import type { GeneratedKek, KekContext, MasterKey } from '../../ports/master-key.js';

const KEK_BYTES = 32;
/** KMS `CiphertextBlob` length bounds (Decrypt API reference). */
const MAX_CIPHERTEXT_BYTES = 6144;

/**
 * KMS errors that say the key cannot be used as asked: retrying cannot help. Everything
 * else (throttling, KMSInternalException, KeyUnavailableException, DependencyTimeoutException,
 * CustomKeyStore* and CloudHsmCluster* states, network and unknown errors) may pass, so it
 * is a {@link KeyServiceUnavailableError}: callers retry later rather than treat the key as gone.
 */
const KEY_UNAVAILABLE = new Set([
  'InvalidCiphertextException', 'IncorrectKeyException', 'DisabledException', 'KMSInvalidStateException',
  'NotFoundException', 'AccessDeniedException', 'InvalidKeyUsageException', 'InvalidArnException', 'ValidationException',
]);

/**
 * Maps an error of a KMS call to the port errors, keeping it as `cause`. `what`
 * names the operation; messages carry names and ids only, never key material.
 * @example throw mapKmsError(error, `KMS Sign with key ${keyId}`)
 */
export function mapKmsError(error: unknown, what: string): PortError {
  const name = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' && code !== name ? `${name} (${code})` : name;
  return KEY_UNAVAILABLE.has(name)
    ? new KeyUnavailableError(`${what} failed: ${detail}`, { cause: error })
    : new KeyServiceUnavailableError(`${what} failed after the client's retries: ${detail}`, { cause: error });
}

/** The encryption context KMS binds to a KEK; a bad context is a caller bug (RangeError). */
function encryptionContext({ tenant, kekVersion }: KekContext): Record<string, string> {
  if (typeof tenant !== 'string' || tenant === '') throw new RangeError('KEK context: tenant must be a non-empty string');
  if (!Number.isSafeInteger(kekVersion) || kekVersion < 1) throw new RangeError('KEK context: kekVersion must be an integer ≥ 1');
  return { purpose: 'govledger/kek', tenant, kekVersion: String(kekVersion) };
}

/** A plain copy of `bytes`, zeroing the SDK's buffer. */
function takeBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes);
  bytes.fill(0);
  return copy;
}

/**
 * {@link MasterKey} on AWS KMS: `GenerateDataKey` (AES_256) and `Decrypt`, both
 * with the encryption context `{ purpose: 'govledger/kek', tenant, kekVersion }`
 * and the key id pinned, so a blob of another key fails (`IncorrectKeyException`).
 * Bounded retries are the injected client's (standard mode, its `maxAttempts`);
 * errors map as in {@link mapKmsError}. Invalid contexts throw RangeError.
 *
 * @example
 * const master = new KmsMasterKey(new KMSClient({}), process.env.MASTER_KEY_ARN!);
 * const { plaintext, wrapped } = await master.generateKek({ tenant: 'acme', kekVersion: 1 });
 */
export class KmsMasterKey implements MasterKey {
  /** The KMS key id or ARN as configured (use the ARN: it names the account and region). */
  readonly keyId: string;
  readonly #kms: KMSClient;

  constructor(kms: KMSClient, keyId: string) {
    if (typeof keyId !== 'string' || keyId === '') throw new RangeError('KMS key id must be a non-empty string');
    this.#kms = kms;
    this.keyId = keyId;
  }

  async generateKek(context: KekContext): Promise<GeneratedKek> {
    const EncryptionContext = encryptionContext(context);
    const what = `KMS GenerateDataKey for tenant ${context.tenant} KEK v${context.kekVersion} with key ${this.keyId}`;
    let out;
    try {
      out = await this.#kms.send(new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext }));
    } catch (error) {
      throw mapKmsError(error, what);
    }
    const { Plaintext, CiphertextBlob } = out;
    if (!(Plaintext instanceof Uint8Array) || Plaintext.length !== KEK_BYTES || !(CiphertextBlob instanceof Uint8Array) || CiphertextBlob.length === 0) {
      Plaintext?.fill(0);
      throw new KeyServiceUnavailableError(`${what}: response lacks a ${KEK_BYTES}-byte plaintext or a ciphertext blob`);
    }
    return { plaintext: takeBytes(Plaintext), wrapped: new Uint8Array(CiphertextBlob) };
  }

  async unwrapKek(wrapped: Uint8Array, context: KekContext): Promise<Uint8Array> {
    const EncryptionContext = encryptionContext(context);
    const what = `KMS Decrypt of tenant ${context.tenant} KEK v${context.kekVersion} with key ${this.keyId}`;
    if (!(wrapped instanceof Uint8Array) || wrapped.length === 0 || wrapped.length > MAX_CIPHERTEXT_BYTES) {
      throw new KeyUnavailableError(`${what}: wrapped KEK must be 1..${MAX_CIPHERTEXT_BYTES} bytes`);
    }
    let out;
    try {
      out = await this.#kms.send(new DecryptCommand({ CiphertextBlob: wrapped, KeyId: this.keyId, EncryptionContext }));
    } catch (error) {
      throw mapKmsError(error, what);
    }
    const { Plaintext } = out;
    if (!(Plaintext instanceof Uint8Array) || Plaintext.length !== KEK_BYTES) {
      Plaintext?.fill(0);
      throw new KeyUnavailableError(`${what}: the blob does not hold a ${KEK_BYTES}-byte KEK`);
    }
    return takeBytes(Plaintext);
  }
}
