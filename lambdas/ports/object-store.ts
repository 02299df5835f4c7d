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
 * - Compare-and-swap, for a mutable key that writers must never move
 *   backwards (the checkpoint): `getVersioned` returns the bytes with their
 *   version tag (S3: the ETag), or undefined; `putIfMatch(key, bytes,
 *   options, tag)` stores the bytes only if the key's current tag is `tag`
 *   (`undefined`: only if the key does not exist) and resolves with the new
 *   tag. When the condition fails (another writer got there first) it
 *   resolves with `undefined` and changes nothing: re-read and decide again.
 *   Of concurrent `putIfMatch` calls naming one tag, at most one succeeds. A
 *   tag changes whenever the bytes do (identical bytes may keep it). One that
 *   throws may or may not have stored its bytes: re-read. Write such a key
 *   only with `putIfMatch`. On an immutable key, `putIfMatch` with its current
 *   tag supersedes the write-once object (it stays write-once for `put`): the
 *   one way to replace one, reserved for republishing a log after a recorded
 *   recovery (`replaceDiscarded` in `lambdas/services/recovery-record.ts`); S3
 *   writes a new version and Object Lock keeps the old one as evidence.
 * - `list(prefix, startAfter?)` yields the keys starting with `prefix` (`''`
 *   for all; else a key prefix, which may end in `/`) that sort after
 *   `startAfter` (exclusive; any string), in ascending order of their UTF-8
 *   bytes (S3's order; for ASCII keys also JavaScript's), paging inside the
 *   adapter: stop iterating to stop reading. Keys put before the call starts
 *   are listed; keys put or overwritten while it runs may or may not be.
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

/** An object's bytes and its version tag, as {@link ObjectStore.getVersioned} returns them. */
export interface VersionedObject {
  readonly bytes: Uint8Array;
  /** Opaque; compare it only by passing it to `putIfMatch`. */
  readonly etag: string;
}

/**
 * Stores and fetches whole objects by key.
 *
 * @example
 * ```ts
 * await objects.put('acme/tile/0/000', tile, { contentType: 'application/octet-stream', immutable: true });
 * const bytes = await objects.get('acme/checkpoint'); // undefined before the first publish
 * for await (const key of objects.list('acme/tile/0/', 'acme/tile/0/000')) console.log(key); // acme/tile/0/001, …
 * const current = await objects.getVersioned('acme/checkpoint');
 * const won = await objects.putIfMatch('acme/checkpoint', note, { contentType: 'text/plain' }, current?.etag); // undefined: lost the race
 * ```
 */
export interface ObjectStore {
  put(key: string, bytes: Uint8Array, options: PutOptions): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys under `prefix` after `startAfter`, ascending (see the contract). */
  list(prefix: string, startAfter?: string): AsyncIterable<string>;
  getVersioned(key: string): Promise<VersionedObject | undefined>;
  /** Compare-and-swap on a mutable key (see the contract): the new tag, or undefined when `etag` is no longer current. */
  putIfMatch(key: string, bytes: Uint8Array, options: Pick<PutOptions, 'contentType'>, etag: string | undefined): Promise<string | undefined>;
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

/**
 * What every `ObjectStore` checks before listing: `''` or the start of a
 * valid key (a trailing `/` allowed), else RangeError.
 *
 * @example
 * ```ts
 * checkObjectPrefix('events/acme/'); // returns; '/events' or 'a//' throw
 * ```
 */
export function checkObjectPrefix(prefix: string): void {
  if (prefix !== '') checkObjectKey(`${prefix}x`);
}
