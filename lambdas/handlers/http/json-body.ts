/**
 * `jsonBody`: middy middleware that turns an API Gateway v2 body into JSON.
 * In order: Content-Type must be `application/json` (charset, if named,
 * UTF-8) → size limit checked on the encoded length, before anything is
 * decoded or parsed → base64 bodies decoded → UTF-8 decoded strictly →
 * nesting depth bounded → parsed, refusing `__proto__` keys (validators would
 * silently drop them, so the stored payload would differ from the hashed one).
 *
 * Sets `event.rawBody` (the bytes as received, for `requestHash`) and
 * `event.parsedBody`; validation against a schema is the handler's job.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import { BodyTooLargeError, MalformedJsonError, UnsupportedMediaTypeError, ValidationError } from './http-errors.js';
import { header, type HttpEvent, type HttpResponse } from './http-types.js';

export interface JsonBodyOptions {
  /** Largest accepted body in bytes, after base64 decoding (default 256 KiB). */
  readonly maxBytes?: number;
  /** Deepest accepted nesting of arrays and objects (default 64). */
  readonly maxDepth?: number;
}

const defaults: Required<JsonBodyOptions> = { maxBytes: 256 * 1024, maxDepth: 64 };

/** Deepest nesting of `[`/`{` outside strings; stops counting past `limit`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function isJsonMediaType(contentType: string): boolean {
  const [media, ...params] = contentType.split(';').map((s) => s.trim().toLowerCase());
  if (media !== 'application/json') return false;
  return params.every((p) => !p.startsWith('charset=') || /^charset="?utf-8"?$/.test(p));
}

/**
 * @example
 * middy(handler).use(jsonBody({ maxBytes: 64 * 1024 }));
 */
export function jsonBody(opts: JsonBodyOptions = {}): MiddlewareObj<HttpEvent, HttpResponse> {
  const options = { ...defaults, ...opts };
  for (const key of ['maxBytes', 'maxDepth'] as const) {
    if (!Number.isSafeInteger(options[key]) || options[key] < 1) throw new TypeError(`jsonBody: ${key} must be a positive integer, got ${options[key]}`);
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  const jsonBodyBefore = (request: Request<HttpEvent, HttpResponse>): void => {
    const { event } = request;
    const contentType = header(event, 'content-type');
    if (contentType === undefined || !isJsonMediaType(contentType)) throw new UnsupportedMediaTypeError(contentType);
    const body = event.body ?? '';
    const size = event.isBase64Encoded ? Buffer.byteLength(body, 'base64') : Buffer.byteLength(body, 'utf8');
    if (size > options.maxBytes) throw new BodyTooLargeError(size, options.maxBytes);
    const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch (error) {
      throw new MalformedJsonError('the request body is not valid UTF-8', { cause: error });
    }
    if (text.trim() === '') throw new MalformedJsonError('the request body is empty');
    if (nestingDepth(text, options.maxDepth) > options.maxDepth) {
      throw new ValidationError([{ path: '/body', message: `nests deeper than ${options.maxDepth} levels` }]);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text, (key, value: unknown) => {
        if (key === '__proto__') throw new ValidationError([{ path: '/body', message: 'the key "__proto__" is not allowed' }]);
        return value;
      });
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw new MalformedJsonError(`the request body is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    event.rawBody = bytes;
    event.parsedBody = parsed;
  };

  return { before: jsonBodyBefore };
}
