/**
 * Multi-item reads and writes on one DynamoDB table, for adapters that would
 * otherwise send one request per item: `BatchGetItem` takes up to 100 keys
 * and `BatchWriteItem` up to 25 puts per request (DynamoDB limits), so the
 * items are split into chunks sent in parallel. DynamoDB may answer part of a
 * request with `UnprocessedKeys`/`UnprocessedItems` (throttling) rather than
 * an error; those are re-sent with full-jitter backoff, a bounded number of
 * times, then the adapter's "unavailable" error is thrown. Transient SDK
 * errors are translated the same way (`translateTransient`).
 *
 * `BatchWriteItem` has no condition expressions: write only items whose
 * content never changes once written (a rewrite is then harmless), never a
 * mutable item whose updates must not move backwards.
 */
import { BatchGetCommand, BatchWriteCommand, type BatchWriteCommandInput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { translateTransient } from './aws-errors.js';
import { sleep } from './dynamo-tables.js';

type Item = Record<string, unknown>;
type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];
type Unavailable = new (message: string, options: { cause: unknown }) => Error;

/** Keys one `BatchGetItem` request takes at most (DynamoDB limit). */
export const BATCH_GET_KEYS = 100;
/** Puts one `BatchWriteItem` request takes at most (DynamoDB limit). */
export const BATCH_WRITE_ITEMS = 25;

/** Where and how `batchGetAll`/`batchWriteAll` send: the caller's client and table, its error, its retry bounds. */
export interface BatchIoOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The error for faults left after retries, e.g. `LedgerUnavailableError`. */
  readonly unavailable: Unavailable;
  /** Requests per chunk before giving up on unprocessed items (default 6). */
  readonly attempts?: number;
  /** Base of the exponential, fully jittered backoff, ms (default 20). */
  readonly backoffMs?: number;
}

/**
 * Reads `keys` (strongly consistent), in parallel chunks of 100; returns the
 * items found, in no particular order. Duplicate keys are read once.
 *
 * @example
 * ```ts
 * const items = await batchGetAll(io, [{ pk: 'TENANT#acme', sk: 'I#req-1' }, { pk: 'TENANT#acme', sk: 'H#r-1' }]);
 * ```
 */
export async function batchGetAll(io: BatchIoOptions, keys: readonly Item[]): Promise<Item[]> {
  const unique = [...new Map(keys.map((k) => [JSON.stringify(k), k])).values()];
  const pages = await Promise.all(chunks(unique, BATCH_GET_KEYS).map(async (chunk) => {
    const found: Item[] = [];
    await untilProcessed(io, 'BatchGetItem', chunk, async (Keys) => {
      const out = await io.client.send(new BatchGetCommand({ RequestItems: { [io.tableName]: { Keys, ConsistentRead: true } } }));
      found.push(...(out.Responses?.[io.tableName] ?? []));
      return out.UnprocessedKeys?.[io.tableName]?.Keys ?? [];
    });
    return found;
  }));
  return pages.flat();
}

/**
 * Puts `items` unconditionally, in parallel chunks of 25 (see the module doc
 * for what may be written this way). Items with the same key must not occur
 * twice (DynamoDB refuses the request).
 *
 * @example
 * ```ts
 * await batchWriteAll(io, [{ pk: 'TENANT#acme', sk: 'I#req-1', response: '…' }]);
 * ```
 */
export async function batchWriteAll(io: BatchIoOptions, items: readonly Item[]): Promise<void> {
  await Promise.all(chunks(items, BATCH_WRITE_ITEMS).map((chunk) =>
    untilProcessed<WriteRequest>(io, 'BatchWriteItem', chunk.map((Item) => ({ PutRequest: { Item } })), async (requests) => {
      const out = await io.client.send(new BatchWriteCommand({ RequestItems: { [io.tableName]: requests } }));
      return out.UnprocessedItems?.[io.tableName] ?? [];
    }),
  ));
}

/** Sends `pending` until nothing is left unprocessed, at most `attempts` times. */
async function untilProcessed<T>(io: BatchIoOptions, operation: string, pending: T[], send: (pending: T[]) => Promise<T[]>): Promise<void> {
  const attempts = io.attempts ?? 6;
  const backoffMs = io.backoffMs ?? 20;
  for (let attempt = 1; pending.length > 0; attempt++) {
    try {
      pending = await send(pending);
    } catch (error) {
      throw translateTransient(error, operation, io.unavailable);
    }
    if (pending.length === 0) return;
    if (attempt >= attempts) {
      throw new io.unavailable(`DynamoDB ${operation} left ${pending.length} items unprocessed after ${attempt} attempts`, { cause: undefined });
    }
    await sleep(Math.random() * backoffMs * 2 ** attempt);
  }
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
