import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSelfCheck } from '../../lambdas/local/self-check.js';

describe('runSelfCheck', () => {
  it('passes on a fresh log and reports the tampered entry by position', async () => {
    // Prepare
    const lines: string[] = [];
    // Act
    const ok = await runSelfCheck({ entries: 60, log: (line) => lines.push(line) });
    // Assess
    expect(ok).toBe(true);
    expect(lines).toContain('     finding MODIFIED_ENTRY: entry 20 differs from what entry 21 committed to');
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(lines.at(-1)).toBe('self-check passed');
  });
});

describe('govledger CLI', () => {
  const bin = fileURLToPath(new URL('../../bin/govledger.js', import.meta.url));

  it('runs the self-check through the package bin and exits 0', () => {
    // Act
    const out = execFileSync(process.execPath, [bin, 'self-check', '--entries', '12'], { encoding: 'utf8' });
    // Assess
    expect(out).toContain('self-check passed');
  });

  it('rejects a bad option with a one-line error and no stack trace', () => {
    // Act
    let stderr = '';
    let status = 0;
    try {
      execFileSync(process.execPath, [bin, 'self-check', '--entries', 'many'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      ({ stderr, status } = error as { stderr: string; status: number });
    }
    // Assess
    expect(status).not.toBe(0);
    expect(stderr).toContain("argument 'many' is invalid");
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
