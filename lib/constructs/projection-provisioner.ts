/**
 * `ProjectionProvisioner`: readies the projection database at every
 * deployment, so no one runs SQL by hand. A CloudFormation custom resource,
 * through the CDK provider framework, invokes a govledger function (built like
 * every other one, `LedgerFunction`) that, as the Aurora admin user,
 * migrates the projection and lets its three roles log in with IAM only
 * (`lambdas/handlers/provision-projection.ts`).
 *
 * - It runs in the VPC's isolated subnets with the database administration
 *   security group, the only one the cluster admits besides the proxy; it
 *   reaches the writer endpoint directly (RDS Proxy admits IAM logins only)
 *   and the admin secret through the Secrets Manager endpoint.
 * - Its role may read that one secret (and decrypt it, through Secrets
 *   Manager only, with the secret's own encryption context), nothing else.
 * - The resource depends on the whole cluster (writer, secret attachment,
 *   rotation), and its properties carry the migrations' hash, so a
 *   deployment with a new migration runs it again. It is retained: deleting
 *   the stack never touches the database.
 */
import { CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { PROVISIONER_VARIABLES } from '../../lambdas/entry/shared/env.js';
import { migrationsHash } from '../../lambdas/handlers/provision-projection.js';
import { LedgerFunction } from './ledger-function.js';
import { CLUSTER_PORT, DATABASE_NAME, DATABASE_USERS, type ProjectionDatabase } from './projection-database.js';

/** The custom resource's CloudFormation type. */
export const PROVISIONER_RESOURCE_TYPE = 'Custom::GovledgerProjectionDatabase';
/** The Amazon CA bundle of the Lambda Node.js runtimes (RDS CAs included), which Node.js 20+ runtimes no longer load by default. */
export const LAMBDA_AMAZON_CA_BUNDLE = '/var/runtime/ca-cert.pem';

/** The database to provision, the key its admin secret is encrypted with, logs. */
export interface ProjectionProvisionerProps {
  readonly envName: string;
  readonly database: ProjectionDatabase;
  /** The KMS key of the cluster's admin secret (the storage key). */
  readonly secretKey: IKey;
  readonly logRetention: RetentionDays;
}

/**
 * @example
 * new ProjectionProvisioner(this, 'DatabaseProvisioning', { envName: 'dev', database, secretKey: keys.dataKey, logRetention });
 */
export class ProjectionProvisioner extends Construct {
  readonly function: LedgerFunction;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: ProjectionProvisionerProps) {
    super(scope, id);
    const { cluster } = props.database;
    const secret = cluster.secret;
    if (secret === undefined) throw new Error('ProjectionProvisioner: the cluster has no admin secret');
    const v = PROVISIONER_VARIABLES;
    this.function = new LedgerFunction(this, 'Provisioner', {
      name: 'provision-projection',
      envName: props.envName,
      entry: 'provision-projection.ts',
      description: 'Custom resource: migrates the projection and lets its roles log in with IAM, at every deployment',
      environment: {
        [v.dbHost.env]: cluster.clusterEndpoint.hostname,
        [v.dbPort.env]: String(CLUSTER_PORT),
        [v.dbName.env]: DATABASE_NAME,
        [v.adminSecretArn.env]: secret.secretArn,
        NODE_EXTRA_CA_CERTS: LAMBDA_AMAZON_CA_BUNDLE,
      },
      logRetention: props.logRetention,
      memorySize: 256,
      // Up to six connection attempts of 30 s (a paused writer resumes in ~15 s), then the migrations.
      timeout: Duration.minutes(5),
      vpc: { vpc: props.database.vpc, securityGroups: [props.database.adminSecurityGroup] },
    });
    const role = this.function.role;
    role.addToPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }));
    role.addToPolicy(new PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: [props.secretKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com`, 'kms:EncryptionContext:SecretARN': secret.secretArn } },
    }));
    this.function.acknowledgeWildcards();

    const provider = new Provider(this, 'Provider', {
      onEventHandler: this.function.function,
      logGroup: new LogGroup(this, 'ProviderLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN }),
    });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: PROVISIONER_RESOURCE_TYPE,
      properties: { MigrationsHash: migrationsHash(), Roles: Object.values(DATABASE_USERS).join(','), Endpoint: cluster.clusterEndpoint.hostname },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.resource.node.addDependency(cluster);
    this.#acknowledge(provider);
  }

  /** cdk-nag findings on the CDK provider framework's own function, which we do not write. */
  #acknowledge(provider: Provider): void {
    const framework = provider.node.findChild('framework-onEvent');
    const stack = Stack.of(this);
    const provisioner = stack.resolve(stack.getLogicalId(this.function.function.node.defaultChild as CfnFunction)) as string;
    Validations.of(framework).acknowledge(
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'The CDK provider framework function (it relays the custom resource to our provisioner and answers CloudFormation) logs with AWSLambdaBasicExecutionRole' },
      { id: `AwsSolutions-IAM5[Resource::<${provisioner}.Arn>:*]`, reason: 'The CDK provider framework may invoke the provisioner function only: the wildcard covers that one function\'s versions and aliases' },
    );
  }
}
