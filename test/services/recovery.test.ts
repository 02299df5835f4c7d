import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../lambdas/core/bytes.js';
import { openCheckpoint } from '../../lambdas/core/checkpoint.js';
import { decodeBundle } from '../../lambdas/core/entry-bundle.js';
import { decodeEntry, parseEntry } from '../../lambdas/core/ledger-entry.js';
import { verifyConsistency } from '../../lambdas/core/merkle-proof.js';
import { hashLeaf } from '../../lambdas/core/rfc9162-hasher.js';
import { NothingDiscardedError, RecoveryConflictError, RecoveryNotAPrefixError, ServiceInputError } from '../../lambdas/services/errors.js';
import { LedgerBehindCheckpointError, LogRootMismatchError } from '../../lambdas/services/log-errors.js';
import { LogReader } from '../../lambdas/services/log-reader.js';
import { entriesOf } from '../support/ledger-appends.js';
import { useRecoveryWorlds } from './recovery-fixtures.js';

const world = useRecoveryWorlds();

/** A published log of `before + after` records whose partition was snapshotted after `before`, then restored to that snapshot. */
async function restoredWorld(before: number, after: number, per = 1) {
  const w = await world();
  await w.append(before, per);
  const snapshot = await w.snapshot();
  await w.append(after, per);
  await w.publisher.publish(w.tenant);
  const note = await w.note();
  await w.restore(snapshot);
  return { ...w, oldNote: note, old: openCheckpoint(note, w.verifier, { origin: w.origin }) };
}

const request = { reason: 'PITR after a corrupted table', actor: 'user:ops' };

describe('RecoveryService.recordRecovery', () => {
  it('appends one SYSTEM entry at k with the next generation, the exact discarded range and a proof the old checkpoint extends the retained log', async () => {
    // Prepare: 30 published, restored to 20
    const w = await restoredWorld(20, 10);
    // Act
    const outcome = await w.recovery.recordRecovery(w.tenant, request);
    // Assess
    expect(outcome).toEqual({
      tenant: 'acme', position: 20, generation: 1, discarded: { first: 20, count: 10 }, previousCheckpoint: { size: 30, root: toHex(w.old.rootHash) }, ...request, replayed: false,
    });
    const { entry } = decodeEntry((await entriesOf(w.store))[20]!);
    expect(entry).toMatchObject({ position: 20, generation: 1, operation: 'SYSTEM', recordId: 'system-recovery', actor: 'user:ops' });
    const details = (entry.payload as { system: { kind: string; details: Record<string, unknown> } }).system;
    expect(details.kind).toBe('recovery');
    expect(details.details).toMatchObject({ generation: 1, discarded: { first: 20, count: 10 }, previousCheckpoint: w.oldNote, retainedRoot: await w.rootOf(20), ...request });
    const proof = (details.details['consistencyProof'] as string[]).map((h) => fromHex(h));
    const retained = fromHex(await w.rootOf(20));
    expect(() => verifyConsistency(20, 30, proof, retained, w.old.rootHash)).not.toThrow();
  });

  it('is idempotent: later calls answer the same entry and append nothing, also once republished; later entries keep the new generation', async () => {
    // Prepare
    const w = await restoredWorld(12, 4);
    const first = await w.recovery.recordRecovery(w.tenant, request);
    await w.append(2);
    // Act: before and after the new generation is published
    const second = await w.recovery.recordRecovery(w.tenant, { reason: 'another reason', actor: 'user:other' });
    await w.publisher.publish(w.tenant);
    const third = await w.recovery.recordRecovery(w.tenant, request);
    // Assess
    expect(second).toEqual({ ...first, replayed: true });
    expect(third).toEqual({ ...first, replayed: true });
    expect(await w.size()).toBe(15);
    expect((await entriesOf(w.store)).map((e) => decodeEntry(e).entry.generation)).toEqual([...Array(12).fill(0), 1, 1, 1]);
  });

  it('keeps entries taken after the restore and records the recovery after them, discarding from the restore point', async () => {
    // Prepare: restored to 8 of 12, then two requests before anyone noticed
    const w = await restoredWorld(8, 4);
    await w.append(2);
    // Act
    const outcome = await w.recovery.recordRecovery(w.tenant, request);
    // Assess
    expect(outcome).toMatchObject({ position: 10, generation: 1, discarded: { first: 8, count: 4 } });
    expect((await entriesOf(w.store)).map((e) => decodeEntry(e).entry.generation)).toEqual([...Array(10).fill(0), 1]);
  });

  it('refuses an unprintable reason, nothing discarded, and a ledger that is not a restore of the signed log; nothing is appended', async () => {
    // Prepare: a ledger that extends its checkpoint, and one whose partition was replaced by another log
    const intact = await world();
    await intact.append(6);
    await intact.publisher.publish(intact.tenant);
    const other = await restoredWorld(0, 6);
    await other.append(3);
    // Act
    const unprintable = await other.recovery.recordRecovery(other.tenant, { ...request, reason: 'restauración' }).catch((e: unknown) => e);
    const nothing = await intact.recovery.recordRecovery(intact.tenant, request).catch((e: unknown) => e);
    const foreign = await other.recovery.recordRecovery(other.tenant, request).catch((e: unknown) => e);
    // Assess
    expect(unprintable).toBeInstanceOf(ServiceInputError);
    expect(nothing).toBeInstanceOf(NothingDiscardedError);
    expect(nothing).toMatchObject({ code: 'NOTHING_DISCARDED', size: 6, checkpointSize: 6 });
    expect(foreign).toBeInstanceOf(RecoveryNotAPrefixError);
    expect(foreign).toMatchObject({ code: 'RECOVERY_NOT_A_PREFIX' });
    expect([await intact.size(), await other.size()]).toEqual([6, 3]);
  });

  it('validates its details strictly: a recovery payload with a malformed range is not an entry', () => {
    // Prepare
    const entry = {
      v: 1, tenant: 'acme', position: 3, timestamp: '2026-01-01T00:00:00.000000000Z', generation: 1, stream: 'system', recordId: 'system-recovery', revision: 1,
      operation: 'SYSTEM', actor: 'user:ops', correlationId: 'c', idempotencyKey: 'k', signatures: [], prevHash: '0'.repeat(64),
      payload: { system: { kind: 'recovery', details: { generation: 1, discarded: { first: 3, count: 0 }, previousCheckpoint: 'x\n', retainedRoot: '0'.repeat(64), consistencyProof: [], reason: 'r', actor: 'a' } } },
    };
    // Act + Assess
    expect(() => parseEntry(entry)).toThrow(/payload\.system\.details\.discarded\.count/);
    expect(() => parseEntry({ ...entry, payload: { system: { kind: 'recovery', details: { ...entry.payload.system.details, discarded: { first: 3, count: 2 }, extra: 1 } } } })).toThrow(/details/);
    expect(parseEntry({ ...entry, payload: { system: { kind: 'recovery', details: { ...entry.payload.system.details, discarded: { first: 3, count: 2 } } } } }).position).toBe(3);
  });
});

describe('LogPublisher after a restore', () => {
  it('refuses a shorter (or re-grown) ledger until a recovery is recorded, then publishes the new generation over the discarded full tile and bundle', async () => {
    // Prepare: 300 published (full tile 0 and bundle 0), restored to 250, then 60 entries before anyone noticed
    const w = await restoredWorld(250, 50, 50);
    const behind = await w.publisher.publish(w.tenant).catch((e: unknown) => e);
    await w.append(60, 30);
    const regrown = await w.publisher.publish(w.tenant).catch((e: unknown) => e);
    const unchanged = await w.note();
    await w.recovery.recordRecovery(w.tenant, request);
    // Act
    const result = await w.publisher.publish(w.tenant);
    // Assess
    expect(behind).toBeInstanceOf(LedgerBehindCheckpointError);
    expect(regrown).toBeInstanceOf(LogRootMismatchError);
    expect(unchanged).toBe(w.oldNote);
    const entries = await entriesOf(w.store);
    expect(result).toEqual({ size: 311, root: await w.rootOf(311), published: true });
    const checkpoint = openCheckpoint(await w.note(), w.verifier, { origin: w.origin });
    expect({ size: checkpoint.size, root: toHex(checkpoint.rootHash) }).toEqual({ size: 311, root: result.root });
    const leaves = entries.map((e) => hashLeaf(e));
    expect(toHex((await w.objects.get('acme/tile/0/000'))!)).toBe(toHex(Buffer.concat(leaves.slice(0, 256))));
    expect(decodeBundle((await w.objects.get('acme/tile/entries/000'))!).map(toHex)).toEqual(entries.slice(0, 256).map(toHex));
    expect(decodeBundle((await w.objects.get('acme/tile/entries/001.p/55'))!).map(toHex)).toEqual(entries.slice(256).map(toHex));
    // Every published entry proves into the new checkpoint from the published tiles alone.
    const reader = new LogReader(w.store, w.objects);
    for (const p of [0, 249, 250, 255, 256, 299, 310]) await expect(reader.entry(w.tenant, p, 311)).resolves.toMatchObject({ position: p });
  });

  it('a recovery entry whose range does not match the published checkpoint neither republishes the log nor lets the fork be recorded over it', async () => {
    // Prepare: a recovery forged with one discarded position too few
    const w = await restoredWorld(10, 5);
    const genuine = await w.genuineDetails(10, w.oldNote, 15);
    await w.ledger.appendRecovery(w.tenant, { ...genuine, discarded: { first: 10, count: 4 } }, 'user:mallory');
    // Act
    const publish = await w.publisher.publish(w.tenant).catch((e: unknown) => e);
    const recover = await w.recovery.recordRecovery(w.tenant, request).catch((e: unknown) => e);
    // Assess
    expect(publish).toBeInstanceOf(LedgerBehindCheckpointError);
    expect(await w.note()).toBe(w.oldNote);
    expect(recover).toBeInstanceOf(RecoveryConflictError);
    expect(recover).toMatchObject({ code: 'RECOVERY_CONFLICT', position: 10, message: expect.stringContaining('discards positions 10..13 but its checkpoint covers 15 entries') });
    expect(await w.size()).toBe(11);
  });
});
