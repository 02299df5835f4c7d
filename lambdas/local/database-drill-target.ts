/**
 * The local drill's `database` target (issue 8: "Locally `npx govledger
 * drill` does the same with copies of the data directory's engines"), the
 * counterpart of the Aurora PITR restore on AWS. A file copy of a running
 * PostgreSQL is not consistent, so the backup is an online base backup
 * (`takeOnlineBackup`) of the live embedded server, taken without stopping
 * it. The restore starts a scratch PostgreSQL on that copy (an ephemeral
 * port, under `<dataDir>/drills/`), which replays the copied WAL before it
 * accepts connections, and opens the projection there with the production
 * adapters, as the same roles as the live server.
 *
 * Beyond the drill's comparison with the ledger, the restored copy must hold
 * every row the live projection had committed (its contiguous
 * `projected_through` per tenant) before the backup began: a backup that lost
 * committed rows fails the drill with `RESTORE_LOST_COMMITTED`, never a
 * quietly larger RPO.
 */
import { userInfo } from 'node:os';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { OpenedCopy } from '../adapters/aws/aurora-pitr-restore.js';
import { projectionLogins, startEmbeddedPostgres, type EmbeddedPostgres } from '../adapters/postgres/embedded-server.js';
import { takeOnlineBackup } from '../adapters/postgres/online-backup.js';
import { openPostgres, type PostgresConnectionConfig } from '../adapters/postgres/postgres-database.js';
import { PostgresProjectionWriter } from '../adapters/postgres/postgres-projection-store.js';
import type { ChangeCopy } from '../ports/change-stream.js';
import type { RestoredCopy, RestoreTarget } from '../ports/restore-target.js';
import type { KeyService } from '../services/key-service.js';
import { Projector } from '../services/projector.js';

/** The restored database lacks rows the live one had committed before the backup began. */
export class RestoreLostCommittedError extends Error {
  readonly code = 'RESTORE_LOST_COMMITTED';
  readonly tenant: string;
  /** The positions at or below `committedThrough` the restored copy lacks, ascending. */
  readonly missing: readonly number[];
  readonly committedThrough: number;
  constructor(tenant: string, missing: readonly number[], committedThrough: number) {
    const span = missing.length === 1 ? `position ${missing[0]}` : `${missing.length} rows between positions ${missing[0]} and ${missing.at(-1)}`;
    super(`${tenant}: the restored database lacks ${span}, committed (through position ${committedThrough}) before the backup began`);
    this.name = new.target.name;
    this.tenant = tenant;
    this.missing = missing;
    this.committedThrough = committedThrough;
  }
}

/** The live server to back up, how to read the copy, and what it must hold. */
export interface LocalDatabaseCopyOptions {
  /** The live server's superuser, on the projection database (`postgresSuperuser` in engines.ts). */
  readonly admin: PostgresConnectionConfig;
  /** Decrypts the restored rows' payloads, so the copy answers the leaf hashes of what it would serve. */
  readonly keys: Pick<KeyService, 'dataKeyForRead'>;
  /** Per tenant, the live projection's contiguous `projected_through`; read just before the backup begins. */
  readonly committed?: () => Promise<ReadonlyMap<string, number>>;
  /** Runs on the scratch server once it has recovered, before the copy is opened (drills of a damaged backup). */
  readonly onRecovered?: (scratch: PostgresConnectionConfig) => Promise<void>;
  readonly clock?: () => Date;
}

/**
 * Restores the projection database from an online base backup into a
 * scratch PostgreSQL; `teardown` stops it and deletes the copy.
 *
 * @example
 * const target = new LocalDatabaseCopy(dataDir, { admin: await postgresSuperuser(dataDir, clients.postgres.reader), keys: services.keys });
 * const [report] = await runDrill(deps, [target], ['acme']);
 */
export class LocalDatabaseCopy implements RestoreTarget {
  readonly name = 'database';
  readonly #dataDir: string;
  readonly #o: LocalDatabaseCopyOptions;
  #scratch: string | undefined;
  #server: EmbeddedPostgres | undefined;
  #copy: OpenedCopy | undefined;

  constructor(dataDir: string, options: LocalDatabaseCopyOptions) {
    this.#dataDir = dataDir;
    this.#o = options;
  }

  async restore(): Promise<RestoredCopy> {
    const drills = join(this.#dataDir, 'drills');
    await mkdir(drills, { recursive: true, mode: 0o700 });
    // As root PostgreSQL runs as the `postgres` user, which must traverse to its copy (not list what is beside it).
    if (userInfo().uid === 0) await chmod(drills, 0o711);
    const scratch = (this.#scratch = await mkdtemp(join(drills, `${this.name}-`)));
    const committed = (await this.#o.committed?.()) ?? new Map<string, number>();
    const { admin } = this.#o;
    const backup = await takeOnlineBackup({ admin, target: join(scratch, 'postgres'), label: `govledger drill ${basename(scratch)}`, ...(this.#o.clock ? { clock: this.#o.clock } : {}) });
    // The copy keeps the live superuser's password; the embedded server reads it from a file.
    const passwordFile = join(scratch, 'password');
    await writeFile(passwordFile, `${typeof admin.password === 'function' ? await admin.password() : admin.password}\n`, { mode: 0o600 });
    this.#server = await startEmbeddedPostgres({ dir: backup.dir, passwordFile, ephemeral: true });
    const scratchAdmin = this.#server.admin(admin.database);
    await this.#o.onRecovered?.(scratchAdmin);
    this.#copy = openProjectionCopy(projectionLogins(scratchAdmin).projector, this.#o.keys);
    return { kind: 'copy', copy: holdingCommitted(this.#copy, committed), restoredTo: backup.startedAt };
  }

  /** Closes the copy's connections, stops the scratch server and deletes the copy; safe after a partial restore, and twice. */
  async teardown(): Promise<void> {
    const [copy, server, scratch] = [this.#copy, this.#server, this.#scratch];
    this.#copy = this.#server = this.#scratch = undefined;
    try {
      await copy?.close();
    } finally {
      try {
        await server?.stop();
      } finally {
        if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
      }
    }
  }
}

/** The projection (the production `Projector` over the Postgres store) on another server, as the projector role. */
function openProjectionCopy(login: PostgresConnectionConfig, keys: Pick<KeyService, 'dataKeyForRead'>): OpenedCopy {
  const db = openPostgres({ ...login, max: 2 });
  const projector = new Projector(new PostgresProjectionWriter(db), keys);
  return { name: projector.name, leafHashes: (tenant, from, to) => projector.leafHashes(tenant, from, to), close: () => db.destroy() };
}

/** `copy`, whose answers must include every position up to the tenant's committed one (else `RestoreLostCommittedError`). */
function holdingCommitted(copy: Pick<ChangeCopy, 'name' | 'leafHashes'>, committed: ReadonlyMap<string, number>): Pick<ChangeCopy, 'name' | 'leafHashes'> {
  return {
    name: copy.name,
    async leafHashes(tenant, from, to) {
      const held = await copy.leafHashes(tenant, from, to);
      const through = committed.get(tenant) ?? -1;
      const missing: number[] = [];
      for (let p = from; p <= Math.min(through, to - 1); p++) if (!held.has(p)) missing.push(p);
      if (missing.length > 0) throw new RestoreLostCommittedError(tenant, missing, through);
      return held;
    },
  };
}
