import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createKeyTable, DynamoKeyStore, KEY_TABLE_SCHEMA } from '../../lambdas/adapters/aws/dynamo-key-store.js';
import { KeyExistsError, KeyServiceUnavailableError, KeyShreddedError, LegalHoldError } from '../../lambdas/ports/errors.js';
import { dek, hold, kek, marker, rejection } from '../ports/key-store.contract.js';

const TableName = 'keys';
const PK = 'TENANT#acme';
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
const mock = mockClient(doc);
const store = new DynamoKeyStore({ client: doc, tableName: TableName, batchAttempts: 3, backoffBaseMs: 1 });

/** Every command sent, in order, as [command name, input]. */
function sent(): [string, unknown][] {
  return mock.calls().map((call) => {
    const command = call.args[0] as unknown as { constructor: { name: string }; input: unknown };
    return [command.constructor.name, command.input];
  });
}

const markerRead = ['GetCommand', { TableName, Key: { pk: PK, sk: 'SHRED' }, ConsistentRead: true }];
const prefixQuery = (prefix: string, extra: object = {}) => [
  'QueryCommand',
  {
    TableName,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': PK, ':prefix': prefix },
    ConsistentRead: true,
    ...extra,
  },
];
const failedCondition = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

beforeEach(() => {
  mock.reset();
  mock.resolves({});
});

describe('DynamoKeyStore.putKek', () => {
  it('reads the marker, puts with attribute_not_exists(pk) under a 10-digit sort key, then re-reads the marker', async () => {
    // Prepare
    const stored = kek('acme', 7);
    // Act
    await store.putKek(stored);
    // Assess
    const { wrapped, masterKeyId, createdAt } = stored;
    const Item = { pk: PK, sk: 'KEK#0000000007', tenant: 'acme', version: 7, wrapped, masterKeyId, createdAt };
    expect(sent()).toEqual([markerRead, ['PutCommand', { TableName, Item, ConditionExpression: 'attribute_not_exists(pk)' }], markerRead]);
    expect(mock.commandCalls(PutCommand)[0]?.args[0].input.Item?.wrapped).toBeInstanceOf(Uint8Array);
  });

  it('turns a failed condition into KeyExistsError with the SDK error as cause', async () => {
    // Prepare
    const cause = failedCondition();
    mock.on(PutCommand).rejects(cause);
    // Act
    const error = await rejection(store.putKek(kek('acme', 1)));
    // Assess
    expect(error).toBeInstanceOf(KeyExistsError);
    expect(error).toMatchObject({ code: 'KEY_EXISTS', cause });
  });

  it('turns throttling and 5xx left after SDK retries into KeyServiceUnavailableError with cause', async () => {
    // Prepare
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    const internal = new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } });
    mock.on(PutCommand).rejectsOnce(throttled).rejectsOnce(internal);
    // Act
    const first = await rejection(store.putKek(kek('acme', 1)));
    const second = await rejection(store.putKek(kek('acme', 1)));
    // Assess
    expect(first).toBeInstanceOf(KeyServiceUnavailableError);
    expect(first).toMatchObject({ code: 'KEY_SERVICE_UNAVAILABLE', cause: throttled });
    expect(second).toMatchObject({ code: 'KEY_SERVICE_UNAVAILABLE', cause: internal });
  });

  it('passes a non-transient error (validation, missing table) through unchanged', async () => {
    // Prepare
    const invalid = Object.assign(new Error('One or more parameter values were invalid'), {
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
    });
    mock.on(GetCommand).rejects(invalid);
    // Act
    const error = await rejection(store.getKek('acme', 1));
    // Assess
    expect(error).toBe(invalid);
  });

  it('refuses a shredded tenant with KeyShreddedError before sending any put', async () => {
    // Prepare
    mock.on(GetCommand).resolves({ Item: { pk: PK, sk: 'SHRED', ...marker('acme') } });
    // Act
    const error = await rejection(store.putKek(kek('acme', 1)));
    // Assess
    expect(error).toBeInstanceOf(KeyShreddedError);
    expect(mock.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('deletes its own item and throws KeyShreddedError when the marker appears during the put', async () => {
    // Prepare
    mock.on(GetCommand).resolvesOnce({}).resolves({ Item: { pk: PK, sk: 'SHRED', ...marker('acme') } });
    // Act
    const error = await rejection(store.putKek(kek('acme', 2)));
    // Assess
    expect(error).toBeInstanceOf(KeyShreddedError);
    expect(sent().map(([name]) => name)).toEqual(['GetCommand', 'PutCommand', 'GetCommand', 'DeleteCommand']);
    expect(mock.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({ TableName, Key: { pk: PK, sk: 'KEK#0000000002' } });
  });
});

describe('DynamoKeyStore.putDek and putHold', () => {
  it('puts a DEK under DEK#<id>#<padded KEK version>', async () => {
    // Prepare
    const stored = dek('acme', '2026-11', 12);
    // Act
    await store.putDek(stored);
    // Assess
    expect(mock.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName,
      Item: { pk: PK, sk: 'DEK#2026-11#0000000012', tenant: 'acme', id: '2026-11', kekVersion: 12, wrapped: stored.wrapped, createdAt: stored.createdAt },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('puts a hold under HOLD#<id>, with recordId only for a record hold, and no marker checks', async () => {
    // Act
    await store.putHold(hold('acme', 'h1'));
    await store.putHold(hold('acme', 'h2', 'rec-1'));
    // Assess
    const base = { tenant: 'acme', reason: 'litigation', createdAt: '2026-01-02T03:04:05Z' };
    expect(sent()).toEqual([
      ['PutCommand', { TableName, Item: { pk: PK, sk: 'HOLD#h1', id: 'h1', ...base }, ConditionExpression: 'attribute_not_exists(pk)' }],
      ['PutCommand', { TableName, Item: { pk: PK, sk: 'HOLD#h2', id: 'h2', recordId: 'rec-1', ...base }, ConditionExpression: 'attribute_not_exists(pk)' }],
    ]);
  });
});

describe('DynamoKeyStore.latestKek and listKeks', () => {
  it('queries KEK# newest first, limit 1, strongly consistent, and maps the item', async () => {
    // Prepare
    const stored = kek('acme', 10);
    mock.on(QueryCommand).resolves({ Items: [{ pk: PK, sk: 'KEK#0000000010', ...stored }] });
    // Act
    const latest = await store.latestKek('acme');
    // Assess
    expect(sent()).toEqual([prefixQuery('KEK#', { ScanIndexForward: false, Limit: 1 })]);
    expect(latest).toEqual(stored);
  });

  it('follows LastEvaluatedKey until the last page', async () => {
    // Prepare
    const page = { pk: PK, sk: 'KEK#0000000001' };
    mock
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ ...page, ...kek('acme', 1) }], LastEvaluatedKey: page })
      .resolvesOnce({ Items: [{ pk: PK, sk: 'KEK#0000000002', ...kek('acme', 2) }] });
    // Act
    const all = await store.listKeks('acme');
    // Assess
    expect(all.map((k) => k.version)).toEqual([1, 2]);
    expect(sent()).toEqual([prefixQuery('KEK#'), prefixQuery('KEK#', { ExclusiveStartKey: page })]);
  });
});

describe('DynamoKeyStore.shredTenant', () => {
  const deks = Array.from({ length: 26 }, (_, i) => ({ pk: PK, sk: `DEK#p${i}#0000000001` }));
  const deletes = (keys: object[]) => keys.map((Key) => ({ DeleteRequest: { Key } }));
  const markerPut = ['PutCommand', { TableName, Item: { pk: PK, sk: 'SHRED', ...marker('acme') }, ConditionExpression: 'attribute_not_exists(pk)' }];
  const keysOnly = { ProjectionExpression: 'pk, sk' };
  const withKeys = () => {
    mock.on(QueryCommand, { ExpressionAttributeValues: { ':prefix': 'KEK#' } }).resolves({ Items: [{ pk: PK, sk: 'KEK#0000000001' }] });
    mock.on(QueryCommand, { ExpressionAttributeValues: { ':prefix': 'DEK#' } }).resolves({ Items: deks });
  };

  it('checks holds, writes the marker, re-checks holds, then batch-deletes every KEK and DEK in 25s', async () => {
    // Prepare
    withKeys();
    // Act
    await store.shredTenant(marker('acme'));
    // Assess
    const all = [{ pk: PK, sk: 'KEK#0000000001' }, ...deks];
    expect(sent()).toEqual([
      prefixQuery('HOLD#'),
      markerPut,
      prefixQuery('HOLD#'),
      prefixQuery('KEK#', keysOnly),
      prefixQuery('DEK#', keysOnly),
      ['BatchWriteCommand', { RequestItems: { [TableName]: deletes(all.slice(0, 25)) } }],
      ['BatchWriteCommand', { RequestItems: { [TableName]: deletes(all.slice(25)) } }],
    ]);
  });

  it('retries unprocessed deletions until none are left', async () => {
    // Prepare
    withKeys();
    const left = deletes(deks.slice(0, 2));
    mock.on(BatchWriteCommand).resolvesOnce({ UnprocessedItems: { [TableName]: left } }).resolves({});
    // Act
    await store.shredTenant(marker('acme'));
    // Assess
    const batches = mock.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems?.[TableName]);
    expect(batches).toHaveLength(3);
    expect(batches[1]).toEqual(left);
  });

  it('gives up after batchAttempts with KeyServiceUnavailableError, marker kept for a re-run', async () => {
    // Prepare
    withKeys();
    mock.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TableName]: deletes(deks.slice(0, 1)) } });
    // Act
    const error = await rejection(store.shredTenant(marker('acme')));
    // Assess
    expect(error).toBeInstanceOf(KeyServiceUnavailableError);
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(3);
    expect(mock.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('refuses under any hold with LegalHoldError before writing anything', async () => {
    // Prepare
    mock.on(QueryCommand).resolves({ Items: [{ pk: PK, sk: 'HOLD#h9', ...hold('acme', 'h9', 'rec-1') }] });
    // Act
    const error = await rejection(store.shredTenant(marker('acme')));
    // Assess
    expect(error).toBeInstanceOf(LegalHoldError);
    expect(error).toMatchObject({ holds: ['h9'] });
    expect(sent()).toEqual([prefixQuery('HOLD#')]);
  });

  it('removes the marker it wrote and refuses when a hold appears meanwhile', async () => {
    // Prepare
    mock.on(QueryCommand).resolvesOnce({ Items: [] }).resolves({ Items: [{ pk: PK, sk: 'HOLD#h1', ...hold('acme', 'h1') }] });
    // Act
    const error = await rejection(store.shredTenant(marker('acme')));
    // Assess
    expect(error).toBeInstanceOf(LegalHoldError);
    expect(sent().at(-1)).toEqual(['DeleteCommand', { TableName, Key: { pk: PK, sk: 'SHRED' } }]);
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(0);
  });

  it('keeps an existing marker on a re-run and finishes the deletions', async () => {
    // Prepare
    withKeys();
    mock.on(PutCommand).rejects(failedCondition());
    // Act
    await store.shredTenant(marker('acme'));
    // Assess
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(2);
    expect(mock.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('never removes a marker it did not write, even when a hold appears', async () => {
    // Prepare
    mock.on(PutCommand).rejects(failedCondition());
    mock.on(QueryCommand).resolvesOnce({}).resolves({ Items: [{ pk: PK, sk: 'HOLD#h1', ...hold('acme', 'h1') }] });
    // Act
    const error = await rejection(store.shredTenant(marker('acme')));
    // Assess
    expect(error).toBeInstanceOf(LegalHoldError);
    expect(mock.commandCalls(DeleteCommand)).toHaveLength(0);
  });
});

describe('createKeyTable', () => {
  const base = mockClient(DynamoDBClient);
  const client = new DynamoDBClient({ region: 'local' });
  const keySchema = [
    { AttributeName: 'pk', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ];
  beforeEach(() => base.reset());

  it('creates an on-demand pk/sk table and polls until ACTIVE', async () => {
    // Prepare
    base.on(DescribeTableCommand).resolvesOnce({ Table: { KeySchema: keySchema, TableStatus: 'CREATING' } }).resolves({ Table: { KeySchema: keySchema, TableStatus: 'ACTIVE' } });
    // Act
    await createKeyTable(client, 'keys');
    // Assess
    expect(base.commandCalls(CreateTableCommand)[0]?.args[0].input).toEqual({
      TableName: 'keys',
      BillingMode: KEY_TABLE_SCHEMA.billingMode,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
      KeySchema: keySchema,
    });
    expect(base.commandCalls(DescribeTableCommand)).toHaveLength(2);
  });

  it('accepts an existing table but refuses one with another key schema', async () => {
    // Prepare
    base.on(CreateTableCommand).rejects(Object.assign(new Error('Table already exists'), { name: 'ResourceInUseException' }));
    base.on(DescribeTableCommand).resolves({ Table: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], TableStatus: 'ACTIVE' } });
    // Act
    const error = await rejection(createKeyTable(client, 'keys'));
    // Assess
    expect(error).toEqual(new Error('table keys exists with key schema id:HASH'));
  });
});
