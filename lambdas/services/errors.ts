/**
 * Errors services raise for callers to act on. One base class, stable codes,
 * `cause` passed on; handlers map codes to RFC 9457 problem types and HTTP
 * statuses in one place.
 */
export type ServiceErrorCode = 'INVALID_INPUT' | 'IDEMPOTENCY_CONFLICT' | 'REVISION_CONFLICT' | 'LEDGER_BUSY' | 'NOTHING_DISCARDED' | 'RECOVERY_NOT_A_PREFIX' | 'RECOVERY_CONFLICT';

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

/**
 * A recovery was asked for but the ledger still holds every position the
 * newest signed evidence (published or last verified checkpoint) covers:
 * nothing was discarded, so there is nothing to record (HTTP 409).
 */
export class NothingDiscardedError extends ServiceError {
  readonly size: number;
  readonly checkpointSize: number;
  constructor(tenant: string, size: number, checkpointSize: number) {
    super('NOTHING_DISCARDED', `the ledger of ${tenant} holds ${size} entries and extends its newest checkpoint (size ${checkpointSize}): nothing was discarded`);
    this.size = size;
    this.checkpointSize = checkpointSize;
  }
}

/**
 * A recovery was refused: what the ledger retained is not a prefix of the log
 * the old checkpoint signed (another log, a rewritten entry, or old tiles that
 * do not prove it). Nothing was appended; a finding for humans (HTTP 409).
 */
export class RecoveryNotAPrefixError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RECOVERY_NOT_A_PREFIX', message, options);
  }
}

/**
 * The recovery entry already recorded for this fork (same old checkpoint)
 * does not hold: it was not written by the recovery service. It stays in the
 * log as evidence and verification reports it (INVALID_RECOVERY); the fork
 * cannot be recorded over it. A finding for humans (HTTP 409).
 */
export class RecoveryConflictError extends ServiceError {
  readonly position: number;
  constructor(tenant: string, position: number, problem: string) {
    super('RECOVERY_CONFLICT', `the recovery entry at position ${position} of ${tenant} claims this fork but does not hold: ${problem}`);
    this.position = position;
  }
}
