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
