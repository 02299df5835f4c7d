/**
 * How AWS adapters (DynamoDB, S3) classify SDK errors, shared so every store maps faults
 * the same way: a failed condition is a domain outcome, throttling, 5xx and
 * network errors left after the client's own retries are "unavailable", and
 * anything else (validation, missing table, access denied) is a deployment
 * bug that passes through unchanged.
 */

const TRANSIENT = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded',
  'InternalServerError', 'ServiceUnavailable', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The SDK's exception name (`ConditionalCheckFailedException`, …), or undefined for a non-Error. */
export const errorName = (error: unknown): string | undefined => (error instanceof Error ? error.name : undefined);

/** A put or delete whose `ConditionExpression` was false. */
export const isConditionFailed = (error: unknown): boolean => errorName(error) === 'ConditionalCheckFailedException';

/** Throttling, a 5xx, an SDK-retryable error or a socket error: worth retrying later. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return TRANSIENT.has(e.name) || e.$retryable !== undefined || (e.$metadata?.httpStatusCode ?? 0) >= 500 || NETWORK.has(e.code ?? '');
}

/**
 * A transient `error` becomes the port's "unavailable" error (`cause` kept);
 * any other error is returned unchanged, for the caller to throw.
 *
 * @example
 * ```ts
 * try { await client.send(command); } catch (error) { throw translateTransient(error, 'Query', LedgerUnavailableError); }
 * ```
 */
export function translateTransient(
  error: unknown,
  operation: string,
  Unavailable: new (message: string, options: { cause: unknown }) => Error,
): unknown {
  if (!isTransient(error)) return error;
  return new Unavailable(`DynamoDB ${operation} failed: ${(error as Error).message}`, { cause: error });
}
