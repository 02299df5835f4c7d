import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient, QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { LedgerUnavailableError, PositionTakenError } from '../../ports/errors.js';
import type { IdempotencyRecord, IndexItems, IndexItemsOf, IndexLookup, LedgerBatch, LedgerStore, RecordHead } from '../../ports/ledger-store.js';
import { checkBatch, checkIndexItems, checkPosition } from '../ledger-batch-check.js';
import { isConditionFailed, translateTransient } from './aws-errors.js';
import { batchGetAll, batchWriteAll, type BatchIoOptions } from './dynamo-batch-io.js';
import { HEAD, IDEMPOTENCY, headItem, idempotencyItem, indexItemsOf, indexKeys, indexWrites, toIdempotency } from './dynamo-ledger-index.js';
import { ensureTable } from './dynamo-tables.js';

/**
 * The ledger table's schema, mirrored by the CDK stack. Items per tenant, pk
 * `TENANT#<tenant>`, sk: `B#<first position, 16 digits>` (a batch),
 * and the index items `H#<recordId>`, `C#<recordId>` and `I#<Idempotency-Key>`
 * (see `dynamo-ledger-index.ts`). Sixteen digits hold every safe integer, so
 * sk order is position order.
 */
export const LEDGER_TABLE_SCHEMA = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  billingMode: 'PAY_PER_REQUEST',
} as const;

export interface DynamoLedgerStoreOptions {
  /** The caller's client; its `maxAttempts` bounds the SDK's own retries (the port's "bounded"). */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

type Item = Record<string, unknown>;

const NEW_ITEM = 'attribute_not_exists(pk)';
const NEWER_HEAD = 'attribute_not_exists(pk) OR revision < :rev';
const BATCH_RANGE = 'pk = :pk AND sk BETWEEN :from AND :to';
const FIRST_BATCH_SK = 'B#';
const LAST_BATCH_SK = `B#${'9'.repeat(16)}`;

/**
 * `LedgerStore` on the ledger table ({@link LEDGER_TABLE_SCHEMA}) with only
 * conditional puts, gets, queries and batched gets and puts, so dynalite runs
 * it unchanged.
 *
 * - `appendBatch` puts `B#<first>` with `attribute_not_exists(pk)`; a failed
 *   condition is `PositionTakenError` (cause kept). If the SDK retried a put
 *   whose first attempt committed, our own batch fails the condition: the
 *   caller re-reads the tail, rolls its index items forward and finds its
 *   idempotency record, so that too ends in the right answer.
 * - Batch reads are consistent queries bounded to `B#…`, never touching the
 *   `H#`/`I#` items that sort after them.
 * - Heads put with `attribute_not_exists(pk) OR revision < :rev`; idempotency
 *   records with `attribute_not_exists(pk)`: a failed condition means an equal
 *   or newer head (the first record) is stored already, so the put returns.
 * - `putIndex` writes first revisions (`C#`) and idempotency records, whose
 *   content never changes, unconditionally by `BatchWriteItem`, and later
 *   revisions as conditional `H#` puts; `getIndex` (and `getHead`) read them
 *   by consistent `BatchGetItem` (`dynamo-ledger-index.ts`, `dynamo-batch-io.ts`).
 * - Throttling, 5xx and network errors left after the client's retries become
 *   `LedgerUnavailableError` (cause kept); others (validation, missing table,
 *   access denied) are deployment bugs and pass through.
 *
 * @example
 * ```ts
 * const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
 * const ledger = new DynamoLedgerStore({ client, tableName: process.env.LEDGER_TABLE! });
 * const tail = await ledger.readTail('acme');
 * ```
 */
export class DynamoLedgerStore implements LedgerStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #io: BatchIoOptions;

  constructor(options: DynamoLedgerStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#io = { client: options.client, tableName: options.tableName, unavailable: LedgerUnavailableError };
  }

  async readTail(tenant: string): Promise<LedgerBatch | undefined> {
    const [item] = await this.#query({
      ...this.#key(tenant, 'pk = :pk AND begins_with(sk, :prefix)', { ':prefix': FIRST_BATCH_SK }),
      ScanIndexForward: false,
      Limit: 1,
    });
    return item && toBatch(tenant, item);
  }

  async appendBatch(batch: LedgerBatch): Promise<void> {
    checkBatch(batch);
    const { tenant, firstPosition: first, entries, range, lastLeafHash, lastTimestamp, generation, heads, idempotency } = batch;
    const Item = {
      pk: pkOf(tenant), sk: batchSk(first), first, count: entries.length, entries: [...entries], range: [...range],
      lastLeafHash, lastTimestamp, generation, heads: JSON.stringify(heads), idem: JSON.stringify(idempotency),
    };
    try {
      await this.#client.send(new PutCommand({ TableName: this.#table, Item, ConditionExpression: NEW_ITEM }));
    } catch (error) {
      if (isConditionFailed(error)) throw new PositionTakenError(tenant, first, { cause: error });
      throw translateTransient(error, 'PutItem', LedgerUnavailableError);
    }
  }

  async batchAt(tenant: string, position: number): Promise<LedgerBatch | undefined> {
    checkPosition(position);
    const [item] = await this.#query({
      ...this.#key(tenant, BATCH_RANGE, { ':from': FIRST_BATCH_SK, ':to': batchSk(position) }),
      ScanIndexForward: false,
      Limit: 1,
    });
    const batch = item && toBatch(tenant, item);
    return batch && position < batch.firstPosition + batch.entries.length ? batch : undefined;
  }

  /**
   * The batch holding `from` (via `batchAt`), then one ascending query after
   * it, page by page. When no batch holds `from` (past the end, or a gap left
   * by a deleted item in a tampered table) it starts at the first batch after
   * `from`, so a verifier reading a damaged log still sees everything stored.
   */
  async *readBatches(tenant: string, from: number): AsyncGenerator<LedgerBatch> {
    const start = await this.batchAt(tenant, from);
    if (start) yield start;
    const after = start ? start.firstPosition + 1 : from + 1;
    const input = this.#key(tenant, BATCH_RANGE, { ':from': batchSk(after), ':to': LAST_BATCH_SK });
    let page: Item | undefined;
    do {
      const request = page ? { ...input, ExclusiveStartKey: page } : input;
      const out = await this.#call('Query', () => this.#client.send(new QueryCommand(request)));
      for (const item of out.Items ?? []) yield toBatch(tenant, item);
      page = out.LastEvaluatedKey;
    } while (page);
  }

  async putHead(head: RecordHead): Promise<void> {
    checkPosition(head.position);
    const Item = headItem(pkOf(head.tenant), head, HEAD);
    await this.#putUnlessNewer({ TableName: this.#table, Item, ConditionExpression: NEWER_HEAD, ExpressionAttributeValues: { ':rev': head.revision } });
  }

  async getHead(tenant: string, recordId: string): Promise<RecordHead | undefined> {
    return (await this.getIndex(tenant, { recordIds: [recordId], keys: [] })).heads.get(recordId);
  }

  async putIdempotency(record: IdempotencyRecord): Promise<void> {
    await this.#putUnlessNewer({ TableName: this.#table, Item: idempotencyItem(pkOf(record.tenant), record), ConditionExpression: NEW_ITEM });
  }

  async getIdempotency(tenant: string, key: string): Promise<IdempotencyRecord | undefined> {
    const i = await this.#get(tenant, `${IDEMPOTENCY}${key}`);
    return i && toIdempotency(tenant, i);
  }

  /** Unconditional batched puts where content never changes, conditional `putHead` where it does (see the class doc). */
  async putIndex(items: IndexItemsOf): Promise<void> {
    checkIndexItems(items);
    const { fixed, later } = indexWrites(pkOf(items.tenant), items);
    await Promise.all([batchWriteAll(this.#io, fixed), ...later.map((h) => this.putHead(h))]);
  }

  async getIndex(tenant: string, lookup: IndexLookup): Promise<IndexItems> {
    return indexItemsOf(tenant, await batchGetAll(this.#io, indexKeys(pkOf(tenant), lookup)));
  }

  /**
   * Every tenant with a genesis batch (`sk = B#0…0`): a paginated Scan that
   * returns only `pk`. It reads the whole table, so it is for discovery at
   * start (the local tailer), never per request; on AWS, Streams need none.
   */
  async *tenants(): AsyncGenerator<string> {
    const input = {
      TableName: this.#table, ProjectionExpression: 'pk', FilterExpression: 'sk = :genesis',
      ExpressionAttributeValues: { ':genesis': batchSk(0) }, ConsistentRead: true,
    };
    let page: Item | undefined;
    do {
      const request = page ? { ...input, ExclusiveStartKey: page } : input;
      const out = await this.#call('Scan', () => this.#client.send(new ScanCommand(request)));
      for (const { pk } of out.Items ?? []) if (str(pk).startsWith(PK_PREFIX)) yield str(pk).slice(PK_PREFIX.length);
      page = out.LastEvaluatedKey;
    } while (page);
  }

  /** A failed condition means what is stored wins (newer head, first record): done. */
  async #putUnlessNewer(input: ConstructorParameters<typeof PutCommand>[0]): Promise<void> {
    try {
      await this.#client.send(new PutCommand(input));
    } catch (error) {
      if (!isConditionFailed(error)) throw translateTransient(error, 'PutItem', LedgerUnavailableError);
    }
  }

  async #get(tenant: string, sk: string): Promise<Item | undefined> {
    const Key = { pk: pkOf(tenant), sk };
    const out = await this.#call('GetItem', () => this.#client.send(new GetCommand({ TableName: this.#table, Key, ConsistentRead: true })));
    return out.Item;
  }

  async #query(input: QueryCommandInput): Promise<Item[]> {
    const out = await this.#call('Query', () => this.#client.send(new QueryCommand(input)));
    return out.Items ?? [];
  }

  #key(tenant: string, condition: string, values: Item) {
    return {
      TableName: this.#table,
      KeyConditionExpression: condition,
      ExpressionAttributeValues: { ':pk': pkOf(tenant), ...values },
      ConsistentRead: true,
    };
  }

  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw translateTransient(error, operation, LedgerUnavailableError);
    }
  }
}

/**
 * Creates the ledger table unless it exists and waits until it is ACTIVE
 * (an existing table with another key schema is an error).
 *
 * @example
 * ```ts
 * await createLedgerTable(new DynamoDBClient({ endpoint }), 'govledger-ledger');
 * ```
 */
export function createLedgerTable(client: DynamoDBClient, tableName: string, timeoutMs = 120_000): Promise<void> {
  return ensureTable(client, tableName, LEDGER_TABLE_SCHEMA, timeoutMs);
}

const PK_PREFIX = 'TENANT#';
const pkOf = (tenant: string): string => `${PK_PREFIX}${tenant}`;
const batchSk = (first: number): string => `B#${String(first).padStart(16, '0')}`;
const str = (v: unknown): string => String(v);
/** Also accepts the SDK's `NumberValue` (clients built with `wrapNumbers`). */
const num = (v: unknown): number => Number(String(v));
/** Own copies, not views into an SDK buffer. */
const bytesList = (v: unknown): Uint8Array[] => ((v ?? []) as Uint8Array[]).map((b) => new Uint8Array(b));

/**
 * The batch a ledger-table item holds, decoded as the store decodes it, or
 * undefined for any other item (heads, idempotency records): for readers of
 * the table's items outside the store, such as the DynamoDB Streams handler.
 * `item` is in the document client's native form (`unmarshall`ed, binaries
 * as Uint8Array).
 *
 * @example
 * ```ts
 * const batch = ledgerBatchOfItem(unmarshall(newImage)); // undefined for an H#/I# item
 * ```
 */
export function ledgerBatchOfItem(item: Readonly<Record<string, unknown>>): LedgerBatch | undefined {
  const { pk, sk } = item;
  if (typeof pk !== 'string' || !pk.startsWith(PK_PREFIX) || typeof sk !== 'string' || !sk.startsWith(FIRST_BATCH_SK)) return undefined;
  return toBatch(pk.slice(PK_PREFIX.length), item);
}

function toBatch(tenant: string, i: Item): LedgerBatch {
  return {
    tenant,
    firstPosition: num(i.first),
    entries: bytesList(i.entries),
    range: bytesList(i.range),
    lastLeafHash: str(i.lastLeafHash),
    lastTimestamp: str(i.lastTimestamp),
    generation: num(i.generation),
    heads: JSON.parse(str(i.heads)) as RecordHead[],
    idempotency: JSON.parse(str(i.idem)) as IdempotencyRecord[],
  };
}
