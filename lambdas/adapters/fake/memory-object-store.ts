import { bytesEqual } from '../../core/bytes.js';
import {
  checkObjectKey,
  ObjectImmutableError,
  ObjectStoreUnavailableError,
  type ObjectStore,
  type PutOptions,
} from '../../ports/object-store.js';

/** An `ObjectStore` method name, for fault hooks. */
export type ObjectStoreOperation = keyof ObjectStore;
/** Chooses which key a fault fires on; every key when omitted. */
export type KeyMatcher = (key: string) => boolean;

type Fault = { kind: 'fail'; error: unknown; match: KeyMatcher } | { kind: 'persist'; match: KeyMatcher };

interface StoredObject {
  readonly bytes: Uint8Array;
  readonly contentType: string;
  readonly immutable: boolean;
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
 * - `failButPersistNext(match?)`: the put takes effect, then throws
 *   `ObjectStoreUnavailableError` (a timeout after S3 stored the object).
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

  /** The next call of `op` on a key `match` accepts throws `error` without effect. */
  failNext(op: ObjectStoreOperation, error: unknown = new ObjectStoreUnavailableError(`injected: ${op} unavailable`), match: KeyMatcher = any): void {
    this.#queue(op, { kind: 'fail', error, match });
  }

  /** The next put of a key `match` accepts is stored, then throws `ObjectStoreUnavailableError`. */
  failButPersistNext(match: KeyMatcher = any): void {
    this.#queue('put', { kind: 'persist', match });
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions): Promise<void> {
    checkObjectKey(key);
    const fault = this.#take('put', key);
    if (fault?.kind === 'fail') throw fault.error;
    const existing = this.#objects.get(key);
    if (existing && existing.immutable !== options.immutable) {
      throw new RangeError(`object ${key} is ${existing.immutable ? '' : 'not '}immutable; a key is always one or the other`);
    }
    if (existing?.immutable) {
      if (!bytesEqual(existing.bytes, bytes)) throw new ObjectImmutableError(key);
    } else {
      this.#objects.set(key, { bytes: bytes.slice(), contentType: options.contentType, immutable: options.immutable });
    }
    this.#log.push({ key, immutable: options.immutable });
    if (fault?.kind === 'persist') throw new ObjectStoreUnavailableError(`injected: put of ${key} persisted but the reply was lost`);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkObjectKey(key);
    const fault = this.#take('get', key);
    if (fault?.kind === 'fail') throw fault.error;
    return this.#objects.get(key)?.bytes.slice();
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
