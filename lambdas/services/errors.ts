/**
 * Errors services raise for callers to act on. One base class, stable codes,
 * `cause` passed on; handlers map codes to RFC 9457 problem types and HTTP
 * statuses in one place.
 */
export type ServiceErrorCode = 'INVALID_INPUT' | 'IDEMPOTENCY_CONFLICT' | 'REVISION_CONFLICT' | 'LEDGER_BUSY';

export class ServiceError extends Error {
  readonly code: ServiceErrorCode;
  constructor(code: ServiceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The request is malformed in a way the schema could not catch (HTTP 400). */
export class ServiceInputError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}

/** An Idempotency-Key reused with another request body (HTTP 422). */
export class IdempotencyConflictError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IDEMPOTENCY_CONFLICT', message, options);
  }
}

/** expectedRevision does not match, or the operation does not fit the record's state (HTTP 409). */
export class RevisionConflictError extends ServiceError {
  readonly recordId: string;
  readonly expected: number;
  readonly actual: number;
  constructor(recordId: string, expected: number, actual: number, state?: string) {
    super('REVISION_CONFLICT', state ? `record ${recordId} ${state} (revision ${actual})` : `record ${recordId} is at revision ${actual}, not ${expected}`);
    this.recordId = recordId;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Too many lost races or store faults in a row (HTTP 503 with Retry-After). */
export class LedgerBusyError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LEDGER_BUSY', message, options);
  }
}
