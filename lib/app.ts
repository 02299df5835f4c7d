/**
 * The CDK app: configuration from context, the stateful and the stateless
 * stack, cdk-nag's AWS Solutions checks on both, tags. `bin/cdk-app.ts` runs
 * it for the CLI; tests build the same app in memory.
 *
 * Stacks are environment-agnostic unless `govledger:account` and
 * `govledger:region` pin them: `cdk synth` then needs no AWS account or
 * credentials (CI synthesizes on a clean clone), and `cdk deploy` takes the
 * account and region of the CLI's profile.
 */
import { Tags, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig, type GovledgerConfig } from './config.js';
import { StatefulStack } from './stateful-stack.js';
import { StatelessStack } from './stateless-stack.js';

/**
 * CDK feature flags the stacks rely on, set here rather than in cdk.json so
 * every way of building the app (CLI, tests) gets the same templates.
 */
export const FEATURE_FLAGS = {
  /** Server access logs delivered through a bucket policy: the log bucket keeps ACLs disabled (BucketOwnerEnforced). */
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  /** Strong references: the stateful stack cannot drop an export (a table, a key) the stateless stack still uses. */
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
} as const;

/** What `buildApp` added to the app. */
export interface GovledgerApp {
  readonly config: GovledgerConfig;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
}

/**
 * Adds both stacks to `app`; throws ConfigError when the context is wrong.
 *
 * @example
 * const { stateful, stateless } = buildApp(new App({ context: { 'govledger:envName': 'dev', … } }));
 */
export function buildApp(app: App): GovledgerApp {
  for (const [flag, value] of Object.entries(FEATURE_FLAGS)) if (app.node.tryGetContext(flag) === undefined) app.node.setContext(flag, value);
  const config = readConfig((key) => app.node.tryGetContext(key));
  const env = config.account !== undefined && config.region !== undefined ? { env: { account: config.account, region: config.region } } : {};
  const prefix = `govledger-${config.envName}`;
  const stateful = new StatefulStack(app, `${prefix}-stateful`, { config, ...env });
  const stateless = new StatelessStack(app, `${prefix}-stateless`, { config, stateful, ...env });
  Tags.of(app).add('govledger:env', config.envName);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { config, stateful, stateless };
}
