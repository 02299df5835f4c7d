import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresConnectionConfig } from '../../lambdas/adapters/postgres/postgres-database.js';
import { allowPasswordLogin, MIGRATIONS, PROJECTION_ROLES, type FrozenMigration } from '../../lambdas/adapters/postgres/postgres-migrations.js';
import {
  migrationsHash,
  PROVISIONED_PROJECTION_ID,
  provisionProjectionHandler,
  ProvisioningError,
  RDS_IAM_ROLE,
  type AdminCredentials,
  type ProvisionProjectionOptions,
} from '../../lambdas/handlers/provision-projection.js';
import { startPostgres, type PostgresHandle } from '../support/postgres.js';

let pg: PostgresHandle;
let databases = 0;
const ROLES = Object.values(PROJECTION_ROLES);
const open: Array<Kysely<unknown>> = [];

/** A pool on the test cluster, closed after the file. */
function pool(config: PostgresConnectionConfig): Kysely<unknown> {
  const db = openPostgres({ max: 1, ...config }) as Kysely<unknown>;
  open.push(db);
  return db;
}

beforeAll(async () => {
  pg = await startPostgres();
  // Embedded PostgreSQL is not Aurora: a stand-in for the role RDS creates.
  await sql`CREATE ROLE rds_iam NOLOGIN`.execute(pool(pg.server.admin()));
}, 60_000);
afterAll(async () => {
  await Promise.all(open.splice(0).map((db) => db.destroy()));
  await pg?.stop();
});

/** An empty database, the RDS-shaped admin secret for it, and a superuser handle to look with. */
async function freshDatabase() {
  const name = `provision_${process.pid}_${++databases}`;
  await pg.server.ensureDatabase(name);
  const admin = pg.server.admin(name);
  const secret = JSON.stringify({ engine: 'postgres', host: admin.host, port: admin.port, dbname: name, username: admin.user, password: admin.password });
  return { name, admin, secret, observer: pool(admin) };
}

/** A provisioner on `admin`'s database: the real connection factory, a recorded logger and no real waiting. */
function provisioner(admin: PostgresConnectionConfig, secrets: () => Promise<string>, options: Partial<ProvisionProjectionOptions> = {}) {
  const warnings: Array<{ message: string; fields?: Readonly<Record<string, unknown>> }> = [];
  const sleeps: number[] = [];
  const handler = provisionProjectionHandler({
    readSecret: secrets,
    connect: (c: AdminCredentials) => pool({ ...admin, user: c.username, password: c.password }),
    logger: { warn: (message, fields) => warnings.push({ message, ...(fields ? { fields } : {}) }), error: () => undefined },
    sleep: async (ms) => void sleeps.push(ms),
    ...options,
  });
  return { handler, warnings, sleeps };
}

const BASE = { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:framework', ResponseURL: 'https://example.invalid/response', StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/govledger-test-stateful/1', RequestId: 'r-1', LogicalResourceId: 'DatabaseProvisioning', ResourceType: 'Custom::GovledgerProjectionDatabase' };
const props = (hash = migrationsHash()) => ({ ServiceToken: BASE.ServiceToken, MigrationsHash: hash });
const create = (hash?: string): CloudFormationCustomResourceEvent => ({ ...BASE, RequestType: 'Create', ResourceProperties: props(hash) });
const update = (hash?: string): CloudFormationCustomResourceEvent => ({ ...BASE, RequestType: 'Update', PhysicalResourceId: PROVISIONED_PROJECTION_ID, ResourceProperties: props(hash), OldResourceProperties: props('0'.repeat(64)) });

async function appliedMigrations(db: Kysely<unknown>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT name FROM govledger.kysely_migration ORDER BY name`.execute(db);
  return rows.map((r) => r.name);
}

/** What each projection role may do at login, from the catalog. */
async function roles(db: Kysely<unknown>) {
  const { rows } = await sql<{ rolname: string; login: boolean; password: boolean; elevated: boolean; iam: boolean; memberships: number }>`
    SELECT a.rolname, a.rolcanlogin AS login, a.rolpassword IS NOT NULL AS password,
           (a.rolsuper OR a.rolcreaterole OR a.rolcreatedb OR a.rolbypassrls OR a.rolreplication) AS elevated,
           pg_has_role(a.oid, ${RDS_IAM_ROLE}, 'MEMBER') AS iam,
           (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = a.oid AND m.roleid = ${RDS_IAM_ROLE}::regrole) AS memberships
      FROM pg_authid a WHERE a.rolname = ANY(${ROLES}) ORDER BY a.rolname`.execute(db);
  return rows;
}
const IAM_ONLY = ROLES.map((rolname) => ({ rolname, login: true, password: false, elevated: false, iam: true, memberships: 1 })).sort((a, b) => a.rolname.localeCompare(b.rolname));

/** The SQLSTATE of a failed login (undefined when it succeeds). */
const loginFailure = (config: PostgresConnectionConfig) => sql`SELECT 1`.execute(pool(config)).then(() => undefined, (e: { code?: string }) => e.code ?? 'no code');

describe('provisionProjectionHandler: Create and Update', () => {
  it('migrates a fresh database and lets the three roles log in as rds_iam members, without a password or any elevated attribute', async () => {
    // Prepare
    const { admin, secret, observer } = await freshDatabase();
    const { handler } = provisioner(admin, async () => secret);
    // Act
    const result = await handler(create());
    // Assess
    expect(result).toEqual({ PhysicalResourceId: PROVISIONED_PROJECTION_ID, Data: { MigrationsHash: migrationsHash(), Applied: MIGRATIONS.map((m) => m.name).join(','), Latest: MIGRATIONS.at(-1)!.name } });
    expect(await appliedMigrations(observer)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await roles(observer)).toEqual(IAM_ONLY);
  });

  it('runs again at the next deployment (Update) without applying anything twice or granting twice', async () => {
    // Prepare
    const { admin, secret, observer } = await freshDatabase();
    const { handler } = provisioner(admin, async () => secret);
    await handler(create());
    // Act
    const again = await handler(update());
    // Assess
    expect(again).toEqual({ PhysicalResourceId: PROVISIONED_PROJECTION_ID, Data: expect.objectContaining({ Applied: '' }) });
    expect(await appliedMigrations(observer)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await roles(observer)).toEqual(IAM_ONLY);
  });

  it('applies only the new migration when a deployment ships one (its MigrationsHash changed)', async () => {
    // Prepare
    const { admin, secret, observer } = await freshDatabase();
    const next: FrozenMigration[] = [...MIGRATIONS, { name: '2099-01-01T00-provisioning-probe', sql: 'CREATE TABLE govledger.provisioning_probe (id int)' }];
    await provisioner(admin, async () => secret).handler(create());
    // Act
    const result = await provisioner(admin, async () => secret, { migrations: next }).handler(update(migrationsHash(next)));
    // Assess
    expect(migrationsHash(next)).not.toBe(migrationsHash());
    expect(result.Data).toEqual({ MigrationsHash: migrationsHash(next), Applied: '2099-01-01T00-provisioning-probe', Latest: '2099-01-01T00-provisioning-probe' });
    expect(await appliedMigrations(observer)).toEqual(next.map((m) => m.name));
  });

  it('takes away a password a role had, so the only way in is an IAM token', async () => {
    // Prepare
    const { admin, secret, observer } = await freshDatabase();
    const { handler } = provisioner(admin, async () => secret);
    await handler(create());
    await allowPasswordLogin(observer, PROJECTION_ROLES.reader, 'left-behind-password');
    const reader = { ...admin, user: PROJECTION_ROLES.reader, password: 'left-behind-password' };
    expect(await loginFailure(reader)).toBeUndefined();
    // Act
    await handler(update());
    // Assess
    expect(await loginFailure(reader)).toBe('28P01');
    expect(await roles(observer)).toEqual(IAM_ONLY);
  });

  it('lets two runs race (a retried deployment): both succeed, each migration applied once', async () => {
    // Prepare
    const { admin, secret, observer } = await freshDatabase();
    const { handler } = provisioner(admin, async () => secret);
    // Act
    const results = await Promise.all([handler(create()), handler(create())]);
    // Assess
    expect(results.map((r) => r.Data?.Applied).sort()).toEqual(['', MIGRATIONS.map((m) => m.name).join(',')]);
    expect(await appliedMigrations(observer)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await roles(observer)).toEqual(IAM_ONLY);
  });

  it('applies the bundled migrations when the requested hash differs (a rollback), and says so', async () => {
    // Prepare
    const { admin, secret, observer } = await freshDatabase();
    const { handler, warnings } = provisioner(admin, async () => secret);
    // Act
    const result = await handler(update('f'.repeat(64)));
    // Assess
    expect(result.Data?.MigrationsHash).toBe(migrationsHash());
    expect(await appliedMigrations(observer)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(warnings).toEqual([{ message: expect.stringMatching(/MigrationsHash differs/), fields: { requested: 'f'.repeat(64), bundled: migrationsHash() } }]);
  });
});

describe('provisionProjectionHandler: Delete', () => {
  it('does nothing: no secret read, no connection, the data stays', async () => {
    // Prepare
    const { admin, secret, observer } = await freshDatabase();
    let reads = 0;
    const { handler } = provisioner(admin, async () => (reads++, secret));
    await handler(create());
    // Act
    const result = await handler({ ...BASE, RequestType: 'Delete', PhysicalResourceId: PROVISIONED_PROJECTION_ID, ResourceProperties: props() });
    // Assess
    expect(result).toEqual({ PhysicalResourceId: PROVISIONED_PROJECTION_ID });
    expect(reads).toBe(1);
    expect(await appliedMigrations(observer)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await roles(observer)).toEqual(IAM_ONLY);
  });
});

describe('provisionProjectionHandler: failures', () => {
  it('re-reads the secret and retries while a rotation has left the admin password stale', async () => {
    // Prepare
    const { admin, secret, observer } = await freshDatabase();
    const secrets = [JSON.stringify({ username: admin.user, password: 'rotated-away' }), secret];
    let reads = 0;
    const { handler, sleeps, warnings } = provisioner(admin, async () => secrets[Math.min(reads++, 1)]!);
    // Act
    await handler(create());
    // Assess
    expect(reads).toBe(2);
    expect(sleeps).toEqual([1000]);
    expect(warnings.map((w) => w.fields?.attempt)).toEqual([1]);
    expect(await appliedMigrations(observer)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it('gives up after the configured attempts with PostgreSQL\'s error, having changed nothing', async () => {
    // Prepare
    const { admin, observer } = await freshDatabase();
    const { handler, sleeps } = provisioner(admin, async () => JSON.stringify({ username: admin.user, password: 'wrong' }), { attempts: 3 });
    // Act
    const failure = await handler(create()).catch((e: { code?: string }) => e);
    // Assess
    expect(failure).toMatchObject({ code: '28P01' });
    expect(sleeps).toEqual([1000, 2000]);
    expect((await sql`SELECT to_regclass('govledger.kysely_migration') AS t`.execute(observer)).rows).toEqual([{ t: null }]);
  });

  it('fails at once on an error no retry can fix (the database does not exist)', async () => {
    // Prepare
    const { admin, secret } = await freshDatabase();
    const { handler, sleeps } = provisioner({ ...admin, database: 'no_such_database' }, async () => secret);
    // Act
    const failure = await handler(create()).catch((e: { code?: string }) => e);
    // Assess
    expect(failure).toMatchObject({ code: '3D000' });
    expect(sleeps).toEqual([]);
  });

  it.each([['not JSON', 'password=hunter2'], ['no password', '{"username":"postgres","pass":"hunter2"}']])('refuses a secret with %s, without repeating it', async (_, secretString) => {
    // Prepare
    const { admin } = await freshDatabase();
    const { handler } = provisioner(admin, async () => secretString);
    // Act
    const failure = await handler(create()).catch((e: unknown) => e);
    // Assess
    expect(failure).toBeInstanceOf(ProvisioningError);
    expect(failure).toMatchObject({ code: 'ADMIN_SECRET_INVALID' });
    expect(String((failure as Error).message)).not.toContain('hunter2');
  });

  it('refuses a database without rds_iam (not Aurora); once the role exists, the next run completes', async () => {
    // Prepare
    const { admin, secret, observer } = await freshDatabase();
    const { handler } = provisioner(admin, async () => secret);
    await handler(create());
    await sql`DROP ROLE rds_iam`.execute(observer);
    try {
      // Act
      const failure = await handler(update()).catch((e: unknown) => e);
      // Assess
      expect(failure).toMatchObject({ name: 'ProvisioningError', code: 'RDS_IAM_ROLE_MISSING' });
      expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${RDS_IAM_ROLE}`.execute(observer)).rows).toEqual([{ n: 0 }]);
    } finally {
      await sql`CREATE ROLE rds_iam NOLOGIN`.execute(observer);
    }
    expect(await handler(update())).toMatchObject({ PhysicalResourceId: PROVISIONED_PROJECTION_ID });
    expect(await roles(observer)).toEqual(IAM_ONLY);
  });
});

describe('migrationsHash', () => {
  it('changes when any migration\'s text changes by one character, and only then', () => {
    // Prepare
    const edited = MIGRATIONS.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql} ` } : m));
    // Assess
    expect(migrationsHash()).toMatch(/^[0-9a-f]{64}$/);
    expect(migrationsHash([...MIGRATIONS])).toBe(migrationsHash());
    expect(migrationsHash(edited)).not.toBe(migrationsHash());
  });
});
