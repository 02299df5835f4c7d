/**
 * The KMS keys of a deployment (DESIGN §4): the storage key (tables, buckets,
 * database, secrets), the master key that only wraps tenant KEKs, and the
 * Ed25519 key that signs checkpoints. All retained on stack deletion.
 *
 * CloudFormation cannot create a key in a CloudHSM custom key store
 * (`AWS::KMS::Key` refuses `Origin: AWS_CLOUDHSM`), so with a key store id in
 * the context the master key is created by a custom resource calling KMS
 * `CreateKey` once; it is never updated or deleted by the stack.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Alias, type IKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/** Names, and where the master key lives. */
export interface LedgerKeysProps {
  readonly envName: string;
  /** KMS custom key store (`cks-…`) backed by CloudHSM, for the master key. */
  readonly cloudHsmKeyStoreId?: string;
}

/**
 * @example
 * const keys = new LedgerKeys(this, 'Keys', { envName: 'prod', cloudHsmKeyStoreId: 'cks-1234567890abcdef0' });
 * keys.signingKey.keyArn; // GOVLEDGER_SIGNING_KEY_ARN
 */
export class LedgerKeys extends Construct {
  /** Encrypts tables, buckets, the database and its secret (rotated yearly). */
  readonly dataKey: Key;
  /** Wraps tenant KEKs only (`kms:EncryptionContext:purpose` = `govledger/kek`). */
  readonly masterKey: IKey;
  /** ECC_NIST_EDWARDS25519 / SIGN_VERIFY: signs C2SP checkpoints (ED25519_SHA_512, RAW). */
  readonly signingKey: Key;

  constructor(scope: Construct, id: string, props: LedgerKeysProps) {
    super(scope, id);
    const name = (what: string) => `alias/govledger-${props.envName}-${what}`;
    this.dataKey = new Key(this, 'DataKey', {
      alias: name('data'),
      description: `govledger ${props.envName}: storage encryption (tables, buckets, database, secrets)`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.signingKey = new Key(this, 'SigningKey', {
      alias: name('checkpoint-signing'),
      description: `govledger ${props.envName}: Ed25519 checkpoint signatures (C2SP signed-note)`,
      keySpec: KeySpec.ECC_NIST_EDWARDS25519,
      keyUsage: KeyUsage.SIGN_VERIFY,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.masterKey = props.cloudHsmKeyStoreId === undefined ? this.#kmsMasterKey(props.envName) : this.#cloudHsmMasterKey(props.envName, props.cloudHsmKeyStoreId);
    new Alias(this, 'MasterKeyAlias', { aliasName: name('master'), targetKey: this.masterKey, removalPolicy: RemovalPolicy.RETAIN });
  }

  #kmsMasterKey(envName: string): Key {
    return new Key(this, 'MasterKey', {
      description: `govledger ${envName}: master key, wraps tenant KEKs only`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  #cloudHsmMasterKey(envName: string, keyStoreId: string): IKey {
    const create = new AwsCustomResource(this, 'CloudHsmMasterKey', {
      resourceType: 'Custom::GovledgerCloudHsmKey',
      onCreate: {
        service: 'KMS',
        action: 'CreateKey',
        parameters: {
          CustomKeyStoreId: keyStoreId,
          Origin: 'AWS_CLOUDHSM',
          KeySpec: 'SYMMETRIC_DEFAULT',
          KeyUsage: 'ENCRYPT_DECRYPT',
          Description: `govledger ${envName}: master key in CloudHSM key store ${keyStoreId}, wraps tenant KEKs only`,
          Tags: [{ TagKey: 'govledger:env', TagValue: envName }],
        },
        physicalResourceId: PhysicalResourceId.fromResponse('KeyMetadata.Arn'),
      },
      policy: AwsCustomResourcePolicy.fromStatements([new PolicyStatement({ actions: ['kms:CreateKey', 'kms:TagResource'], resources: ['*'] })]),
      installLatestAwsSdk: false,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(create).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'kms:CreateKey creates a new key and has no resource to scope to; the custom resource runs once, at stack creation',
    });
    const provider = Stack.of(this).node.findChild(`AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    Validations.of(provider).acknowledge(
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'The CDK-provided custom resource function (KMS CreateKey in the CloudHSM key store) logs with AWSLambdaBasicExecutionRole' },
      { id: 'AwsSolutions-L1', reason: 'The runtime of the CDK-provided custom resource function is chosen by aws-cdk-lib, not by us' },
    );
    return Key.fromKeyArn(this, 'MasterKey', create.getResponseField('KeyMetadata.Arn'));
  }
}
