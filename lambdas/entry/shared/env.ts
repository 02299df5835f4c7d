/**
 * The contract between the CDK stacks and the Lambda entries: which resources
 * a function may use and the environment variables that name them. The stack
 * sets exactly the variables of the resources a function declares (and grants
 * exactly those resources); the entry reads them at cold start with `readEnv`,
 * which validates them with zod and names every missing or malformed variable
 * at once. Pure: no AWS SDK, no CDK, so both sides import it.
 */
import * as z from 'zod';
import { isValidKeyName } from '../../core/signed-note.js';

const tableName = z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name');
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name');
const kmsKeyArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)');
const logPrefix = z.string().refine((p) => !p.endsWith('/') && isValidKeyName(`${p}/t`), 'a checkpoint origin prefix (no spaces or "+", no trailing "/")');
const httpsUrl = z.string().regex(/^https:\/\/[^\s/]+(\/\S*)?$/, 'an https URL');
const clusterId = z.string().regex(/^cluster-[a-z0-9]+$/, 'a CloudHSM cluster id (cluster-…)');
const name = z.string().regex(/^[A-Za-z0-9_.\/-]{1,256}$/, 'a name of letters, digits and _ . / -');
const port = z.string().regex(/^\d{2,5}$/, 'a TCP port').transform(Number);
const secretArn = z.string().regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, 'a Secrets Manager secret ARN');
const eventsArn = (what: 'archive' | 'event-bus' | 'rule') => z.string().regex(new RegExp(`^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:${what}/[A-Za-z0-9._/-]+$`), `an EventBridge ${what} ARN`);
const namePrefix = z.string().regex(/^govledger-[a-z][a-z0-9-]{0,14}[a-z0-9]$/, 'govledger-<environment name>');

/**
 * Each resource a function can use: its config fields, the variable holding
 * each, and the field's schema. `optional` fields may be unset or empty.
 */
export const RESOURCES = {
  ledgerTable: { ledgerTable: { env: 'GOVLEDGER_LEDGER_TABLE', schema: tableName } },
  keyTable: { keyTable: { env: 'GOVLEDGER_KEY_TABLE', schema: tableName } },
  logBucket: { logBucket: { env: 'GOVLEDGER_LOG_BUCKET', schema: bucketName } },
  masterKey: { masterKeyArn: { env: 'GOVLEDGER_MASTER_KEY_ARN', schema: kmsKeyArn } },
  signingKey: {
    signingKeyArn: { env: 'GOVLEDGER_SIGNING_KEY_ARN', schema: kmsKeyArn },
    logPrefix: { env: 'GOVLEDGER_LOG_PREFIX', schema: logPrefix },
  },
  tokens: {
    tokenIssuer: { env: 'GOVLEDGER_TOKEN_ISSUER', schema: httpsUrl },
    tokenClientId: { env: 'GOVLEDGER_TOKEN_CLIENT_ID', schema: z.string().regex(/^[A-Za-z0-9]{1,128}$/, 'a Cognito app client id') },
  },
  cloudHsm: { cloudHsmClusterId: { env: 'GOVLEDGER_CLOUDHSM_CLUSTER_ID', schema: clusterId, optional: true } },
  eventBus: { eventBusName: { env: 'GOVLEDGER_EVENT_BUS', schema: name } },
  eventBucket: { eventBucket: { env: 'GOVLEDGER_EVENT_BUCKET', schema: bucketName } },
  database: {
    dbHost: { env: 'GOVLEDGER_DB_HOST', schema: z.string().regex(/^[a-z0-9.-]{1,253}$/, 'a host name') },
    dbPort: { env: 'GOVLEDGER_DB_PORT', schema: port },
    dbName: { env: 'GOVLEDGER_DB_NAME', schema: name },
    dbUser: { env: 'GOVLEDGER_DB_USER', schema: name },
  },
  /** The checkpoint origin prefix alone, for functions that name origins without holding the signing key. */
  logOrigin: { logPrefix: { env: 'GOVLEDGER_LOG_PREFIX', schema: logPrefix } },
  /** Verification and drill reports (`reports/<tenant>/<runId>.json`, `.txt`) and the last-run pointers. */
  reportsBucket: { reportsBucket: { env: 'GOVLEDGER_REPORTS_BUCKET', schema: bucketName } },
  /** Scratch objects: segment outcomes of a run (`runs/…`), event copies replayed by a drill (`drills/…`). */
  scratchBucket: { scratchBucket: { env: 'GOVLEDGER_SCRATCH_BUCKET', schema: bucketName } },
  /** What the backup-restore drill restores from and into (scratch names: {@link drillScratchName}). */
  drill: {
    drillNamePrefix: { env: 'GOVLEDGER_DRILL_NAME_PREFIX', schema: namePrefix },
    drillSourceTable: { env: 'GOVLEDGER_DRILL_SOURCE_TABLE', schema: tableName },
    drillSourceCluster: { env: 'GOVLEDGER_DRILL_SOURCE_CLUSTER', schema: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'an RDS cluster identifier') },
    drillSubnetGroup: { env: 'GOVLEDGER_DRILL_SUBNET_GROUP', schema: z.string().regex(/^[a-z0-9 ._-]{1,255}$/, 'a DB subnet group name') },
    drillSecurityGroupId: { env: 'GOVLEDGER_DRILL_SECURITY_GROUP_ID', schema: z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id (sg-…)') },
    drillDataKeyArn: { env: 'GOVLEDGER_DRILL_DATA_KEY_ARN', schema: kmsKeyArn },
    drillArchiveArn: { env: 'GOVLEDGER_DRILL_ARCHIVE_ARN', schema: eventsArn('archive') },
    drillBusArn: { env: 'GOVLEDGER_DRILL_BUS_ARN', schema: eventsArn('event-bus') },
    drillCollectorRuleArn: { env: 'GOVLEDGER_DRILL_COLLECTOR_RULE_ARN', schema: eventsArn('rule') },
    drillDbName: { env: 'GOVLEDGER_DRILL_DB_NAME', schema: name },
    drillDbUser: { env: 'GOVLEDGER_DRILL_DB_USER', schema: name },
  },
} as const satisfies Record<string, Record<string, { env: string; schema: z.ZodType; optional?: boolean }>>;

/** A resource a function can declare. */
export type Resource = keyof typeof RESOURCES;

/**
 * The metrics the verification and drill functions publish (Powertools, in
 * the functions' namespace, dimension `service`) and the stack alarms on:
 * findings of a run, and runs that failed.
 */
export const VERIFICATION_METRICS = { findings: 'VerificationFindings', failures: 'VerificationFailures' } as const;

/** `drill-20260105T020000000Z`: the run id of a drill started at that UTC time. */
export const DRILL_RUN_ID = /^drill-\d{8}T\d{9}Z$/;

/** The scratch resources a drill creates, one kind per restore target. */
export type DrillScratchKind = 'ledger' | 'db' | 'ev';

/**
 * A drill's scratch resource name, `<prefix>-<kind>-<runId>` in lower case,
 * for run ids `drill-<compact UTC ISO time>` (what `recordDrill` names its
 * reports): the DynamoDB table, the Aurora cluster (its instance adds `-1`:
 * at most 57 characters of RDS's 63 for a 16-character environment name) and
 * the EventBridge replay (at most 55 of 64). The stack grants the drill's
 * restore rights on `<prefix>-*-drill-*` only, so these names are part of
 * the contract.
 *
 * @example
 * drillScratchName('govledger-dev', 'db', 'drill-20260105T020000000Z'); // 'govledger-dev-db-drill-20260105t020000000z'
 */
export function drillScratchName(prefix: string, kind: DrillScratchKind, runId: string): string {
  if (!DRILL_RUN_ID.test(runId)) throw new RangeError(`a drill run id is drill-<yyyymmdd>T<hhmmssSSS>Z, got ${JSON.stringify(runId)}`);
  return `${prefix}-${kind}-${runId}`.toLowerCase();
}

type Fields<R extends Resource> = (typeof RESOURCES)[R];
type Value<F> = F extends { schema: z.ZodType<infer T>; optional: true } ? T | undefined : F extends { schema: z.ZodType<infer T> } ? T : never;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** The validated configuration of the resources `R`. */
export type EntryConfig<R extends Resource> = UnionToIntersection<{ [K in R]: { readonly [F in keyof Fields<K>]: Value<Fields<K>[F]> } }[R]>;

/** Missing or malformed environment variables of a Lambda entry. */
export class EntryConfigError extends Error {
  readonly code = 'ENTRY_CONFIG_INVALID';
  /** One line per variable: `NAME: what is wrong`. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid Lambda environment (the stack and the entry disagree): ${problems.join('; ')}`);
    this.name = 'EntryConfigError';
    this.problems = problems;
  }
}

/**
 * Reads and validates the variables of `resources`, reporting every problem at once.
 *
 * @example
 * const config = readEnv(['ledgerTable', 'logBucket']);
 * config.ledgerTable; // 'govledger-dev-ledger…'
 */
export function readEnv<R extends Resource>(resources: readonly R[], env: NodeJS.ProcessEnv = process.env): EntryConfig<R> {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const resource of new Set(resources)) collect(resource, RESOURCES[resource], env, config, problems);
  if (problems.length > 0) throw new EntryConfigError(problems);
  return config as EntryConfig<R>;
}

type FieldSpec = { env: string; schema: z.ZodType; optional?: boolean };

/** Parses `fields` from `env` into `config`, one line in `problems` per missing or malformed variable. */
function collect(label: string, fields: Record<string, FieldSpec>, env: NodeJS.ProcessEnv, config: Record<string, unknown>, problems: string[]): void {
  for (const [field, spec] of Object.entries(fields)) {
    const raw = env[spec.env];
    if ((raw === undefined || raw === '') && spec.optional) continue;
    if (raw === undefined || raw === '') {
      problems.push(`${spec.env}: not set (${label})`);
      continue;
    }
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) config[field] = parsed.data;
    else problems.push(`${spec.env}: ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw)} is not ${parsed.error.issues[0]?.message ?? 'valid'}`);
  }
}

/**
 * The variables of the projection provisioner, the stateful stack's custom
 * resource (not a `FunctionSpec`, so not a `Resource`): the cluster's writer
 * endpoint, which it reaches directly (the proxy admits IAM logins only), the
 * database, and the Secrets Manager secret holding the admin credentials.
 */
export const PROVISIONER_VARIABLES = {
  dbHost: RESOURCES.database.dbHost,
  dbPort: RESOURCES.database.dbPort,
  dbName: RESOURCES.database.dbName,
  adminSecretArn: { env: 'GOVLEDGER_DB_ADMIN_SECRET_ARN', schema: secretArn },
} as const satisfies Record<string, FieldSpec>;

/** The provisioner's validated configuration. */
export type ProvisionerConfig = { readonly [F in keyof typeof PROVISIONER_VARIABLES]: Value<(typeof PROVISIONER_VARIABLES)[F]> };

/**
 * Reads and validates {@link PROVISIONER_VARIABLES}, reporting every problem at once.
 *
 * @example
 * const { dbHost, adminSecretArn } = readProvisionerEnv();
 */
export function readProvisionerEnv(env: NodeJS.ProcessEnv = process.env): ProvisionerConfig {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  collect('provisioner', PROVISIONER_VARIABLES, env, config, problems);
  if (problems.length > 0) throw new EntryConfigError(problems);
  return config as ProvisionerConfig;
}
