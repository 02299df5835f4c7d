/**
 * The master key: the root of the key hierarchy (DESIGN §4). It only ever
 * wraps and unwraps tenant KEKs; it never sees payloads or DEKs.
 *
 * Contract for every adapter:
 * - `generateKek` returns a fresh random 256-bit KEK and its wrapped form. The
 *   wrapped bytes are opaque, safe to store anywhere, and bound to `context`:
 *   `unwrapKek` with any other tenant or version fails.
 * - `unwrapKek` returns the KEK or throws `KeyUnavailableError` (wrong context,
 *   tampered bytes, key disabled or destroyed): never a partial key.
 * - Calls are independent and safe to run concurrently; adapters do their own
 *   bounded retries of transient faults and then throw
 *   `KeyServiceUnavailableError`. Nothing is cached here (the key service
 *   caches unwrapped keys).
 *
 * Adapters: AWS KMS (`GenerateDataKey`/`Decrypt` with an encryption context,
 * optionally in a CloudHSM custom key store) and a local master key file.
 */
export interface KekContext {
  readonly tenant: string;
  /** KEK version, ≥ 1. */
  readonly kekVersion: number;
}

export interface GeneratedKek {
  /** 32 bytes; the caller zeroes or drops it when done. */
  readonly plaintext: Uint8Array;
  /** Opaque wrapped form to store. */
  readonly wrapped: Uint8Array;
}

export interface MasterKey {
  /** Identifies the master key in stored items and reports (a KMS key ARN, or `local:<fingerprint>`). */
  readonly keyId: string;
  generateKek(context: KekContext): Promise<GeneratedKek>;
  unwrapKek(wrapped: Uint8Array, context: KekContext): Promise<Uint8Array>;
}
