import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLedgerTable, DynamoLedgerStore, LEDGER_TABLE_SCHEMA } from '../../lambdas/adapters/aws/dynamo-ledger-store.js';
import { BatchTooLargeError, LedgerUnavailableError, PositionTakenError } from '../../lambdas/ports/errors.js';
import type { IdempotencyRecord, LedgerBatch } from '../../lambdas/ports/ledger-store.js';
import { head, idem, ledgerBatch, rejection } from '../ports/ledger-store.contract.js';

const TableName = 'ledger';
const PK = 'TENANT#acme';
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
const mock = mockClient(doc);
const store = new DynamoLedgerStore({ client: doc, tableName: TableName });

/** Every command sent, in order, as [command name, input]. */
function sent(): [string, unknown][] {
  return mock.calls().map((call) => {
    const command = call.args[0] as unknown as { constructor: { name: string }; input: unknown };
    return [command.constructor.name, command.input];
  });
}

/** The stored item of `batch`, as the table holds it. */
function itemOf(batch: LedgerBatch, sk: string) {
  const { firstPosition: first, entries, range, lastLeafHash, lastTimestamp, generation, heads, idempotency } = batch;
  return { pk: PK, sk, first, count: entries.length, entries, range, lastLeafHash, lastTimestamp, generation, heads: JSON.stringify(heads), idem: JSON.stringify(idempotency) };
}

const batchQuery = (condition: string, values: object, extra: object) => [
  'QueryCommand',
  { TableName, KeyConditionExpression: condition, ExpressionAttributeValues: { ':pk': PK, ...values }, ConsistentRead: true, ...extra },
];
const newest = { ScanIndexForward: false, Limit: 1 };
const between = 'pk = :pk AND sk BETWEEN :from AND :to';
const failedCondition = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
/** The stored item of an idempotency record. */
const idempotencyItem = ({ tenant: _tenant, ...record }: IdempotencyRecord) => ({ pk: PK, sk: `I#${record.key}`, ...record });
const throttled = () => new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });

beforeEach(() => {
  mock.reset();
  mock.resolves({});
});

describe('DynamoLedgerStore.appendBatch', () => {
  it('puts B#<16-digit first position> with attribute_not_exists(pk), entries and range as binary lists', async () => {
    // Prepare
    const batch = ledgerBatch('acme', 42, 2);
    // Act
    await store.appendBatch(batch);
    // Assess
    const Item = itemOf(batch, 'B#0000000000000042');
    expect(sent()).toEqual([['PutCommand', { TableName, Item, ConditionExpression: 'attribute_not_exists(pk)' }]]);
    expect(mock.commandCalls(PutCommand)[0]?.args[0].input.Item?.entries[0]).toBeInstanceOf(Uint8Array);
  });

  it('turns a failed condition into PositionTakenError with the SDK error as cause', async () => {
    // Prepare
    const cause = failedCondition();
    mock.on(PutCommand).rejects(cause);
    // Act
    const error = await rejection(store.appendBatch(ledgerBatch('acme', 7)));
    // Assess
    expect(error).toBeInstanceOf(PositionTakenError);
    expect(error).toMatchObject({ code: 'POSITION_TAKEN', tenant: 'acme', position: 7, cause });
  });

  it('turns throttling and 5xx into LedgerUnavailableError with cause, and passes validation errors through', async () => {
    // Prepare
    const slow = throttled();
    const internal = new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } });
    const invalid = Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    mock.on(PutCommand).rejectsOnce(slow).rejectsOnce(internal).rejectsOnce(invalid);
    // Act
    const errors = [];
    for (let i = 0; i < 3; i += 1) errors.push(await rejection(store.appendBatch(ledgerBatch('acme', 0))));
    // Assess
    expect(errors[0]).toBeInstanceOf(LedgerUnavailableError);
    expect(errors[0]).toMatchObject({ code: 'LEDGER_UNAVAILABLE', cause: slow });
    expect(errors[1]).toMatchObject({ code: 'LEDGER_UNAVAILABLE', cause: internal });
    expect(errors[2]).toBe(invalid);
  });

  it('sends nothing for a batch over the limits', async () => {
    // Act
    const error = await rejection(store.appendBatch(ledgerBatch('acme', 0, 101, 1)));
    // Assess
    expect(error).toBeInstanceOf(BatchTooLargeError);
    expect(sent()).toEqual([]);
  });
});

describe('DynamoLedgerStore batch reads', () => {
  it('readTail queries B# newest first, limit 1, strongly consistent, and maps the item back', async () => {
    // Prepare
    const batch = ledgerBatch('acme', 5);
    mock.on(QueryCommand).resolves({ Items: [itemOf(batch, 'B#0000000000000005')] });
    // Act
    const tail = await store.readTail('acme');
    // Assess
    expect(sent()).toEqual([batchQuery('pk = :pk AND begins_with(sk, :prefix)', { ':prefix': 'B#' }, newest)]);
    expect(tail).toEqual(batch);
  });

  it('batchAt queries B# up to the padded position, newest first, and refuses a batch that ends before it', async () => {
    // Prepare
    mock.on(QueryCommand).resolves({ Items: [itemOf(ledgerBatch('acme', 5, 3), 'B#0000000000000005')] });
    // Act
    const inside = await store.batchAt('acme', 7);
    const past = await store.batchAt('acme', 8);
    // Assess
    expect(sent()[0]).toEqual(batchQuery(between, { ':from': 'B#', ':to': 'B#0000000000000007' }, newest));
    expect(inside?.firstPosition).toBe(5);
    expect(past).toBeUndefined();
  });

  it('readBatches yields the batch holding from, then queries ascending after it, following LastEvaluatedKey', async () => {
    // Prepare
    const [a, b, c] = [ledgerBatch('acme', 0, 4), ledgerBatch('acme', 4, 2), ledgerBatch('acme', 6, 1)];
    const page = { pk: PK, sk: 'B#0000000000000004' };
    mock
      .on(QueryCommand)
      .resolvesOnce({ Items: [itemOf(a, 'B#0000000000000000')] })
      .resolvesOnce({ Items: [itemOf(b, page.sk)], LastEvaluatedKey: page })
      .resolvesOnce({ Items: [itemOf(c, 'B#0000000000000006')] });
    // Act
    const read = [];
    for await (const batch of store.readBatches('acme', 2)) read.push(batch);
    // Assess
    const after = { ':from': 'B#0000000000000001', ':to': 'B#9999999999999999' };
    expect(read).toEqual([a, b, c]);
    expect(sent()).toEqual([
      batchQuery(between, { ':from': 'B#', ':to': 'B#0000000000000002' }, newest),
      batchQuery(between, after, {}),
      batchQuery(between, after, { ExclusiveStartKey: page }),
    ]);
  });
});

describe('DynamoLedgerStore index items', () => {
  it('putHead puts H#<recordId> unless an equal or newer revision is stored, and ignores a failed condition', async () => {
    // Prepare
    mock.on(PutCommand).rejects(failedCondition());
    // Act
    await store.putHead(head('acme', 'rec#1', 3, 30));
    // Assess
    expect(sent()).toEqual([
      ['PutCommand', {
        TableName,
        Item: { pk: PK, sk: 'H#rec#1', recordId: 'rec#1', revision: 3, position: 30, operation: 'UPDATE' },
        ConditionExpression: 'attribute_not_exists(pk) OR revision < :rev',
        ExpressionAttributeValues: { ':rev': 3 },
      }],
    ]);
  });

  it('putIdempotency puts I#<key> with attribute_not_exists(pk) and ignores a failed condition', async () => {
    // Prepare
    const record = idem('acme', 'k-1', 9);
    mock.on(PutCommand).rejects(failedCondition());
    // Act
    await store.putIdempotency(record);
    // Assess
    const { key, requestHash, response, firstPosition, count } = record;
    const Item = { pk: PK, sk: 'I#k-1', key, requestHash, response, firstPosition, count };
    expect(sent()).toEqual([['PutCommand', { TableName, Item, ConditionExpression: 'attribute_not_exists(pk)' }]]);
  });

  it('turns a throttled index put into LedgerUnavailableError', async () => {
    // Prepare
    mock.on(PutCommand).rejects(throttled());
    // Act / Assess
    await expect(store.putHead(head('acme', 'r', 1))).rejects.toBeInstanceOf(LedgerUnavailableError);
    await expect(store.putIdempotency(idem('acme', 'k'))).rejects.toBeInstanceOf(LedgerUnavailableError);
  });

  it('getHead reads H# and C# in one consistent BatchGetItem and takes the higher revision; getIdempotency gets I#', async () => {
    // Prepare
    const stored = idem('acme', 'k-1', 9);
    const headItem = (sk: string, revision: number, position: number) => ({ pk: PK, sk, recordId: 'rec-1', revision, position, operation: revision > 1 ? 'UPDATE' : 'CREATE' });
    mock.on(BatchGetCommand).resolvesOnce({ Responses: { [TableName]: [headItem('C#rec-1', 1, 3), headItem('H#rec-1', 2, 8)] } }).resolves({ Responses: { [TableName]: [] } });
    mock.on(GetCommand, { Key: { pk: PK, sk: 'I#k-1' } }).resolves({ Item: { pk: PK, sk: 'I#k-1', ...stored } });
    // Act
    const got = [await store.getHead('acme', 'rec-1'), await store.getIdempotency('acme', 'k-1'), await store.getHead('acme', 'none')];
    // Assess
    expect(got).toEqual([head('acme', 'rec-1', 2, 8), stored, undefined]);
    const keys = (id: string) => [{ pk: PK, sk: `H#${id}` }, { pk: PK, sk: `C#${id}` }];
    expect(sent()).toEqual([
      ['BatchGetCommand', { RequestItems: { [TableName]: { Keys: keys('rec-1'), ConsistentRead: true } } }],
      ['GetCommand', { TableName, Key: { pk: PK, sk: 'I#k-1' }, ConsistentRead: true }],
      ['BatchGetCommand', { RequestItems: { [TableName]: { Keys: keys('none'), ConsistentRead: true } } }],
    ]);
  });
});

describe('DynamoLedgerStore batched index items', () => {
  it('putIndex writes first revisions (C#) and idempotency records in one BatchWriteItem, later revisions as conditional H# puts', async () => {
    // Prepare: r1 created, r2 created then updated twice in the same batch
    const items = {
      tenant: 'acme',
      heads: [head('acme', 'r1', 1, 0), head('acme', 'r2', 1, 1), head('acme', 'r2', 2, 2), head('acme', 'r2', 3, 3)],
      idempotency: [idem('acme', 'k1', 0), idem('acme', 'k2', 1)],
    };
    // Act
    await store.putIndex(items);
    // Assess
    expect(mock.commandCalls(BatchWriteCommand).map((c) => c.args[0].input)).toEqual([{
      RequestItems: {
        [TableName]: [
          { PutRequest: { Item: { pk: PK, sk: 'C#r1', recordId: 'r1', revision: 1, position: 0, operation: 'CREATE' } } },
          { PutRequest: { Item: idempotencyItem(idem('acme', 'k1', 0)) } },
          { PutRequest: { Item: idempotencyItem(idem('acme', 'k2', 1)) } },
        ],
      },
    }]);
    expect(mock.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([{
      TableName,
      Item: { pk: PK, sk: 'H#r2', recordId: 'r2', revision: 3, position: 3, operation: 'UPDATE' },
      ConditionExpression: 'attribute_not_exists(pk) OR revision < :rev',
      ExpressionAttributeValues: { ':rev': 3 },
    }]);
  });

  it('putIndex sends 25 items per BatchWriteItem and re-sends what DynamoDB leaves unprocessed', async () => {
    // Prepare: 30 idempotency records; the first request leaves two unprocessed
    const idempotency = Array.from({ length: 30 }, (_, i) => idem('acme', `k${i}`, i));
    const left = idempotency.slice(0, 2).map((r) => ({ PutRequest: { Item: { pk: PK, sk: `I#${r.key}` } } }));
    mock.on(BatchWriteCommand).resolvesOnce({ UnprocessedItems: { [TableName]: left } }).resolves({});
    // Act
    await store.putIndex({ tenant: 'acme', heads: [], idempotency });
    // Assess
    const sizes = mock.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems![TableName]!.length);
    expect(sizes.sort((a, b) => a - b)).toEqual([2, 5, 25]);
    expect(mock.commandCalls(BatchWriteCommand).at(-1)?.args[0].input.RequestItems![TableName]).toEqual(left);
  });

  it('getIndex asks for H#, C# and I# items in one consistent BatchGetItem and maps them back', async () => {
    // Prepare
    const stored = idem('acme', 'k1', 4);
    mock.on(BatchGetCommand).resolves({
      Responses: { [TableName]: [{ pk: PK, sk: 'C#r1', recordId: 'r1', revision: 1, position: 4, operation: 'CREATE' }, { pk: PK, sk: 'I#k1', ...stored }] },
    });
    // Act
    const found = await store.getIndex('acme', { recordIds: ['r1'], keys: ['k1', 'k2'] });
    // Assess
    expect(sent()).toEqual([['BatchGetCommand', {
      RequestItems: { [TableName]: { Keys: ['H#r1', 'C#r1', 'I#k1', 'I#k2'].map((sk) => ({ pk: PK, sk })), ConsistentRead: true } },
    }]]);
    expect(found).toEqual({ heads: new Map([['r1', head('acme', 'r1', 1, 4)]]), idempotency: new Map([['k1', stored]]) });
  });
});

describe('createLedgerTable', () => {
  const base = mockClient(DynamoDBClient);
  beforeEach(() => base.reset());

  it('creates an on-demand pk/sk table and polls until ACTIVE', async () => {
    // Prepare
    const KeySchema = [{ AttributeName: 'pk', KeyType: 'HASH' as const }, { AttributeName: 'sk', KeyType: 'RANGE' as const }];
    base.on(DescribeTableCommand).resolvesOnce({ Table: { KeySchema, TableStatus: 'CREATING' } }).resolves({ Table: { KeySchema, TableStatus: 'ACTIVE' } });
    // Act
    await createLedgerTable(new DynamoDBClient({ region: 'local' }), 'ledger');
    // Assess
    expect(base.commandCalls(CreateTableCommand)[0]?.args[0].input).toEqual({
      TableName: 'ledger',
      BillingMode: LEDGER_TABLE_SCHEMA.billingMode,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
      KeySchema,
    });
    expect(base.commandCalls(DescribeTableCommand)).toHaveLength(2);
  });
});
