import { BatchTooLargeError } from '../ports/errors.js';
import { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, type IndexItemsOf, type LedgerBatch } from '../ports/ledger-store.js';

/**
 * A log position: a whole number from 0 to 2^53 − 1 (the DynamoDB adapter's
 * 16-digit sort keys hold every one), else RangeError.
 */
export function checkPosition(position: number): void {
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`a position must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got ${position}`);
  }
}

/**
 * What every `LedgerStore` checks before an append, so adapters refuse the
 * same batches: over MAX_BATCH_ENTRIES entries or MAX_BATCH_BYTES of entry
 * bytes is `BatchTooLargeError`; no entries, a bad position or index items of
 * another tenant are caller bugs (RangeError).
 *
 * @example
 * ```ts
 * checkBatch(batch); // throws before anything is written
 * ```
 */
export function checkBatch(batch: LedgerBatch): void {
  const { tenant, firstPosition, entries } = batch;
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new BatchTooLargeError(`a batch holds at most ${MAX_BATCH_ENTRIES} entries, got ${entries.length}`);
  }
  const bytes = entries.reduce((sum, e) => sum + e.byteLength, 0);
  if (bytes > MAX_BATCH_BYTES) throw new BatchTooLargeError(`a batch holds at most ${MAX_BATCH_BYTES} entry bytes, got ${bytes}`);
  if (entries.length === 0) throw new RangeError('a batch holds at least one entry');
  checkPosition(firstPosition);
  checkPosition(firstPosition + entries.length - 1);
  checkIndexItems(batch);
}

/**
 * What every `LedgerStore` checks before writing index items (`putIndex`,
 * and a batch's own): a head at a bad position, or an item of another tenant
 * than `items.tenant`, is a caller bug (RangeError).
 *
 * @example
 * ```ts
 * checkIndexItems(batch); // before putIndex(batch) writes anything
 * ```
 */
export function checkIndexItems(items: IndexItemsOf): void {
  for (const head of items.heads) checkPosition(head.position);
  const foreign = [...items.heads, ...items.idempotency].find((item) => item.tenant !== items.tenant);
  if (foreign) throw new RangeError(`index items of tenant ${items.tenant} include one of tenant ${foreign.tenant}`);
}
