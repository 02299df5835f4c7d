/**
 * The `govledger` command line. Commands arrive with their issues (start the
 * API, token, verify, drill, keys, shred, export); until the API exists,
 * `start` runs the core's self-check.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runSelfCheck } from '../lambdas/local/self-check.js';

function entryCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 2 || n > 1_000_000) throw new InvalidArgumentError('expected a whole number from 2 to 1000000');
  return n;
}

async function selfCheck(options: { entries: number }): Promise<void> {
  const ok = await runSelfCheck({ entries: options.entries, log: (line) => console.log(line) });
  process.exitCode = ok ? 0 : 1;
}

const program = new Command().name('govledger').description('Tamper-evident ledger for governance and compliance records').showHelpAfterError();

for (const [name, description] of [
  ['start', 'run the main job on the embedded default (until the API lands: the core self-check)'],
  ['self-check', 'build, prove, verify and tamper with an in-memory log; exit 0 when every check behaves'],
] as const) {
  program.command(name).description(description).option('--entries <n>', 'entries in the log', entryCount, 1000).action(selfCheck);
}

await program.parseAsync();
