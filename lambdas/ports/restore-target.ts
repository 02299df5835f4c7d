/**
 * A backup that a drill restores into scratch resources (DESIGN §5 "Drills"):
 * the ledger table (DynamoDB PITR), the database (Aurora PITR) or the event
 * archive (EventBridge replay / the S3 copy); locally, copies of the data
 * directory's engines. The drill verifies what was restored, measures the
 * time taken (RTO) and the newest position recovered (RPO), and always tears
 * the scratch resources down.
 *
 * Contract for every adapter:
 * - `restore` creates scratch resources only — it never writes to the live
 *   ones — and resolves once the restored copy can be read.
 * - `teardown` removes every scratch resource `restore` created or began to
 *   create; it is safe after a failed or partial `restore`, and twice.
 */
import type { ChangeCopy } from './change-stream.js';
import type { LedgerStore } from './ledger-store.js';

/** What a restore produced: a ledger to verify, or a downstream copy to compare with the ledger. */
export type RestoredCopy =
  | { readonly kind: 'ledger'; readonly ledger: Pick<LedgerStore, 'readTail' | 'readBatches' | 'batchAt'>; readonly restoredTo: Date }
  | { readonly kind: 'copy'; readonly copy: Pick<ChangeCopy, 'name' | 'leafHashes'>; readonly restoredTo: Date };

export interface RestoreTarget {
  /** `ledger`, `database` or `event-archive`. */
  readonly name: string;
  restore(): Promise<RestoredCopy>;
  teardown(): Promise<void>;
}
