import { bytesEqual } from '../../core/bytes.js';
import {
  checkObjectKey,
  checkObjectPrefix,
  ObjectImmutableError,
  ObjectStoreUnavailableError,
  type ObjectStore,
  type PutOptions,
  type VersionedObject,
} from '../../ports/object-store.js';

/** An `ObjectStore` method name, for fault hooks. */
export type ObjectStoreOperation = keyof ObjectStore;
/** Chooses which key a fault fires on; every key when omitted. */
export type KeyMatcher = (key: string) => boolean;

type Fault =
  | { kind: 'fail'; error: unknown; match: KeyMatcher }
  | { kind: 'persist'; match: KeyMatcher }
  | { kind: 'before'; action: () => unknown; match: KeyMatcher };

interface StoredObject {
  readonly bytes: Uint8Array;
  readonly contentType: string;
  readonly immutable: boolean;
  /** Version tag: a new one on every write that stores bytes. */
  readonly etag: string;
}

/** One put that took effect, in order (for tests: "the checkpoint is written last"). */
export interface PutRecord {
  readonly key: string;
  readonly immutable: boolean;
}

const any: KeyMatcher = () => true;

/**
 * In-memory `ObjectStore` for tests and the benchmarks, with the S3 adapter's
 * semantics (same contract suite), and stricter: a key put both immutable and
 * mutable is refused (RangeError), as the contract allows. Bytes are copied in and
 * out; each call is atomic.
 *
 * Fault hooks queue per operation; a fault fires on the next call of that
 * operation whose key it matches (others pass it by), in order:
 * - `failNext(op, error?, match?)`: the call throws `error` (default
 *   `ObjectStoreUnavailableError`) and changes nothing;
 * - `failButPersistNext(match?, op?)`: the put (or `putIfMatch`) takes
 *   effect, then throws `ObjectStoreUnavailableError` (a timeout after S3
 *   stored the object);
 * - `beforeNext(op, action, match?)`: the call first awaits `action` (say,
 *   another publisher's whole publish), then proceeds: a race lost at the
 *   worst moment, between a writer's read and its write.
 *
 * @example
 * ```ts
 * const objects = new MemoryObjectStore();
 * objects.failNext('put', new Error('crash'), (key) => key.endsWith('/checkpoint'));
 * await expect(publisher.publish('acme')).rejects.toThrow('crash'); // tiles stored, checkpoint not
 * ```
 */
export class MemoryObjectStore implements ObjectStore {
  readonly #objects = new Map<string, StoredObject>();
  readonly #faults = new Map<ObjectStoreOperation, Fault[]>();
  readonly #log: PutRecord[] = [];
  #versions = 0;

  /** The next call of `op` on a key `match` accepts throws `error` without effect. */
  failNext(op: ObjectStoreOperation, error: unknown = new ObjectStoreUnavailableError(`injected: ${op} unavailable`), match: KeyMatcher = any): void {
    this.#queue(op, { kind: 'fail', error, match });
  }

  /** The next put (or `op`) of a key `match` accepts is stored, then throws `ObjectStoreUnavailableError`. */
  failButPersistNext(match: KeyMatcher = any, op: 'put' | 'putIfMatch' = 'put'): void {
    this.#queue(op, { kind: 'persist', match });
  }

  /** The next call of `op` on a key `match` accepts awaits `action` first, then takes effect as usual. */
  beforeNext(op: ObjectStoreOperation, action: () => unknown, match: KeyMatcher = any): void {
    this.#queue(op, { kind: 'before', action, match });
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions): Promise<void> {
    checkObjectKey(key);
    const fault = await this.#enter('put', key);
    const existing = this.#objects.get(key);
    if (existing && existing.immutable !== options.immutable) {
      throw new RangeError(`object ${key} is ${existing.immutable ? '' : 'not '}immutable; a key is always one or the other`);
    }
    if (existing?.immutable) {
      if (!bytesEqual(existing.bytes, bytes)) throw new ObjectImmutableError(key);
    } else {
      this.#objects.set(key, { bytes: bytes.slice(), contentType: options.contentType, immutable: options.immutable, etag: this.#nextTag() });
    }
    this.#log.push({ key, immutable: options.immutable });
    if (fault?.kind === 'persist') throw new ObjectStoreUnavailableError(`injected: put of ${key} persisted but the reply was lost`);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkObjectKey(key);
    await this.#enter('get', key);
    return this.#objects.get(key)?.bytes.slice();
  }

  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    checkObjectKey(key);
    await this.#enter('getVersioned', key);
    const stored = this.#objects.get(key);
    return stored && { bytes: stored.bytes.slice(), etag: stored.etag };
  }

  async putIfMatch(key: string, bytes: Uint8Array, options: Pick<PutOptions, 'contentType'>, etag: string | undefined): Promise<string | undefined> {
    checkObjectKey(key);
    const fault = await this.#enter('putIfMatch', key);
    const existing = this.#objects.get(key);
    if (existing?.etag !== etag) return undefined;
    // Superseding a write-once object keeps it write-once (see the port's contract).
    const immutable = existing?.immutable ?? false;
    const stored = { bytes: bytes.slice(), contentType: options.contentType, immutable, etag: this.#nextTag() };
    this.#objects.set(key, stored);
    this.#log.push({ key, immutable });
    if (fault?.kind === 'persist') throw new ObjectStoreUnavailableError(`injected: putIfMatch of ${key} persisted but the reply was lost`);
    return stored.etag;
  }

  /** A snapshot taken at the first step, in UTF-8 byte order as S3 lists; a `list` fault matches on `prefix`. */
  async *list(prefix: string, startAfter?: string): AsyncGenerator<string> {
    checkObjectPrefix(prefix);
    const fault = this.#take('list', prefix);
    if (fault?.kind === 'fail') throw fault.error;
    const after = startAfter === undefined ? undefined : Buffer.from(startAfter);
    const keys = this.keys(prefix).map((k) => Buffer.from(k)).sort(Buffer.compare);
    for (const key of keys) if (after === undefined || Buffer.compare(key, after) > 0) yield key.toString();
  }

  /** Stored keys starting with `prefix`, sorted. */
  keys(prefix = ''): string[] {
    return [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** The content type an object was stored with, or undefined. */
  contentType(key: string): string | undefined {
    return this.#objects.get(key)?.contentType;
  }

  /** Every put that took effect (identical immutable re-puts included), oldest first. */
  get putLog(): readonly PutRecord[] {
    return [...this.#log];
  }

  /** Takes the call's fault: runs a `before` action, throws a `fail`; returns it (a `persist` acts after the write). */
  async #enter(op: ObjectStoreOperation, key: string): Promise<Fault | undefined> {
    const fault = this.#take(op, key);
    if (fault?.kind === 'before') await fault.action();
    if (fault?.kind === 'fail') throw fault.error;
    return fault;
  }

  #nextTag(): string {
    return `"v${++this.#versions}"`;
  }

  /** Removes and returns the first queued fault of `op` matching `key`. */
  #take(op: ObjectStoreOperation, key: string): Fault | undefined {
    const queue = this.#faults.get(op) ?? [];
    const at = queue.findIndex((f) => f.match(key));
    return at < 0 ? undefined : queue.splice(at, 1)[0];
  }

  #queue(op: ObjectStoreOperation, fault: Fault): void {
    const queue = this.#faults.get(op) ?? [];
    queue.push(fault);
    this.#faults.set(op, queue);
  }
}
