import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../lambdas/core/bytes.js';
import { verifyLog, type LogVerificationInput } from '../../lambdas/core/log-verifier.js';
import type { Finding } from '../../lambdas/core/verification-findings.js';
import { readBundleFile } from '../../lambdas/local/bundle-file.js';
import { verifyFileInParallel, type SegmentBoundary } from '../../lambdas/local/parallel-verifier.js';
import { buildLog, tamper, type TestLog } from '../core/test-log.js';

const SIZE = 3000;
const STRIDE = 500;

/** Writes entries as bundle records (16-bit BE length + bytes); returns the offset of every `stride`-th position. */
function writeBundle(file: string, entries: readonly Uint8Array[], stride = STRIDE): SegmentBoundary[] {
  const boundaries: SegmentBoundary[] = [];
  const parts: Buffer[] = [];
  let offset = 0;
  entries.forEach((bytes, position) => {
    if (position % stride === 0) boundaries.push({ position, byteOffset: offset });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(bytes.length);
    parts.push(length, Buffer.from(bytes));
    offset += 2 + bytes.length;
  });
  writeFileSync(file, Buffer.concat(parts));
  return boundaries;
}

const plain = (findings: readonly Finding[]) => findings.map(({ message, ...f }) => f);

let dir: string;
let log: TestLog;
let input: LogVerificationInput;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'govledger-parallel-'));
  log = buildLog(SIZE);
  input = log.input(await log.checkpoint(SIZE));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('verifyFileInParallel', () => {
  it.each([1, 2, 3])('verifies an intact bundle file on %i thread(s) with no findings and the root of verifyLog', async (parts) => {
    // Prepare
    const file = join(dir, `intact-${parts}.bundle`);
    const boundaries = writeBundle(file, log.entries);
    // Act
    const report = await verifyFileInParallel(file, SIZE, boundaries, input, parts);
    // Assess
    expect(report).toMatchObject({ ok: true, findings: [], size: SIZE, root: toHex(log.rootAt(SIZE)) });
    expect(report.root).toBe(verifyLog(log.entries, input).root);
  });

  it('verifies an empty file against the checkpoint of size 0', async () => {
    // Prepare
    const file = join(dir, 'empty.bundle');
    const boundaries = writeBundle(file, []);
    const empty = log.input(await log.checkpoint(0));
    // Act
    const report = await verifyFileInParallel(file, 0, [{ position: 0, byteOffset: 0 }, ...boundaries], empty, 2);
    // Assess
    expect(report).toMatchObject({ ok: true, findings: [], size: 0, root: verifyLog([], empty).root });
  });

  it('reports modified entries inside a segment and at a segment border exactly as verifyLog does', async () => {
    // Prepare: 999 ends a segment (its successor's link is checked when combining), 1500 starts one
    const tampered = tamper.replace(tamper.replace(log.entries, 999, tamper.payloadByte(log.entries[999]!)), 1500, tamper.payloadByte(log.entries[1500]!));
    const file = join(dir, 'tampered.bundle');
    const boundaries = writeBundle(file, tampered);
    const expected = verifyLog(tampered, input);
    // Act
    const report = await verifyFileInParallel(file, SIZE, boundaries, input, 3);
    // Assess
    expect(plain(expected.findings)).toEqual([
      { kind: 'MODIFIED_ENTRY', position: 999 },
      { kind: 'MODIFIED_ENTRY', position: 1500 },
      expect.objectContaining({ kind: 'ROOT_MISMATCH', size: SIZE }),
    ]);
    expect(plain(report.findings)).toEqual(plain(expected.findings));
    expect(report).toMatchObject({ ok: false, size: SIZE, root: expected.root });
  });
});

describe('verifyFileInParallel over many segments', () => {
  it('reports tampering inside segments and on both sides of their borders exactly as verifyLog does', async () => {
    // Prepare: boundaries every 100 positions, so two threads share 10 segments of shrinking size
    // (starting at 0, 800, 1400, 1800, 2100, 2400, 2600, 2700, 2800, 2900)
    let tampered = [150, 799, 1400, 2650, 2899].reduce((entries, p) => tamper.replace(entries, p, tamper.payloadByte(entries[p]!)), log.entries);
    tampered = tamper.replace(tampered, 2100, tamper.prevHash(tampered[2100]!, log.leafHex(5)));
    const file = join(dir, 'many.bundle');
    const boundaries = writeBundle(file, tampered, 100);
    const expected = verifyLog(tampered, input);
    // Act
    const report = await verifyFileInParallel(file, SIZE, boundaries, input, 2);
    // Assess
    expect(plain(expected.findings)).toEqual([
      ...[150, 799, 1400].map((position) => ({ kind: 'MODIFIED_ENTRY', position })),
      { kind: 'BROKEN_PREV_HASH', position: 2100 },
      ...[2650, 2899].map((position) => ({ kind: 'MODIFIED_ENTRY', position })),
      expect.objectContaining({ kind: 'ROOT_MISMATCH', size: SIZE }),
    ]);
    expect(plain(report.findings)).toEqual(plain(expected.findings));
    expect(report).toMatchObject({ ok: false, size: SIZE, root: expected.root });
  });

  it('fails, leaving no thread behind, when a record cannot be read, whichever thread reads it', async () => {
    // Prepare: three bytes after the last record that do not form one
    const file = join(dir, 'trailing.bundle');
    const boundaries = writeBundle(file, log.entries, 100);
    appendFileSync(file, Buffer.from([0x00, 0x05, 0x7b]));
    // Act
    const run = verifyFileInParallel(file, SIZE + 1, boundaries, input, 2);
    // Assess
    await expect(run).rejects.toThrow(/trailing bytes do not form an entry record/);
  });
});

describe('verifyFileInParallel on a record that is not an entry', () => {
  it('reports an unreadable record that starts a segment as verifyLog does, without accusing the entry before it', async () => {
    // Prepare: record 1000 (first of the second segment) keeps its length but loses its closing brace
    const broken = Buffer.from(log.entries[1000]!);
    broken[broken.length - 1] = 0x58;
    const tampered = tamper.replace(log.entries, 1000, broken);
    const file = join(dir, 'unreadable.bundle');
    const boundaries = writeBundle(file, tampered);
    const expected = verifyLog(tampered, input);
    // Act
    const report = await verifyFileInParallel(file, SIZE, boundaries, input, 3);
    // Assess: one pass says MALFORMED #1000, DELETED [1000, 1001), ROOT_MISMATCH; the combine step
    // also compares the second segment's undefined firstPrevHash with entry 999's leaf hash and
    // adds MODIFIED_ENTRY 999 (and the worker's stream index is 0, not 1000).
    expect(plain(expected.findings)).toEqual([
      { kind: 'MALFORMED', position: undefined, streamIndex: 1000 },
      { kind: 'DELETED_ENTRIES', from: 1000, to: 1001 },
      expect.objectContaining({ kind: 'ROOT_MISMATCH', computed: 'unavailable' }),
    ]);
    expect(plain(report.findings)).toEqual(plain(expected.findings));
  });
});

describe('readBundleFile', () => {
  it('yields the records written, from any record offset', () => {
    // Prepare
    const file = join(dir, 'read.bundle');
    const boundaries = writeBundle(file, log.entries.slice(0, 1200));
    // Act
    // (each view is only valid until the next record is requested, so copy as we go)
    const all = Array.from(readBundleFile(file), (b) => toHex(b));
    const tail = Array.from(readBundleFile(file, boundaries[2]!.byteOffset, 3), (b) => toHex(b));
    // Assess
    expect(all).toEqual(log.entries.slice(0, 1200).map(toHex));
    expect(tail).toEqual(log.entries.slice(1000, 1003).map(toHex));
  });

  it('reads through a buffer of the caller\'s, smaller than the file, reused from one range to the next', () => {
    // Prepare: 64 KiB + 2 holds the largest record
    const file = join(dir, 'reuse.bundle');
    const boundaries = writeBundle(file, log.entries.slice(0, 1200));
    const buffer = Buffer.alloc(64 * 1024 + 2);
    // Act
    const first = Array.from(readBundleFile(file, 0, 1200, buffer), (b) => toHex(b));
    const second = Array.from(readBundleFile(file, boundaries[1]!.byteOffset, 600, buffer), (b) => toHex(b));
    // Assess
    expect(first).toEqual(log.entries.slice(0, 1200).map(toHex));
    expect(second).toEqual(log.entries.slice(500, 1100).map(toHex));
  });
});
