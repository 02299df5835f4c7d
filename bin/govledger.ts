/**
 * The `govledger` command line. `start` serves the API on the embedded
 * engines (DESIGN §6); `token` mints a local bearer token; `keys rotate` and
 * `shred` call the running server's admin routes; `verify` and `drill` run
 * the nightly workflow's steps here, against the running server's engines or
 * engines started for the command; `self-check` exercises the verifiable core
 * in memory. export arrives with its issue.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { resolveDataDir } from '../lambdas/local/data-dir.js';
import { startLocalRuntime } from '../lambdas/local/local-runtime.js';
import { LocalTokenIssuer } from '../lambdas/local/local-tokens.js';
import { drillCommand, verifyCommand } from '../lambdas/local/operator-commands.js';
import { recoverCommand } from '../lambdas/local/recover-command.js';
import { runSelfCheck } from '../lambdas/local/self-check.js';

function entryCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 2 || n > 1_000_000) throw new InvalidArgumentError('expected a whole number from 2 to 1000000');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of seconds ≥ 1');
  return n;
}

/** Prints a clear one-line error (never a stack) and exits 1. */
function fail(error: unknown): never {
  console.error(`govledger: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const program = new Command().name('govledger').description('Tamper-evident ledger for governance and compliance records').showHelpAfterError();

program
  .command('start')
  .description('serve the API on 127.0.0.1:${PORT:-8787} with embedded engines, state in ${GOVLEDGER_DATA_DIR:-.govledger}')
  .action(async () => {
    const runtime = await startLocalRuntime().catch(fail);
    console.log(`govledger listening on ${runtime.url} (data in ${runtime.dataDir})`);
    let stopping = false;
    const shutdown = (): void => {
      if (stopping) return;
      stopping = true;
      console.log('govledger: stopping');
      runtime.stop().then(() => process.exit(0), fail);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });

program
  .command('token')
  .description('print a bearer token for the local server')
  .requiredOption('--tenant <tenant...>', 'tenant(s) the token may use')
  .option('--scopes <scopes>', 'space-separated scopes', 'records:write records:read proofs:read')
  .option('--subject <subject>', 'the actor recorded in entries', 'local-operator')
  .option('--ttl <seconds>', 'lifetime in seconds', seconds, 3600)
  .action(async (options: { tenant: string[]; scopes: string; subject: string; ttl: number }) => {
    const issuer = await LocalTokenIssuer.open(resolveDataDir(), { create: true }).catch(fail);
    const token = await issuer
      .mintToken({ tenants: options.tenant, scopes: options.scopes.split(/\s+/).filter(Boolean), subject: options.subject, ttlSeconds: options.ttl })
      .catch(fail);
    console.log(token);
  });

/** POSTs an admin request to the running local server (found through <data dir>/endpoints.json). */
async function adminCall(tenant: string, path: string, body: unknown, actor: string): Promise<void> {
  const dataDir = resolveDataDir();
  let api: string;
  try {
    api = (JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as { api: string }).api;
  } catch {
    fail(`no ${join(dataDir, 'endpoints.json')}: start the server first (npm start), with the same GOVLEDGER_DATA_DIR`);
  }
  const issuer = await LocalTokenIssuer.open(dataDir, { create: true }).catch(fail);
  const token = await issuer.mintToken({ tenants: [tenant], scopes: ['admin'], subject: actor, ttlSeconds: 60 });
  const response = await fetch(`${api}/v1/tenants/${encodeURIComponent(tenant)}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).catch(() => fail(`no server answers at ${api}: is npm start running?`));
  const text = await response.text();
  if (!response.ok) fail(`${response.status}: ${text}`);
  console.log(text);
}

program
  .command('keys')
  .description('key management on the running local server')
  .command('rotate')
  .description('add a KEK version for a tenant; new data uses it, history stays readable')
  .requiredOption('--tenant <tenant>', 'the tenant')
  .option('--reason <text>', 'why, recorded in the SYSTEM entry')
  .option('--actor <actor>', 'who, recorded in the SYSTEM entry', `user:${process.env.USER ?? 'operator'}`)
  .action(async (options: { tenant: string; reason?: string; actor: string }) => {
    await adminCall(options.tenant, '/admin/keys/rotate', options.reason ? { reason: options.reason } : {}, options.actor);
  });

program
  .command('shred')
  .description('crypto-shred a tenant on the running local server (refused under a legal hold); its entries still verify')
  .requiredOption('--tenant <tenant>', 'the tenant')
  .requiredOption('--reason <text>', 'why, recorded in the SYSTEM entry')
  .option('--actor <actor>', 'who, recorded in the SYSTEM entry', `user:${process.env.USER ?? 'operator'}`)
  .action(async (options: { tenant: string; reason: string; actor: string }) => {
    await adminCall(options.tenant, '/admin/shred', { reason: options.reason }, options.actor);
  });

program
  .command('verify')
  .description('verify every log (chain, Merkle roots, signed checkpoints, consistency with the last verified one) and cross-verify the event archive and the projection; exit 0 when all holds, 1 with findings')
  .option('--tenant <tenant...>', 'only these tenants (default: every tenant with a log)')
  .option('--segment-size <n>', 'positions per segment', entryCount)
  .action(async (options: { tenant?: string[]; segmentSize?: number }) => {
    process.exitCode = await verifyCommand({ env: process.env, out: (line) => console.log(line), ...(options.tenant ? { tenants: options.tenant } : {}), ...(options.segmentSize ? { segmentSize: options.segmentSize } : {}) }).catch(fail);
  });

program
  .command('drill')
  .description('backup-restore drill: restore the ledger and event archive from copies of their engines\' files and the projection database from an online base backup, into scratch engines, verify them, report RTO/RPO; exit 1 if any restore fails or lost acknowledged entries')
  .option('--tenant <tenant...>', 'only these tenants (default: every tenant with a log)')
  .action(async (options: { tenant?: string[] }) => {
    process.exitCode = await drillCommand({ env: process.env, out: (line) => console.log(line), ...(options.tenant ? { tenants: options.tenant } : {}) }).catch(fail);
  });

program
  .command('recover')
  .description('after a restore left a tenant\'s ledger behind its published checkpoint: record the recovery (a SYSTEM entry with the next generation and the exact discarded range) and publish the new generation; exit 1 when refused')
  .requiredOption('--tenant <tenant>', 'the tenant')
  .option('--reason <text>', 'why, recorded in the SYSTEM entry', 'restored from a backup')
  .option('--actor <actor>', 'who, recorded in the SYSTEM entry', `user:${process.env.USER ?? 'operator'}`)
  .action(async (options: { tenant: string; reason: string; actor: string }) => {
    process.exitCode = await recoverCommand({ env: process.env, out: (line) => console.log(line), ...options }).catch(fail);
  });

program
  .command('self-check')
  .description('build, prove, verify and tamper with an in-memory log; exit 0 when every check behaves')
  .option('--entries <n>', 'entries in the log', entryCount, 1000)
  .action(async (options: { entries: number }) => {
    const ok = await runSelfCheck({ entries: options.entries, log: (line) => console.log(line) });
    process.exitCode = ok ? 0 : 1;
  });

await program.parseAsync();
