import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_TABLE_SCHEMA } from '../../lambdas/adapters/aws/dynamo-key-store.js';
import { LEDGER_TABLE_SCHEMA } from '../../lambdas/adapters/aws/dynamo-ledger-store.js';
import { PROJECTION_ROLES } from '../../lambdas/adapters/postgres/postgres-migrations.js';
import { RESOURCE_SERVER_ID, SCOPES } from '../../lambdas/entry/shared/cognito.js';
import { PROVISIONER_VARIABLES } from '../../lambdas/entry/shared/env.js';
import { migrationsHash } from '../../lambdas/handlers/provision-projection.js';
import { PROVISIONER_RESOURCE_TYPE } from '../../lib/constructs/projection-provisioner.js';
import { acknowledgments, resourceNamed, synthesizeApp, type SynthesizedApp } from './app-fixture.js';
import { grantsOf } from './role-grants.js';

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesizeApp({ 'govledger:backupRetentionDays': 21 });
}, 120_000);
const template = () => synthesized.statefulTemplate;
const ref = (prefix: string) => ({ 'Fn::GetAtt': [Match.stringLikeRegexp(`^${prefix}`), 'Arn'] });

describe('StatefulStack: protection', () => {
  it('has termination protection and retains every resource that holds data, keys or identities', () => {
    // Assess
    expect(synthesized.stateful.terminationProtection).toBe(true);
    for (const type of ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::RDS::DBCluster', 'AWS::Cognito::UserPool', 'AWS::Events::EventBus', 'AWS::Events::Archive', 'AWS::Logs::LogGroup']) {
      const resources = Object.entries(template().findResources(type));
      expect(resources.length, type).toBeGreaterThan(0);
      for (const [id, resource] of resources) expect([id, resource.DeletionPolicy, resource.UpdateReplacePolicy]).toEqual([id, 'Retain', 'Retain']);
    }
  });
});

describe('StatefulStack: tables', () => {
  it('creates the ledger and key tables with the adapters\' key schemas: on-demand, PITR for the backup window, NEW_IMAGE stream, storage key, deletion protection', () => {
    // Prepare
    const expected = (schema: typeof LEDGER_TABLE_SCHEMA | typeof KEY_TABLE_SCHEMA) => ({
      KeySchema: [{ AttributeName: schema.partitionKey.name, KeyType: 'HASH' }, { AttributeName: schema.sortKey.name, KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: schema.partitionKey.name, AttributeType: 'S' }, { AttributeName: schema.sortKey.name, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 21 },
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: ref('KeysDataKey') },
      DeletionProtectionEnabled: true,
    });
    // Act
    const ledger = template().findResources('AWS::DynamoDB::Table', { Properties: expected(LEDGER_TABLE_SCHEMA) });
    const keys = template().findResources('AWS::DynamoDB::Table', { Properties: expected(KEY_TABLE_SCHEMA) });
    // Assess
    template().resourceCountIs('AWS::DynamoDB::Table', 2);
    expect(Object.keys(ledger)).toContainEqual(expect.stringMatching(/^TablesLedgerTable/));
    expect(Object.keys(keys)).toContainEqual(expect.stringMatching(/^TablesKeyTable/));
  });
});

describe('StatefulStack: buckets', () => {
  it('makes the log, event and reports buckets versioned, Object Lock compliance mode for the configured days, storage-key encrypted, private, with access logs', () => {
    // Act
    const locked = template().findResources('AWS::S3::Bucket', {
      Properties: {
        VersioningConfiguration: { Status: 'Enabled' },
        ObjectLockEnabled: true,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } } },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: ref('KeysDataKey') } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^BucketsAccessLogs') } },
      },
    });
    // Assess
    expect(Object.keys(locked).sort()).toEqual([expect.stringMatching(/^BucketsEventBucket/), expect.stringMatching(/^BucketsLogBucket/), expect.stringMatching(/^BucketsReportsBucket/)]);
  });

  it('keeps the workflows\' scratch objects in an unlocked, unversioned bucket that deletes them after a week (a locked bucket would keep them for the retention)', () => {
    // Act
    const [, scratch] = resourceNamed(template(), 'AWS::S3::Bucket', 'BucketsScratchBucket');
    // Assess
    expect(scratch.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [expect.stringMatching(/^KeysDataKey/), 'Arn'] } } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: { Ref: expect.stringMatching(/^BucketsAccessLogs/) }, LogFilePrefix: 'scratch-bucket/' },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 7, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }] },
    });
    expect(scratch.Properties.ObjectLockEnabled).toBeUndefined();
    expect(scratch.Properties.VersioningConfiguration).toBeUndefined();
  });

  it.each(['BucketsLogBucket', 'BucketsEventBucket', 'BucketsAccessLogs'])('%s: its policy denies every request not made over TLS', (prefix) => {
    // Act
    const [id] = resourceNamed(template(), 'AWS::S3::Bucket', prefix);
    // Assess
    template().hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('names the locked buckets govledger-<env>-<kind>-<account>-<region>, the names the functions are given', () => {
    // Act
    const [, log] = resourceNamed(template(), 'AWS::S3::Bucket', 'BucketsLogBucket');
    // Assess
    expect(log.Properties.BucketName).toEqual({ 'Fn::Join': ['', ['govledger-test-log-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] });
  });
});

describe('StatefulStack: keys', () => {
  it('creates the Ed25519 checkpoint key (ECC_NIST_EDWARDS25519, SIGN_VERIFY) and rotating symmetric storage and master keys', () => {
    // Assess
    template().hasResourceProperties('AWS::KMS::Key', { KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' });
    expect(Object.keys(template().findResources('AWS::KMS::Key', { Properties: { EnableKeyRotation: true } }))).toEqual([
      expect.stringMatching(/^KeysDataKey/), expect.stringMatching(/^KeysMasterKey/),
    ]);
    for (const alias of ['data', 'master', 'checkpoint-signing']) template().hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/govledger-test-${alias}` });
  });
});

describe('StatefulStack: database', () => {
  it('runs Aurora PostgreSQL Serverless v2: encrypted, IAM auth, non-default port, backups for the window, deletion protection, logs exported', () => {
    // Assess
    template().hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-postgresql',
      DBClusterIdentifier: 'govledger-test',
      StorageEncrypted: true,
      KmsKeyId: ref('KeysDataKey'),
      EnableIAMDatabaseAuthentication: true,
      Port: 5433,
      BackupRetentionPeriod: 21,
      DeletionProtection: true,
      EnableCloudwatchLogsExports: ['postgresql'],
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
    });
    template().hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless', PubliclyAccessible: false });
    template().hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(30 days)' } });
  });

  it('lives in isolated subnets only: no internet gateway, no NAT, flow logs on, AWS services through endpoints', () => {
    // Assess
    template().resourceCountIs('AWS::EC2::InternetGateway', 0);
    template().resourceCountIs('AWS::EC2::NatGateway', 0);
    template().resourceCountIs('AWS::EC2::Subnet', 2);
    template().allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    template().hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', ResourceType: 'VPC' });
    const services = Object.values(template().findResources('AWS::EC2::VPCEndpoint')).map((e) => JSON.stringify(e.Properties.ServiceName));
    for (const service of ['dynamodb', 's3', 'kms', 'events', 'secretsmanager']) expect(services.some((s) => s.includes(`.${service}`)), service).toBe(true);
  });

  it('puts RDS Proxy in front with end-to-end IAM authentication and TLS; the proxy may connect as the projection roles only', () => {
    // Assess
    template().hasResourceProperties('AWS::RDS::DBProxy', { EngineFamily: 'POSTGRESQL', DefaultAuthScheme: 'IAM_AUTH', RequireTLS: true });
    const [, policy] = resourceNamed(template(), 'AWS::IAM::Policy', 'DatabaseProxyRole');
    const statements = (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string; Resource: unknown[] }> }).Statement;
    expect(statements.map((s) => s.Action)).toEqual(['rds-db:connect']);
    const users = statements[0]!.Resource.map((r) => JSON.stringify(r).match(/\/(govledger_[a-z]+)"/)?.[1]);
    expect(users.sort()).toEqual(Object.values(PROJECTION_ROLES).sort());
  });
});

describe('StatefulStack: projection provisioning (custom resource)', () => {
  const provisioner = () => resourceNamed(template(), 'AWS::Lambda::Function', 'DatabaseProvisioningProvisionerFunction');

  it('provisions the database at every deployment: after the whole cluster, again when the migrations change, retained on delete', () => {
    // Act
    const [, resource] = resourceNamed(template(), PROVISIONER_RESOURCE_TYPE, 'DatabaseProvisioning');
    const [clusterId] = resourceNamed(template(), 'AWS::RDS::DBCluster', 'DatabaseCluster');
    const [writerId] = resourceNamed(template(), 'AWS::RDS::DBInstance', 'DatabaseClusterWriter');
    const [secretId] = resourceNamed(template(), 'AWS::SecretsManager::SecretTargetAttachment', 'DatabaseClusterSecretAttachment');
    const [rotationId] = resourceNamed(template(), 'AWS::SecretsManager::RotationSchedule', 'DatabaseCluster');
    const full = resource as unknown as { Properties: Record<string, unknown>; DependsOn: string[]; DeletionPolicy: string };
    // Assess
    expect(full.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseProvisioningProviderframeworkonEvent/), 'Arn'] },
      MigrationsHash: migrationsHash(),
      Roles: Object.values(PROJECTION_ROLES).join(','),
      Endpoint: { 'Fn::GetAtt': [clusterId, 'Endpoint.Address'] },
    });
    expect(full.DependsOn).toEqual(expect.arrayContaining([clusterId, writerId, secretId, rotationId]));
    expect(full.DeletionPolicy).toBe('Retain');
  });

  it('runs its function (nodejs22.x, arm64) in the isolated subnets with the db-admin group, against the writer endpoint, with the Amazon RDS CAs', () => {
    // Act
    const [, fn] = provisioner();
    const [adminGroupId] = resourceNamed(template(), 'AWS::EC2::SecurityGroup', 'DatabaseAdminSecurityGroup');
    const [clusterId] = resourceNamed(template(), 'AWS::RDS::DBCluster', 'DatabaseCluster');
    const [secretId] = resourceNamed(template(), 'AWS::SecretsManager::SecretTargetAttachment', 'DatabaseClusterSecretAttachment');
    // Assess
    expect(fn.Properties).toMatchObject({ FunctionName: 'govledger-test-provision-projection', Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    const vpc = fn.Properties.VpcConfig as { SecurityGroupIds: unknown[]; SubnetIds: unknown[] };
    expect(vpc.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [adminGroupId, 'GroupId'] }]);
    expect(JSON.stringify(vpc.SubnetIds)).toMatch(/isolatedSubnet1.*isolatedSubnet2/);
    expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      [PROVISIONER_VARIABLES.dbHost.env]: { 'Fn::GetAtt': [clusterId, 'Endpoint.Address'] },
      [PROVISIONER_VARIABLES.dbPort.env]: '5433',
      [PROVISIONER_VARIABLES.dbName.env]: 'govledger',
      [PROVISIONER_VARIABLES.adminSecretArn.env]: { Ref: secretId },
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    });
    template().hasResourceProperties('AWS::EC2::SecurityGroupIngress', { IpProtocol: 'tcp', FromPort: 5433, ToPort: 5433, SourceSecurityGroupId: { 'Fn::GetAtt': [adminGroupId, 'GroupId'] } });
  });

  it('lets its function read the admin secret (decrypting it through Secrets Manager only), nothing else', () => {
    // Prepare
    const [secretId] = resourceNamed(template(), 'AWS::SecretsManager::SecretTargetAttachment', 'DatabaseClusterSecretAttachment');
    const eni = ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'].sort();
    const decrypt = { StringEquals: { 'kms:ViaService': 'secretsmanager', 'kms:EncryptionContext:SecretARN': { Ref: secretId } } };
    // Act
    const grants = grantsOf(template(), 'database-provisioning-provisioner');
    // Assess
    expect(grants).toEqual([
      { actions: eni, resource: '*' },
      { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resource: '*' },
      { actions: ['secretsmanager:GetSecretValue'], resource: 'admin secret' },
      { actions: ['kms:Decrypt'], resource: 'data key', condition: JSON.stringify(decrypt) },
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: 'own log group' },
    ].sort((a, b) => `${a.resource}${a.actions}`.localeCompare(`${b.resource}${b.actions}`)));
  });

  it('lets the provider framework invoke the provisioner function and nothing else', () => {
    // Prepare
    const [fnId] = provisioner();
    // Act
    const [, policy] = resourceNamed(template(), 'AWS::IAM::Policy', 'DatabaseProvisioningProviderframeworkonEventServiceRoleDefaultPolicy');
    // Assess
    const statements = (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string; Resource: unknown }> }).Statement;
    const arn = { 'Fn::GetAtt': [fnId, 'Arn'] };
    expect(statements.map((s) => [s.Action, s.Resource])).toEqual([
      ['lambda:InvokeFunction', [arn, { 'Fn::Join': ['', [arn, ':*']] }]],
      ['lambda:GetFunction', arn],
    ]);
  });
});

describe('StatefulStack: event archive', () => {
  it('archives every event of the ledger bus indefinitely', () => {
    // Assess
    template().hasResourceProperties('AWS::Events::EventBus', { Name: 'govledger-test-ledger' });
    template().hasResourceProperties('AWS::Events::Archive', { ArchiveName: 'govledger-test-ledger', RetentionDays: 0, SourceArn: ref('LedgerBus') });
  });
});

describe('StatefulStack: identity', () => {
  it('runs a Plus-tier pool: admin-created users only, TOTP MFA required, strong passwords, threat protection enforced', () => {
    // Assess
    template().hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      Policies: { PasswordPolicy: { MinimumLength: 14, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true } },
      DeletionProtection: 'ACTIVE',
      Schema: [{ Name: 'tenants', AttributeDataType: 'String', Mutable: true }],
      LambdaConfig: { PreTokenGenerationConfig: { LambdaVersion: 'V2_0', LambdaArn: ref('IdentityPreTokenTriggerFunction') } },
    });
  });

  it('declares the scopes on the govledger resource server and one group per scope', () => {
    // Assess
    template().hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: RESOURCE_SERVER_ID,
      Scopes: SCOPES.map((s) => ({ ScopeName: s, ScopeDescription: Match.anyValue() })),
    });
    const groups = Object.values(template().findResources('AWS::Cognito::UserPoolGroup')).map((g) => g.Properties.GroupName);
    expect(groups.sort()).toEqual([...SCOPES].sort());
    expect([...SCOPES].sort()).toEqual(['admin', 'proofs:read', 'records:read', 'records:write']);
  });

  it('gives the app client no way to write custom:tenants, so users cannot grant themselves tenants', () => {
    // Act
    const [, client] = resourceNamed(template(), 'AWS::Cognito::UserPoolClient', 'IdentityUserPoolClient');
    // Assess
    expect(client.Properties).toMatchObject({ GenerateSecret: false, ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] });
    expect(client.Properties.WriteAttributes).toEqual(['name']);
    expect(client.Properties.ReadAttributes).toContain('custom:tenants');
  });

  it('runs the pre token trigger on nodejs22.x, arm64', () => {
    // Assess
    template().hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'govledger-test-cognito-pre-token', Runtime: 'nodejs22.x', Architectures: ['arm64'] });
  });
});

describe('StatefulStack: cdk-nag AwsSolutions', () => {
  it('leaves no unacknowledged error or warning', () => {
    // Assess
    expect(synthesized.violations).toEqual([]);
  });

  it('acknowledges each finding on the resource it concerns, naming the rule and a reason', () => {
    // Act
    const stateful = acknowledgments(synthesized.app).filter((a) => a.path.startsWith(synthesized.stateful.stackName) && a.id.includes('AwsSolutions-'));
    // Assess
    expect(stateful.map((a) => `${a.path.replace(/^[^/]+\//, '')} ${a.id.replace(/^[^:]+::/, '')}`).sort()).toEqual([
      'Buckets/AccessLogs AwsSolutions-S1',
      'Custom::VpcRestrictDefaultSGCustomResourceProvider AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'DatabaseProvisioning/Provider/framework-onEvent AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      expect.stringMatching(/^DatabaseProvisioning\/Provider\/framework-onEvent AwsSolutions-IAM5\[Resource::<DatabaseProvisioningProvisionerFunction[0-9A-F]{8}\.Arn>:\*\]$/),
      'DatabaseProvisioning/Provisioner/Function AwsSolutions-L1',
      'DatabaseProvisioning/Provisioner/Role AwsSolutions-IAM5[Resource::*]',
      'Identity/PreTokenTrigger/Function AwsSolutions-L1',
      'Identity/PreTokenTrigger/Role AwsSolutions-IAM5[Resource::*]',
    ]);
    for (const a of stateful) {
      expect(a.path).not.toBe(synthesized.stateful.stackName); // never stack-wide
      expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(60);
    }
  });
});

describe('StatefulStack: master key in a CloudHSM key store', () => {
  it('creates it once with KMS CreateKey in the configured key store (CloudFormation cannot), and no KMS-held master key', () => {
    // Prepare
    const hsm = synthesizeApp({ 'govledger:cloudHsmKeyStoreId': 'cks-1234567890abcdef0', 'govledger:cloudHsmClusterId': 'cluster-abcdefghijk' });
    // Act
    const [, key] = resourceNamed(hsm.statefulTemplate, 'Custom::GovledgerCloudHsmKey', 'KeysCloudHsmMasterKey');
    // Assess
    const create = JSON.parse(key.Properties.Create as string) as { action: string; parameters: Record<string, unknown> };
    expect(create).toMatchObject({ action: 'CreateKey', parameters: { CustomKeyStoreId: 'cks-1234567890abcdef0', Origin: 'AWS_CLOUDHSM', KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' } });
    expect(key.Properties.Delete).toBeUndefined();
    expect(Object.keys(hsm.statefulTemplate.findResources('AWS::KMS::Key'))).toEqual([expect.stringMatching(/^KeysDataKey/), expect.stringMatching(/^KeysSigningKey/)]);
    hsm.statefulTemplate.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/govledger-test-master', TargetKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^KeysCloudHsmMasterKey'), 'KeyMetadata.Arn'] } });
    hsm.statelessTemplate.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'govledger-test-healthz',
      Environment: { Variables: Match.objectLike({ GOVLEDGER_CLOUDHSM_CLUSTER_ID: 'cluster-abcdefghijk' }) },
    });
    expect(hsm.violations).toEqual([]);
  }, 120_000);
});
