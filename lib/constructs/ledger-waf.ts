/**
 * AWS WAF in front of the REST API stage (regional web ACL): Amazon's IP
 * reputation list, the common rule set, known bad inputs, and a per-IP rate
 * limit. The common rule set's body rules (size, XSS, LFI/RFI, SSRF patterns)
 * only count: records are opaque client payloads — evidence may quote HTML or
 * URLs, and bodies up to 256 KiB are legal — that the API validates, encrypts
 * and never renders. Requests are logged to CloudWatch with the Authorization
 * header redacted.
 */
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnLoggingConfiguration, CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** Requests per IP per 5 minutes before WAF blocks that IP. */
export const WAF_RATE_LIMIT_PER_5_MIN = 3000;
/** Common rule set rules that inspect the body; counted, not blocking (see the module doc). */
export const COUNTED_BODY_RULES = ['SizeRestrictions_BODY', 'CrossSiteScripting_BODY', 'GenericLFI_BODY', 'GenericRFI_BODY', 'EC2MetaDataSSRF_BODY'] as const;

/** The stage to protect and where WAF logs go. */
export interface LedgerWafProps {
  readonly envName: string;
  readonly stage: Stage;
  readonly logRetention: RetentionDays;
}

const visibility = (metricName: string) => ({ cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName });

/**
 * @example
 * new LedgerWaf(this, 'Waf', { envName: 'dev', stage: api.deploymentStage, logRetention });
 */
export class LedgerWaf extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: LedgerWafProps) {
    super(scope, id);
    const managed = (name: string, priority: number, overrides: readonly string[] = []): CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ...(overrides.length > 0 ? { ruleActionOverrides: overrides.map((rule) => ({ name: rule, actionToUse: { count: {} } })) } : {}),
        },
      },
      visibilityConfig: visibility(name),
    });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      name: `govledger-${props.envName}-api`,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(`govledger-${props.envName}-api`),
      rules: [
        managed('AWSManagedRulesAmazonIpReputationList', 0),
        {
          name: 'RateLimitPerIp',
          priority: 1,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: WAF_RATE_LIMIT_PER_5_MIN, aggregateKeyType: 'IP' } },
          visibilityConfig: visibility('RateLimitPerIp'),
        },
        managed('AWSManagedRulesCommonRuleSet', 2, COUNTED_BODY_RULES),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 3),
      ],
    });
    new CfnWebACLAssociation(this, 'Association', { webAclArn: this.webAcl.attrArn, resourceArn: props.stage.stageArn });
    // WAF requires the log group's name to start with aws-waf-logs-.
    const logs = new LogGroup(this, 'Logs', { logGroupName: `aws-waf-logs-govledger-${props.envName}-api`, retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    new CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', resourceName: logs.logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      redactedFields: [{ singleHeader: { Name: 'authorization' } }],
    });
  }
}
