/**
 * The projection provisioner: a CloudFormation custom resource of the
 * stateful stack (`lib/constructs/projection-provisioner.ts`) that readies the
 * projection database at deploy time, so no one runs SQL by hand.
 *
 * On Create and Update, as the Aurora admin user (credentials read from the
 * cluster's secret, again before every connection attempt: rotation may
 * change them), on the writer endpoint (RDS Proxy admits IAM logins only):
 * 1. `migrateProjection`: frozen migrations, each applied once, whoever ran it before;
 * 2. each projection role gets `LOGIN`, loses any password (`PASSWORD NULL`)
 *    and joins `rds_iam`, so it logs in with an IAM token and nothing else.
 *    Idempotent, and serialised by an advisory lock with concurrent runs.
 * On Delete it does nothing: the database lives and dies with the retained cluster.
 *
 * The resource's `MigrationsHash` property is {@link migrationsHash}, so a
 * deployment shipping a new migration changes it and CloudFormation sends an
 * Update. A hash differing from the bundled migrations' is logged, not
 * refused: a rollback sends the old properties to the new code, and
 * migrations only ever move forward.
 */
import { createHash } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { sql, type Kysely } from 'kysely';
import * as z from 'zod';
import { isUnavailable } from '../adapters/postgres/postgres-database.js';
import { MIGRATIONS, migrateProjection, PROJECTION_ROLES, type FrozenMigration } from '../adapters/postgres/postgres-migrations.js';
import type { Logger } from './http/logger.js';

/** The role Aurora PostgreSQL lets log in with IAM auth tokens (RDS Proxy end-to-end IAM). */
export const RDS_IAM_ROLE = 'rds_iam';
/** The custom resource's physical id: one provisioned projection per cluster. */
export const PROVISIONED_PROJECTION_ID = 'govledger-projection';

/** What the provisioner could not do; `cause` is passed on. */
export class ProvisioningError extends Error {
  /** `ADMIN_SECRET_INVALID`: the secret is not JSON with `username` and `password`. `RDS_IAM_ROLE_MISSING`: not an RDS database. */
  readonly code: 'ADMIN_SECRET_INVALID' | 'RDS_IAM_ROLE_MISSING';
  constructor(code: ProvisioningError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProvisioningError';
    this.code = code;
  }
}

/** The admin login, from the cluster's Secrets Manager secret. */
export interface AdminCredentials {
  readonly username: string;
  readonly password: string;
}

/** What the provisioner needs from its entry (AWS) or a test (embedded PostgreSQL). */
export interface ProvisionProjectionOptions {
  /** The admin secret's current `SecretString` (JSON, as RDS writes it). */
  readonly readSecret: () => Promise<string>;
  /** A connection pool as `credentials` on the writer; the provisioner destroys it. */
  readonly connect: (credentials: AdminCredentials) => Kysely<unknown>;
  readonly logger: Logger;
  /** Default: the shipped {@link MIGRATIONS}. */
  readonly migrations?: readonly FrozenMigration[];
  /** Connection attempts before giving up (default 6: a paused Aurora takes ~15 s to resume). */
  readonly attempts?: number;
  /** Waits between attempts: 1 s, 2 s, 4 s… by default. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What CloudFormation gets back (custom resource provider framework's `onEvent` response). */
export interface ProvisionProjectionResult {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly MigrationsHash: string; readonly Applied: string; readonly Latest: string };
}

/**
 * SHA-256 (hex) over every migration's name and SQL, in order: the custom
 * resource's `MigrationsHash` property.
 *
 * @example
 * new CustomResource(this, 'Provisioning', { serviceToken, properties: { MigrationsHash: migrationsHash() } });
 */
export function migrationsHash(migrations: readonly FrozenMigration[] = MIGRATIONS): string {
  return createHash('sha256').update(JSON.stringify(migrations.map((m) => [m.name, m.sql]))).digest('hex');
}

const adminSecret = z.object({ username: z.string().min(1), password: z.string().min(1) });

/** Parses the RDS-managed secret (`{"engine":…,"username":…,"password":…,…}`); the error never holds the secret. */
export function parseAdminSecret(secretString: string): AdminCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new ProvisioningError('ADMIN_SECRET_INVALID', 'the admin secret is not JSON');
  }
  const credentials = adminSecret.safeParse(parsed);
  if (!credentials.success) throw new ProvisioningError('ADMIN_SECRET_INVALID', 'the admin secret has no username and password');
  return credentials.data;
}

/** Worth another attempt: the database unreachable for now (a paused writer resuming), or SQLSTATE 28P01, a password a rotation in flight has just replaced. */
const retryable = (error: unknown) => isUnavailable(error) || (error as { code?: unknown } | null)?.code === '28P01';

/**
 * Builds the custom resource handler.
 *
 * @example
 * const provision = provisionProjectionHandler({ readSecret, connect: (c) => openPostgres({ …, user: c.username, password: c.password, ssl: true }), logger });
 * await provision({ RequestType: 'Create', ResourceProperties: { MigrationsHash: migrationsHash() }, … });
 */
export function provisionProjectionHandler(options: ProvisionProjectionOptions): (event: CloudFormationCustomResourceEvent) => Promise<ProvisionProjectionResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  const attempts = options.attempts ?? 6;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError('attempts must be a positive integer');

  /** A pool that has answered `SELECT 1`, retrying what a resume or a rotation explains. */
  async function connected(): Promise<Kysely<unknown>> {
    for (let attempt = 1; ; attempt++) {
      const db = options.connect(parseAdminSecret(await options.readSecret()));
      try {
        await sql`SELECT 1`.execute(db);
        return db;
      } catch (error) {
        await db.destroy();
        if (attempt >= attempts || !retryable(error)) throw error;
        options.logger.warn('projection database not reachable as admin yet; retrying', { attempt, error: error instanceof Error ? error.message : String(error) });
        await sleep(1000 * 2 ** (attempt - 1));
      }
    }
  }

  return async (event) => {
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
    const hash = migrationsHash(migrations);
    const requested = (event.ResourceProperties as { MigrationsHash?: unknown }).MigrationsHash;
    if (requested !== hash) options.logger.warn('MigrationsHash differs from the bundled migrations (a rollback?); applying the bundled ones', { requested, bundled: hash });
    const db = await connected();
    try {
      const { results = [] } = await migrateProjection(db, migrations);
      await allowIamLogin(db);
      return {
        PhysicalResourceId: event.RequestType === 'Create' ? PROVISIONED_PROJECTION_ID : event.PhysicalResourceId,
        Data: { MigrationsHash: hash, Applied: results.map((r) => r.migrationName).join(','), Latest: migrations.at(-1)?.name ?? '' },
      };
    } finally {
      await db.destroy();
    }
  };
}

/** LOGIN, no password, member of `rds_iam`, for each projection role, in one transaction. */
async function allowIamLogin(db: Kysely<unknown>): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('govledger/provision-projection'))`.execute(tx);
    const { rows } = await sql`SELECT 1 FROM pg_roles WHERE rolname = ${RDS_IAM_ROLE}`.execute(tx);
    if (rows.length === 0) throw new ProvisioningError('RDS_IAM_ROLE_MISSING', `role ${RDS_IAM_ROLE} does not exist: not an Amazon RDS / Aurora PostgreSQL database`);
    for (const role of Object.values(PROJECTION_ROLES)) {
      await sql`ALTER ROLE ${sql.id(role)} WITH LOGIN PASSWORD NULL`.execute(tx);
      const { rows: member } = await sql`SELECT 1 FROM pg_auth_members WHERE roleid = ${RDS_IAM_ROLE}::regrole AND member = ${role}::regrole`.execute(tx);
      if (member.length === 0) await sql`GRANT ${sql.id(RDS_IAM_ROLE)} TO ${sql.id(role)}`.execute(tx);
    }
  });
}
