/**
 * Lambda entry of the projection provisioner (the stateful stack's custom
 * resource, invoked by the CDK provider framework; see
 * handlers/provision-projection.ts). In the VPC with the database
 * administration security group: the admin secret through the Secrets
 * Manager endpoint, the cluster's writer endpoint directly, TLS verified
 * against the Amazon RDS CAs (`NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem`,
 * set by the stack: Node.js 20+ runtimes no longer load them by default).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { Kysely } from 'kysely';
import { openPostgres } from '../adapters/postgres/postgres-database.js';
import { provisionProjectionHandler } from '../handlers/provision-projection.js';
import { awsClient } from './shared/aws-clients.js';
import { readProvisionerEnv } from './shared/env.js';
import { instrumented, powertools } from './shared/powertools.js';

const config = readProvisionerEnv();
const tools = powertools();
const secrets = awsClient('secretsmanager', tools, () => new SecretsManagerClient({}));

const provision = provisionProjectionHandler({
  async readSecret() {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: config.adminSecretArn }));
    return SecretString ?? '';
  },
  connect: ({ username, password }) => openPostgres(
    { host: config.dbHost, port: config.dbPort, database: config.dbName, user: username, password, ssl: true, max: 1, connectTimeoutMs: 30_000 },
    (error) => tools.logger.warn('admin connection lost', { error: error.message }),
  ) as Kysely<unknown>,
  logger: tools.httpLogger,
});

/** The Lambda handler (the provider framework's `onEvent`). */
export const handler = instrumented(async (event: CloudFormationCustomResourceEvent) => {
  const result = await provision(event);
  tools.logger.info('projection provisioned', { requestType: event.RequestType, ...result.Data });
  return result;
}, tools);
