/**
 * `npm run bench [-- name ...]`: runs the named benchmarks (default: all), each
 * in its own process, in order. Every benchmark prints its ratio line last and
 * records its figures in bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHMARKS = ['verify', 'crypto', 'append', 'projection', 'verify-e2e'] as const;
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(BENCHMARKS as readonly string[]).includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}`);
  process.exit(2);
}
let failed = false;
for (const name of wanted.length > 0 ? wanted : BENCHMARKS) {
  console.log(`\n=== bench/${name}.ts`);
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit', env: process.env });
  failed ||= run.status !== 0;
}
process.exit(failed ? 1 : 0);
