/**
 * `LedgerFunction`: one Lambda function the way every govledger function is
 * built — a `NodejsFunction` on Node.js 22, arm64, its code bundled locally by
 * esbuild (`lambdaCode`: ESM, minified, the AWS SDK bundled at our pinned
 * versions, no Docker), its own log group with retention, JSON logs, X-Ray
 * tracing, Powertools settings, and a role of its own that starts empty: the
 * only permissions are writing to its own log group and what the caller
 * grants explicitly.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc } from 'aws-cdk-lib/aws-ec2';
import { SubnetType } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { lambdaCode } from '../bundling/lambda-code.js';

/** What differs between functions; everything else is the same for all (see the class doc). */
export interface LedgerFunctionProps {
  /** Kebab-case, unique per stack; the function is named `govledger-<env>-<name>`. */
  readonly name: string;
  readonly envName: string;
  /** File name under `lambdas/entry/` (exports `handler`). */
  readonly entry: string;
  readonly description: string;
  readonly environment?: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly memorySize?: number;
  readonly timeout?: Duration;
  readonly reservedConcurrentExecutions?: number;
  /** Run in these isolated subnets with these security groups (database clients). */
  readonly vpc?: { readonly vpc: IVpc; readonly securityGroups: readonly ISecurityGroup[] };
}

/**
 * @example
 * const fn = new LedgerFunction(this, 'Healthz', { name: 'healthz', envName: 'dev', entry: 'healthz.ts', description: 'GET /healthz', logRetention: RetentionDays.ONE_YEAR });
 * fn.role.addToPolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [table.tableArn] }));
 */
export class LedgerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  /** Why each `Resource::*` statement of this role needs the wildcard (cdk-nag IAM5 reasons). */
  readonly #wildcardReasons = ['X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) do not support resource-level permissions'];

  constructor(scope: Construct, id: string, props: LedgerFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `govledger ${props.envName} ${props.name}: least privilege, granted per resource`,
    });
    this.role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }));
    if (props.vpc) {
      this.allowWildcard(
        ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        'Lambda VPC networking: EC2 network-interface actions do not support resource-level permissions',
      );
    }
    this.function = new NodejsFunction(this, 'Function', {
      functionName: `govledger-${props.envName}-${props.name}`,
      description: props.description,
      code: lambdaCode(this, props.entry),
      handler: 'index.handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      ...(props.vpc ? { vpc: props.vpc.vpc, vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED }, securityGroups: [...props.vpc.securityGroups] } : {}),
      environment: {
        POWERTOOLS_SERVICE_NAME: 'govledger',
        POWERTOOLS_METRICS_NAMESPACE: 'Govledger',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Pinned to nodejs22.x on purpose: the bundles are built (target node22) and tested for Node 22; moving to a newer runtime is a deliberate, tested change',
    });
  }

  /** Grants actions that only exist on `*`, recording why for cdk-nag. */
  allowWildcard(actions: readonly string[], reason: string): void {
    this.role.addToPolicy(new PolicyStatement({ actions: [...actions], resources: ['*'] }));
    this.#wildcardReasons.push(reason);
  }

  /**
   * Acknowledges cdk-nag IAM5 `Resource::*` on this role with every recorded
   * reason, plus the given findings (e.g. `Resource::*` pieces added by CDK
   * grants such as stream reads). Call once, after every grant.
   */
  acknowledgeWildcards(extra: ReadonlyArray<{ finding: string; reason: string }> = []): void {
    const reasons = [...this.#wildcardReasons, ...extra.filter((e) => e.finding === 'Resource::*').map((e) => e.reason)];
    Validations.of(this.role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: reasons.join('; ') });
    for (const e of extra.filter((x) => x.finding !== 'Resource::*')) Validations.of(this.role).acknowledge({ id: `AwsSolutions-IAM5[${e.finding}]`, reason: e.reason });
  }
}
