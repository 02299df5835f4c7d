/**
 * Errors of the transparency log services (publisher and reader). One base
 * class, stable codes, `cause` passed on, as `errors.ts` next to this file;
 * handlers map codes to RFC 9457 problem types in one place. Suggested
 * statuses: 404 for CHECKPOINT_NOT_FOUND, ENTRY_NOT_PUBLISHED and
 * TILE_NOT_FOUND (may exist later); 400 for INVALID_TENANT, INVALID_TILE_PATH,
 * POSITION_OUT_OF_RANGE, TREE_SIZE_BEYOND_CHECKPOINT and INVALID_PROOF_RANGE
 * (the request itself is wrong for the published log); 500 and an alert for
 * the rest, which mean stored state disagrees with itself.
 */
export type LogErrorCode =
  | 'INVALID_TENANT'
  | 'CHECKPOINT_NOT_FOUND'
  | 'COMMITMENT_NOT_FOUND'
  | 'ENTRY_NOT_PUBLISHED'
  | 'POSITION_OUT_OF_RANGE'
  | 'TREE_SIZE_BEYOND_CHECKPOINT'
  | 'INVALID_PROOF_RANGE'
  | 'INVALID_TILE_PATH'
  | 'TILE_NOT_FOUND'
  | 'CHECKPOINT_INVALID'
  | 'LOG_ROOT_MISMATCH'
  | 'LEDGER_BEHIND_CHECKPOINT'
  | 'LOG_INCOMPLETE';

export class LogError extends Error {
  readonly code: LogErrorCode;
  constructor(code: LogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Not a tenant id (1-63 lowercase letters, digits or hyphens): it would escape its key prefix. */
export class InvalidTenantError extends LogError {
  constructor(tenant: string) {
    super('INVALID_TENANT', `invalid tenant ${JSON.stringify(tenant)}`);
  }
}

/** The tenant's log has no checkpoint yet: nothing is published. */
export class CheckpointNotFoundError extends LogError {
  constructor(tenant: string) {
    super('CHECKPOINT_NOT_FOUND', `tenant ${tenant} has no published checkpoint yet`);
  }
}

/** The position is at or beyond the latest checkpoint's size: not published (yet). */
export class EntryNotPublishedError extends LogError {
  readonly position: number;
  readonly checkpointSize: number;
  constructor(position: number, checkpointSize: number) {
    super('ENTRY_NOT_PUBLISHED', `position ${position} is not in the published log of size ${checkpointSize}`);
    this.position = position;
    this.checkpointSize = checkpointSize;
  }
}

/** The position is at or beyond the tree size the proof was asked for. */
export class PositionOutOfRangeError extends LogError {
  constructor(position: number, treeSize: number) {
    super('POSITION_OUT_OF_RANGE', `position ${position} is not in a tree of size ${treeSize}`);
  }
}

/** A tree size beyond the latest checkpoint: no signed root commits to it. */
export class TreeSizeBeyondCheckpointError extends LogError {
  readonly treeSize: number;
  readonly checkpointSize: number;
  constructor(treeSize: number, checkpointSize: number) {
    super('TREE_SIZE_BEYOND_CHECKPOINT', `tree size ${treeSize} is beyond the latest checkpoint (size ${checkpointSize})`);
    this.treeSize = treeSize;
    this.checkpointSize = checkpointSize;
  }
}

/** A proof request that no proof answers: from > to, a size below 1, or not whole numbers. */
export class InvalidProofRangeError extends LogError {
  constructor(message: string) {
    super('INVALID_PROOF_RANGE', message);
  }
}

/** Not a canonical tlog-tiles tile or entry bundle path. */
export class TilePathError extends LogError {
  constructor(path: string, options?: { cause?: unknown }) {
    super('INVALID_TILE_PATH', `invalid tile path ${JSON.stringify(path)}`, options);
  }
}

/** A well-formed tile path that is not stored (not published yet, or never at that width). */
export class TileNotFoundError extends LogError {
  constructor(path: string) {
    super('TILE_NOT_FOUND', `tile ${path} is not published`);
  }
}

/** The stored checkpoint is unreadable or names another log. */
export class CheckpointInvalidError extends LogError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CHECKPOINT_INVALID', message, options);
  }
}

/**
 * A root the publisher computed disagrees with a stored one: `ledger` (the
 * ledger's compact range at that size, e.g. a tampered entry) or `checkpoint`
 * (the published tiles no longer hash to the published root). Nothing is signed.
 */
export class LogRootMismatchError extends LogError {
  readonly size: number;
  readonly against: 'ledger' | 'checkpoint';
  constructor(size: number, against: 'ledger' | 'checkpoint', message: string) {
    super('LOG_ROOT_MISMATCH', `root at size ${size} disagrees with the ${against}: ${message}`);
    this.size = size;
    this.against = against;
  }
}

/** The published checkpoint is ahead of the ledger (e.g. a restore discarded positions). */
export class LedgerBehindCheckpointError extends LogError {
  constructor(tenant: string, checkpointSize: number, options?: { cause?: unknown }) {
    super('LEDGER_BEHIND_CHECKPOINT', `the ledger of ${tenant} ends before its published checkpoint (size ${checkpointSize})`, options);
  }
}

/** An object the latest checkpoint implies (a tile, a bundle) is missing or malformed. */
export class LogIncompleteError extends LogError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOG_INCOMPLETE', message, options);
  }
}

/** No request with this Idempotency-Key committed in the tenant's log. */
export class CommitmentNotFoundError extends LogError {
  constructor(key: string) {
    super('COMMITMENT_NOT_FOUND', `no request with Idempotency-Key ${JSON.stringify(key)} committed`);
  }
}
