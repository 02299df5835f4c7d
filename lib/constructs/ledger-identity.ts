/**
 * Who may call the API (DESIGN §3): a Cognito user pool whose access tokens
 * carry the caller's tenants and scopes. Admins grant a user tenants through
 * the `custom:tenants` attribute (writable by admins only: the app client may
 * not write it) and scopes through the groups named after them; the pre token
 * generation trigger (V2, which needs the Essentials or Plus plan) copies both
 * into the access token. The resource server `govledger` declares the scopes,
 * so they read `govledger/records:write` etc. in tokens.
 *
 * The trigger function lives here, with the pool: a pool in this stack
 * pointing at a function of the stateless stack would make each stack depend
 * on the other.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccountRecovery,
  CfnUserPoolGroup,
  ClientAttributes,
  FeaturePlan,
  LambdaVersion,
  Mfa,
  ResourceServerScope,
  StandardThreatProtectionMode,
  StringAttribute,
  UserPool,
  type UserPoolClient,
  UserPoolOperation,
} from 'aws-cdk-lib/aws-cognito';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { RESOURCE_SERVER_ID, SCOPES, TENANTS_ATTRIBUTE } from '../../lambdas/entry/shared/cognito.js';
import { LedgerFunction } from './ledger-function.js';

/** Names and the trigger's log retention. */
export interface LedgerIdentityProps {
  readonly envName: string;
  readonly logRetention: RetentionDays;
}

/**
 * @example
 * const identity = new LedgerIdentity(this, 'Identity', { envName: 'dev', logRetention });
 * identity.userPool.userPoolProviderUrl; // the token issuer
 */
export class LedgerIdentity extends Construct {
  readonly userPool: UserPool;
  /** The app client people and scripts sign in with (USER_SRP_AUTH / USER_PASSWORD_AUTH, no secret). */
  readonly client: UserPoolClient;
  readonly preTokenTrigger: LedgerFunction;

  constructor(scope: Construct, id: string, props: LedgerIdentityProps) {
    super(scope, id);
    this.preTokenTrigger = new LedgerFunction(this, 'PreTokenTrigger', {
      name: 'cognito-pre-token',
      envName: props.envName,
      entry: 'cognito-pre-token.ts',
      description: 'Cognito pre token generation (V2): tenants and scopes into the access token',
      logRetention: props.logRetention,
      memorySize: 256,
      timeout: Duration.seconds(5),
    });
    this.preTokenTrigger.acknowledgeWildcards();
    this.userPool = new UserPool(this, 'UserPool', {
      userPoolName: `govledger-${props.envName}`,
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: { minLength: 14, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true, tempPasswordValidity: Duration.days(3) },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      customAttributes: { [TENANTS_ATTRIBUTE.replace(/^custom:/, '')]: new StringAttribute({ maxLen: 2048, mutable: true }) },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.userPool.addTrigger(UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, this.preTokenTrigger.function, LambdaVersion.V2_0);
    SCOPES.forEach((name, i) => new CfnUserPoolGroup(this, `ScopeGroup${i}`, {
      userPoolId: this.userPool.userPoolId,
      groupName: name,
      description: `members get the ${RESOURCE_SERVER_ID}/${name} scope`,
    }));
    this.userPool.addResourceServer('Api', {
      identifier: RESOURCE_SERVER_ID,
      userPoolResourceServerName: `govledger-${props.envName}`,
      scopes: SCOPES.map((name) => new ResourceServerScope({ scopeName: name, scopeDescription: `govledger ${name}` })),
    });
    this.client = this.userPool.addClient('Client', {
      userPoolClientName: 'govledger',
      authFlows: { userSrp: true, userPassword: true },
      generateSecret: false,
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      readAttributes: new ClientAttributes().withStandardAttributes({ email: true, emailVerified: true, fullname: true }).withCustomAttributes(TENANTS_ATTRIBUTE.replace(/^custom:/, '')),
      writeAttributes: new ClientAttributes().withStandardAttributes({ fullname: true }),
    });
  }
}
