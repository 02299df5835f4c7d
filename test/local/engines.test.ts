import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endpointsOf, startEngines, writeEndpoints, type Engines } from '../../lambdas/local/engines.js';

let dataDir: string;
const running: Engines[] = [];
beforeEach(() => { dataDir = mkdtempSync(join(tmpdir(), 'govledger-engines-')); });
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(options?: Parameters<typeof startEngines>[1]): Promise<Engines> {
  const engines = await startEngines(dataDir, { env: {}, ...options });
  running.push(engines);
  return engines;
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const item = { pk: { S: 'TENANT#acme' }, sk: { S: 'B#0000000000000000' }, note: { S: 'first batch' } };

describe('startEngines', () => {
  it('serves DynamoDB and S3 on loopback with the ledger table, the key table and the bucket', async () => {
    // Act
    const engines = await start();
    // Assess
    expect(engines.dynamodb.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(engines.s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(engines.tables).toEqual({ ledger: 'govledger-ledger', keys: 'govledger-keys' });
    const { TableNames } = await engines.dynamodb.client.send(new ListTablesCommand({}));
    expect(TableNames).toEqual(['govledger-keys', 'govledger-ledger']);
    const { Table } = await engines.dynamodb.client.send(new DescribeTableCommand({ TableName: 'govledger-ledger' }));
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
    const { Buckets } = await engines.s3.client.send(new ListBucketsCommand({}));
    expect(Buckets?.map((b) => b.Name)).toEqual(['govledger-log']);
  });

  it('round-trips an item and an object through the returned clients, stored under the data directory', async () => {
    // Prepare
    const engines = await start();
    // Act
    await engines.dynamodb.client.send(new PutItemCommand({ TableName: engines.tables.ledger, Item: item }));
    await engines.s3.client.send(new PutObjectCommand({ Bucket: engines.bucket, Key: 'acme/tile/0/000', Body: new Uint8Array([0, 1, 255]) }));
    const got = await engines.dynamodb.client.send(new GetItemCommand({ TableName: engines.tables.ledger, Key: { pk: item.pk, sk: item.sk } }));
    const obj = await engines.s3.client.send(new GetObjectCommand({ Bucket: engines.bucket, Key: 'acme/tile/0/000' }));
    // Assess
    expect(got.Item).toEqual(item);
    expect(await obj.Body?.transformToByteArray()).toEqual(new Uint8Array([0, 1, 255]));
    expect(readdirSync(join(dataDir, 'dynamodb'))).toContain('CURRENT');
    expect(existsSync(join(dataDir, 's3', 'govledger-log'))).toBe(true);
  });

  it('finds the tables, the item and the object again after a restart on the same data directory', async () => {
    // Prepare
    const first = await start();
    await first.dynamodb.client.send(new PutItemCommand({ TableName: first.tables.ledger, Item: item }));
    await first.s3.client.send(new PutObjectCommand({ Bucket: first.bucket, Key: 'acme/checkpoint', Body: 'origin\n1\nroot\n' }));
    await first.stop();
    // Act
    const second = await start();
    // Assess
    const got = await second.dynamodb.client.send(new GetItemCommand({ TableName: second.tables.ledger, Key: { pk: item.pk, sk: item.sk } }));
    const obj = await second.s3.client.send(new GetObjectCommand({ Bucket: second.bucket, Key: 'acme/checkpoint' }));
    expect(got.Item).toEqual(item);
    expect(await obj.Body?.transformToString()).toBe('origin\n1\nroot\n');
  });

  it('uses the configured names and the fixed ports from the environment', async () => {
    // Prepare
    const [dynamoPort, s3Port] = [await freePort(), await freePort()];
    const env = { GOVLEDGER_DYNAMODB_PORT: String(dynamoPort), GOVLEDGER_S3_PORT: String(s3Port) };
    // Act
    const engines = await start({ env, ledgerTable: 'ledger-2', keyTable: 'keys-2', bucket: 'log-2' });
    // Assess
    expect([engines.dynamodb.endpoint, engines.s3.endpoint]).toEqual([`http://127.0.0.1:${dynamoPort}`, `http://127.0.0.1:${s3Port}`]);
    expect([engines.tables, engines.bucket]).toEqual([{ ledger: 'ledger-2', keys: 'keys-2' }, 'log-2']);
    const { TableNames } = await engines.dynamodb.client.send(new ListTablesCommand({}));
    expect(TableNames).toEqual(['keys-2', 'ledger-2']);
  });

  it('rejects a port variable that is not a port number before starting anything', async () => {
    // Act
    const attempt = startEngines(dataDir, { env: { GOVLEDGER_S3_PORT: '80a' } });
    // Assess
    await expect(attempt).rejects.toThrow('GOVLEDGER_S3_PORT must be a port number from 0 to 65535, got "80a"');
    expect(existsSync(join(dataDir, 'dynamodb'))).toBe(false);
  });

  it.each(['GOVLEDGER_DYNAMODB_PORT', 'GOVLEDGER_S3_PORT'])('fails on a taken %s and releases the data directory for the next start', async (variable) => {
    // Prepare
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    // Act
    const attempt = startEngines(dataDir, { env: { [variable]: String(port) } });
    await expect(attempt).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await new Promise((resolve) => blocker.close(resolve));
    const engines = await start();
    // Assess: LevelDB was released by the failed start
    const { TableNames } = await engines.dynamodb.client.send(new ListTablesCommand({}));
    expect(TableNames).toEqual(['govledger-keys', 'govledger-ledger']);
  }, 15_000);

  it('stops both servers, twice without error', async () => {
    // Prepare
    const engines = await start();
    const probe = await fetch(engines.s3.endpoint).then(() => 'up', () => 'down');
    // Act
    await engines.stop();
    await engines.stop();
    // Assess
    expect(probe).toBe('up');
    await expect(fetch(engines.dynamodb.endpoint)).rejects.toThrow();
    await expect(fetch(engines.s3.endpoint)).rejects.toThrow();
  });
});

describe('writeEndpoints', () => {
  it('writes endpoints.json with the API, engine URLs and resource names, replacing an older file', async () => {
    // Prepare
    const engines = await start();
    await writeEndpoints(dataDir, { ...endpointsOf(engines, 'http://127.0.0.1:1'), bucket: 'old' });
    // Act
    await writeEndpoints(dataDir, endpointsOf(engines, 'http://127.0.0.1:8787'));
    // Assess
    expect(JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8'))).toEqual({
      api: 'http://127.0.0.1:8787',
      dynamodb: engines.dynamodb.endpoint,
      s3: engines.s3.endpoint,
      postgres: null,
      ledgerTable: 'govledger-ledger',
      keyTable: 'govledger-keys',
      bucket: 'govledger-log',
    });
    expect(readdirSync(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
