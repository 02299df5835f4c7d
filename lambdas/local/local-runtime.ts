/**
 * The embedded default (DESIGN §6): one process serving the HTTP API on
 * embedded engines, with the same handlers, services and adapters as on AWS.
 * The data directory is locked, the engines start in it, the services are
 * wired by `local-services.ts` (the one place that chooses local adapters,
 * STYLE habit 7; the operator commands share it), and the route table
 * dispatches requests to the handlers. Appends notify the
 * publisher, so a checkpoint follows within a second, and the change tailer,
 * so the projection (embedded PostgreSQL) answers queries within a second.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { PostgresChangeCursors } from '../adapters/postgres/postgres-change-cursors.js';
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
import { recordReadHandlers } from '../handlers/record-reads.js';
import { resolveRoute, type OperationId } from '../handlers/routes.js';
import type { ChangeConsumer } from '../ports/change-stream.js';
import { ChangeTailer } from '../services/change-tailer.js';
import { CommitmentReader } from '../services/commitment-reader.js';
import { LogPublisher } from '../services/log-publisher.js';
import { LogReader } from '../services/log-reader.js';
import { PublishScheduler } from '../services/publish-scheduler.js';
import { RecordReader } from '../services/record-reader.js';
import { openDataDir } from './data-dir.js';
import { endpointsOf, startEngines, writeEndpoints } from './engines.js';
import { startHttpServer } from './http-bridge.js';
import { wireLocalServices } from './local-services.js';
import { LOCAL_TOKEN_AUDIENCE, LOCAL_TOKEN_ISSUER, LocalTokenIssuer } from './local-tokens.js';

export interface LocalRuntime {
  readonly url: string;
  readonly dataDir: string;
  /** Stops the server, the publisher, the change tailer and the engines, then releases the data directory; idempotent. */
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
    const engines = await startEngines(dataDir, { env, postgres: true });
    stops.push(() => engines.stop());
    const tokens = await LocalTokenIssuer.open(dataDir, { create: true });
    const clients = { dynamodb: engines.dynamodb.client, s3: engines.s3.client, tables: engines.tables, bucket: engines.bucket, postgres: engines.postgres!.logins };
    const services = await wireLocalServices(dataDir, clients, env, logger);
    stops.push(() => services.close());
    const { ledgerStore, keyStore, keys, objects, signing, ledger, logPrefix, projection } = services;
    const scheduler = new PublishScheduler(new LogPublisher(ledgerStore, objects, signing, { logPrefix }), {
      onError: (tenant, error) => logger.error('publish failed', { tenant, error: String(error) }),
    });
    stops.push(() => scheduler.stop());
    const reader = new LogReader(ledgerStore, objects);
    const consumers: ChangeConsumer[] = [...services.copies];
    const tailer = new ChangeTailer(ledgerStore, consumers, new PostgresChangeCursors(services.databases.projector), {
      onError: (tenant, error) => logger.error('change delivery failed', { tenant, error: String(error) }),
    });
    await tailer.start();
    stops.push(() => tailer.stop());
    const appended = (tenant: string): void => {
      scheduler.notify(tenant);
      tailer.notify(tenant);
    };
    const verify = localTokenVerifier(tokens.publicKey(), { issuer: LOCAL_TOKEN_ISSUER, audience: LOCAL_TOKEN_AUDIENCE });
    const handlers: Partial<Record<OperationId, HttpHandler>> = {
      appendRecords: appendRecordsHandler({
        ledger: {
          append: async (request) => {
            const result = await ledger.append(request);
            appended(request.tenant);
            return result;
          },
        },
        verify,
        logger,
      }),
      ...adminKeysHandlers({
        keys,
        ledger: { appendSystem: (t, system, actor) => ledger.appendSystem(t, system, actor).finally(() => appended(t)) },
        projection: services.purger,
        verify,
        logger,
      }),
      ...recordReadHandlers({ reader: new RecordReader(projection, { log: reader, keys }), verify, logger }),
      ...logReadHandlers({ reader, commitments: new CommitmentReader(ledgerStore, reader), verifierKeyFor: (t) => signing.verifierKeyFor(originFor(logPrefix, t)), verify, logger }),
      healthz: healthzHandler({
        logger,
        probes: {
          ledger: () => ledgerStore.readTail('healthz'),
          keys: () => keyStore.shredded('healthz'),
          objects: () => objects.get('healthz/probe'),
          projection: () => projection.projectedThrough('healthz'),
        },
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
