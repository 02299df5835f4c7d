import { describe, expect, it } from 'vitest';
import { toHex } from '../../lambdas/core/bytes.js';
import { openCheckpoint } from '../../lambdas/core/checkpoint.js';
import { decodeEntry } from '../../lambdas/core/ledger-entry.js';
import { ServiceInputError } from '../../lambdas/services/errors.js';
import { summarize } from '../../lambdas/services/verification/report-summary.js';
import { runVerification } from '../../lambdas/services/verification/run-verification.js';
import { entriesOf } from '../support/ledger-appends.js';
import { useRecoveryWorlds } from './recovery-fixtures.js';

const world = useRecoveryWorlds();

/** 30 entries published and verified clean, then the partition restored to its state after 20. */
async function restoredWorld() {
  const w = await world();
  await w.append(20);
  const snapshot = await w.snapshot();
  await w.append(10);
  await w.publisher.publish(w.tenant);
  const [clean] = await runVerification(w.deps, [w.tenant], { segmentSize: 8 });
  expect(clean!.report.ok).toBe(true);
  const oldNote = await w.note();
  await w.restore(snapshot);
  const verify = async () => (await runVerification(w.deps, [w.tenant], { segmentSize: 8 }))[0]!.report;
  return { ...w, oldNote, old: openCheckpoint(oldNote, w.verifier, { origin: w.origin }), verify };
}

const request = { reason: 'PITR after a corrupted table', actor: 'user:ops' };

describe('verification after a restore', () => {
  it('finds the truncation, then accepts the recorded fork (before and after the new generation is published) and reports the recovery until a clean run passed it', async () => {
    // Prepare
    const w = await restoredWorld();
    // Act + Assess: truncated, no recovery
    const truncated = await w.verify();
    expect(truncated.ok).toBe(false);
    expect(truncated.findings).toEqual([{ kind: 'TRUNCATED_LOG', size: 20, checkpointSize: 30, message: 'the log has 20 entries but the checkpoint covers 30' }]);
    expect(truncated.recoveries).toEqual([]);
    // the run's own SYSTEM entry took position 20; the recovery follows it
    await w.recovery.recordRecovery(w.tenant, request);
    const item = { position: 21, generation: 1, discarded: { first: 20, count: 10 }, previousCheckpoint: { size: 30, root: toHex(w.old.rootHash) }, ...request };
    // Act + Assess: the published checkpoint is still the old one, and the recovery covers it
    const recorded = await w.verify();
    expect({ ok: recorded.ok, findings: recorded.findings, recoveries: recorded.recoveries }).toEqual({ ok: true, findings: [], recoveries: [item] });
    expect(summarize(recorded)).toContain('recovery at position 21: generation 1, positions 20..29 of checkpoint 30 discarded');
    // Act + Assess: the new generation published; the last verified checkpoint is the old one, still covered
    await w.append(3);
    await w.publisher.publish(w.tenant);
    const published = await w.verify();
    expect({ ok: published.ok, findings: published.findings, recoveries: published.recoveries, checkpoint: published.checkpoint?.size, previous: published.previous?.size })
      .toEqual({ ok: true, findings: [], recoveries: [item], checkpoint: 26, previous: 30 });
    // Act + Assess: a clean run over the new generation has passed it: no longer news, still checked
    const later = await w.verify();
    expect({ ok: later.ok, recoveries: later.recoveries, previous: later.previous?.size }).toEqual({ ok: true, recoveries: [], previous: 26 });
  });

  it('a recovery entry with the wrong range is a finding, and the truncation it claims to explain stands', async () => {
    // Prepare: one discarded position too few, otherwise genuine
    const w = await restoredWorld();
    const genuine = await w.genuineDetails(20, w.oldNote, 30);
    await w.ledger.appendRecovery(w.tenant, { ...genuine, discarded: { first: 20, count: 9 } }, 'user:mallory');
    // Act
    const report = await w.verify();
    // Assess
    expect(report.ok).toBe(false);
    expect(report.findings.map((f) => f.kind)).toEqual(['INVALID_RECOVERY', 'TRUNCATED_LOG']);
    expect(report.findings[0]).toMatchObject({ position: 20, message: expect.stringContaining('discards positions 20..28 but its checkpoint covers 30 entries') });
    expect(report.recoveries).toEqual([]);
  });

  it('a recovery whose retained root is not the log\'s is a finding; one that would not raise the generation is never written', async () => {
    // Prepare: a retained root of nothing the log holds (its proof then fails too)
    const w = await restoredWorld();
    const genuine = await w.genuineDetails(20, w.oldNote, 30);
    const flat = await w.ledger.appendRecovery(w.tenant, { ...genuine, generation: 0 } as never, 'user:mallory').catch((e: unknown) => e);
    await w.ledger.appendRecovery(w.tenant, { ...genuine, retainedRoot: '0'.repeat(64) }, 'user:mallory');
    // Act
    const report = await w.verify();
    // Assess
    expect(flat).toBeInstanceOf(ServiceInputError);
    expect(report.findings.map((f) => f.kind)).toEqual(['INVALID_RECOVERY', 'TRUNCATED_LOG']);
    expect(report.findings[0]!.message).toMatch(/proof does not lead from the retained root at size 20 to checkpoint 30/);
  });

  it('an entry after the recovery with an older generation is GENERATION_REGRESSION', async () => {
    // Prepare: a writer that missed the recovery appends with generation 0
    const w = await restoredWorld();
    const { position } = await w.recovery.recordRecovery(w.tenant, request);
    await w.verify();
    const stale = await w.appendStale(0);
    // Act
    const report = await w.verify();
    // Assess
    expect(decodeEntry((await entriesOf(w.store))[stale]!).entry.generation).toBe(0);
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([
      { kind: 'GENERATION_REGRESSION', position: stale, generation: 0, expected: 1, message: `entry ${stale} carries generation 0, below the generation 1 the recovery at ${position} started` },
    ]);
  });
});
