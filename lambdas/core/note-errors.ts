/**
 * Errors of signed notes and checkpoints (C2SP signed-note, tlog-checkpoint).
 * Subclasses of {@link CoreError}, so handlers map them by their stable `code`.
 */
import { CoreError } from './errors.js';
import type { NoteSignature } from './signed-note.js';

/** A note is malformed: encoding, layout or signature-line syntax (`INVALID_NOTE`). */
export class InvalidNoteError extends CoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_NOTE', message, options);
  }
}

/** A verifier key, signer key, key name or key object is unusable (`INVALID_KEY`). */
export class InvalidKeyError extends CoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_KEY', message, options);
  }
}

/** A signature from a known key does not verify, or a signer produced none (`INVALID_SIGNATURE`). */
export class InvalidSignatureError extends CoreError {
  readonly keyName: string;
  readonly keyId: number;
  constructor(keyName: string, keyId: number, message?: string, options?: { cause?: unknown }) {
    const id = keyId.toString(16).padStart(8, '0');
    super('INVALID_SIGNATURE', message ?? `invalid signature for key ${keyName}+${id}`, options);
    this.keyName = keyName;
    this.keyId = keyId;
  }
}

/**
 * A well-formed note carries no signature from any known key (`INVALID_SIGNATURE`).
 * `unverified` lists the signatures it does carry, to help diagnose key rotation.
 */
export class UnverifiedNoteError extends CoreError {
  readonly unverified: readonly NoteSignature[];
  constructor(unverified: readonly NoteSignature[]) {
    const found = unverified.map((s) => `${s.name}+${s.keyId.toString(16).padStart(8, '0')}`);
    super('INVALID_SIGNATURE', `note has no verifiable signatures (found only: ${found.join(', ')})`);
    this.unverified = unverified;
  }
}

/** A checkpoint body is malformed or unusable (`INVALID_CHECKPOINT`). */
export class InvalidCheckpointError extends CoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_CHECKPOINT', message, options);
  }
}

/** A checkpoint (or its key) belongs to another log than expected (`INVALID_CHECKPOINT`). */
export class CheckpointOriginMismatchError extends InvalidCheckpointError {
  readonly expected: string;
  readonly found: string;
  constructor(what: string, expected: string, found: string) {
    super(`${what}: expected origin ${JSON.stringify(expected)}, found ${JSON.stringify(found)}`);
    this.expected = expected;
    this.found = found;
  }
}
