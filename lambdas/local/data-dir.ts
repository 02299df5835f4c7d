/**
 * The local runtime's data directory (DESIGN §6): `${GOVLEDGER_DATA_DIR:-.govledger}`,
 * private to its owner, and held by one govledger process at a time through
 * `<dataDir>/lock`, because the embedded engines (LevelDB, the S3 file store)
 * must never have two writers.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Thrown when a live process holds the data directory's lock. */
export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  /** The holder's PID. */
  readonly pid: number;
  /** The lock file's path. */
  readonly lockPath: string;
  constructor(pid: number, lockPath: string, options?: { cause?: unknown }) {
    super(`another govledger is running with this data directory (pid ${pid}); stop it or set GOVLEDGER_DATA_DIR`, options);
    this.name = new.target.name;
    this.pid = pid;
    this.lockPath = lockPath;
  }
}

/** A held lock; `release()` removes the lock file if it is still ours (idempotent). */
export interface DataDirLock {
  readonly dataDir: string;
  readonly lockPath: string;
  release(): Promise<void>;
}

/** A takeover that crashed midway leaves its mutex; older than this, it is removed. */
const STALE_TAKEOVER_MS = 10_000;
const TAKEOVER_WAIT_MS = 3_000;
/** Lock paths this process holds: a lock naming our own PID is stale unless listed here (PID reuse across container restarts). */
const held = new Set<string>();

const errorCode = (error: unknown): string | undefined => (error as { code?: string } | null)?.code;
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * The data directory's absolute path: `GOVLEDGER_DATA_DIR` when set and not
 * empty, else `.govledger`, resolved against `cwd`.
 *
 * @example
 * resolveDataDir({ GOVLEDGER_DATA_DIR: '/var/lib/govledger' }); // '/var/lib/govledger'
 */
export function resolveDataDir(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const configured = env.GOVLEDGER_DATA_DIR?.trim();
  return resolve(cwd, configured ? configured : '.govledger');
}

/**
 * Resolves the data directory, creates it (mode 0700, parents as needed; an
 * existing directory's mode is left alone) and takes its lock.
 * Throws DataDirLockedError while another live process holds it.
 *
 * @example
 * const lock = await openDataDir();
 * try { await run(lock.dataDir); } finally { await lock.release(); }
 */
export async function openDataDir(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Promise<DataDirLock> {
  const dataDir = resolveDataDir(env, cwd);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  return lockDataDir(dataDir);
}

/**
 * Takes `<dataDir>/lock`, which holds our PID: created complete and exclusively
 * (a temp file hard-linked into place, so no reader ever sees it empty). An
 * existing lock whose PID is not alive, or is unparsable, is taken over under
 * a short-lived mutex (`lock.takeover`) so two starters cannot both win. A
 * PID that is alive, even one owned by another user, means the lock is held.
 *
 * @example
 * const lock = await lockDataDir('/tmp/gl'); // DataDirLockedError if another govledger runs there
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const lockPath = join(dataDir, 'lock');
  if (held.has(lockPath)) throw new DataDirLockedError(process.pid, lockPath);
  for (;;) {
    if (await createLockFile(lockPath)) break;
    const holder = await readHolder(lockPath);
    if (holder === 'gone') continue; // released between our attempt and the read
    if (holder !== undefined && isAlive(holder, lockPath)) throw new DataDirLockedError(holder, lockPath);
    if (await takeOver(lockPath, holder)) break;
  }
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => {
    released ??= (async () => {
      held.delete(lockPath);
      if ((await readHolder(lockPath)) === process.pid) await rm(lockPath, { force: true });
    })();
    return released;
  };
  return { dataDir, lockPath, release };
}

/** True when `lockPath` was created with our PID; false when it already exists. */
async function createLockFile(lockPath: string): Promise<boolean> {
  const tmp = `${lockPath}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${process.pid}\n`);
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, lockPath);
    held.add(lockPath); // at once: a concurrent caller in this process must see our PID as live
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The lock's PID, undefined when unparsable, 'gone' when the file does not exist. */
async function readHolder(lockPath: string): Promise<number | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'gone';
    throw error;
  }
  const pid = /^\s*(\d{1,10})\s*$/.exec(text)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/** `kill(pid, 0)` probes without signalling: EPERM means alive under another user. Our own PID counts only if we hold the lock. */
function isAlive(pid: number, lockPath: string): boolean {
  if (pid <= 0) return false;
  if (pid === process.pid) return held.has(lockPath);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/**
 * Replaces a stale lock while holding the takeover mutex: only a mutex holder
 * may delete a lock, so between our re-read and the delete nobody else can
 * replace it. False when someone else changed the lock first (the caller loops).
 */
async function takeOver(lockPath: string, stalePid: number | undefined): Promise<boolean> {
  const mutex = `${lockPath}.takeover`;
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  for (;;) {
    try {
      await (await open(mutex, 'wx', 0o600)).close();
      break;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
      const age = await stat(mutex).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_TAKEOVER_MS) await rm(mutex, { force: true });
      else if (Date.now() > deadline) throw new Error(`cannot take over the stale lock ${lockPath}: ${mutex} is held; remove it if no govledger is starting`);
      else await sleep(25);
    }
  }
  try {
    const holder = await readHolder(lockPath);
    if (holder !== stalePid && holder !== 'gone') return false;
    await rm(lockPath, { force: true });
    return await createLockFile(lockPath);
  } finally {
    await rm(mutex, { force: true });
  }
}
