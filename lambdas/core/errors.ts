/**
 * Errors of the verifiable core. One base class with a stable `code` that
 * handlers map to RFC 9457 problem types; `cause` is always passed on.
 */
export type CoreErrorCode =
  | 'INVALID_ENTRY'
  | 'ENTRY_TOO_LARGE'
  | 'INVALID_HASH'
  | 'INVALID_PROOF'
  | 'INVALID_RANGE'
  | 'INVALID_NOTE'
  | 'INVALID_KEY'
  | 'INVALID_SIGNATURE'
  | 'INVALID_CHECKPOINT'
  | 'INVALID_TILE'
  | 'INVALID_ENVELOPE'
  | 'DECRYPTION_FAILED';

export class CoreError extends Error {
  readonly code: CoreErrorCode;
  constructor(code: CoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An entry does not match the stable entry model (DESIGN §2). */
export class InvalidEntryError extends CoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ENTRY', message, options);
  }
}

/** An entry's canonical bytes do not fit a tlog-tiles bundle slot (< 64 KiB). */
export class EntryTooLargeError extends CoreError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super('ENTRY_TOO_LARGE', `entry canonical bytes are ${size} bytes; the limit is ${limit - 1}`);
    this.size = size;
    this.limit = limit;
  }
}

/** A proof is malformed or does not verify (RFC 9162 §2.1.3–2.1.4). */
export class InvalidProofError extends CoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_PROOF', message, options);
  }
}

/** Indices or sizes outside the tree (e.g. index ≥ size, from > to). */
export class InvalidRangeError extends CoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_RANGE', message, options);
  }
}
