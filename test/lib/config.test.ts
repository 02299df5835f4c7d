import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import { ConfigError, readConfig } from '../../lib/config.js';

const contextOf = (values: Record<string, unknown>) => (key: string) => values[key];
const minimal = { 'govledger:envName': 'dev', 'govledger:logPrefix': 'ledger.example.com', 'govledger:objectLockDays': 7 };

function problemsOf(values: Record<string, unknown>): readonly string[] {
  try {
    readConfig(contextOf(values));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('readConfig', () => {
  it('accepts the minimal context and fills in the documented defaults', () => {
    // Act
    const config = readConfig(contextOf(minimal));
    // Assess
    expect(config).toEqual({
      envName: 'dev', logPrefix: 'ledger.example.com', objectLockDays: 7,
      logRetentionDays: 365, backupRetentionDays: 35, dbMinCapacity: 0.5, dbMaxCapacity: 4, apiRateLimit: 50, apiBurstLimit: 100,
      verificationSchedule: 'cron(0 2 * * ? *)', drillSchedule: 'cron(0 4 ? * SUN *)', scheduleTimeZone: 'UTC', drillMaxWaitMinutes: 240,
    });
  });

  it('coerces the strings `cdk -c key=value` passes and treats empty strings as unset', () => {
    // Act
    const config = readConfig(contextOf({ ...minimal, 'govledger:objectLockDays': '365', 'govledger:logRetentionDays': '30', 'govledger:alarmEmail': '', 'govledger:dbMinCapacity': '0' }));
    // Assess
    expect(config).toMatchObject({ objectLockDays: 365, logRetentionDays: 30, dbMinCapacity: 0 });
    expect(config.alarmEmail).toBeUndefined();
  });

  it('names every missing required key at once', () => {
    // Act
    const problems = problemsOf({});
    // Assess
    expect(problems).toEqual([
      'govledger:envName: missing; required',
      'govledger:logPrefix: missing; required',
      'govledger:objectLockDays: missing; required',
    ]);
  });

  it.each([
    ['govledger:envName', 'Prod_1', 'govledger:envName: got "Prod_1"; must be 2-16 lowercase letters'],
    ['govledger:logPrefix', 'ledger example', 'govledger:logPrefix: got "ledger example"; must be a checkpoint origin prefix'],
    ['govledger:logPrefix', 'ledger.example.com/', 'govledger:logPrefix: got "ledger.example.com/"; must be a checkpoint origin prefix'],
    ['govledger:objectLockDays', 0, 'govledger:objectLockDays: got 0; must be ≥ 1'],
    ['govledger:objectLockDays', 1.5, 'govledger:objectLockDays: got 1.5; must be a whole number'],
    ['govledger:logRetentionDays', 10, 'govledger:logRetentionDays: got 10; must be one of 1, 3, 5, 7, 14, 30'],
    ['govledger:backupRetentionDays', 36, 'govledger:backupRetentionDays: got 36; must be ≤ 35'],
    ['govledger:alarmEmail', 'ops-at-example', 'govledger:alarmEmail: got "ops-at-example"; must be an e-mail address'],
    ['govledger:cloudHsmKeyStoreId', 'cks-1', 'govledger:cloudHsmKeyStoreId: got "cks-1"; must be a KMS custom key store id'],
    ['govledger:dbMinCapacity', 0.3, 'govledger:dbMinCapacity: got 0.3; must be a multiple of 0.5'],
    ['govledger:verificationSchedule', 'cron(0 2 * * *)', 'govledger:verificationSchedule: got "cron(0 2 * * *)"; must be an EventBridge Scheduler cron expression'],
    ['govledger:drillSchedule', 'cron(0 4 * * SUN *)', 'govledger:drillSchedule: got "cron(0 4 * * SUN *)"; must be an EventBridge Scheduler cron expression'],
    ['govledger:drillSchedule', 'rate(7 days)', 'govledger:drillSchedule: got "rate(7 days)"; must be an EventBridge Scheduler cron expression'],
    ['govledger:scheduleTimeZone', 'Mars/Olympus', 'govledger:scheduleTimeZone: got "Mars/Olympus"; must be an IANA time zone'],
    ['govledger:drillMaxWaitMinutes', 5, 'govledger:drillMaxWaitMinutes: got 5; must be ≥ 15'],
  ])('refuses %s = %j with a message naming the key and what it must be', (key, value, message) => {
    // Act
    const problems = problemsOf({ ...minimal, [key]: value });
    // Assess
    expect(problems.some((p) => p.startsWith(message)), problems.join('\n')).toBe(true);
  });

  it('refuses a CloudHSM key store without its cluster, and an account without a region', () => {
    // Act
    const problems = problemsOf({ ...minimal, 'govledger:cloudHsmKeyStoreId': 'cks-1234567890abcdef0', 'govledger:account': '123456789012' });
    // Assess
    expect(problems).toEqual([
      expect.stringContaining('govledger:cloudHsmClusterId: missing; cloudHsmKeyStoreId and cloudHsmClusterId go together'),
      expect.stringContaining('govledger:region: missing; account and region go together'),
    ]);
  });

  it('refuses a maximum database capacity below the minimum', () => {
    // Act
    const problems = problemsOf({ ...minimal, 'govledger:dbMinCapacity': 8, 'govledger:dbMaxCapacity': 2 });
    // Assess
    expect(problems).toEqual(['govledger:dbMaxCapacity: got 2; must be ≥ dbMinCapacity (8)']);
  });
});

describe('buildApp', () => {
  it('stops before creating any stack when the configuration is wrong, listing every problem', () => {
    // Prepare
    const app = new App({ context: { 'govledger:envName': 'dev', 'govledger:objectLockDays': -1 } });
    // Act
    const build = () => buildApp(app);
    // Assess
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/govledger:logPrefix: missing; required\n {2}govledger:objectLockDays: got -1; must be ≥ 1/);
    expect(app.node.children.filter((c) => c.node.id.startsWith('govledger'))).toEqual([]);
  });
});
