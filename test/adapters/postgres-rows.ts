import canonicalize from 'canonicalize';
import { toHex } from '../../lambdas/core/bytes.js';
import { decodeEntry } from '../../lambdas/core/ledger-entry.js';
import type { PayloadState, ProjectedEntry } from '../../lambdas/ports/projection-store.js';
import { projectedEntry } from '../../lambdas/services/projector.js';
import type { LedgerLog } from '../support/ledger-log.js';

/**
 * Rows for positions [from, to) of a test log (SYSTEM entries), as the
 * projector builds them. `state` lets adapter tests store them as if
 * decrypted (the adapter does not look inside payloads).
 */
export function projectedRows(log: LedgerLog, from: number, to: number, state: PayloadState = 'clear'): ProjectedEntry[] {
  return log.entries.slice(from, to).map((bytes) => {
    const { entry, leafHash } = decodeEntry(bytes);
    const payload = state === 'shredded' ? null : canonicalize(entry.payload)!;
    return projectedEntry(entry, bytes, toHex(leafHash), { payload, state });
  });
}
