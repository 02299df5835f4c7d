/**
 * Deployment configuration, read from CDK context (`cdk.json` or `-c key=value`)
 * and validated at synth: a bad value stops `cdk synth` with one message that
 * names every wrong key, what it must be, and an example. Keys are
 * `govledger:<name>`; values given on the command line arrive as strings and
 * are coerced.
 */
import * as z from 'zod';
import { isValidKeyName } from '../lambdas/core/signed-note.js';

/** Log retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/**
 * An EventBridge Scheduler cron expression, `cron(minutes hours day-of-month
 * month day-of-week year)`: six fields, and exactly one of the two day fields
 * is `?` (Scheduler's rule; it refuses the schedule otherwise).
 */
const cron = z.string().refine((expression) => {
  const fields = /^cron\((.*)\)$/.exec(expression)?.[1]?.split(' ');
  if (fields === undefined || fields.length !== 6 || fields.some((f) => !/^[0-9A-Z*?,/#LW-]+$/.test(f))) return false;
  return (fields[2] === '?') !== (fields[4] === '?');
}, 'must be an EventBridge Scheduler cron expression: cron(minutes hours day-of-month month day-of-week year), one day field "?" (e.g. "cron(0 2 * * ? *)")');

const timeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone (e.g. "UTC", "Europe/Paris")');

const int = (min: number, max: number) => z.coerce.number().int(`must be a whole number`).min(min, `must be ≥ ${min}`).max(max, `must be ≤ ${max}`);

const schema = z
  .object({
    envName: z.string().regex(/^[a-z][a-z0-9-]{0,14}[a-z0-9]$/, 'must be 2-16 lowercase letters, digits or hyphens, starting with a letter (e.g. "dev", "prod")'),
    logPrefix: z
      .string()
      .refine((p) => !p.endsWith('/') && isValidKeyName(`${p}/tenant`), 'must be a checkpoint origin prefix without spaces, "+" or a trailing "/" (e.g. "ledger.example.com")'),
    objectLockDays: int(1, 36_500),
    logRetentionDays: z.coerce.number().refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`),
    backupRetentionDays: int(1, 35),
    cloudHsmKeyStoreId: z.string().regex(/^cks-[a-z0-9]{17}$/, 'must be a KMS custom key store id (cks- and 17 characters)').optional(),
    cloudHsmClusterId: z.string().regex(/^cluster-[a-z0-9]{11}$/, 'must be a CloudHSM cluster id (cluster- and 11 characters)').optional(),
    alarmEmail: z.email('must be an e-mail address').optional(),
    account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region (e.g. "eu-west-1")').optional(),
    dbMinCapacity: z.coerce.number().min(0, 'must be ≥ 0 (0 lets the database pause when idle)').max(256, 'must be ≤ 256').multipleOf(0.5, 'must be a multiple of 0.5'),
    dbMaxCapacity: z.coerce.number().min(1, 'must be ≥ 1').max(256, 'must be ≤ 256').multipleOf(0.5, 'must be a multiple of 0.5'),
    apiRateLimit: int(1, 10_000),
    apiBurstLimit: int(1, 5_000),
    /** When the full verification runs (issue 8): nightly by default. */
    verificationSchedule: cron,
    /** When the backup-restore drill runs: weekly by default. */
    drillSchedule: cron,
    /** The time zone both schedules are read in. */
    scheduleTimeZone: timeZone,
    /** How long a drill waits for a restore to become readable before it tears it down and fails. */
    drillMaxWaitMinutes: int(15, 24 * 60),
  })
  .superRefine((c, ctx) => {
    if ((c.cloudHsmKeyStoreId === undefined) !== (c.cloudHsmClusterId === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['cloudHsmClusterId'], message: 'cloudHsmKeyStoreId and cloudHsmClusterId go together: set both (master key in CloudHSM) or neither' });
    }
    if (c.dbMaxCapacity < c.dbMinCapacity) ctx.addIssue({ code: 'custom', path: ['dbMaxCapacity'], message: `must be ≥ dbMinCapacity (${c.dbMinCapacity})` });
    if ((c.account === undefined) !== (c.region === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['region'], message: 'account and region go together: set both to pin the stacks, or neither for environment-agnostic stacks' });
    }
  });

/** The validated deployment configuration. */
export type GovledgerConfig = z.infer<typeof schema>;

/** Defaults for keys that may be left out; the rest are required. */
export const CONFIG_DEFAULTS = {
  logRetentionDays: 365,
  backupRetentionDays: 35,
  dbMinCapacity: 0.5,
  dbMaxCapacity: 4,
  apiRateLimit: 50,
  apiBurstLimit: 100,
  verificationSchedule: 'cron(0 2 * * ? *)',
  drillSchedule: 'cron(0 4 ? * SUN *)',
  scheduleTimeZone: 'UTC',
  drillMaxWaitMinutes: 240,
} as const;

/** Context key of a config field: `envName` → `govledger:envName`. */
export const contextKey = (field: string): string => `govledger:${field}`;

/** What `cdk synth` stops with when the context is wrong. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  /** One line per problem: `govledger:<key>: <what is wrong>`. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid govledger configuration in CDK context (cdk.json or -c):\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Reads and validates the configuration; `context(key)` reads one context key
 * (`node.tryGetContext`). Empty strings count as unset.
 *
 * @example
 * const config = readConfig((key) => app.node.tryGetContext(key));
 * config.logPrefix; // 'ledger.example.com'
 */
export function readConfig(context: (key: string) => unknown): GovledgerConfig {
  const raw: Record<string, unknown> = { ...CONFIG_DEFAULTS };
  for (const field of Object.keys(schema.shape)) {
    const value = context(contextKey(field));
    if (value !== undefined && value !== null && value !== '') raw[field] = value;
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      const given = raw[field] === undefined ? 'missing' : `got ${JSON.stringify(raw[field])}`;
      return `${contextKey(field)}: ${given}; ${issue.code === 'invalid_type' && raw[field] === undefined ? 'required' : issue.message}`;
    }),
  );
}
