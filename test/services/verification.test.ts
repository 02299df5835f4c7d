import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../lambdas/core/bytes.js';
import { decodeEntry } from '../../lambdas/core/ledger-entry.js';
import { sha256 } from '../../lambdas/core/rfc9162-hasher.js';
import type { LedgerBatch } from '../../lambdas/ports/ledger-store.js';
import { runVerification, type VerificationDeps } from '../../lambdas/services/verification/run-verification.js';
import { verificationDir, verificationWorld } from '../support/verification-world.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await verificationDir()));
afterAll(() => cleanup());

const world = (size: number, options: { copies?: string[] } = {}) => verificationWorld(dir, size, options);

describe('runVerification (plan → segments → finish)', () => {
  it('verifies a clean log over several segments, writes the report and records its hash in a SYSTEM entry', async () => {
    // Prepare: 1,250 entries, segments of 300 (batches of 100 straddle no bound; 5 segments)
    const w = await world(1250);
    // Act
    const [outcome] = await runVerification(w.deps, ['acme'], { segmentSize: 300 });
    // Assess
    const { report } = outcome!;
    expect(report.ok).toBe(true);
    expect(report.findings).toEqual([]);
    expect(report.size).toBe(1250);
    expect(report.checkpoint).toEqual({ size: 1250, root: toHex(w.log.reference().root(1250)) });
    expect(report.copies).toEqual({ 'event-archive': { checked: 1250, repaired: 0, findings: 0 }, projection: { checked: 1250, repaired: 0, findings: 0 } });
    const json = await readFile(outcome!.reportLocation);
    expect(toHex(sha256(json))).toBe(outcome!.reportSha256);
    expect(await readFile(outcome!.reportLocation.replace(/\.json$/, '.txt'), 'utf8')).toMatch(/^acme: OK/);
    const tail = (await w.store.readTail('acme'))!;
    expect(outcome!.systemPosition).toBe(1250);
    const { entry } = decodeEntry(tail.entries.at(-1)!);
    expect(entry).toMatchObject({ operation: 'SYSTEM', actor: 'system:verifier', payload: { system: { kind: 'verification', details: { ok: true, reportSha256: outcome!.reportSha256, size: 1250 } } } });
  });

  it('a second run extends the checkpoint the first one verified, including the first run\'s own SYSTEM entry', async () => {
    // Prepare
    const w = await world(400);
    await runVerification(w.deps, ['acme'], { segmentSize: 150 });
    await w.publisher.publish('acme');
    // Act
    const [second] = await runVerification(w.deps, ['acme'], { segmentSize: 150 });
    // Assess
    expect(second!.report.ok).toBe(true);
    expect(second!.report.previous?.size).toBe(400);
    expect(second!.report.checkpoint?.size).toBe(401);
    expect(second!.report.size).toBe(401);
  });

  it('re-derives positions a copy lacks from the ledger and logs them as repairs, not findings', async () => {
    // Prepare
    const w = await world(500);
    const archive = w.copies[0]!;
    for (const p of [0, 1, 2, 250, 499]) archive.stored.get('acme')!.delete(p);
    // Act
    const [outcome] = await runVerification(w.deps, ['acme'], { segmentSize: 200 });
    // Assess
    expect(outcome!.report.ok).toBe(true);
    expect(outcome!.report.repairs).toEqual([
      { copy: 'event-archive', from: 0, to: 3 },
      { copy: 'event-archive', from: 250, to: 251 },
      { copy: 'event-archive', from: 499, to: 500 },
    ]);
    expect(outcome!.report.copies['event-archive']).toEqual({ checked: 500, repaired: 5, findings: 0 });
    expect(archive.stored.get('acme')!.size).toBe(500);
  });

  it('reports a copy whose content differs and a copy with an extra position, and fixes neither', async () => {
    // Prepare
    const w = await world(300);
    const projection = w.copies[1]!;
    const altered = new Uint8Array(projection.stored.get('acme')!.get(42)!);
    altered[altered.length - 3]! ^= 1;
    projection.stored.get('acme')!.set(42, altered);
    projection.stored.get('acme')!.set(7000, new Uint8Array([1, 2, 3]));
    // Act
    const [outcome] = await runVerification(w.deps, ['acme'], { segmentSize: 100 });
    // Assess
    const { report } = outcome!;
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([]);
    expect(report.cross.map((f) => [f.kind, f.copy, f.position])).toEqual([
      ['COPY_MISMATCH', 'projection', 42],
      ['COPY_EXTRA', 'projection', 7000],
    ]);
    expect(projection.stored.get('acme')!.get(42)).toEqual(altered);
    expect(projection.stored.get('acme')!.has(7000)).toBe(true);
    const { entry } = decodeEntry((await w.store.readTail('acme'))!.entries.at(-1)!);
    expect(entry.payload).toMatchObject({ system: { details: { ok: false, findings: 2 } } });
  });

  it('finds a modified ledger entry, keeps the last good checkpoint as the one to extend, and changes nothing in the ledger', async () => {
    // Prepare: a first clean run, then a ledger whose entry 130 reads back altered
    const w = await world(300, { copies: [] });
    await runVerification(w.deps, ['acme'], { segmentSize: 100 });
    const tampered: VerificationDeps['ledger'] = {
      readTail: (t) => w.store.readTail(t),
      batchAt: (t, p) => w.store.batchAt(t, p),
      async *readBatches(tenant, from) {
        for await (const b of w.store.readBatches(tenant, from)) yield b.firstPosition === 100 ? alter(b, 30) : b;
      },
    };
    const deps = { ...w.deps, ledger: tampered };
    // Act
    const [outcome] = await runVerification(deps, ['acme'], { segmentSize: 100 });
    const [again] = await runVerification(deps, ['acme'], { segmentSize: 100 });
    // Assess
    expect(outcome!.report.findings.map((f) => f.kind)).toEqual(['MODIFIED_ENTRY', 'ROOT_MISMATCH']);
    expect(outcome!.report.findings[0]).toMatchObject({ position: 130 });
    expect(again!.report.previous?.size).toBe(300); // not the checkpoint of the failed run
    expect((await w.store.batchAt('acme', 130))!.entries[30]).toEqual(w.log.entries[130]);
  });
});

function alter(batch: LedgerBatch, index: number): LedgerBatch {
  const entries = batch.entries.map((e) => new Uint8Array(e));
  const text = new TextDecoder().decode(entries[index]).replace('"n":130', '"n":131');
  entries[index] = new TextEncoder().encode(text);
  return { ...batch, entries };
}
