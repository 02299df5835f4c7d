/**
 * The embedded engines of the one-machine default (DESIGN §6): dynalite, a
 * DynamoDB-compatible server persisted in LevelDB at `<dataDir>/dynamodb`, and
 * s3rver, an S3-compatible server storing objects as files under
 * `<dataDir>/s3`. Both speak the real wire protocols, so the AWS adapters run
 * unchanged against the SDK clients returned here. With `postgres: true`, also
 * a real PostgreSQL (the projection) in `<dataDir>/postgres`, migrated, its
 * roles able to log in (superuser password in `<dataDir>/postgres-password`).
 */
import type { Server } from 'node:http';
import { mkdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { createKeyTable } from '../adapters/aws/dynamo-key-store.js';
import { createLedgerTable } from '../adapters/aws/dynamo-ledger-store.js';
import { writeFileAtomic } from '../adapters/local/atomic-file.js';
import { provisionProjection, startEmbeddedPostgres, SUPERUSER, type ProjectionLogins } from '../adapters/postgres/embedded-server.js';
import type { PostgresConnectionConfig } from '../adapters/postgres/postgres-database.js';

/**
 * s3rver's Koa `listen` (missing from types/s3rver.d.ts): with a callback it
 * returns the http.Server at once, so a listen error can be caught. `run()`
 * cannot be used: on EADDRINUSE its promise never settles and the error goes
 * unhandled.
 */
type S3rverListen = (port: number, host: string, onListening: () => void) => Server;

export interface EngineOptions {
  /** Interface both engines listen on; default `127.0.0.1`. */
  readonly host?: string;
  /** Default `govledger-ledger`. */
  readonly ledgerTable?: string;
  /** Default `govledger-keys`. */
  readonly keyTable?: string;
  /** Default `govledger-log`. */
  readonly bucket?: string;
  /** Read for `GOVLEDGER_DYNAMODB_PORT`, `GOVLEDGER_S3_PORT` and `GOVLEDGER_POSTGRES_PORT` (unset or empty: an ephemeral port); default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Also start embedded PostgreSQL with the migrated projection database `govledger`; default false. */
  readonly postgres?: boolean;
}

/** The embedded PostgreSQL: its URL (superuser, database `govledger`) and a login per projection role. */
export interface PostgresEngine {
  readonly endpoint: string;
  readonly logins: ProjectionLogins;
}

/** An engine's URL and an SDK client pointed at it (region `local`, dummy static credentials). */
export interface EngineEndpoint<C> {
  readonly endpoint: string;
  readonly client: C;
}

export interface Engines {
  readonly dynamodb: EngineEndpoint<DynamoDBClient>;
  readonly s3: EngineEndpoint<S3Client>;
  readonly tables: { readonly ledger: string; readonly keys: string };
  readonly bucket: string;
  /** With `postgres: true`. */
  readonly postgres?: PostgresEngine;
  /** Destroys the clients and closes the servers (LevelDB closed, connections dropped, PostgreSQL shut down); idempotent. */
  stop(): Promise<void>;
}

/** The content of `<dataDir>/endpoints.json`. */
export interface EndpointsInfo {
  readonly api: string;
  readonly dynamodb: string;
  readonly s3: string;
  readonly postgres: string | null;
  readonly ledgerTable: string;
  readonly keyTable: string;
  readonly bucket: string;
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** An SDK client for the embedded DynamoDB engine at `endpoint` (this process's or another's). */
export function dynamoClientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'local', credentials });
}

/** An SDK client for the embedded S3 engine at `endpoint`, with the checksum settings s3rver handles. */
export function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({
    endpoint, region: 'local', credentials: s3rverCredentials, forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
/** s3rver checks SigV4 signatures against its one built-in account. */
const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * Starts both engines, then creates the ledger table, the key table and the
 * bucket unless they exist. The data directory must be held by the caller
 * (see `openDataDir`): LevelDB refuses a second process anyway, s3rver would not.
 * If any step fails, whatever started is stopped before the error is rethrown.
 *
 * @example
 * const engines = await startEngines(dataDir);
 * const store = new DynamoLedgerStore(engines.dynamodb.client, engines.tables.ledger);
 * process.once('SIGINT', () => void engines.stop());
 */
export async function startEngines(dataDir: string, options: EngineOptions = {}): Promise<Engines> {
  const { host = '127.0.0.1', ledgerTable = 'govledger-ledger', keyTable = 'govledger-keys', bucket = 'govledger-log', env = process.env } = options;
  const dynamoPort = portFromEnv(env, 'GOVLEDGER_DYNAMODB_PORT');
  const s3Port = portFromEnv(env, 'GOVLEDGER_S3_PORT');
  const postgresPort = portFromEnv(env, 'GOVLEDGER_POSTGRES_PORT');
  const stops: Array<() => Promise<void>> = [];
  let stopped: Promise<void> | undefined;
  let postgres: Promise<PostgresEngine> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= Promise.allSettled(stops.reverse().map((s) => s())).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
    return stopped;
  };
  try {
    const dynamoDir = join(dataDir, 'dynamodb');
    const s3Dir = join(dataDir, 's3');
    await mkdir(dynamoDir, { recursive: true, mode: 0o700 });
    await mkdir(s3Dir, { recursive: true, mode: 0o700 });
    // PostgreSQL starts alongside the others (it takes longest); its stop is registered once it runs.
    postgres = options.postgres ? startPostgres(dataDir, postgresPort, stops) : undefined;
    postgres?.catch(() => undefined); // awaited below; a failure before that must not go unhandled

    const dynamoServer = dynalite({ path: dynamoDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await listen(dynamoServer, dynamoPort, host).catch(async (error: unknown) => {
      // dynalite closes its LevelDB only from server.close(), which needs a listening server
      await listen(dynamoServer, 0, '127.0.0.1').then(() => closeServer(dynamoServer, () => undefined), () => undefined);
      throw error;
    });
    const dynamoEndpoint = urlOf(host, (dynamoServer.address() as AddressInfo).port);
    const dynamoClient = dynamoClientFor(dynamoEndpoint);
    stops.push(() => closeServer(dynamoServer, () => dynamoClient.destroy()));

    const s3rver = new S3rver({ directory: s3Dir, silent: true, vhostBuckets: false, resetOnClose: false });
    const s3Server = await new Promise<Server>((resolve, reject) => {
      const server = (s3rver as unknown as { listen: S3rverListen }).listen(s3Port, host, () => {
        server.off('error', reject);
        resolve(server);
      });
      server.once('error', reject);
    });
    const s3Endpoint = urlOf(host, (s3Server.address() as AddressInfo).port);
    const s3Client = s3ClientFor(s3Endpoint);
    stops.push(() => closeServer(s3Server, () => s3Client.destroy()));

    await createLedgerTable(dynamoClient, ledgerTable);
    await createKeyTable(dynamoClient, keyTable);
    await ensureBucket(s3Client, bucket);
    const pg = await postgres;
    return {
      dynamodb: { endpoint: dynamoEndpoint, client: dynamoClient },
      s3: { endpoint: s3Endpoint, client: s3Client },
      tables: { ledger: ledgerTable, keys: keyTable },
      bucket,
      ...(pg ? { postgres: pg } : {}),
      stop,
    };
  } catch (error) {
    await postgres?.catch(() => undefined);
    await stop().catch(() => undefined); // the start error is the one worth reporting
    throw error;
  }
}

/**
 * The endpoints file's content for running engines and the API's URL
 * (`postgres` stays null until the embedded database lands).
 *
 * @example
 * await writeEndpoints(dataDir, endpointsOf(engines, api.url));
 */
export function endpointsOf(engines: Engines, api: string): EndpointsInfo {
  const { dynamodb, s3, tables, bucket } = engines;
  return { api, dynamodb: dynamodb.endpoint, s3: s3.endpoint, postgres: engines.postgres?.endpoint ?? null, ledgerTable: tables.ledger, keyTable: tables.keys, bucket };
}

/** Starts PostgreSQL in `<dataDir>/postgres` and provisions the `govledger` database; registers its stop in `stops`. */
async function startPostgres(dataDir: string, port: number, stops: Array<() => Promise<void>>): Promise<PostgresEngine> {
  const server = await startEmbeddedPostgres({ dir: join(dataDir, 'postgres'), passwordFile: join(dataDir, POSTGRES_PASSWORD_FILE), port });
  stops.push(() => server.stop());
  const logins = await provisionProjection(server, DATABASE);
  return { endpoint: `${server.url}/${DATABASE}`, logins };
}

const DATABASE = 'govledger';
/** The superuser's password file, under the data directory. */
const POSTGRES_PASSWORD_FILE = 'postgres-password';

/**
 * The superuser's login on the embedded PostgreSQL of `dataDir`, wherever it
 * runs (this process or a server beside it): `login`, a projection role's,
 * says where it listens and which database; the password is in the data directory.
 *
 * @example
 * const admin = await postgresSuperuser(dataDir, clients.postgres.reader);
 */
export async function postgresSuperuser(dataDir: string, login: PostgresConnectionConfig): Promise<PostgresConnectionConfig> {
  const password = (await readFile(join(dataDir, POSTGRES_PASSWORD_FILE), 'utf8')).trim();
  return { host: login.host, port: login.port, database: login.database, user: SUPERUSER, password };
}

/**
 * Writes `<dataDir>/endpoints.json` atomically (temp file, fsync, rename), so
 * a reader sees the old file or the new one, never a torn one.
 *
 * @example
 * await writeEndpoints(dataDir, { api, dynamodb, s3, postgres: null, ledgerTable, keyTable, bucket });
 */
export async function writeEndpoints(dataDir: string, info: EndpointsInfo): Promise<void> {
  const { api, dynamodb, s3, postgres, ledgerTable, keyTable, bucket } = info;
  await writeFileAtomic(join(dataDir, 'endpoints.json'), `${JSON.stringify({ api, dynamodb, s3, postgres, ledgerTable, keyTable, bucket }, null, 2)}\n`);
}

/** 0 (ephemeral) unless the variable holds a port number. */
function portFromEnv(env: NodeJS.ProcessEnv, name: string): number {
  const raw = env[name]?.trim();
  if (!raw) return 0;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65_535) throw new RangeError(`${name} must be a port number from 0 to 65535, got "${raw}"`);
  return port;
}

/** A URL clients can connect to: a wildcard bind address is reached through loopback. */
function urlOf(host: string, port: number): string {
  const target = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${port}`;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Destroys the client, then closes the server: `close` waits for open
 * connections, so idle keep-alive sockets the client left are dropped first.
 */
async function closeServer(server: Server, destroyClient: () => void): Promise<void> {
  destroyClient();
  if (!server.listening) return;
  const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  server.closeAllConnections();
  await closed;
}

/** HeadBucket first: s3rver answers CreateBucket on an existing bucket with an error. */
async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) throw error;
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}
