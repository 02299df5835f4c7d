/**
 * One synthesized govledger app per test file: both stacks built by the real
 * `buildApp` (cdk-nag included), Lambda bundling skipped (context
 * `aws:cdk:bundling-stacks` = []), templates and the policy validation report
 * read from the cloud assembly.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type GovledgerApp } from '../../lib/app.js';

/** Context every fixture starts from (a dev-like deployment). */
export const BASE_CONTEXT = {
  'govledger:envName': 'test',
  'govledger:logPrefix': 'ledger.example.com',
  'govledger:objectLockDays': 30,
  'govledger:alarmEmail': 'ops@example.com',
} as const;

/** A violation left in the validation report (none expected). */
export interface ReportedViolation {
  readonly ruleName: string;
  readonly severity: string;
  readonly paths: readonly string[];
}

export interface SynthesizedApp extends GovledgerApp {
  readonly app: App;
  /** The cloud assembly's directory. */
  readonly assemblyDir: string;
  readonly statefulTemplate: Template;
  readonly statelessTemplate: Template;
  /** Every violation any validation plugin (cdk-nag among them) reported and nobody acknowledged. */
  readonly violations: readonly ReportedViolation[];
}

/**
 * Builds and synthesizes the app once; `context` adds to {@link BASE_CONTEXT}.
 *
 * @example
 * const synthesized = synthesizeApp({ 'govledger:envName': 'prod' });
 * synthesized.statefulTemplate.resourceCountIs('AWS::DynamoDB::Table', 2);
 */
export function synthesizeApp(context: Record<string, unknown> = {}): SynthesizedApp {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'govledger-cdk-')), context: { ...BASE_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
  const built = buildApp(app);
  const assembly = app.synth();
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<{ violations: Array<{ ruleName: string; severity: string; violatingConstructs?: Array<{ constructPath: string }> }> }>;
  };
  const violations = report.pluginReports.flatMap((r) => r.violations.map((v) => ({ ruleName: v.ruleName, severity: v.severity, paths: (v.violatingConstructs ?? []).map((c) => c.constructPath) })));
  return {
    ...built,
    app,
    assemblyDir: assembly.directory,
    statefulTemplate: Template.fromJSON(assembly.getStackByName(built.stateful.stackName).template),
    statelessTemplate: Template.fromJSON(assembly.getStackByName(built.stateless.stackName).template),
    violations,
  };
}

/** The one resource of `type` whose logical id starts with `prefix`: [logical id, resource]. */
export function resourceNamed(template: Template, type: string, prefix: string): [string, { Properties: Record<string, unknown> }] {
  const found = Object.entries(template.findResources(type)).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${type} named ${prefix}…, found ${found.map(([id]) => id).join(', ') || 'none'}`);
  return found[0] as [string, { Properties: Record<string, unknown> }];
}

/** An acknowledged validation rule: where, which finding, why. */
export interface Acknowledgment {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every `Validations.of(…).acknowledge(…)` recorded in the app. */
export function acknowledgments(app: App): Acknowledgment[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: construct.node.path, id, reason }))));
}
