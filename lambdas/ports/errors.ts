/**
 * Errors that ports raise, shared by all adapters so services can tell them
 * apart without knowing the adapter. One base class, stable codes, `cause`
 * passed on (STYLE habit 6). Handlers map codes to RFC 9457 problem types.
 */
export type PortErrorCode =
  | 'KEY_EXISTS'
  | 'KEY_UNAVAILABLE'
  | 'KEY_SERVICE_UNAVAILABLE'
  | 'KEY_SHREDDED'
  | 'LEGAL_HOLD'
  | 'KEY_FILE_INVALID'
  | 'POSITION_TAKEN'
  | 'LEDGER_UNAVAILABLE'
  | 'BATCH_TOO_LARGE'
  | 'OBJECT_IMMUTABLE'
  | 'OBJECT_STORE_UNAVAILABLE'
  | 'CHANGE_CONFLICT'
  | 'PROJECTION_UNAVAILABLE'
  | 'PROJECTION_BEHIND'
  | 'EVENT_BUS_UNAVAILABLE'
  | 'EVENT_REJECTED';

export class PortError extends Error {
  readonly code: PortErrorCode;
  constructor(code: PortErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A conditional put lost: the key already exists (re-read and use it). */
export class KeyExistsError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_EXISTS', message, options);
  }
}

/** The key cannot be unwrapped or used: wrong context, tampered, disabled or destroyed. */
export class KeyUnavailableError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_UNAVAILABLE', message, options);
  }
}

/** The key service (KMS, DynamoDB) did not answer after bounded retries. */
export class KeyServiceUnavailableError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_SERVICE_UNAVAILABLE', message, options);
  }
}

/** The tenant's keys were crypto-shredded: its data can no longer be read (HTTP 410). */
export class KeyShreddedError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_SHREDDED', message, options);
  }
}

/** A legal hold forbids the operation (HTTP 409). */
export class LegalHoldError extends PortError {
  readonly holds: readonly string[];
  constructor(message: string, holds: readonly string[], options?: { cause?: unknown }) {
    super('LEGAL_HOLD', message, options);
    this.holds = holds;
  }
}

/** A local key file is missing, corrupt or readable by others; the message says what to do. */
export class KeyFileError extends PortError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('KEY_FILE_INVALID', `${path}: ${message}`, options);
    this.path = path;
  }
}

/** Another writer appended at this position first: re-read the tail and retry. */
export class PositionTakenError extends PortError {
  readonly tenant: string;
  readonly position: number;
  constructor(tenant: string, position: number, options?: { cause?: unknown }) {
    super('POSITION_TAKEN', `position ${position} of tenant ${tenant} is already taken`, options);
    this.tenant = tenant;
    this.position = position;
  }
}

/** The ledger store did not answer after bounded retries (HTTP 503 with Retry-After). */
export class LedgerUnavailableError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LEDGER_UNAVAILABLE', message, options);
  }
}

/** A batch over MAX_BATCH_ENTRIES entries or MAX_BATCH_BYTES bytes. */
export class BatchTooLargeError extends PortError {
  constructor(message: string) {
    super('BATCH_TOO_LARGE', message);
  }
}

/** An immutable object already holds other bytes: nothing was written (a fork or a bug; alert). */
export class ObjectImmutableError extends PortError {
  readonly key: string;
  constructor(key: string, options?: { cause?: unknown }) {
    super('OBJECT_IMMUTABLE', `object ${key} is immutable and holds other bytes`, options);
    this.key = key;
  }
}

/** The object store did not answer after bounded retries (HTTP 503 with Retry-After). */
export class ObjectStoreUnavailableError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OBJECT_STORE_UNAVAILABLE', message, options);
  }
}

/**
 * A downstream copy already holds other bytes for a ledger position (the event
 * store or the projection disagrees with a redelivered change). Never
 * overwritten: a finding for humans.
 */
export class ChangeConflictError extends PortError {
  readonly consumer: string;
  readonly tenant: string;
  readonly position: number;
  constructor(consumer: string, tenant: string, position: number, options?: { cause?: unknown }) {
    super('CHANGE_CONFLICT', `${consumer} holds other content for position ${position} of tenant ${tenant}`, options);
    this.consumer = consumer;
    this.tenant = tenant;
    this.position = position;
  }
}

/** What the event bus said about one event it did not take (for logs and alerts). */
export interface EventFailure {
  readonly tenant: string;
  readonly position: number;
  /** The bus's per-event code, e.g. EventBridge `ThrottlingException` or `MalformedDetail`. */
  readonly errorCode: string;
  readonly errorMessage?: string;
}

/** An event bus error: which events failed and what the bus said about each. */
export abstract class EventBusError extends PortError {
  readonly failures: readonly EventFailure[];
  constructor(code: 'EVENT_BUS_UNAVAILABLE' | 'EVENT_REJECTED', message: string, failures: readonly EventFailure[], options?: { cause?: unknown }) {
    super(code, message, options);
    this.failures = failures;
  }
}

/**
 * The event bus did not take every event after bounded retries (throttling,
 * internal failures, network): nothing is dropped, the caller redelivers.
 */
export class EventBusUnavailableError extends EventBusError {
  constructor(message: string, failures: readonly EventFailure[], options?: { cause?: unknown }) {
    super('EVENT_BUS_UNAVAILABLE', message, failures, options);
  }
}

/**
 * The event bus refused events for a reason retrying cannot fix (access
 * denied, malformed detail): a deployment bug; the caller redelivers until
 * it is fixed or the record goes to the dead-letter queue.
 */
export class EventRejectedError extends EventBusError {
  constructor(message: string, failures: readonly EventFailure[]) {
    super('EVENT_REJECTED', message, failures);
  }
}

/** The projection database did not answer (connection refused, timeout, failover): HTTP 503 with Retry-After. */
export class ProjectionUnavailableError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROJECTION_UNAVAILABLE', message, options);
  }
}

/**
 * A read asked to wait until a ledger position is projected and the wait
 * timed out (HTTP 503 with Retry-After: ask again shortly).
 */
export class ProjectionBehindError extends PortError {
  readonly tenant: string;
  readonly position: number;
  readonly projectedThrough: number;
  constructor(tenant: string, position: number, projectedThrough: number) {
    super('PROJECTION_BEHIND', `the projection of ${tenant} is current through position ${projectedThrough}, not yet ${position}`);
    this.tenant = tenant;
    this.position = position;
    this.projectedThrough = projectedThrough;
  }
}
