/**
 * The projection's schema, as an ordered list of frozen migrations (STYLE
 * habit 15): ISO-date names, plain SQL, never edited once shipped (a test
 * pins each one's SHA-256): fix forward with a new one.
 *
 * What the first migration builds, in schema `govledger`:
 * - `entries`: one row per ledger entry, keyed by (tenant, position).
 *   Append-only *in the database*: a trigger refuses every UPDATE and DELETE
 *   and a statement trigger every TRUNCATE, whoever runs them, except the
 *   shredding purge: `purge_tenant_payloads(tenant)`, a SECURITY DEFINER
 *   function that sets a transaction-local flag and only turns decrypted
 *   payloads into NULL (state `shredded`); the trigger checks that nothing
 *   else in the row changed. Rows inserted later for a purged tenant are
 *   stored shredded (`shredded_tenants`, checked by an insert trigger).
 * - `projection_cursors`: per tenant, the contiguous `projected_through`.
 * - `change_cursors`: the local change tailer's cursor per consumer and tenant.
 * - Views `record_history` (every revision) and `current_records` (each
 *   record's latest revision), with the payload as jsonb.
 * - Roles (NOLOGIN; deployments grant LOGIN, a password or `rds_iam`):
 *   `govledger_projector` inserts rows and moves cursors, `govledger_reader`
 *   (the API) only SELECTs, `govledger_purger` may only run the purge.
 *   A superuser can still bypass triggers: the roles above are not ones.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from 'kysely';

/** Database roles the migrations create and grant to. */
export const PROJECTION_ROLES = { projector: 'govledger_projector', reader: 'govledger_reader', purger: 'govledger_purger' } as const;

/** One shipped migration: a name (ISO date first, so order is name order) and its SQL. */
export interface FrozenMigration {
  readonly name: string;
  readonly sql: string;
}

const INITIAL = `
CREATE SCHEMA IF NOT EXISTS govledger;

DO $roles$ BEGIN
  CREATE ROLE govledger_projector NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL; END $roles$;
DO $roles$ BEGIN
  CREATE ROLE govledger_reader NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL; END $roles$;
DO $roles$ BEGIN
  CREATE ROLE govledger_purger NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL; END $roles$;

CREATE TABLE govledger.entries (
  tenant          text COLLATE "C" NOT NULL,
  position        bigint NOT NULL CHECK (position >= 0),
  record_id       text COLLATE "C" NOT NULL,
  revision        bigint NOT NULL CHECK (revision >= 1),
  operation       text NOT NULL CHECK (operation IN ('CREATE', 'UPDATE', 'DELETE', 'SYSTEM')),
  stream          text COLLATE "C" NOT NULL,
  actor           text NOT NULL,
  correlation_id  text NOT NULL,
  idempotency_key text NOT NULL,
  generation      bigint NOT NULL,
  entry_timestamp text COLLATE "C" NOT NULL CHECK (entry_timestamp ~ '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{9}Z$'),
  prev_hash       bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
  leaf_hash       bytea NOT NULL CHECK (octet_length(leaf_hash) = 32),
  entry           bytea NOT NULL,
  envelope        jsonb NOT NULL,
  payload         text,
  payload_state   text NOT NULL CHECK (payload_state IN ('clear', 'decrypted', 'shredded')),
  projected_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant, position),
  CHECK ((payload IS NULL) = (payload_state = 'shredded'))
);
CREATE INDEX entries_by_record ON govledger.entries (tenant, record_id, position DESC);
CREATE INDEX entries_by_time ON govledger.entries (tenant, entry_timestamp);

CREATE TABLE govledger.projection_cursors (
  tenant            text COLLATE "C" PRIMARY KEY,
  projected_through bigint NOT NULL DEFAULT -1 CHECK (projected_through >= -1),
  updated_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE govledger.change_cursors (
  consumer      text COLLATE "C" NOT NULL,
  tenant        text COLLATE "C" NOT NULL,
  next_position bigint NOT NULL CHECK (next_position >= 0),
  updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (consumer, tenant)
);

CREATE TABLE govledger.shredded_tenants (
  tenant    text COLLATE "C" PRIMARY KEY,
  purged_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION govledger.entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE'
     AND current_setting('govledger.purge', true) = 'on'
     AND OLD.payload_state = 'decrypted' AND NEW.payload_state = 'shredded' AND NEW.payload IS NULL
     AND to_jsonb(NEW) - 'payload' - 'payload_state' = to_jsonb(OLD) - 'payload' - 'payload_state' THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'govledger.entries is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $fn$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON govledger.entries
  FOR EACH ROW EXECUTE FUNCTION govledger.entries_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON govledger.entries
  FOR EACH STATEMENT EXECUTE FUNCTION govledger.entries_append_only();

CREATE FUNCTION govledger.entries_shredded_on_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF NEW.payload_state = 'decrypted' AND EXISTS (SELECT 1 FROM govledger.shredded_tenants s WHERE s.tenant = NEW.tenant) THEN
    NEW.payload := NULL;
    NEW.payload_state := 'shredded';
  END IF;
  RETURN NEW;
END $fn$;
CREATE TRIGGER entries_shredded_on_insert BEFORE INSERT ON govledger.entries
  FOR EACH ROW EXECUTE FUNCTION govledger.entries_shredded_on_insert();

-- Locks the tenant's cursor row first, as every insert transaction does, so a
-- purge waits for inserts in flight and inserts after it see the marker.
CREATE FUNCTION govledger.purge_tenant_payloads(p_tenant text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE purged bigint;
BEGIN
  INSERT INTO govledger.projection_cursors (tenant) VALUES (p_tenant) ON CONFLICT DO NOTHING;
  PERFORM 1 FROM govledger.projection_cursors WHERE tenant = p_tenant FOR UPDATE;
  INSERT INTO govledger.shredded_tenants (tenant) VALUES (p_tenant) ON CONFLICT DO NOTHING;
  PERFORM set_config('govledger.purge', 'on', true);
  UPDATE govledger.entries SET payload = NULL, payload_state = 'shredded'
   WHERE tenant = p_tenant AND payload_state = 'decrypted';
  GET DIAGNOSTICS purged = ROW_COUNT;
  PERFORM set_config('govledger.purge', 'off', true);
  RETURN purged;
END $fn$;

CREATE VIEW govledger.record_history AS
  SELECT tenant, record_id, revision, position, operation, stream, actor, correlation_id, idempotency_key,
         entry_timestamp, entry_timestamp::timestamptz AS entry_time, encode(leaf_hash, 'hex') AS leaf_hash,
         payload::jsonb AS payload, payload_state
    FROM govledger.entries;
CREATE VIEW govledger.current_records AS
  SELECT DISTINCT ON (tenant, record_id) *
    FROM govledger.record_history
   ORDER BY tenant, record_id, position DESC;

REVOKE ALL ON ALL TABLES IN SCHEMA govledger FROM PUBLIC;
REVOKE ALL ON FUNCTION govledger.purge_tenant_payloads(text) FROM PUBLIC;
GRANT USAGE ON SCHEMA govledger TO govledger_projector, govledger_reader, govledger_purger;
GRANT SELECT, INSERT ON govledger.entries TO govledger_projector;
GRANT SELECT, INSERT, UPDATE ON govledger.projection_cursors, govledger.change_cursors TO govledger_projector;
GRANT SELECT ON govledger.shredded_tenants TO govledger_projector, govledger_reader;
GRANT SELECT ON govledger.entries, govledger.projection_cursors, govledger.record_history, govledger.current_records
  TO govledger_reader;
GRANT EXECUTE ON FUNCTION govledger.purge_tenant_payloads(text) TO govledger_purger;
`;

/** Every shipped migration, in order. Append only; never edit one. */
export const MIGRATIONS: readonly FrozenMigration[] = [{ name: '2026-05-20T00-projection-entries', sql: INITIAL }];

/**
 * Brings the database to the latest schema (each migration in its own
 * transaction; concurrent callers wait on kysely's lock). Needs a role that
 * may create schemas and roles (the local superuser, the Aurora master user).
 * Throws the first failure; what ran before it stays applied.
 *
 * @example
 * await migrateProjection(openPostgres(adminConfig));
 */
export async function migrateProjection(db: Kysely<unknown>, migrations: readonly FrozenMigration[] = MIGRATIONS): Promise<MigrationResultSet> {
  const byName: Record<string, Migration> = {};
  for (const m of migrations) byName[m.name] = { up: async (tx: Kysely<unknown>) => void (await sql.raw(m.sql).execute(tx)) };
  const migrator = new Migrator({ db, provider: { getMigrations: async () => byName }, migrationTableSchema: 'govledger' });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return result;
}

/**
 * Lets a projection role log in with a password (the embedded database;
 * on AWS the deployment grants `rds_iam` instead).
 *
 * @example
 * await allowPasswordLogin(adminDb, PROJECTION_ROLES.reader, secret);
 */
export async function allowPasswordLogin(db: Kysely<unknown>, role: (typeof PROJECTION_ROLES)[keyof typeof PROJECTION_ROLES], password: string): Promise<void> {
  await sql`ALTER ROLE ${sql.id(role)} WITH LOGIN PASSWORD ${sql.lit(password)}`.execute(db);
}
