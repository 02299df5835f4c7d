/**
 * The change stream (DESIGN §1): every entry the ledger accepted, delivered to
 * the downstream consumers (event archive, PostgreSQL projection). On AWS,
 * DynamoDB Streams on the ledger table drives a Lambda that turns each new
 * batch item into changes; locally, a tailer in the `npm start` process
 * follows the ledger from a persisted cursor. Both call the same consumers.
 *
 * Contract for every consumer:
 * - `apply` is idempotent by `(tenant, position)`: applying a change twice,
 *   or changes out of order, leaves the same state as applying each once in
 *   order. A duplicate with *different* bytes for a position already applied
 *   is never overwritten: the consumer throws `ChangeConflictError` (ports/errors.ts) (a finding
 *   for humans, never auto-fixed).
 * - `apply` returns only when every change is durable downstream; a throw
 *   means none, some or all may have been applied, and the caller redelivers
 *   the whole array (hence idempotence).
 * - A consumer can be rebuilt from position 0 by delivering the ledger again.
 */

/** One ledger entry as the change stream delivers it. */
export interface LedgerChange {
  readonly tenant: string;
  readonly position: number;
  /** The entry's canonical bytes exactly as stored in the ledger (what the leaf hash commits to). */
  readonly entry: Uint8Array;
  /** Lowercase hex SHA-256(0x00 ‖ entry). */
  readonly leafHash: string;
}

export interface ChangeConsumer {
  /** Stable name, used for cursors, logs and findings (e.g. `event-archive`, `projection`). */
  readonly name: string;
  /** Applies changes of one tenant in position order (see the idempotence contract above). */
  apply(changes: readonly LedgerChange[]): Promise<void>;
}

/**
 * A consumer whose copy can be read back for cross-verification (DESIGN §5):
 * the event store and the projection.
 *
 * `leafHashes(tenant, from, to)` answers, for each position in `[from, to)`
 * the copy holds, the leaf hash *recomputed from the content the copy would
 * serve* — never a stored hash column taken on trust — so a copy whose bytes
 * or derived fields were altered answers a different hash. Positions the copy
 * lacks are absent from the map; positions it holds at or beyond the ledger's
 * size are how an "extra row" shows (pass `to = Number.MAX_SAFE_INTEGER`).
 * Missing positions are re-derived by calling `apply` with the ledger's
 * changes; a different hash is a finding, never auto-fixed.
 */
export interface ChangeCopy extends ChangeConsumer {
  leafHashes(tenant: string, from: number, to: number): Promise<ReadonlyMap<number, string>>;
}
