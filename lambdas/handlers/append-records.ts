/**
 * POST /v1/tenants/{tenant}/records (DESIGN §3): append one record or a
 * batch. Thin by design (STYLE habit 11): parse, build the `AppendRequest`,
 * call the ledger service, map the result; errors become problems in
 * `http/problem.ts`. No AWS client is created here: wiring passes `ledger`.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { AppendRequest, AppendResult } from '../services/ledger-service.js';
import { requestHash } from '../services/ledger-service.js';
import { IdempotencyKeyMissingError } from './http/http-errors.js';
import { httpHandler, type HttpHandler } from './http/http-handler.js';
import { header, type HttpEvent, type HttpResult } from './http/http-types.js';
import type { Logger } from './http/logger.js';
import type { TokenVerifier } from './http/token-verifier.js';
import { routeById } from './routes.js';
import { correlationIdSchema, idempotencyKeySchema, parseAppendBody, parseOrThrow } from './schemas.js';

export interface AppendRecordsDeps {
  /** `LedgerService` or anything shaped like its `append`. */
  readonly ledger: { append(request: AppendRequest): Promise<AppendResult> };
  readonly verify: TokenVerifier;
  readonly logger: Logger;
  /** Body limit, bytes (default: `jsonBody`'s 256 KiB). */
  readonly maxBodyBytes?: number;
  /** Correlation ids for requests without `X-Correlation-Id` (default `randomUUID`). */
  readonly newCorrelationId?: () => string;
}

const route = routeById('appendRecords');

/**
 * The request as the service wants it; validation errors name header or body fields.
 *
 * @example
 * const { request, batch } = toAppendRequest(event, randomUUID); // after jsonBody and authenticate
 */
export function toAppendRequest(event: HttpEvent, newCorrelationId: () => string): { request: AppendRequest; batch: boolean } {
  const key = header(event, 'idempotency-key');
  if (key === undefined || key === '') throw new IdempotencyKeyMissingError();
  const idempotencyKey = parseOrThrow(idempotencyKeySchema, key, '/headers/Idempotency-Key');
  const given = header(event, 'x-correlation-id');
  const correlationId = given === undefined ? newCorrelationId() : parseOrThrow(correlationIdSchema, given, '/headers/X-Correlation-Id');
  const { records, batch } = parseAppendBody(event.parsedBody);
  return {
    batch,
    request: {
      tenant: event.pathParameters!.tenant!,
      idempotencyKey,
      requestHash: requestHash(event.rawBody!),
      actor: event.principal!.subject,
      correlationId,
      records,
    },
  };
}

/**
 * Builds the Lambda (and local server) handler.
 *
 * @example
 * export const handler = appendRecordsHandler({ ledger: new LedgerService(store, keys), verify, logger });
 */
export function appendRecordsHandler(deps: AppendRecordsDeps): HttpHandler {
  const newCorrelationId = deps.newCorrelationId ?? randomUUID;
  return httpHandler(
    { route, logger: deps.logger, verify: deps.verify, body: deps.maxBodyBytes === undefined ? {} : { maxBytes: deps.maxBodyBytes } },
    async (event: HttpEvent, _context: Context): Promise<HttpResult> => {
      const { request, batch } = toAppendRequest(event, newCorrelationId);
      const result = await deps.ledger.append(request);
      const headers: Record<string, string> = { 'X-Correlation-Id': request.correlationId };
      if (result.replayed) headers['Idempotent-Replayed'] = 'true';
      const first = result.records[0]!;
      if (!batch) headers.Location = `/v1/tenants/${encodeURIComponent(request.tenant)}/records/${encodeURIComponent(first.recordId)}`;
      return { statusCode: 201, headers, body: batch ? result.records : first };
    },
  );
}
