import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { errorName } from './aws-errors.js';

/** A table keyed by string `pk` (hash) and `sk` (range), as the CDK `TableProps` spell it. */
export interface PkSkTableSchema {
  readonly partitionKey: { readonly name: string; readonly type: 'S' };
  readonly sortKey: { readonly name: string; readonly type: 'S' };
  readonly billingMode: 'PAY_PER_REQUEST';
}

/**
 * Creates the table (on-demand) unless it exists, then waits until it is
 * ACTIVE; an existing table with another key schema is an error. Takes the
 * plain `DynamoDBClient`: table management is not a document-client command.
 *
 * @example
 * ```ts
 * await ensureTable(new DynamoDBClient({ endpoint }), 'govledger-ledger', LEDGER_TABLE_SCHEMA);
 * ```
 */
export async function ensureTable(client: DynamoDBClient, tableName: string, schema: PkSkTableSchema, timeoutMs = 120_000): Promise<void> {
  const { partitionKey: pk, sortKey: sk, billingMode } = schema;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: billingMode,
        AttributeDefinitions: [{ AttributeName: pk.name, AttributeType: pk.type }, { AttributeName: sk.name, AttributeType: sk.type }],
        KeySchema: [{ AttributeName: pk.name, KeyType: 'HASH' }, { AttributeName: sk.name, KeyType: 'RANGE' }],
      }),
    );
  } catch (error) {
    if (errorName(error) !== 'ResourceInUseException') throw error;
  }
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const keys = (Table?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
    if (keys !== `${pk.name}:HASH,${sk.name}:RANGE`) throw new Error(`table ${tableName} exists with key schema ${keys}`);
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} not ACTIVE after ${timeoutMs} ms`);
    await sleep(Math.min(25 * 2 ** attempt, 2000));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
