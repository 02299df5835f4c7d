/**
 * The one place that wires the local services (STYLE habit 7): the ledger,
 * key and object stores on the embedded engines, the local key files, the
 * projection and the event archive. Both the server (`npm start`) and the
 * operator commands (`govledger verify`, `govledger drill`) use it, so they
 * can never disagree about how the system is put together. The commands
 * attach to a running server's engines (through `endpoints.json`) or, when
 * none runs, start the engines themselves.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoKeyStore } from '../adapters/aws/dynamo-key-store.js';
import { DynamoLedgerStore } from '../adapters/aws/dynamo-ledger-store.js';
import { S3ObjectStore } from '../adapters/aws/s3-object-store.js';
import { FileMasterKey } from '../adapters/local/file-master-key.js';
import { FileReportSink } from '../adapters/local/file-report-sink.js';
import { FileSigningKey } from '../adapters/local/file-signing-key.js';
import { LocalEventBus } from '../adapters/local/local-event-bus.js';
import { projectionLogins, type ProjectionLogins } from '../adapters/postgres/embedded-server.js';
import { openPostgres, type ProjectionDb } from '../adapters/postgres/postgres-database.js';
import { PostgresProjectionReader, PostgresProjectionWriter } from '../adapters/postgres/postgres-projection-store.js';
import { Ed25519NoteVerifier } from '../core/signed-note.js';
import type { Logger } from '../handlers/http/logger.js';
import type { ChangeCopy } from '../ports/change-stream.js';
import { EventArchive } from '../services/event-archive.js';
import { KeyService } from '../services/key-service.js';
import { LedgerService } from '../services/ledger-service.js';
import { Projector } from '../services/projector.js';
import { openDataDir, resolveDataDir } from './data-dir.js';
import { dynamoClientFor, postgresSuperuser, s3ClientFor, startEngines, type EndpointsInfo } from './engines.js';

/** SDK clients and logins for the engines, wherever they run. */
export interface EngineClients {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly tables: { readonly ledger: string; readonly keys: string };
  readonly bucket: string;
  readonly postgres: ProjectionLogins;
}

export interface LocalServices {
  readonly logPrefix: string;
  readonly ledgerStore: DynamoLedgerStore;
  readonly keyStore: DynamoKeyStore;
  readonly keys: KeyService;
  readonly objects: S3ObjectStore;
  readonly signing: FileSigningKey;
  /** The checkpoint verifier for a log's origin, from the local signing key. */
  readonly verifierFor: (origin: string) => Ed25519NoteVerifier;
  readonly ledger: LedgerService;
  readonly databases: { readonly projector: ProjectionDb; readonly reader: ProjectionDb; readonly purger: ProjectionDb };
  readonly projection: PostgresProjectionReader;
  readonly purger: PostgresProjectionWriter;
  readonly bus: LocalEventBus;
  /** The downstream copies the change stream feeds and verification compares: projection, event archive. */
  readonly copies: readonly ChangeCopy[];
  readonly reports: FileReportSink;
  /** Ends the database pools (the engines belong to the caller). */
  close(): Promise<void>;
}

/**
 * Wires the services over `clients`.
 *
 * @example
 * const services = await wireLocalServices(dataDir, clients, process.env, logger);
 */
export async function wireLocalServices(dataDir: string, clients: EngineClients, env: NodeJS.ProcessEnv, logger: Logger, options: { groupCommit?: boolean } = {}): Promise<LocalServices> {
  const [master, signing] = await Promise.all([FileMasterKey.open(dataDir, { create: true }), FileSigningKey.open(dataDir, { create: true })]);
  const documents = DynamoDBDocumentClient.from(clients.dynamodb);
  const ledgerStore = new DynamoLedgerStore({ client: documents, tableName: clients.tables.ledger });
  const keyStore = new DynamoKeyStore({ client: documents, tableName: clients.tables.keys });
  const keys = new KeyService(keyStore, master);
  const objects = new S3ObjectStore({ client: clients.s3, bucket: clients.bucket, conditionalPuts: 'read-first' });
  const connect = (role: keyof ProjectionLogins) => openPostgres(clients.postgres[role], (error) => logger.warn('projection database connection lost', { role, error: String(error) }));
  const databases = { projector: connect('projector'), reader: connect('reader'), purger: connect('purger') };
  const bus = new LocalEventBus({ onListenerError: (error, event) => logger.error('event listener failed', { tenant: event.tenant, position: event.position, error: String(error) }) });
  return {
    logPrefix: env.GOVLEDGER_LOG_PREFIX ?? 'govledger.local',
    ledgerStore,
    keyStore,
    keys,
    objects,
    signing,
    verifierFor: (origin) => new Ed25519NoteVerifier(signing.verifierKeyFor(origin)),
    ledger: new LedgerService(ledgerStore, keys, { groupCommit: options.groupCommit ?? true }),
    databases,
    projection: new PostgresProjectionReader(databases.reader),
    purger: new PostgresProjectionWriter(databases.purger),
    bus,
    copies: [new Projector(new PostgresProjectionWriter(databases.projector), keys), new EventArchive(objects, bus)],
    reports: new FileReportSink(join(dataDir, 'reports')),
    close: async () => void (await Promise.all(Object.values(databases).map((db) => db.destroy()))),
  };
}

/** Engines for an operator command: the running server's, or started here. */
export interface CommandEngines {
  readonly dataDir: string;
  readonly clients: EngineClients;
  /** True when a running server's engines are used (its data directory stays locked by it). */
  readonly attached: boolean;
  close(): Promise<void>;
}

/**
 * Attaches to the engines of a server running on the data directory (its
 * `endpoints.json` answers `/healthz`), or locks the data directory and
 * starts the engines here when no server runs.
 *
 * @example
 * const engines = await attachOrStartEngines(process.env);
 * try { … } finally { await engines.close(); }
 */
export async function attachOrStartEngines(env: NodeJS.ProcessEnv): Promise<CommandEngines> {
  const dataDir = resolveDataDir(env);
  const running = await runningServer(dataDir);
  if (running !== undefined) {
    const clients = await clientsOfEndpoints(dataDir, running);
    return { dataDir, clients, attached: true, close: async () => void (clients.dynamodb.destroy(), clients.s3.destroy()) };
  }
  const lock = await openDataDir(env);
  try {
    // Ephemeral ports: a server started later must not find its configured ports taken by this command.
    const engines = await startEngines(lock.dataDir, { env: {}, postgres: true });
    const clients = { dynamodb: engines.dynamodb.client, s3: engines.s3.client, tables: engines.tables, bucket: engines.bucket, postgres: engines.postgres!.logins };
    return { dataDir: lock.dataDir, clients, attached: false, close: async () => { await engines.stop(); await lock.release(); } };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/**
 * Clients for engines another process runs on `dataDir` (a server's, as its
 * `endpoints.json` names them, with PostgreSQL): the SDK clients, and the
 * projection's logins derived from the superuser's password in the data directory.
 *
 * @example
 * const clients = await clientsOfEndpoints(dataDir, JSON.parse(await readFile(join(dataDir, 'endpoints.json'), 'utf8')));
 */
export async function clientsOfEndpoints(dataDir: string, info: EndpointsInfo): Promise<EngineClients> {
  if (info.postgres === null) throw new RangeError('the engines run without PostgreSQL');
  const url = new URL(info.postgres);
  const admin = await postgresSuperuser(dataDir, { host: url.hostname, port: Number(url.port), database: url.pathname.slice(1), user: '', password: '' });
  return { dynamodb: dynamoClientFor(info.dynamodb), s3: s3ClientFor(info.s3), tables: { ledger: info.ledgerTable, keys: info.keyTable }, bucket: info.bucket, postgres: projectionLogins(admin) };
}

/** The endpoints of a live server on `dataDir`, or undefined. */
async function runningServer(dataDir: string): Promise<EndpointsInfo | undefined> {
  let info: EndpointsInfo;
  try {
    info = JSON.parse(await readFile(join(dataDir, 'endpoints.json'), 'utf8')) as EndpointsInfo;
  } catch {
    return undefined;
  }
  if (info.postgres === null) return undefined;
  try {
    // Any answer means a server holds the engines (a degraded one answers 503).
    const response = await fetch(`${info.api}/healthz`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return info;
  } catch {
    return undefined;
  }
}
