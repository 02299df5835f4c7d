/**
 * The embedded default (DESIGN §6): one process serving the HTTP API on
 * embedded engines, with the same handlers, services and adapters as on AWS.
 * This is the only place that chooses adapters locally (STYLE habit 7): the
 * data directory is locked, dynalite and s3rver start in it, the local key
 * files are opened (created on first start), the services are wired, and the
 * route table dispatches requests to the handlers. Appends notify the
 * publisher, so a checkpoint follows within a second.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { DynamoKeyStore } from '../adapters/aws/dynamo-key-store.js';
import { DynamoLedgerStore } from '../adapters/aws/dynamo-ledger-store.js';
import { S3ObjectStore } from '../adapters/aws/s3-object-store.js';
import { FileMasterKey } from '../adapters/local/file-master-key.js';
import { FileSigningKey } from '../adapters/local/file-signing-key.js';
import { originFor } from '../core/checkpoint.js';
import { adminKeysHandlers } from '../handlers/admin-keys.js';
import { appendRecordsHandler } from '../handlers/append-records.js';
import { openApiHandler } from '../handlers/get-openapi.js';
import { healthzHandler } from '../handlers/healthz.js';
import { NotImplementedError } from '../handlers/http/http-errors.js';
import type { HttpHandler } from '../handlers/http/http-handler.js';
import type { HttpEvent } from '../handlers/http/http-types.js';
import { jsonLogger, type Logger } from '../handlers/http/logger.js';
import { toProblemResponse } from '../handlers/http/problem.js';
import { localTokenVerifier } from '../handlers/http/token-verifier.js';
import { logReadHandlers } from '../handlers/log-reads.js';
import { resolveRoute, type OperationId } from '../handlers/routes.js';
import { CommitmentReader } from '../services/commitment-reader.js';
import { KeyService } from '../services/key-service.js';
import { LedgerService } from '../services/ledger-service.js';
import { LogPublisher } from '../services/log-publisher.js';
import { LogReader } from '../services/log-reader.js';
import { PublishScheduler } from '../services/publish-scheduler.js';
import { openDataDir } from './data-dir.js';
import { endpointsOf, startEngines, writeEndpoints } from './engines.js';
import { startHttpServer } from './http-bridge.js';
import { LOCAL_TOKEN_AUDIENCE, LOCAL_TOKEN_ISSUER, LocalTokenIssuer } from './local-tokens.js';

export interface LocalRuntime {
  readonly url: string;
  readonly dataDir: string;
  /** Stops the server, the publisher and the engines, then releases the data directory; idempotent. */
  stop(): Promise<void>;
}

export interface LocalRuntimeOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly logger?: Logger;
}

/**
 * Starts the API on `127.0.0.1:${PORT:-8787}` with its state in
 * `${GOVLEDGER_DATA_DIR:-.govledger}`, and writes `<data dir>/endpoints.json`.
 *
 * @example
 * const runtime = await startLocalRuntime();
 * console.log(`govledger listening on ${runtime.url}`);
 * process.once('SIGINT', () => void runtime.stop());
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? jsonLogger();
  const lock = await openDataDir(env);
  const stops: Array<() => Promise<void> | void> = [() => lock.release()];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const dataDir = lock.dataDir;
    const engines = await startEngines(dataDir, { env });
    stops.push(() => engines.stop());
    const [master, signing, tokens] = await Promise.all([
      FileMasterKey.open(dataDir, { create: true }),
      FileSigningKey.open(dataDir, { create: true }),
      LocalTokenIssuer.open(dataDir, { create: true }),
    ]);
    const documents = DynamoDBDocumentClient.from(engines.dynamodb.client);
    const ledgerStore = new DynamoLedgerStore({ client: documents, tableName: engines.tables.ledger });
    const keyStore = new DynamoKeyStore({ client: documents, tableName: engines.tables.keys });
    const keys = new KeyService(keyStore, master);
    const objects = new S3ObjectStore({ client: engines.s3.client, bucket: engines.bucket, conditionalPuts: 'read-first' });
    const logPrefix = env.GOVLEDGER_LOG_PREFIX ?? 'govledger.local';
    const scheduler = new PublishScheduler(new LogPublisher(ledgerStore, objects, signing, { logPrefix }), {
      onError: (tenant, error) => logger.error('publish failed', { tenant, error: String(error) }),
    });
    stops.push(() => scheduler.stop());
    const ledger = new LedgerService(ledgerStore, keys, { groupCommit: true });
    const reader = new LogReader(ledgerStore, objects);
    const verify = localTokenVerifier(tokens.publicKey(), { issuer: LOCAL_TOKEN_ISSUER, audience: LOCAL_TOKEN_AUDIENCE });
    const handlers: Partial<Record<OperationId, HttpHandler>> = {
      appendRecords: appendRecordsHandler({
        ledger: {
          append: async (request) => {
            const result = await ledger.append(request);
            scheduler.notify(request.tenant);
            return result;
          },
        },
        verify,
        logger,
      }),
      ...adminKeysHandlers({ keys, ledger: { appendSystem: (t, system, actor) => ledger.appendSystem(t, system, actor).finally(() => scheduler.notify(t)) }, verify, logger }),
      ...logReadHandlers({ reader, commitments: new CommitmentReader(ledgerStore, reader), verifierKeyFor: (t) => signing.verifierKeyFor(originFor(logPrefix, t)), verify, logger }),
      healthz: healthzHandler({
        logger,
        probes: { ledger: () => ledgerStore.readTail('healthz'), keys: () => keyStore.shredded('healthz'), objects: () => objects.get('healthz/probe') },
      }),
      getOpenApi: openApiHandler({ logger }),
    };
    const api = await startHttpServer({
      port: Number(env.PORT ?? 8787),
      dispatch: (event) => dispatch(handlers, event, logger),
      onError: (error) => logger.error('dispatch failed', { error: String(error) }),
    });
    stops.push(() => api.close());
    await writeEndpoints(dataDir, endpointsOf(engines, api.url));
    return { url: api.url, dataDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Routes an API Gateway v2 event through the shared route table, as API Gateway does. */
async function dispatch(handlers: Partial<Record<OperationId, HttpHandler>>, event: APIGatewayProxyEventV2, logger: Logger) {
  try {
    const match = resolveRoute(event.requestContext.http.method, event.rawPath);
    const handler = handlers[match.route.operationId as OperationId];
    if (handler === undefined) throw new NotImplementedError(match.route.operationId);
    const routed: HttpEvent = { ...event, pathParameters: { ...match.pathParameters } };
    return await handler(routed, lambdaContext(event.requestContext.requestId));
  } catch (error) {
    return toProblemResponse(error, { logger, retryAfterSeconds: 1, requestId: event.requestContext.requestId });
  }
}

function lambdaContext(requestId: string): Context {
  return {
    awsRequestId: requestId || randomUUID(),
    functionName: 'govledger-local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
  } as Context;
}
