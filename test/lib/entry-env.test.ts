import { describe, expect, it } from 'vitest';
import { EntryConfigError, PROVISIONER_VARIABLES, readEnv, readProvisionerEnv, RESOURCES } from '../../lambdas/entry/shared/env.js';

const ARN = 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0000-4000-8000-000000000000';

describe('readEnv', () => {
  it('returns the typed configuration of the declared resources only', () => {
    // Prepare
    const env = { GOVLEDGER_LEDGER_TABLE: 'govledger-dev-ledger', GOVLEDGER_SIGNING_KEY_ARN: ARN, GOVLEDGER_LOG_PREFIX: 'ledger.example.com', GOVLEDGER_DB_PORT: '5432', GOVLEDGER_KEY_TABLE: 'ignored' };
    // Act
    const config = readEnv(['ledgerTable', 'signingKey'], env);
    // Assess
    expect(config).toEqual({ ledgerTable: 'govledger-dev-ledger', signingKeyArn: ARN, logPrefix: 'ledger.example.com' });
  });

  it('parses the database port as a number and leaves an unset optional value out', () => {
    // Act
    const config = readEnv(['database', 'cloudHsm'], { GOVLEDGER_DB_HOST: 'govledger-dev.proxy-abc.eu-west-1.rds.amazonaws.com', GOVLEDGER_DB_PORT: '5432', GOVLEDGER_DB_NAME: 'govledger', GOVLEDGER_DB_USER: 'govledger_reader', GOVLEDGER_CLOUDHSM_CLUSTER_ID: '' });
    // Assess
    expect(config).toEqual({ dbHost: 'govledger-dev.proxy-abc.eu-west-1.rds.amazonaws.com', dbPort: 5432, dbName: 'govledger', dbUser: 'govledger_reader' });
  });

  it('names every missing or malformed variable at once, with the resource it belongs to and what it must be', () => {
    // Act
    const read = () => readEnv(['ledgerTable', 'masterKey', 'tokens', 'signingKey'], {
      GOVLEDGER_MASTER_KEY_ARN: 'alias/govledger-master',
      GOVLEDGER_TOKEN_ISSUER: 'http://cognito-idp.eu-west-1.amazonaws.com/pool',
      GOVLEDGER_TOKEN_CLIENT_ID: 'client1',
      GOVLEDGER_SIGNING_KEY_ARN: ARN,
      GOVLEDGER_LOG_PREFIX: 'ledger example',
    });
    // Assess
    expect(read).toThrow(EntryConfigError);
    try {
      read();
    } catch (error) {
      expect((error as EntryConfigError).problems).toEqual([
        'GOVLEDGER_LEDGER_TABLE: not set (ledgerTable)',
        'GOVLEDGER_MASTER_KEY_ARN: "alias/govledger-master" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)',
        'GOVLEDGER_TOKEN_ISSUER: "http://cognito-idp.eu-west-1.amazonaws.com/pool" is not an https URL',
        'GOVLEDGER_LOG_PREFIX: "ledger example" is not a checkpoint origin prefix (no spaces or "+", no trailing "/")',
      ]);
    }
  });
});

describe('RESOURCES', () => {
  it('names every variable once, GOVLEDGER_-prefixed, so no two resources can collide (a variable two resources share is one field, one schema)', () => {
    // Act
    const fields = Object.values(RESOURCES).flatMap((r) => Object.entries(r).map(([field, spec]: [string, { env: string; schema: unknown }]) => ({ field, ...spec })));
    const byName = new Map<string, { field: string; schema: unknown }>();
    // Assess
    for (const { field, env, schema } of fields) {
      expect(env).toMatch(/^GOVLEDGER_[A-Z_]+$/);
      const seen = byName.get(env);
      if (seen) expect({ field, schema }, env).toEqual(seen);
      byName.set(env, { field, schema });
    }
    expect([...byName.keys()].filter((env) => fields.filter((f) => f.env === env).length > 1)).toEqual(['GOVLEDGER_LOG_PREFIX']);
  });
});

describe('readProvisionerEnv', () => {
  const ENV = {
    GOVLEDGER_DB_HOST: 'govledger-dev.cluster-abc.eu-west-1.rds.amazonaws.com',
    GOVLEDGER_DB_PORT: '5433',
    GOVLEDGER_DB_NAME: 'govledger',
    GOVLEDGER_DB_ADMIN_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:DatabaseClusterSecret-AbCdEf',
  };

  it('returns the writer endpoint, port, database and admin secret of the projection provisioner', () => {
    // Act
    const config = readProvisionerEnv(ENV);
    // Assess
    expect(config).toEqual({ dbHost: ENV.GOVLEDGER_DB_HOST, dbPort: 5433, dbName: 'govledger', adminSecretArn: ENV.GOVLEDGER_DB_ADMIN_SECRET_ARN });
  });

  it('names every missing or malformed variable at once', () => {
    // Act
    const read = () => readProvisionerEnv({ ...ENV, GOVLEDGER_DB_HOST: '', GOVLEDGER_DB_ADMIN_SECRET_ARN: 'DatabaseClusterSecret' });
    // Assess
    expect(read).toThrow(EntryConfigError);
    expect(() => read()).toThrow(expect.objectContaining({
      problems: ['GOVLEDGER_DB_HOST: not set (provisioner)', 'GOVLEDGER_DB_ADMIN_SECRET_ARN: "DatabaseClusterSecret" is not a Secrets Manager secret ARN'],
    }));
  });

  it('shares the database variables\' names with the functions\' contract, and adds only GOVLEDGER_-prefixed ones', () => {
    // Assess
    expect([PROVISIONER_VARIABLES.dbHost, PROVISIONER_VARIABLES.dbPort, PROVISIONER_VARIABLES.dbName]).toEqual([RESOURCES.database.dbHost, RESOURCES.database.dbPort, RESOURCES.database.dbName]);
    for (const field of Object.values(PROVISIONER_VARIABLES)) expect(field.env).toMatch(/^GOVLEDGER_[A-Z_]+$/);
  });
});
