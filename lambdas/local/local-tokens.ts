/**
 * The local JWT issuer (DESIGN §3, §6): `govledger token` mints API tokens
 * signed with an Ed25519 key kept in `<dataDir>/keys/api-token.key`, the local
 * stand-in for the Cognito user pool. The local API verifies them against
 * {@link LocalTokenIssuer.publicKey} with the same claim checks as on AWS.
 */
import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { ed25519PrivateKeyFromSeed } from '../core/signed-note.js';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, SignJWT, type JWK } from 'jose';
import { openKeyFile, type KeyFileFormat } from '../adapters/local/file-master-key.js';

/** `iss` of every local token. */
export const LOCAL_TOKEN_ISSUER = 'govledger-local';
/** `aud` of every local token. */
export const LOCAL_TOKEN_AUDIENCE = 'govledger-api';

/** PKCS#8 DER header of an Ed25519 private key (RFC 8410 §7); the 32-byte seed follows. */
const KEY_FILE: KeyFileFormat = { prefix: 'govledger-api-token-ed25519-v1:', length: 32, what: 'API token signing key' };
const MAX_TTL_SECONDS = 30 * 24 * 3600;
/** A scope is one token of RFC 6749 §3.3 `scope-token` characters (printable ASCII but space, `"` and `\`). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export interface MintOptions {
  /** Tenants the token may act for (claim `tenants`); at least one, each non-empty. */
  readonly tenants: readonly string[];
  /** Scopes such as `records:write`, `records:read`, `proofs:read`, `admin` (claim `scope`, space-separated). */
  readonly scopes: readonly string[];
  /** Claim `sub`; default `local-operator`. */
  readonly subject?: string;
  /** Lifetime; default 3600, at most 30 days. */
  readonly ttlSeconds?: number;
}

/**
 * Mints and describes local API tokens: compact JWS, `alg` EdDSA, `kid` the
 * key's RFC 7638 thumbprint; claims `iss` {@link LOCAL_TOKEN_ISSUER}, `aud`
 * {@link LOCAL_TOKEN_AUDIENCE}, `sub`, `iat`, `exp`, `jti`, `tenants` and
 * `scope`. The key file follows the local key file rules (0600, owner only,
 * created atomically on first use, never overwritten), so every token minted
 * against a data directory verifies for as long as the file is kept.
 *
 * @example
 * const issuer = await LocalTokenIssuer.open(dataDir);
 * const token = await issuer.mintToken({ tenants: ['acme'], scopes: ['records:write', 'records:read'] });
 * const { payload } = await jwtVerify(token, issuer.publicKey(), { issuer: LOCAL_TOKEN_ISSUER, audience: LOCAL_TOKEN_AUDIENCE });
 */
export class LocalTokenIssuer {
  /** The key file's path. */
  readonly path: string;
  /** RFC 7638 thumbprint of the public key, sent as `kid`. */
  readonly keyId: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #publicJwk: JWK;

  private constructor(path: string, privateKey: KeyObject, publicJwk: JWK, keyId: string) {
    this.path = path;
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey);
    this.#publicJwk = publicJwk;
    this.keyId = keyId;
  }

  /**
   * Opens `<dataDir>/keys/api-token.key`, creating it when missing unless
   * `create` is false (a verifier that must not invent a key). Throws the
   * port's KeyFileError, naming the path and the fix, as the other key files do.
   */
  static async open(dataDir: string, options: { readonly create?: boolean } = {}): Promise<LocalTokenIssuer> {
    const path = join(dataDir, 'keys', 'api-token.key');
    const seed = await openKeyFile(path, KEY_FILE, { create: options.create ?? true });
    try {
      const privateKey = ed25519PrivateKeyFromSeed(seed);
      const { kty, crv, x } = await exportJWK(createPublicKey(privateKey));
      const keyId = await calculateJwkThumbprint({ kty, crv, x }, 'sha256');
      return new LocalTokenIssuer(path, privateKey, { kty, crv, x, kid: keyId, alg: 'EdDSA', use: 'sig' }, keyId);
    } finally {
      seed.fill(0);
    }
  }

  /**
   * A signed token. Throws RangeError for no tenant, an empty tenant, a scope
   * that is empty or holds a space, or a TTL that is not a whole number of
   * seconds from 1 to 30 days.
   */
  async mintToken({ tenants, scopes, subject = 'local-operator', ttlSeconds = 3600 }: MintOptions): Promise<string> {
    if (tenants.length === 0 || tenants.some((t) => typeof t !== 'string' || t === '')) {
      throw new RangeError('tenants must list at least one non-empty tenant');
    }
    const bad = scopes.find((s) => typeof s !== 'string' || !SCOPE_TOKEN.test(s));
    if (bad !== undefined) throw new RangeError(`invalid scope ${JSON.stringify(bad)}: scopes are non-empty and hold no spaces or quotes`);
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
      throw new RangeError(`ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`);
    }
    if (typeof subject !== 'string' || subject === '') throw new RangeError('subject must be a non-empty string');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ tenants: [...tenants], scope: [...new Set(scopes)].join(' ') })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: this.keyId })
      .setIssuer(LOCAL_TOKEN_ISSUER)
      .setAudience(LOCAL_TOKEN_AUDIENCE)
      .setSubject(subject)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(randomUUID())
      .sign(this.#privateKey);
  }

  /** The verification key (Ed25519 public key), usable with jose's `jwtVerify`. */
  publicKey(): KeyObject {
    return this.#publicKey;
  }

  /** The public key as a JWK with `kid`, `alg` and `use`, for a JWKS document or `createLocalJWKSet`. */
  publicJwk(): JWK {
    return { ...this.#publicJwk };
  }
}
