import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { batchGetAll, batchWriteAll, type BatchIoOptions } from '../../lambdas/adapters/aws/dynamo-batch-io.js';
import { LedgerUnavailableError } from '../../lambdas/ports/errors.js';
import { rejection } from '../ports/ledger-store.contract.js';

const TableName = 'ledger';
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
const mock = mockClient(doc);
const io: BatchIoOptions = { client: doc, tableName: TableName, unavailable: LedgerUnavailableError, attempts: 3, backoffMs: 1 };
const key = (i: number) => ({ pk: 'TENANT#acme', sk: `I#k${i}` });

beforeEach(() => {
  mock.reset();
  mock.resolves({});
});

describe('batchGetAll', () => {
  it('reads 250 distinct keys in consistent requests of at most 100, each key once, and returns every item found', async () => {
    // Prepare: the first request leaves three keys unprocessed; they come back on the re-send
    const keys = Array.from({ length: 250 }, (_, i) => key(i));
    let first = true;
    mock.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: object[] }> }) => {
      const asked = input.RequestItems[TableName]!.Keys;
      const left = first ? asked.slice(0, 3) : [];
      first = false;
      return { Responses: { [TableName]: asked.slice(left.length).map((k) => ({ ...k, v: 1 })) }, UnprocessedKeys: left.length ? { [TableName]: { Keys: left } } : {} };
    });
    // Act
    const items = await batchGetAll(io, [...keys, key(7), key(7)]);
    // Assess
    const requests = mock.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems![TableName]!);
    expect(requests.every((r) => r.ConsistentRead === true && r.Keys!.length <= 100)).toBe(true);
    expect(requests.map((r) => r.Keys!.length).sort((a, b) => a - b)).toEqual([3, 50, 100, 100]);
    expect(items.map((i) => i.sk).sort()).toEqual(keys.map((k) => k.sk).sort());
  });

  it('gives up with the unavailable error when keys stay unprocessed after its attempts', async () => {
    // Prepare
    mock.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: object[] }> }) => ({ UnprocessedKeys: { [TableName]: { Keys: input.RequestItems[TableName]!.Keys } } }));
    // Act
    const error = await rejection(batchGetAll(io, [key(1)]));
    // Assess
    expect(error).toBeInstanceOf(LedgerUnavailableError);
    expect(mock.commandCalls(BatchGetCommand)).toHaveLength(3);
  });
});

describe('batchWriteAll', () => {
  it('puts 60 items in requests of at most 25, unconditionally', async () => {
    // Prepare
    const items = Array.from({ length: 60 }, (_, i) => ({ ...key(i), v: i }));
    // Act
    await batchWriteAll(io, items);
    // Assess
    const requests = mock.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems![TableName]!);
    expect(requests.map((r) => r.length).sort((a, b) => a - b)).toEqual([10, 25, 25]);
    expect(requests.flat()).toEqual(items.map((Item) => ({ PutRequest: { Item } })));
  });

  it('turns a throttled request into the unavailable error with its cause, and sends nothing for no items', async () => {
    // Prepare
    const cause = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    mock.on(BatchWriteCommand).rejects(cause);
    // Act
    const error = await rejection(batchWriteAll(io, [key(1)]));
    await batchWriteAll(io, []);
    // Assess
    expect(error).toBeInstanceOf(LedgerUnavailableError);
    expect(error).toMatchObject({ code: 'LEDGER_UNAVAILABLE', cause });
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(1);
  });
});
