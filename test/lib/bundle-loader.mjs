// Loads Lambda bundles in a plain Node process, as Lambda does (no vitest
// transform): for each job { file, env, query?, invoke? } it sets exactly
// that environment, imports the bundle, checks `handler`, optionally calls it
// with invoke.event / invoke.context, and prints one JSON line per job.
// Used by test/lib/bundles.test.ts.
import { pathToFileURL } from 'node:url';

const jobs = JSON.parse(process.argv[2]);
const baseEnv = { ...process.env };
for (const job of jobs) {
  process.env = { ...baseEnv, ...job.env };
  const started = Date.now();
  const line = { file: job.file };
  try {
    const module = await import(`${pathToFileURL(job.file).href}${job.query ?? ''}`);
    line.handler = typeof module.handler;
    if (job.invoke) line.result = await module.handler(job.invoke.event, { ...job.invoke.context, getRemainingTimeInMillis: () => 5000 });
  } catch (error) {
    line.error = `${error?.name}: ${error?.message}`;
  }
  line.ms = Date.now() - started;
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
