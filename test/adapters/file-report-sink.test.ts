import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileReportSink } from '../../lambdas/adapters/local/file-report-sink.js';
import { ObjectImmutableError } from '../../lambdas/ports/errors.js';

const json = (text: string) => new TextEncoder().encode(text);

describe('FileReportSink', () => {
  let dir: string;
  let reports: FileReportSink;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'govledger-reports-'));
    reports = new FileReportSink(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes <tenant>/<runId>.json and .txt once: the same bytes again are accepted, other bytes refused and the report kept', async () => {
    // Prepare
    const path = await reports.writeReport('acme', 'run-1', json('{"ok":true}'), 'acme: OK\n');
    // Act
    const again = await reports.writeReport('acme', 'run-1', json('{"ok":true}'), 'acme: OK\n');
    const other = await reports.writeReport('acme', 'run-1', json('{"ok":false}'), 'acme: OK\n').catch((e: unknown) => e);
    const otherSummary = await reports.writeReport('acme', 'run-1', json('{"ok":true}'), 'acme: FINDINGS\n').catch((e: unknown) => e);
    // Assess
    expect(path).toBe(join(dir, 'acme', 'run-1.json'));
    expect(again).toBe(path);
    expect(other).toBeInstanceOf(ObjectImmutableError);
    expect(otherSummary).toBeInstanceOf(ObjectImmutableError);
    expect(readFileSync(path, 'utf8')).toBe('{"ok":true}');
    expect(readFileSync(join(dir, 'acme', 'run-1.txt'), 'utf8')).toBe('acme: OK\n');
  });

  it('keeps the last-run pointer per tenant, and refuses names that are not a tenant or a run id', async () => {
    // Act
    await reports.setLastRun('acme', { runId: 'run-1', position: 41 });
    await reports.setLastRun('acme', { runId: 'run-2', position: 57 });
    // Assess
    expect(await reports.lastRun('acme')).toEqual({ runId: 'run-2', position: 57 });
    expect(await reports.lastRun('other')).toBeUndefined();
    await expect(reports.writeReport('../acme', 'run-1', json('{}'), '')).rejects.toThrow(RangeError);
    await expect(reports.writeReport('acme', '../run-1', json('{}'), '')).rejects.toThrow(RangeError);
  });
});
