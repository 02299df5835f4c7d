import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { BatchWriteCommandInput, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KeyExistsError, KeyServiceUnavailableError, KeyShreddedError, LegalHoldError } from '../../ports/errors.js';
import type { KeyStore, LegalHold, ShredMarker, StoredDek, StoredKek } from '../../ports/key-store.js';
import { isConditionFailed, translateTransient } from './aws-errors.js';
import { ensureTable, sleep } from './dynamo-tables.js';

/**
 * The key table's schema, mirrored by the CDK stack (`partitionKey`/`sortKey`
 * match `TableProps`). Items per tenant, pk `TENANT#<tenant>`, sk:
 * `KEK#<version, 10 digits>`, `DEK#<id>#<kekVersion, 10 digits>`,
 * `HOLD#<id>` and `SHRED` (the marker). Zero padding makes sk order version order.
 */
export const KEY_TABLE_SCHEMA = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  billingMode: 'PAY_PER_REQUEST',
} as const;

export interface DynamoKeyStoreOptions {
  /** The caller's client; its `maxAttempts` bounds the SDK's own retries. */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** BatchWriteItem attempts while items come back unprocessed (default 8). */
  readonly batchAttempts?: number;
  /** First backoff between those attempts, doubled each time up to 1 s (default 50). */
  readonly backoffBaseMs?: number;
}

type Item = Record<string, unknown>;
type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

const NEW_ITEM = 'attribute_not_exists(pk)';
const BY_PREFIX = 'pk = :pk AND begins_with(sk, :prefix)';
const SHRED_SK = 'SHRED';

/**
 * `KeyStore` on a DynamoDB table of its own ({@link KEY_TABLE_SCHEMA}); only
 * conditional puts, queries and batch writes, so dynalite runs it unchanged.
 *
 * - Puts are `attribute_not_exists(pk)` compare-and-swaps; a failed condition
 *   becomes `KeyExistsError` (cause kept). Reads are `ConsistentRead`.
 * - Throttling, 5xx and network errors left after the client's own retries
 *   become `KeyServiceUnavailableError` (cause kept); anything else (validation,
 *   missing table, access denied) is a deployment bug and passes through.
 * - Shredding without transactions: the marker is written first, then every
 *   KEK and DEK item is deleted, so a crash midway leaves a tenant marked
 *   shredded with some wrapped (still master-key-protected) keys left, and
 *   re-running `shredTenant` finishes. Any hold, tenant- or record-level,
 *   refuses the shred: it destroys every record of the tenant.
 * - `putKek`/`putDek` on a shredded tenant throw `KeyShreddedError`: they check
 *   the marker before the put and again after it, deleting their own item when
 *   the marker appeared. The shred queries keys only after writing its marker,
 *   so every racing key is deleted by one side or the other; only a writer
 *   crashing between its put and its re-check leaves an orphan, which a
 *   re-run of `shredTenant` removes.
 * - The marker is re-checked against holds after it is written: a hold placed
 *   concurrently aborts the shred (the marker it wrote is removed; puts racing
 *   that window fail with `KeyShreddedError`); a hold placed after that
 *   re-check lands on a tenant already marked shredded.
 *
 * @example
 * ```ts
 * const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
 * const keys = new DynamoKeyStore({ client, tableName: process.env.KEY_TABLE! });
 * const kek = await keys.latestKek('acme');
 * ```
 */
export class DynamoKeyStore implements KeyStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #batchAttempts: number;
  readonly #backoffBaseMs: number;

  constructor(options: DynamoKeyStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#batchAttempts = options.batchAttempts ?? 8;
    this.#backoffBaseMs = options.backoffBaseMs ?? 50;
  }

  async putKek(kek: StoredKek): Promise<void> {
    const { tenant, version, wrapped, masterKeyId, createdAt } = kek;
    const item = { pk: pkOf(tenant), sk: kekSk(version), tenant, version, wrapped, masterKeyId, createdAt };
    await this.#putKey(item, `KEK version ${version} of tenant ${tenant}`);
  }

  async getKek(tenant: string, version: number): Promise<StoredKek | undefined> {
    const item = await this.#get(pkOf(tenant), kekSk(version));
    return item && toKek(item);
  }

  async latestKek(tenant: string): Promise<StoredKek | undefined> {
    const out = await this.#call('Query', () =>
      this.#client.send(new QueryCommand({ ...this.#byPrefix(tenant, 'KEK#'), ScanIndexForward: false, Limit: 1 })),
    );
    const item = out.Items?.[0];
    return item && toKek(item);
  }

  async listKeks(tenant: string): Promise<StoredKek[]> {
    return (await this.#queryAll(tenant, 'KEK#')).map(toKek);
  }

  async putDek(dek: StoredDek): Promise<void> {
    const { tenant, id, kekVersion, wrapped, createdAt } = dek;
    const item = { pk: pkOf(tenant), sk: dekSk(id, kekVersion), tenant, id, kekVersion, wrapped: { iv: wrapped.iv, ct: wrapped.ct }, createdAt };
    await this.#putKey(item, `DEK ${id} (KEK ${kekVersion}) of tenant ${tenant}`);
  }

  async getDek(tenant: string, id: string, kekVersion: number): Promise<StoredDek | undefined> {
    const item = await this.#get(pkOf(tenant), dekSk(id, kekVersion));
    return item && toDek(item);
  }

  async putHold(hold: LegalHold): Promise<void> {
    const { tenant, id, recordId, reason, createdAt } = hold;
    const item = { pk: pkOf(tenant), sk: `HOLD#${id}`, tenant, id, ...(recordId === undefined ? {} : { recordId }), reason, createdAt };
    await this.#putNew(item, `hold ${id} of tenant ${tenant}`);
  }

  async removeHold(tenant: string, id: string): Promise<void> {
    await this.#delete(pkOf(tenant), `HOLD#${id}`);
  }

  async listHolds(tenant: string): Promise<LegalHold[]> {
    return (await this.#queryAll(tenant, 'HOLD#')).map(toHold);
  }

  /** See the class doc: holds, marker (first one kept on re-runs), holds again, then deletes. */
  async shredTenant(marker: ShredMarker): Promise<void> {
    const { tenant } = marker;
    await this.#refuseIfHeld(tenant);
    const item = { pk: pkOf(tenant), sk: SHRED_SK, ...marker, kekVersions: [...marker.kekVersions] };
    let created = true;
    try {
      await this.#putNew(item, `shred marker of tenant ${tenant}`);
    } catch (error) {
      if (!(error instanceof KeyExistsError)) throw error;
      created = false; // a re-run: the first marker stands
    }
    try {
      await this.#refuseIfHeld(tenant);
    } catch (error) {
      if (created && error instanceof LegalHoldError) await this.#delete(pkOf(tenant), SHRED_SK);
      throw error;
    }
    const keys = [...(await this.#queryAll(tenant, 'KEK#', true)), ...(await this.#queryAll(tenant, 'DEK#', true))];
    for (let i = 0; i < keys.length; i += 25) await this.#deleteBatch(keys.slice(i, i + 25));
  }

  async shredded(tenant: string): Promise<ShredMarker | undefined> {
    const item = await this.#get(pkOf(tenant), SHRED_SK);
    return item && toMarker(item);
  }

  async #putKey(item: Item & { tenant: string; pk: string; sk: string }, what: string): Promise<void> {
    const refuse = (): KeyShreddedError => new KeyShreddedError(`tenant ${item.tenant} was shredded: cannot store ${what}`);
    if (await this.shredded(item.tenant)) throw refuse();
    await this.#putNew(item, what);
    if (await this.shredded(item.tenant)) {
      await this.#delete(item.pk, item.sk); // lost the race with shredTenant: take our key back out
      throw refuse();
    }
  }

  async #putNew(item: Item, what: string): Promise<void> {
    try {
      await this.#client.send(new PutCommand({ TableName: this.#table, Item: item, ConditionExpression: NEW_ITEM }));
    } catch (error) {
      if (isConditionFailed(error)) throw new KeyExistsError(`${what} already exists`, { cause: error });
      throw translateTransient(error, 'PutItem', KeyServiceUnavailableError);
    }
  }

  async #get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.#call('GetItem', () =>
      this.#client.send(new GetCommand({ TableName: this.#table, Key: { pk, sk }, ConsistentRead: true })),
    );
    return out.Item;
  }

  async #delete(pk: string, sk: string): Promise<void> {
    await this.#call('DeleteItem', () => this.#client.send(new DeleteCommand({ TableName: this.#table, Key: { pk, sk } })));
  }

  #byPrefix(tenant: string, prefix: string) {
    return {
      TableName: this.#table,
      KeyConditionExpression: BY_PREFIX,
      ExpressionAttributeValues: { ':pk': pkOf(tenant), ':prefix': prefix },
      ConsistentRead: true,
    };
  }

  async #queryAll(tenant: string, prefix: string, keysOnly = false): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const input = {
        ...this.#byPrefix(tenant, prefix),
        ...(keysOnly ? { ProjectionExpression: 'pk, sk' } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      };
      const out = await this.#call('Query', () => this.#client.send(new QueryCommand(input)));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async #refuseIfHeld(tenant: string): Promise<void> {
    const holds = await this.listHolds(tenant);
    if (holds.length > 0) {
      const ids = holds.map((h) => h.id);
      throw new LegalHoldError(`tenant ${tenant} cannot be shredded while held (${ids.join(', ')})`, ids);
    }
  }

  async #deleteBatch(keys: Record<string, unknown>[]): Promise<void> {
    let pending: WriteRequests = keys.map((k) => ({ DeleteRequest: { Key: { pk: k.pk, sk: k.sk } } }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > this.#batchAttempts) {
        throw new KeyServiceUnavailableError(
          `${pending.length} key deletions still unprocessed after ${this.#batchAttempts} attempts; re-run shredTenant to finish`,
        );
      }
      if (attempt > 1) await sleep(Math.min(this.#backoffBaseMs * 2 ** (attempt - 2), 1000));
      const requests = pending;
      const out = await this.#call('BatchWriteItem', () =>
        this.#client.send(new BatchWriteCommand({ RequestItems: { [this.#table]: requests } })),
      );
      pending = out.UnprocessedItems?.[this.#table] ?? [];
    }
  }

  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw translateTransient(error, operation, KeyServiceUnavailableError);
    }
  }
}

/**
 * Creates the key table (on-demand) unless it exists, then waits until it is
 * ACTIVE; an existing table with another key schema is an error. Takes the
 * plain `DynamoDBClient`: table management is not a document-client command.
 *
 * @example
 * ```ts
 * await createKeyTable(new DynamoDBClient({ endpoint }), 'govledger-keys');
 * ```
 */
export function createKeyTable(client: DynamoDBClient, tableName: string, timeoutMs = 120_000): Promise<void> {
  return ensureTable(client, tableName, KEY_TABLE_SCHEMA, timeoutMs);
}

const pkOf = (tenant: string): string => `TENANT#${tenant}`;
const kekSk = (version: number): string => `KEK#${padVersion(version)}`;
/** Unambiguous even when the id holds '#': the suffix is always `#` and 10 digits. */
const dekSk = (id: string, kekVersion: number): string => `DEK#${id}#${padVersion(kekVersion)}`;

/** 10 digits keep string order equal to numeric order (2 < 10). */
function padVersion(version: number): string {
  if (!Number.isSafeInteger(version) || version < 1 || version > 9_999_999_999) {
    throw new RangeError(`KEK version must be an integer from 1 to 9999999999, got ${version}`);
  }
  return String(version).padStart(10, '0');
}

const str = (v: unknown): string => String(v);
/** Also accepts the SDK's `NumberValue` (clients built with `wrapNumbers`). */
const num = (v: unknown): number => Number(String(v));

function toKek(i: Item): StoredKek {
  const wrapped = new Uint8Array(i.wrapped as Uint8Array); // an own copy, not a view into an SDK buffer
  return { tenant: str(i.tenant), version: num(i.version), wrapped, masterKeyId: str(i.masterKeyId), createdAt: str(i.createdAt) };
}

function toDek(i: Item): StoredDek {
  const w = i.wrapped as { iv: unknown; ct: unknown };
  const wrapped = { iv: str(w.iv), ct: str(w.ct) };
  return { tenant: str(i.tenant), id: str(i.id), kekVersion: num(i.kekVersion), wrapped, createdAt: str(i.createdAt) };
}

function toHold(i: Item): LegalHold {
  const recordId = i.recordId === undefined ? {} : { recordId: str(i.recordId) };
  return { tenant: str(i.tenant), id: str(i.id), ...recordId, reason: str(i.reason), createdAt: str(i.createdAt) };
}

function toMarker(i: Item): ShredMarker {
  const kekVersions = ((i.kekVersions ?? []) as unknown[]).map(num);
  return { tenant: str(i.tenant), shreddedAt: str(i.shreddedAt), actor: str(i.actor), reason: str(i.reason), kekVersions };
}

