/**
 * Local master key (DESIGN §6): 32 random bytes in `<dataDir>/keys/master.key`,
 * wrapping KEKs with the core AES-256-GCM key wrap. Also home of the key file
 * rules shared with the local signing key ({@link openKeyFile}).
 */
import { createHash, createSecretKey, type KeyObject, randomBytes, randomFillSync } from 'node:crypto';
import { chmod, link, mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fromBase64 } from '../../core/bytes.js';
import { unwrapKey, wrapKey } from '../../core/payload-envelope.js';
import { KeyFileError, KeyUnavailableError } from '../../ports/errors.js';
import type { GeneratedKek, KekContext, MasterKey } from '../../ports/master-key.js';

const KEY_BYTES = 32;
/** A key file is one short line; anything longer is not ours. */
const MAX_FILE_BYTES = 1024;
const MASTER_PREFIX = 'govledger-master-key-v1:';
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** What a key file holds: `<prefix><base64 of length bytes>\n`. */
export interface KeyFileFormat {
  readonly prefix: string;
  readonly length: number;
  /** For messages, e.g. "master key". */
  readonly what: string;
}

const errorCode = (error: unknown): string | undefined => (error as { code?: string } | null)?.code;

/** Owner and mode rules; skipped on Windows, which has no POSIX modes. */
function checkAccess(path: string, stat: { mode: number; uid: number }): void {
  if (process.platform === 'win32') return;
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new KeyFileError(path, `owned by uid ${stat.uid}, not by the current user (uid ${uid}); run as its owner or chown it to uid ${uid}`);
  }
  if ((stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
    throw new KeyFileError(path, `permissions ${mode} let group or others access the key; run chmod 600 ${path}`);
  }
}

/** The key bytes, or undefined when the file does not exist. Checks type, owner and mode before reading. */
async function readKeyFile(path: string, format: KeyFileFormat): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    if (errorCode(cause) === 'ENOENT') return undefined;
    throw new KeyFileError(path, `cannot open the ${format.what} file (${errorCode(cause) ?? 'error'}); check the path and its permissions`, { cause });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new KeyFileError(path, `not a regular file; move it away and restore the ${format.what} file`);
    checkAccess(path, stat);
    const raw = stat.size <= MAX_FILE_BYTES ? await handle.readFile() : undefined;
    const key = raw && parseKeyFile(raw, format);
    raw?.fill(0);
    if (!key) {
      throw new KeyFileError(path, `corrupt ${format.what} file: expected one line "${format.prefix}<base64 of ${format.length} bytes>"; restore it from backup`);
    }
    return key;
  } finally {
    await handle.close();
  }
}

function parseKeyFile(raw: Buffer, { prefix, length }: KeyFileFormat): Buffer | undefined {
  let text: string;
  try {
    text = strictUtf8.decode(raw);
  } catch {
    return undefined;
  }
  if (!text.startsWith(prefix)) return undefined;
  const body = text.endsWith('\n') ? text.slice(prefix.length, -1) : text.slice(prefix.length);
  const bytes = fromBase64(body);
  return bytes?.length === length ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) : undefined;
}

/** Writes a temp file (0600, fsynced) and hard-links it into place: atomic, and never replaces an existing key. */
async function createKeyFile(path: string, format: KeyFileFormat): Promise<void> {
  const dir = dirname(path);
  const tmp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  const key = randomBytes(format.length);
  try {
    await mkdir(dirname(dir), { recursive: true });
    await mkdir(dir, { mode: 0o700 }).then(() => chmod(dir, 0o700), (error: unknown) => {
      if (errorCode(error) !== 'EEXIST') throw error;
    });
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.chmod(0o600);
      await handle.writeFile(`${format.prefix}${key.toString('base64')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(tmp, path).catch((error: unknown) => {
      if (errorCode(error) !== 'EEXIST') throw error; // created concurrently: keep theirs
    });
    if (process.platform !== 'win32') { // make the new name durable too
      const dirHandle = await open(dir, 'r');
      await dirHandle.sync().finally(() => dirHandle.close());
    }
  } catch (cause) {
    throw new KeyFileError(path, `cannot create the ${format.what} file (${errorCode(cause) ?? 'error'}); check that ${dir} is writable`, { cause });
  } finally {
    key.fill(0);
    await rm(tmp, { force: true });
  }
}

/**
 * Opens a key file, creating it first when missing and `create` is set. Refuses
 * (KeyFileError naming the path and the fix) a missing file without `create`, a
 * corrupt one, one that group or others may access, or one owned by another user.
 * Never overwrites an existing file. The caller zeroes the returned buffer.
 * @example const seed = await openKeyFile(path, { prefix: 'govledger-ed25519-v1:', length: 32, what: 'signing key' }, { create: true });
 */
export async function openKeyFile(path: string, format: KeyFileFormat, options: { readonly create: boolean }): Promise<Buffer> {
  const existing = await readKeyFile(path, format);
  if (existing) return existing;
  if (!options.create) {
    throw new KeyFileError(path, `no ${format.what} file; restore it from backup (data protected by the old key is unreadable without it), or start with key creation enabled for a new data directory`);
  }
  await createKeyFile(path, format);
  const created = await readKeyFile(path, format);
  if (!created) throw new KeyFileError(path, `the ${format.what} file vanished right after creation; check what else writes to ${dirname(path)}`);
  return created;
}

/** AES-GCM AAD context of a wrapped KEK; a bad context is a caller bug (RangeError). */
function wrapContext({ tenant, kekVersion }: KekContext): { purpose: string; tenant: string; kekVersion: number } {
  if (typeof tenant !== 'string' || tenant === '') throw new RangeError('KEK context: tenant must be a non-empty string');
  if (!Number.isSafeInteger(kekVersion) || kekVersion < 1) throw new RangeError('KEK context: kekVersion must be an integer ≥ 1');
  return { purpose: 'govledger/kek', tenant, kekVersion };
}

/**
 * {@link MasterKey} from a local key file (`govledger-master-key-v1:<base64>`).
 * A wrapped KEK is the UTF-8 JSON of core `wrapKey(master, kek, { purpose:
 * 'govledger/kek', tenant, kekVersion })`; any unwrap failure is a
 * KeyUnavailableError. No I/O after `open`; calls are independent.
 *
 * @example
 * const master = await FileMasterKey.open('.govledger', { create: true });
 * const { plaintext, wrapped } = await master.generateKek({ tenant: 'acme', kekVersion: 1 });
 */
export class FileMasterKey implements MasterKey {
  /** `local:` + the first 16 hex digits of SHA-256(key). */
  readonly keyId: string;
  /** The key file's path. */
  readonly path: string;
  readonly #key: KeyObject;

  private constructor(path: string, key: Buffer) {
    this.path = path;
    this.keyId = `local:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
    this.#key = createSecretKey(key);
  }

  /** Opens `<dataDir>/keys/master.key` as {@link openKeyFile} does; throws KeyFileError. */
  static async open(dataDir: string, options: { readonly create: boolean }): Promise<FileMasterKey> {
    const path = join(dataDir, 'keys', 'master.key');
    const key = await openKeyFile(path, { prefix: MASTER_PREFIX, length: KEY_BYTES, what: 'master key' }, options);
    try {
      return new FileMasterKey(path, key);
    } finally {
      key.fill(0);
    }
  }

  async generateKek(context: KekContext): Promise<GeneratedKek> {
    const aad = wrapContext(context);
    const plaintext = randomFillSync(new Uint8Array(KEY_BYTES));
    const wrapped = encoder.encode(JSON.stringify(wrapKey(this.#key, plaintext, aad)));
    return { plaintext, wrapped };
  }

  async unwrapKek(wrapped: Uint8Array, context: KekContext): Promise<Uint8Array> {
    const aad = wrapContext(context);
    let kek: Uint8Array | undefined;
    let cause: unknown;
    try {
      kek = unwrapKey(this.#key, JSON.parse(strictUtf8.decode(wrapped)), aad);
    } catch (error) {
      cause = error;
    }
    if (kek?.length === KEY_BYTES) return kek;
    kek?.fill(0);
    throw new KeyUnavailableError(
      `cannot unwrap the KEK of tenant ${context.tenant} v${context.kekVersion} with master key ${this.keyId}: ` +
        'wrong tenant or version, another master key, or altered bytes', { cause });
  }
}
