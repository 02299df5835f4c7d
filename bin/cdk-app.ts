/**
 * The CDK app entry (`cdk.json` runs it with tsx): `npm run synth`, `npx cdk deploy`.
 * A wrong configuration stops here with every problem listed (see lib/config.ts).
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.js';
import { ConfigError } from '../lib/config.js';

try {
  buildApp(new App());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
