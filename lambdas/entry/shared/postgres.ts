/**
 * The projection database from a VPC function: RDS Proxy with IAM
 * authentication end to end (a fresh token from `@aws-sdk/rds-signer` for each
 * new connection, signed locally with the function's role: no password exists
 * anywhere), TLS verified against the system CAs (RDS Proxy presents an
 * ACM certificate), a small pool per warm function.
 */
import { Signer } from '@aws-sdk/rds-signer';
import { openPostgres, type ProjectionDb } from '../../adapters/postgres/postgres-database.js';
import type { EntryConfig } from './env.js';
import type { Powertools } from './powertools.js';

/**
 * @example
 * const db = projectionDb(readEnv(['database']), powertools());
 */
export function projectionDb(config: EntryConfig<'database'>, tools: Pick<Powertools, 'logger'>): ProjectionDb {
  const signer = new Signer({ hostname: config.dbHost, port: config.dbPort, username: config.dbUser });
  return openPostgres(
    { host: config.dbHost, port: config.dbPort, database: config.dbName, user: config.dbUser, password: () => signer.getAuthToken(), ssl: true, max: 2 },
    (error) => tools.logger.warn('projection database connection lost', { error: error.message }),
  );
}
