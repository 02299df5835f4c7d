/**
 * Errors of the HTTP layer itself: what is wrong with the request before any
 * service sees it. One base class with a stable `code` (STYLE habit 6) that
 * `problem.ts` maps to an RFC 9457 problem type, plus the response headers and
 * extension members the problem must carry.
 */
export type HttpErrorCode =
  | 'NOT_IMPLEMENTED'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_LARGE'
  | 'VALIDATION_FAILED'
  | 'IDEMPOTENCY_KEY_MISSING'
  | 'UNAUTHORIZED'
  | 'AUTHENTICATION_UNAVAILABLE'
  | 'INSUFFICIENT_SCOPE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'TOO_MANY_REQUESTS'
  | 'REQUEST_BLOCKED';

export class HttpError extends Error {
  readonly code: HttpErrorCode;
  /** Response headers the problem must carry (e.g. `WWW-Authenticate`, `Allow`). */
  readonly headers: Readonly<Record<string, string>>;
  /** RFC 9457 extension members. */
  readonly extensions: Readonly<Record<string, unknown>>;
  constructor(
    code: HttpErrorCode,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }
}

/** The body is not JSON (HTTP 400). */
export class MalformedJsonError extends HttpError {
  constructor(message = 'the request body is not valid JSON', options?: { cause?: unknown }) {
    super('MALFORMED_JSON', message, options);
  }
}

/** The body is not `application/json` (HTTP 415). */
export class UnsupportedMediaTypeError extends HttpError {
  constructor(received: string | undefined) {
    super('UNSUPPORTED_MEDIA_TYPE', `expected Content-Type application/json, got ${received === undefined ? 'none' : JSON.stringify(received)}`, {
      headers: { 'Accept-Post': 'application/json' },
    });
  }
}

/** The body exceeds the route's limit (HTTP 413); checked before parsing. */
export class BodyTooLargeError extends HttpError {
  constructor(size: number, limit: number) {
    super('BODY_TOO_LARGE', `the request body is ${size} bytes; the limit is ${limit}`, { extensions: { limit } });
  }
}

/** One violated constraint: where (`path`, JSON Pointer style) and what. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/** The request does not match its schema (HTTP 400); `errors` lists every issue. */
export class ValidationError extends HttpError {
  readonly issues: readonly ValidationIssue[];
  constructor(issues: readonly ValidationIssue[]) {
    super('VALIDATION_FAILED', `the request has ${issues.length} invalid field${issues.length === 1 ? '' : 's'}`, {
      extensions: { errors: issues },
    });
    this.issues = issues;
  }
}

/** A write without an `Idempotency-Key` header (HTTP 400). */
export class IdempotencyKeyMissingError extends HttpError {
  constructor() {
    super('IDEMPOTENCY_KEY_MISSING', 'this request needs an Idempotency-Key header');
  }
}

/**
 * No usable bearer token (HTTP 401). `WWW-Authenticate` follows RFC 6750 §3:
 * no error code when the token is missing, `invalid_token` when it was refused.
 */
export class UnauthorizedError extends HttpError {
  constructor(message = 'a bearer token is required', options: { cause?: unknown; invalidToken?: boolean } = {}) {
    const challenge = options.invalidToken ? 'Bearer realm="govledger", error="invalid_token"' : 'Bearer realm="govledger"';
    super('UNAUTHORIZED', message, { cause: options.cause, headers: { 'WWW-Authenticate': challenge } });
  }
}

/** The token issuer's keys could not be fetched (HTTP 503, retry). */
export class AuthenticationUnavailableError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUTHENTICATION_UNAVAILABLE', message, options);
  }
}

/** The token lacks a scope the route needs (HTTP 403, RFC 6750 `insufficient_scope`). */
export class InsufficientScopeError extends HttpError {
  constructor(required: readonly string[]) {
    super('INSUFFICIENT_SCOPE', `this route needs the scope${required.length === 1 ? '' : 's'} ${required.join(' ')}`, {
      headers: { 'WWW-Authenticate': `Bearer realm="govledger", error="insufficient_scope", scope="${required.join(' ')}"` },
    });
  }
}

/**
 * Nothing here (HTTP 404). Also the answer for another tenant's resources, so
 * the detail is one fixed sentence: existence never leaks.
 */
export class NotFoundError extends HttpError {
  constructor() {
    super('NOT_FOUND', 'no such resource');
  }
}

/** The path exists with other methods (HTTP 405 with `Allow`). */
export class MethodNotAllowedError extends HttpError {
  constructor(allowed: readonly string[]) {
    super('METHOD_NOT_ALLOWED', `allowed methods: ${allowed.join(', ')}`, { headers: { Allow: allowed.join(', ') } });
  }
}

/** The route is part of the API but its implementation has not shipped yet (HTTP 501). */
export class NotImplementedError extends HttpError {
  constructor(operationId: string) {
    super('NOT_IMPLEMENTED', `${operationId} is not available on this server yet`);
  }
}

/** The caller exceeded a rate limit (HTTP 429): on AWS, API Gateway's throttling answers it with this problem. */
export class TooManyRequestsError extends HttpError {
  constructor(message = 'too many requests; retry later, more slowly') {
    super('TOO_MANY_REQUESTS', message);
  }
}

/** The web application firewall refused the request (HTTP 403): on AWS, AWS WAF's block answers it with this problem. */
export class RequestBlockedError extends HttpError {
  constructor(message = 'the request was blocked by the web application firewall') {
    super('REQUEST_BLOCKED', message);
  }
}
