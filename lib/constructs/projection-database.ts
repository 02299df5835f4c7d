/**
 * The PostgreSQL projection's home (DESIGN §1): Aurora PostgreSQL Serverless
 * v2 in a VPC of isolated subnets only (no NAT, no internet route), reached
 * through RDS Proxy with end-to-end IAM authentication, so no application
 * password exists anywhere. The admin credentials live in Secrets Manager,
 * rotated every 30 days. Storage and secret use the storage key; backups and
 * point-in-time recovery keep the configured number of days (Aurora
 * PostgreSQL has no backtrack). AWS services are reached through VPC
 * endpoints: gateway endpoints for DynamoDB and S3, interface endpoints for
 * KMS, EventBridge and Secrets Manager.
 */
import { Duration, RemovalPolicy, Stack, Validations, ArnFormat } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  InterfaceVpcEndpointAwsService,
  IpAddresses,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
  type InterfaceVpcEndpoint,
} from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  AuroraPostgresEngineVersion,
  ClusterInstance,
  Credentials,
  DatabaseCluster,
  DatabaseClusterEngine,
  DatabaseProxy,
  DefaultAuthScheme,
  ParameterGroup,
} from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { PROJECTION_ROLES } from '../../lambdas/adapters/postgres/postgres-migrations.js';

/** The roles functions connect as: the projection's own (its migrations create them; `ProjectionProvisioner` grants them LOGIN and `rds_iam` at every deployment). */
export const DATABASE_USERS = PROJECTION_ROLES;
/** The database the projection lives in (`GOVLEDGER_DB_NAME`). */
export const DATABASE_NAME = 'govledger';
/** RDS Proxy listens on the engine's default port whatever the cluster's port. */
export const PROXY_PORT = 5432;
/** The cluster's own port: not the default (cdk-nag RDS11); only the proxy connects to it. */
export const CLUSTER_PORT = 5433;
/** The VPC's address range (a literal, so security group rules need no intrinsic). */
export const VPC_CIDR = '10.40.0.0/16';

/** Names, the storage key, backups, logs and capacity. */
export interface ProjectionDatabaseProps {
  readonly envName: string;
  readonly encryptionKey: IKey;
  readonly backupRetentionDays: number;
  readonly logRetention: RetentionDays;
  /** Aurora capacity units; 0 lets the writer pause when idle. */
  readonly minCapacity: number;
  readonly maxCapacity: number;
}

/**
 * @example
 * const db = new ProjectionDatabase(this, 'Database', { envName: 'dev', encryptionKey, backupRetentionDays: 35, logRetention, minCapacity: 0.5, maxCapacity: 4 });
 * db.proxy.endpoint; // GOVLEDGER_DB_HOST
 */
export class ProjectionDatabase extends Construct {
  readonly vpc: Vpc;
  readonly cluster: DatabaseCluster;
  readonly proxy: DatabaseProxy;
  /** Functions that talk to the database join this group; only it reaches the proxy. */
  readonly clientSecurityGroup: SecurityGroup;
  /**
   * Database administration (migrations, role grants) joins this group: it
   * reaches the cluster itself as the admin user with the rotated secret. Its
   * member is the projection provisioner's function (`ProjectionProvisioner`);
   * an operator's host may join it for manual work (docs/deploy.md).
   */
  readonly adminSecurityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: ProjectionDatabaseProps) {
    super(scope, id);
    const isolated = { subnetType: SubnetType.PRIVATE_ISOLATED };
    this.vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr(VPC_CIDR),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      gatewayEndpoints: { DynamoDb: { service: GatewayVpcEndpointAwsService.DYNAMODB }, S3: { service: GatewayVpcEndpointAwsService.S3 } },
      flowLogs: {
        All: {
          destination: FlowLogDestination.toCloudWatchLogs(new LogGroup(this, 'FlowLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN })),
          trafficType: FlowLogTrafficType.ALL,
        },
      },
      restrictDefaultSecurityGroup: true,
    });
    // One group for the interface endpoints: HTTPS from inside the VPC (functions, the rotation function), nothing else.
    const endpoints = new SecurityGroup(this, 'EndpointSecurityGroup', { vpc: this.vpc, description: 'govledger VPC interface endpoints', allowAllOutbound: false });
    endpoints.addIngressRule(Peer.ipv4(VPC_CIDR), Port.tcp(443), 'HTTPS from inside the VPC');
    const endpoint = (endpointId: string, service: InterfaceVpcEndpointAwsService): InterfaceVpcEndpoint =>
      this.vpc.addInterfaceEndpoint(endpointId, { service, subnets: isolated, privateDnsEnabled: true, open: false, securityGroups: [endpoints] });
    endpoint('KmsEndpoint', InterfaceVpcEndpointAwsService.KMS);
    endpoint('EventsEndpoint', InterfaceVpcEndpointAwsService.EVENTBRIDGE);
    const secretsEndpoint = endpoint('SecretsManagerEndpoint', InterfaceVpcEndpointAwsService.SECRETS_MANAGER);

    const clusterIdentifier = `govledger-${props.envName}`;
    const engine = DatabaseClusterEngine.auroraPostgres({ version: AuroraPostgresEngineVersion.VER_17_5 });
    const logs = new LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.cluster = new DatabaseCluster(this, 'Cluster', {
      clusterIdentifier,
      engine,
      writer: ClusterInstance.serverlessV2('Writer', { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: props.minCapacity,
      serverlessV2MaxCapacity: props.maxCapacity,
      vpc: this.vpc,
      vpcSubnets: isolated,
      port: CLUSTER_PORT,
      defaultDatabaseName: DATABASE_NAME,
      credentials: Credentials.fromGeneratedSecret('govledger_admin', { encryptionKey: props.encryptionKey }),
      storageEncrypted: true,
      storageEncryptionKey: props.encryptionKey,
      iamAuthentication: true,
      parameterGroup: new ParameterGroup(this, 'Parameters', { engine, parameters: { 'rds.force_ssl': '1', log_connections: '1', log_disconnections: '1' } }),
      backup: { retention: Duration.days(props.backupRetentionDays), preferredWindow: '02:00-03:00' },
      preferredMaintenanceWindow: 'sun:03:30-sun:04:30',
      cloudwatchLogsExports: ['postgresql'],
      copyTagsToSnapshot: true,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.cluster.node.addDependency(logs);
    this.cluster.addRotationSingleUser({ automaticallyAfter: Duration.days(30), endpoint: secretsEndpoint, vpcSubnets: isolated });

    this.clientSecurityGroup = new SecurityGroup(this, 'ClientSecurityGroup', {
      vpc: this.vpc,
      description: 'govledger functions that connect to the database through RDS Proxy',
    });
    const proxySecurityGroup = new SecurityGroup(this, 'ProxySecurityGroup', { vpc: this.vpc, description: 'govledger RDS Proxy', allowAllOutbound: false });
    proxySecurityGroup.addIngressRule(this.clientSecurityGroup, Port.tcp(PROXY_PORT), 'database clients to the proxy');
    proxySecurityGroup.addEgressRule(this.cluster.connections.securityGroups[0]!, Port.tcp(CLUSTER_PORT), 'proxy to the cluster');
    this.cluster.connections.allowFrom(proxySecurityGroup, Port.tcp(CLUSTER_PORT), 'the proxy to the cluster');
    this.adminSecurityGroup = new SecurityGroup(this, 'AdminSecurityGroup', {
      vpc: this.vpc,
      securityGroupName: `govledger-${props.envName}-db-admin`,
      description: 'govledger database administration: direct access to the cluster (migrations, role grants)',
    });
    this.cluster.connections.allowFrom(this.adminSecurityGroup, Port.tcp(CLUSTER_PORT), 'database administration to the cluster');

    // End-to-end IAM: the proxy itself connects as each database user with IAM, so it needs rds-db:connect on the cluster's users.
    const proxyRole = new Role(this, 'ProxyRole', { assumedBy: new ServicePrincipal('rds.amazonaws.com') });
    proxyRole.addToPolicy(new PolicyStatement({
      actions: ['rds-db:connect'],
      resources: Object.values(DATABASE_USERS).map((user) => Stack.of(this).formatArn({
        service: 'rds-db',
        resource: 'dbuser',
        resourceName: `${this.cluster.clusterResourceIdentifier}/${user}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })),
    }));
    this.proxy = this.cluster.addProxy('Proxy', {
      dbProxyName: `govledger-${props.envName}`,
      vpc: this.vpc,
      vpcSubnets: isolated,
      securityGroups: [proxySecurityGroup],
      defaultAuthScheme: DefaultAuthScheme.IAM_AUTH,
      requireTLS: true,
      role: proxyRole,
      debugLogging: false,
    });
    this.#acknowledge();
  }

  /** cdk-nag findings on CDK-provided helpers that we cannot configure away. */
  #acknowledge(): void {
    const restrict = this.vpc.node.tryFindChild('RestrictDefaultSecurityGroupCustomResource');
    if (restrict) {
      const provider = Stack.of(this).node.findChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
      Validations.of(provider).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The CDK-provided function that strips the default security group\'s rules (CIS EC2.2) logs with AWSLambdaBasicExecutionRole',
      });
    }
  }
}
