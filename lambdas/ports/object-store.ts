/**
 * The object store (DESIGN §1 "TRANSPARENCY", §2 "Tiles"): where a tenant's
 * published log lives as static objects, C2SP tlog-tiles and the signed
 * checkpoint, so any C2SP client can fetch and verify them without our code.
 *
 * Contract for every adapter:
 * - Keys are `/`-separated relative paths (`acme/tile/0/001.p/7`): 1..1024
 *   characters, no leading or trailing `/`, no empty, `.` or `..` segment;
 *   anything else is a caller bug (RangeError). Adapters may prepend their own
 *   prefix; callers never see it.
 * - `put` is durable on return; after it returns, every `get` of the key sees
 *   those bytes (read-after-write). A put that throws may or may not have been
 *   stored ("failed but persisted"): putting the same bytes again is always safe.
 * - `immutable: true` makes the object write-once: putting identical bytes
 *   again succeeds (so a crashed writer can simply re-run), other bytes throw
 *   `ObjectImmutableError` and change nothing. Two concurrent immutable puts of
 *   one key: at most one set of bytes is ever stored, and every put with other
 *   bytes throws. A key is either always immutable or always mutable (chosen by
 *   its role, e.g. full tiles vs the checkpoint); a mutable put over an
 *   immutable key (or the reverse) is a caller bug that the fake refuses
 *   (RangeError) and S3 adapters need not detect.
 * - `immutable: false` overwrites; concurrent overwrites are last-writer-wins.
 * - `get` returns the stored bytes, or undefined when the key was never put.
 * - Transient faults (throttling, 5xx, network) left after the adapter's
 *   bounded retries are `ObjectStoreUnavailableError` (cause kept); anything
 *   else (access denied, missing bucket) is a deployment bug and passes through.
 *
 * Adapters: S3 (Object Lock bucket), an in-memory fake with fault hooks.
 */

/** Options of {@link ObjectStore.put}. */
export interface PutOptions {
  /** MIME type stored with the object, e.g. `application/octet-stream`, `text/plain; charset=utf-8`. */
  readonly contentType: string;
  /** Write-once: identical bytes may be put again, other bytes throw `ObjectImmutableError`. */
  readonly immutable: boolean;
}

/**
 * Stores and fetches whole objects by key.
 *
 * @example
 * ```ts
 * await objects.put('acme/tile/0/000', tile, { contentType: 'application/octet-stream', immutable: true });
 * const bytes = await objects.get('acme/checkpoint'); // undefined before the first publish
 * ```
 */
export interface ObjectStore {
  put(key: string, bytes: Uint8Array, options: PutOptions): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
}

// The object store's errors are PortErrors like every port's (lambdas/ports/errors.ts).
export { ObjectImmutableError, ObjectStoreUnavailableError } from './errors.js';

const BAD_SEGMENT = new Set(['', '.', '..']);

/**
 * What every `ObjectStore` checks before touching a key (see the contract), so
 * adapters refuse the same keys: RangeError otherwise.
 *
 * @example
 * ```ts
 * checkObjectKey('acme/tile/entries/000'); // returns; '/acme' or 'a//b' throw
 * ```
 */
export function checkObjectKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) {
    throw new RangeError(`an object key has 1..1024 characters, got ${JSON.stringify(key)}`);
  }
  if (key.split('/').some((segment) => BAD_SEGMENT.has(segment))) {
    throw new RangeError(`object key ${JSON.stringify(key)} has an empty, '.' or '..' segment`);
  }
}
