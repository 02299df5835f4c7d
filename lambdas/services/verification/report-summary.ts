/**
 * The readable summary of a verification report: what an operator reads
 * first (the JSON report beside it has everything).
 */
import type { VerificationReport } from './run-types.js';

/** At most this many findings are spelled out; the JSON report has them all. */
const LISTED = 20;

/**
 * Plain-text summary, one fact per line.
 *
 * @example
 * console.log(summarize(report));
 * // acme: OK — 1000 entries verified, checkpoint 1000 matches …
 */
export function summarize(report: VerificationReport): string {
  const lines: string[] = [];
  const count = report.findings.length + report.cross.length;
  lines.push(`${report.tenant}: ${report.ok ? 'OK' : `${count} FINDING${count === 1 ? '' : 'S'}`} (run ${report.runId}, ${report.startedAt} → ${report.finishedAt})`);
  lines.push(`  ledger: ${report.size} entries; ${report.checkpoint ? `signed checkpoint at size ${report.checkpoint.size}, root ${report.checkpoint.root}` : 'no checkpoint published yet'}`);
  lines.push(`  previous verified checkpoint: ${report.previous ? `size ${report.previous.size}, root ${report.previous.root}` : 'none (first run)'}`);
  for (const r of report.recoveries) {
    const { first, count } = r.discarded;
    lines.push(`  recovery at position ${r.position}: generation ${r.generation}, positions ${first}..${first + count - 1} of checkpoint ${r.previousCheckpoint.size} discarded (${JSON.stringify(r.reason)}, ${r.actor})`);
  }
  for (const [name, t] of Object.entries(report.copies)) {
    lines.push(`  ${name}: ${t.checked} positions compared, ${t.repaired} re-derived from the ledger, ${t.findings} finding${t.findings === 1 ? '' : 's'}`);
  }
  const all = [...report.findings.map((f) => `${f.kind}: ${f.message}`), ...report.cross.map((f) => `${f.kind} (${f.copy}): ${f.message}`)];
  for (const line of all.slice(0, LISTED)) lines.push(`  - ${line}`);
  if (all.length > LISTED) lines.push(`  … and ${all.length - LISTED} more in the JSON report`);
  return `${lines.join('\n')}\n`;
}
