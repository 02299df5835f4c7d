/**
 * Shapes shared by the HTTP layer: API Gateway HTTP API (payload format 2.0)
 * events, as Lambda receives them and as the local server builds them, plus
 * what the middlewares add to them.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Who a verified bearer token speaks for. */
export interface Principal {
  /** Token `sub`: becomes the entry's `actor`. */
  readonly subject: string;
  /** Tenants the token may touch (claim `tenants`). */
  readonly tenants: readonly string[];
  /** Granted scopes (claim `scope`, space-separated). */
  readonly scopes: readonly string[];
}

/** An API Gateway v2 event plus what `jsonBody` and `authenticate` attach. */
export type HttpEvent = APIGatewayProxyEventV2 & {
  /** Body bytes as received (base64 already decoded): what `requestHash` covers. */
  rawBody?: Buffer;
  /** The parsed JSON body; validated by the handler's schema. */
  parsedBody?: unknown;
  /** Set by `authenticate` once the token verified. */
  principal?: Principal;
};

/** What handlers return; `jsonResponse` serializes it. */
export interface HttpResult {
  readonly statusCode: number;
  /** A JSON value, or a string/bytes when `headers['content-type']` names another type. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What API Gateway (and the local server) get back. */
export type HttpResponse = APIGatewayProxyStructuredResultV2;

/**
 * A request header, case-insensitively (API Gateway lowercases names; the local
 * server should too, but a test or a custom caller may not).
 *
 * @example
 * header(event, 'Idempotency-Key'); // → 'abc' or undefined
 */
export function header(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const headers = event.headers ?? {};
  const lower = name.toLowerCase();
  if (headers[lower] !== undefined) return headers[lower];
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === lower) return value;
  return undefined;
}
