/**
 * `govledger verify` and `govledger drill` on the embedded default (DESIGN §6):
 * the nightly workflow's steps, run in order in this process against the
 * running server's engines (or engines started here), with a progress bar on
 * stderr, a summary on stdout and the JSON report in `<data dir>/reports/`.
 * Exit code 0 when everything holds, 1 with findings.
 */
import { SingleBar } from 'cli-progress';
import { S3ObjectStore } from '../adapters/aws/s3-object-store.js';
import type { Logger } from '../handlers/http/logger.js';
import type { RestoredCopy, RestoreTarget } from '../ports/restore-target.js';
import { EventArchive } from '../services/event-archive.js';
import { recordDrill, runDrill, type DrillTargetReport } from '../services/verification/drill.js';
import { summarize } from '../services/verification/report-summary.js';
import { runVerification, type VerificationDeps } from '../services/verification/run-verification.js';
import { LocalDatabaseCopy } from './database-drill-target.js';
import { LocalEngineCopy, LocalLedgerCopy } from './drill-targets.js';
import { postgresSuperuser } from './engines.js';
import { attachOrStartEngines, wireLocalServices, type CommandEngines, type LocalServices } from './local-services.js';

export interface CommandOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Tenants to check; default every tenant with a log. */
  readonly tenants?: readonly string[];
  readonly out: (line: string) => void;
  /** Progress bars on stderr (default: when stderr is a terminal). */
  readonly progress?: boolean;
  readonly segmentSize?: number;
}

const quiet: Logger = { warn: () => undefined, error: () => undefined };

/** Runs `run` with the local services, attached to a running server or on engines started here. */
export async function withServices<T>(env: NodeJS.ProcessEnv, run: (services: LocalServices, engines: CommandEngines) => Promise<T>): Promise<T> {
  const engines = await attachOrStartEngines(env);
  try {
    const services = await wireLocalServices(engines.dataDir, engines.clients, env, quiet, { groupCommit: false });
    try {
      return await run(services, engines);
    } finally {
      await services.close();
    }
  } finally {
    await engines.close();
  }
}

async function tenantsOf(services: LocalServices, chosen: readonly string[] | undefined): Promise<string[]> {
  if (chosen !== undefined && chosen.length > 0) return [...chosen];
  const all: string[] = [];
  for await (const t of services.ledgerStore.tenants()) all.push(t);
  return all.sort();
}

/**
 * Full verification + cross-verification of every (or the named) tenant.
 *
 * @example
 * process.exitCode = await verifyCommand({ env: process.env, out: console.log });
 */
export async function verifyCommand(options: CommandOptions): Promise<number> {
  return withServices(options.env, async (services) => {
    const tenants = await tenantsOf(services, options.tenants);
    if (tenants.length === 0) {
      options.out('no tenant has a log yet: nothing to verify');
      return 0;
    }
    const deps: VerificationDeps = {
      ledger: services.ledgerStore,
      objects: services.objects,
      reports: services.reports,
      logPrefix: services.logPrefix,
      copies: services.copies,
      verifierFor: services.verifierFor,
      appendSystem: (tenant, system, actor) => services.ledger.appendSystem(tenant, system, actor),
    };
    const bar = options.progress ?? process.stderr.isTTY ? new SingleBar({ format: '{tenant} [{bar}] {value}/{total} entries, {eta}s left', stream: process.stderr, hideCursor: true }) : undefined;
    const outcomes = await runVerification(deps, tenants, {
      ...(options.segmentSize === undefined ? {} : { segmentSize: options.segmentSize }),
      onPlan: (plan) => bar?.start(plan.size, 0, { tenant: plan.tenant }),
      onProgress: (_tenant, n) => bar?.increment(n),
    }).finally(() => bar?.stop());
    for (const o of outcomes) {
      options.out(summarize(o.report).trimEnd());
      options.out(`  report: ${o.reportLocation} (sha256 ${o.reportSha256}, recorded at position ${o.systemPosition})`);
    }
    return outcomes.every((o) => o.report.ok) ? 0 : 1;
  });
}

/**
 * The backup-restore drill on copies of the data directory's engines: the
 * ledger (the DynamoDB engine's files), the event archive (the S3 engine's
 * files) and the projection database (an online base backup of the embedded
 * PostgreSQL), each restored on a scratch engine and verified.
 *
 * @example
 * process.exitCode = await drillCommand({ env: process.env, out: console.log });
 */
export async function drillCommand(options: CommandOptions): Promise<number> {
  return withServices(options.env, async (services, { dataDir, clients }) => {
    const tenants = await tenantsOf(services, options.tenants);
    const events = new LocalEngineCopy('event-archive', dataDir, 's3', async (scratch, restoredTo): Promise<RestoredCopy> => {
      const objects = new S3ObjectStore({ client: scratch.s3.client, bucket: clients.bucket, conditionalPuts: 'read-first' });
      return { kind: 'copy', copy: new EventArchive(objects, services.bus), restoredTo };
    });
    const database = new LocalDatabaseCopy(dataDir, {
      admin: await postgresSuperuser(dataDir, clients.postgres.reader),
      keys: services.keys,
      committed: async () => new Map(await Promise.all(tenants.map(async (t) => [t, await services.projection.projectedThrough(t)] as const))),
    });
    const targets: RestoreTarget[] = [new LocalLedgerCopy(dataDir, clients.tables.ledger), events, database];
    const reports = await runDrill({ live: services.ledgerStore, objects: services.objects, reports: services.reports, logPrefix: services.logPrefix, verifierFor: services.verifierFor }, targets, tenants);
    for (const r of reports) options.out(drillLine(r));
    const recorded = await recordDrill({ reports: services.reports, appendSystem: (t, system, actor) => services.ledger.appendSystem(t, system, actor) }, reports, tenants);
    for (const r of recorded) options.out(`  report (${r.tenant}): ${r.reportLocation} (sha256 ${r.reportSha256}, recorded at position ${r.systemPosition})`);
    const ok = reports.every((r) => r.ok);
    options.out(ok ? 'drill: every backup restored and verified' : 'drill: FAILED — see the findings above');
    return ok ? 0 : 1;
  });
}

function drillLine(r: DrillTargetReport): string {
  const lines = [`${r.target}: ${r.ok ? 'OK' : 'FAILED'} — restored to ${r.restoredTo ?? 'nothing'} in ${(r.rtoMs / 1000).toFixed(1)} s (RTO)`];
  for (const [tenant, t] of Object.entries(r.tenants)) lines.push(`  ${tenant}: recovered ${t.recovered} entries, ${t.acknowledged} acknowledged by the restore point (RPO: ${Math.max(0, t.acknowledged - t.recovered)} lost)`);
  for (const f of r.findings) lines.push(`  - ${f.kind}: ${f.message}`);
  return lines.join('\n');
}
