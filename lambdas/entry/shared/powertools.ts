/**
 * Powertools for AWS Lambda (logger, metrics, tracer), created once per cold
 * start and shared by everything an entry wires. Service name and metrics
 * namespace come from `POWERTOOLS_SERVICE_NAME` / `POWERTOOLS_METRICS_NAMESPACE`,
 * which the stack sets on every function.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Logger } from '../../handlers/http/logger.js';

/** The Powertools of this process, plus the HTTP layer's view of its logger. */
export interface Powertools {
  readonly logger: PowertoolsLogger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
  /** The same logger behind the HTTP layer's `Logger` seam. */
  readonly httpLogger: Logger;
}

let shared: Powertools | undefined;

/**
 * This process's Powertools (created on first call).
 *
 * @example
 * const { logger, tracer } = powertools();
 * const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));
 */
export function powertools(): Powertools {
  if (shared) return shared;
  const logger = new PowertoolsLogger();
  shared = { logger, metrics: new Metrics(), tracer: new Tracer(), httpLogger: asHttpLogger(logger) };
  return shared;
}

/**
 * Adapts a Powertools logger to the HTTP layer's `Logger` (fields become keys of the JSON line).
 *
 * @example
 * appendRecordsHandler({ ledger, verify, logger: asHttpLogger(new Logger()) });
 */
export function asHttpLogger(logger: Pick<PowertoolsLogger, 'error' | 'warn'>): Logger {
  return {
    error: (message, fields = {}) => logger.error(message, { ...fields }),
    warn: (message, fields = {}) => logger.warn(message, { ...fields }),
  };
}

/**
 * Wraps a Lambda handler with the Powertools middlewares: trace segment,
 * request context in every log line, metrics (with a cold-start metric)
 * flushed after each invocation.
 *
 * @example
 * export const handler = instrumented(async (event) => …, powertools());
 */
export function instrumented<E, R>(handler: (event: E, context: Context) => Promise<R>, tools: Powertools) {
  return middy(handler)
    .use(captureLambdaHandler(tools.tracer, { captureResponse: false }))
    .use(injectLambdaContext(tools.logger))
    .use(logMetrics(tools.metrics, { captureColdStartMetric: true }));
}
