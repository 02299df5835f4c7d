/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the signed tree head of a
 * tenant's log. The body is
 *
 *   <origin>\n<tree size, decimal>\n<base64 root hash>\n[<extension line>\n]*
 *
 * signed as a C2SP signed note whose key name equals the origin (DESIGN §2), so a
 * checkpoint of one tenant can never pass as another's. Parsing is strict: one
 * tree head has exactly one text, so equal heads compare equal as strings.
 */
import { fromBase64, toBase64 } from './bytes.js';
import { CheckpointOriginMismatchError, InvalidCheckpointError } from './note-errors.js';
import { HASH_SIZE } from './rfc9162-hasher.js';
import { isValidKeyName, openNote, signNote, type NoteSigner, type NoteVerifier } from './signed-note.js';

/** A parsed checkpoint: log origin, tree size, RFC 9162 root hash, opaque extension lines. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
}

/** What {@link formatCheckpoint} needs; extensions default to none. */
export interface CheckpointInput {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions?: readonly string[];
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const BAD_LINE_CHAR = /[\u0000-\u001F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A line must be non-empty, well-formed and free of control characters (newline included). */
function checkLine(what: string, line: string): void {
  if (typeof line !== 'string' || line === '') throw new InvalidCheckpointError(`checkpoint ${what} must be non-empty`);
  if (BAD_LINE_CHAR.test(line)) {
    throw new InvalidCheckpointError(`checkpoint ${what} contains a control character or unpaired surrogate`);
  }
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new InvalidCheckpointError(`checkpoint size must be a non-negative safe integer, got ${size}`);
  }
}

function checkRoot(rootHash: Uint8Array | undefined): Uint8Array {
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== HASH_SIZE) {
    throw new InvalidCheckpointError(`checkpoint root hash must be ${HASH_SIZE} bytes, got ${rootHash?.length ?? 'none'}`);
  }
  return rootHash;
}

/**
 * The checkpoint body text. Throws InvalidCheckpointError (`INVALID_CHECKPOINT`)
 * for an empty origin or extension line, a line with control characters, a size
 * that is not a non-negative safe integer, or a root that is not 32 bytes.
 * @example formatCheckpoint({ origin: 'example.com/log', size: 2, rootHash }) // 'example.com/log\n2\n<base64>\n'
 */
export function formatCheckpoint(checkpoint: CheckpointInput): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  checkLine('origin', origin);
  checkSize(size);
  checkRoot(rootHash);
  extensions.forEach((line, i) => checkLine(`extension line ${i + 1}`, line));
  return [origin, String(size), toBase64(rootHash), ...extensions].map((line) => `${line}\n`).join('');
}

/**
 * Parses a checkpoint body strictly: text ends in '\n'; origin non-empty; size
 * decimal without leading zeros (except "0") and a safe integer; root strict
 * base64 of exactly 32 bytes; extension lines non-empty. Throws
 * InvalidCheckpointError (`INVALID_CHECKPOINT`) naming the faulty line.
 * @example parseCheckpoint('example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n').size // 0
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw new InvalidCheckpointError('checkpoint must end in a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) {
    throw new InvalidCheckpointError(`checkpoint needs origin, size and root hash lines, got ${lines.length} line(s)`);
  }
  checkLine('origin', origin);
  if (!DECIMAL.test(sizeLine)) {
    throw new InvalidCheckpointError(`checkpoint size ${JSON.stringify(sizeLine)} is not decimal without leading zeros`);
  }
  if (BigInt(sizeLine) > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidCheckpointError(`checkpoint size ${sizeLine} exceeds ${Number.MAX_SAFE_INTEGER}`);
  }
  const rootHash = fromBase64(rootLine);
  if (!rootHash) throw new InvalidCheckpointError(`checkpoint root hash ${JSON.stringify(rootLine)} is not strict base64`);
  checkRoot(rootHash);
  extensions.forEach((line, i) => checkLine(`extension line ${i + 1}`, line));
  return { origin, size: Number(sizeLine), rootHash, extensions };
}

/**
 * A tenant's log origin, `<prefix>/<tenant>` (DESIGN §2), which is also its note
 * key name: so it must be a valid key name, the prefix must not end in '/', and
 * the tenant must not contain '/' (one origin, one tenant).
 * @example originFor('ledger.example.com', 'acme') // 'ledger.example.com/acme'
 */
export function originFor(prefix: string, tenant: string): string {
  if (prefix === '' || prefix.endsWith('/')) throw new InvalidCheckpointError(`invalid log prefix ${JSON.stringify(prefix)}`);
  if (tenant === '' || tenant.includes('/')) throw new InvalidCheckpointError(`invalid tenant ${JSON.stringify(tenant)}`);
  const origin = `${prefix}/${tenant}`;
  if (!isValidKeyName(origin)) throw new InvalidCheckpointError(`origin ${JSON.stringify(origin)} is not a valid key name`);
  return origin;
}

/**
 * Signs a checkpoint as a note. The signer's key name must equal the origin
 * (C2SP tlog-checkpoint), else CheckpointOriginMismatchError; the body is
 * checked as by {@link formatCheckpoint}; signing errors are those of signNote.
 * @example await signCheckpoint({ origin: signer.name, size, rootHash }, signer)
 */
export async function signCheckpoint(checkpoint: CheckpointInput, signer: NoteSigner): Promise<string> {
  const body = formatCheckpoint(checkpoint);
  if (signer.name !== checkpoint.origin) {
    throw new CheckpointOriginMismatchError('signer key name must equal the checkpoint origin', checkpoint.origin, signer.name);
  }
  return signNote(body, [signer]);
}

/**
 * Verifies a signed checkpoint with the log's verifier and parses it. The
 * verifier's key name and the checkpoint's origin must both equal `origin`
 * (CheckpointOriginMismatchError); note and signature errors are those of
 * {@link openNote} (other signatures, e.g. witnesses', are ignored); a bad
 * body is InvalidCheckpointError.
 * @example openCheckpoint(note, new Ed25519NoteVerifier(vkey), { origin: 'ledger.example.com/acme' }).size
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifier: NoteVerifier,
  options: { readonly origin: string },
): Checkpoint {
  if (verifier.name !== options.origin) {
    throw new CheckpointOriginMismatchError('verifier key name must equal the log origin', options.origin, verifier.name);
  }
  const { text } = openNote(note, [verifier]);
  const checkpoint = parseCheckpoint(text);
  if (checkpoint.origin !== options.origin) {
    throw new CheckpointOriginMismatchError('checkpoint is for another log', options.origin, checkpoint.origin);
  }
  return checkpoint;
}
