/**
 * Writes a benchmark's figures into bench/RESULTS.md under its own heading,
 * replacing that section only, with the command and machine that produced them.
 */
import { cpus } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const HEADER = '# Benchmark results\n\nWritten by the benchmarks themselves (`npm run bench`); each section names the command that produced it.\n';

export function recordResults(name: string, command: string, lines: readonly string[]): void {
  const text = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : HEADER;
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  const section = [`## ${name}`, '', `Command: \`${command}\`  `, `Machine: ${machine}  `, `Date: ${new Date().toISOString().slice(0, 10)}`, '', '```', ...lines, '```', ''].join('\n');
  const pattern = new RegExp(`## ${name}\\n[\\s\\S]*?(?=\\n## |$)`);
  const next = pattern.test(text) ? text.replace(pattern, section.trimEnd() + '\n') : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(RESULTS, next.trimEnd() + '\n');
}
