/**
 * Local checkpoint signing key (DESIGN §2, §6): one Ed25519 seed in
 * `<dataDir>/keys/checkpoint.key`, the local stand-in for the KMS Ed25519 key.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { Ed25519NoteSigner, ed25519PrivateKeyFromSeed, type NoteSigner, verifierKeyFor } from '../../core/signed-note.js';
import { openKeyFile } from './file-master-key.js';

/** PKCS#8 DER header of an Ed25519 private key (RFC 8410 §7); the 32-byte seed follows. */
const SEED_PREFIX = 'govledger-ed25519-v1:';

/**
 * The local checkpoint signing key: one key signs for every tenant, and each
 * tenant's note key name is its origin, so each tenant has its own key id and
 * verifier key string (as with the KMS key). The file follows the same rules as
 * the master key file (0600, owner only, created atomically, never overwritten);
 * its content is `govledger-ed25519-v1:<base64 of the 32-byte seed>`.
 *
 * @example
 * const key = await FileSigningKey.open('.govledger', { create: true });
 * const note = await signCheckpoint({ origin, size, rootHash }, key.signerFor(origin));
 * const vkey = key.verifierKeyFor(origin); // served at /v1/tenants/{tenant}/log-key
 */
export class FileSigningKey {
  /** The key file's path. */
  readonly path: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;

  private constructor(path: string, privateKey: KeyObject) {
    this.path = path;
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey);
  }

  /**
   * Opens `<dataDir>/keys/checkpoint.key`, creating it when missing and `create`
   * is set. Throws KeyFileError as the master key file does.
   */
  static async open(dataDir: string, options: { readonly create: boolean }): Promise<FileSigningKey> {
    const path = join(dataDir, 'keys', 'checkpoint.key');
    const seed = await openKeyFile(path, { prefix: SEED_PREFIX, length: 32, what: 'checkpoint signing key' }, options);
    try {
      return new FileSigningKey(path, ed25519PrivateKeyFromSeed(seed));
    } finally {
      seed.fill(0);
    }
  }

  /** A signer whose key name is `origin`; throws core InvalidKeyError for an invalid name. */
  signerFor(origin: string): NoteSigner {
    return Ed25519NoteSigner.fromKeyObject(origin, this.#privateKey);
  }

  /** The C2SP verifier key string of `origin` (`<origin>+<key id>+<base64>`). */
  verifierKeyFor(origin: string): string {
    return verifierKeyFor(origin, this.#publicKey);
  }
}
