/**
 * `jsonResponse`: middy middleware that serializes a handler's `HttpResult`
 * into an API Gateway v2 structured response: JSON by default, strings and
 * bytes as they are when the handler names their Content-Type (the signed
 * checkpoint, tiles, the log key). Responses carry `Cache-Control: no-store`
 * unless the handler says otherwise: ledger answers are per-tenant and
 * authorized, never for shared caches.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import type { HttpEvent, HttpResponse, HttpResult } from './http-types.js';

export interface JsonResponseOptions {
  /** Default `Cache-Control` (default `no-store`). */
  readonly cacheControl?: string;
}

const defaults: Required<JsonResponseOptions> = { cacheControl: 'no-store' };

/**
 * The structured response for a result.
 *
 * @example
 * serializeResult({ statusCode: 201, body: { position: 0 } }, 'no-store');
 * // → { statusCode: 201, headers: { 'Content-Type': 'application/json', … }, body: '{"position":0}' }
 */
export function serializeResult(result: HttpResult, cacheControl: string): HttpResponse {
  const headers: Record<string, string> = { 'Cache-Control': cacheControl };
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    headers[name] = value;
  }
  const typed = Object.keys(headers).some((n) => n.toLowerCase() === 'content-type');
  if (result.body === undefined) return { statusCode: result.statusCode, headers };
  if (typed && result.body instanceof Uint8Array) {
    return { statusCode: result.statusCode, headers, body: Buffer.from(result.body).toString('base64'), isBase64Encoded: true };
  }
  if (typed && typeof result.body === 'string') return { statusCode: result.statusCode, headers, body: result.body };
  return { statusCode: result.statusCode, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(result.body) };
}

/**
 * @example
 * middy(handler).use(jsonResponse());
 */
export function jsonResponse(opts: JsonResponseOptions = {}): MiddlewareObj<HttpEvent, HttpResponse> {
  const options = { ...defaults, ...opts };
  if (typeof options.cacheControl !== 'string' || options.cacheControl === '') throw new TypeError('jsonResponse: cacheControl must be a non-empty string');

  const jsonResponseAfter = (request: Request<HttpEvent, HttpResponse>): void => {
    const result = request.response as unknown as HttpResult | null;
    if (result === null || typeof result !== 'object' || typeof result.statusCode !== 'number') {
      throw new TypeError('jsonResponse: the handler must return { statusCode, body?, headers? }');
    }
    request.response = serializeResult(result, options.cacheControl);
  };

  return { after: jsonResponseAfter };
}
