import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../lambdas/core/bytes.js';
import { formatCheckpoint, originFor } from '../../lambdas/core/checkpoint.js';
import { cutSizes, openCheckpointForVerification, verifyLog, verifyLogStream, type LogVerificationInput, type LogVerificationReport } from '../../lambdas/core/log-verifier.js';
import { signNote } from '../../lambdas/core/signed-note.js';
import type { Finding } from '../../lambdas/core/verification-findings.js';
import {
  BASE_NANOS, buildLog, consistencyProof, makeKeys, PREFIX, rootOf, snapshot, streamOf, tamper, type TestLog,
} from './test-log.js';

const SIZE = 40;
const hex = toHex;

/** Findings without their human-readable message (checked to be present), for exact comparison. */
function plain(findings: readonly Finding[]): Omit<Finding, 'message'>[] {
  return findings.map(({ message, ...rest }) => {
    expect(message).toMatch(/\S/);
    return rest;
  });
}

/** Verifies the same stored entries every way the core offers: sync and streamed, fast and deep. */
async function verifyEveryWay(entries: readonly Uint8Array[], input: LogVerificationInput): Promise<LogVerificationReport[]> {
  return [
    verifyLog(entries, input),
    verifyLog(entries, input, { deep: true }),
    await verifyLogStream(streamOf(entries), input),
    await verifyLogStream(streamOf(entries), input, { deep: true, window: 4 }),
  ];
}

/** Asserts that every way of verifying reports exactly `expected` (messages aside). */
async function expectFindings(entries: readonly Uint8Array[], input: LogVerificationInput, expected: readonly object[]): Promise<LogVerificationReport> {
  const reports = await verifyEveryWay(entries, input);
  for (const report of reports) {
    expect(plain(report.findings)).toEqual(expected);
    expect(report.ok).toBe(expected.length === 0);
  }
  return reports[0]!;
}

let log: TestLog;
let checkpoint: string;
let input: LogVerificationInput;
let rootHex: string;

beforeAll(async () => {
  log = buildLog(SIZE);
  checkpoint = await log.checkpoint(SIZE);
  input = log.input(checkpoint);
  rootHex = hex(log.rootAt(SIZE));
});

const rootMismatch = (tampered: readonly Uint8Array[]) => ({ kind: 'ROOT_MISMATCH', size: SIZE, expected: rootHex, computed: hex(rootOf(tampered.slice(0, SIZE))) });
const rootUnavailable = () => ({ kind: 'ROOT_MISMATCH', size: SIZE, expected: rootHex, computed: 'unavailable' });

describe('verifyLog on an intact log', () => {
  it('reports no findings and the signed root, in normal and deep mode, sync and streamed', async () => {
    // Act
    const reports = await verifyEveryWay(log.entries, input);
    // Assess
    for (const report of reports) {
      expect(report).toEqual({ ok: true, findings: [], size: SIZE, checkpoint: expect.objectContaining({ size: SIZE, origin: log.origin }), previous: undefined, root: rootHex });
      expect(report.root).toBe(hex(report.checkpoint!.rootHash));
    }
  });

  it('accepts entries beyond the checkpoint and reports the root at the checkpoint size', async () => {
    // Prepare
    const older = log.input(await log.checkpoint(32));
    // Act
    const report = await expectFindings(log.entries, older, []);
    // Assess
    expect(report.size).toBe(SIZE);
    expect(report.root).toBe(hex(log.rootAt(32)));
  });

  it('accepts a previous checkpoint the log extends, with and without its consistency proof', async () => {
    // Prepare
    const previous = await log.checkpoint(20);
    const proof = consistencyProof(log.entries, 20, SIZE);
    // Act
    const without = await expectFindings(log.entries, log.input(checkpoint, { previous }), []);
    const withProof = await expectFindings(log.entries, log.input(checkpoint, { previous, consistencyProof: proof }), []);
    // Assess
    expect(without.previous?.size).toBe(20);
    expect(withProof.root).toBe(rootHex);
  });

  it('verifies an empty log against the checkpoint of size 0', async () => {
    // Prepare
    const empty = log.input(await log.checkpoint(0));
    // Act
    const report = await expectFindings([], empty, []);
    // Assess
    expect(report).toMatchObject({ size: 0, root: hex(rootOf([])) });
  });

  it('takes the checkpoint as bytes as well as text', async () => {
    // Act & Assess
    await expectFindings(log.entries, log.input(new TextEncoder().encode(checkpoint)), []);
  });
});

describe('verifyLog on tampered stored entries', () => {
  it('reports a changed payload byte in the middle as MODIFIED_ENTRY there, and the root mismatch', async () => {
    // Prepare
    const tampered = tamper.replace(log.entries, 17, tamper.payloadByte(log.entries[17]!));
    // Act & Assess
    await expectFindings(tampered, input, [{ kind: 'MODIFIED_ENTRY', position: 17 }, rootMismatch(tampered)]);
  });

  it.each([
    ['one entry', 17, 18],
    ['three entries', 17, 20],
    ['the genesis entry', 0, 1],
  ])('reports %s deleted as DELETED_ENTRIES [from, to) with the root unavailable', async (_, from, to) => {
    // Prepare
    const tampered = tamper.remove(log.entries, from, to);
    // Act
    const report = await expectFindings(tampered, input, [{ kind: 'DELETED_ENTRIES', from, to }, rootUnavailable()]);
    // Assess
    expect(report.root).toBeUndefined();
  });

  it('reports a forged entry stored before the genuine one as INSERTED_ENTRY, the genuine chain verifying', async () => {
    // Prepare: the forgery claims position 17 and links to entry 16, like the genuine one
    const tampered = tamper.insert(log.entries, 17, tamper.forge(log, 17));
    // Act
    const report = await expectFindings(tampered, input, [{ kind: 'INSERTED_ENTRY', position: 17, streamIndex: 17 }]);
    // Assess
    expect(report.root).toBe(rootHex);
  });

  it('reports a forged entry stored after the genuine one as INSERTED_ENTRY, the genuine chain verifying', async () => {
    // Prepare
    const tampered = tamper.insert(log.entries, 18, tamper.forge(log, 17));
    // Act
    const report = await expectFindings(tampered, input, [{ kind: 'INSERTED_ENTRY', position: 17, streamIndex: 18 }]);
    // Assess
    expect(report.root).toBe(rootHex);
  });

  it('reports a forged entry stored far from the position it claims as INSERTED_ENTRY', async () => {
    // Prepare: stored after entry 37, beyond any reordering window
    const tampered = tamper.insert(log.entries, 38, tamper.forge(log, 17));
    // Act & Assess
    await expectFindings(tampered, input, [{ kind: 'INSERTED_ENTRY', position: 17, streamIndex: 38 }]);
  });

  it('reports a forged entry claiming the last position, stored before the genuine one, as INSERTED_ENTRY (only the genuine one matches the signed root)', async () => {
    // Prepare: with no successor to tell them apart, both candidates link to entry 38 and the first
    // stored wins; the signed root (which only the genuine entry matches) is not used to decide.
    const tampered = tamper.insert(log.entries, SIZE - 1, tamper.forge(log, SIZE - 1));
    // Act
    const report = verifyLog(tampered, input);
    // Assess
    expect(plain(report.findings)).toEqual([{ kind: 'INSERTED_ENTRY', position: SIZE - 1, streamIndex: SIZE - 1 }]);
    expect(report.root).toBe(rootHex);
  });

  it('reports two swapped neighbours as REORDERED_ENTRIES only: their content and the root are intact', async () => {
    // Prepare
    const tampered = tamper.swap(log.entries, 17);
    // Act
    const report = await expectFindings(tampered, input, [{ kind: 'REORDERED_ENTRIES', position: 17, after: 18 }]);
    // Assess
    expect(report.root).toBe(rootHex);
  });

  it('reports a log shorter than its checkpoint as TRUNCATED_LOG with both sizes', async () => {
    // Prepare
    const tampered = log.entries.slice(0, 35);
    // Act
    const report = await expectFindings(tampered, input, [{ kind: 'TRUNCATED_LOG', size: 35, checkpointSize: SIZE }]);
    // Assess
    expect(report.size).toBe(35);
  });

  it('reports a replaced prevHash as BROKEN_PREV_HASH at that entry, and the root mismatch', async () => {
    // Prepare: valid-looking hex, the leaf hash of another entry
    const tampered = tamper.replace(log.entries, 17, tamper.prevHash(log.entries[17]!, log.leafHex(5)));
    // Act & Assess
    await expectFindings(tampered, input, [{ kind: 'BROKEN_PREV_HASH', position: 17 }, rootMismatch(tampered)]);
  });

  it('reports a genesis entry whose prevHash is not 64 zeros as BROKEN_PREV_HASH at 0', async () => {
    // Prepare
    const tampered = tamper.replace(log.entries, 0, tamper.prevHash(log.entries[0]!, 'ab'.repeat(32)));
    // Act & Assess
    await expectFindings(tampered, input, [{ kind: 'BROKEN_PREV_HASH', position: 0 }, rootMismatch(tampered)]);
  });

  it('reports a modified last entry by the root mismatch alone: no later entry commits to it', async () => {
    // Prepare
    const tampered = tamper.replace(log.entries, SIZE - 1, tamper.payloadByte(log.entries[SIZE - 1]!));
    // Act & Assess
    await expectFindings(tampered, input, [rootMismatch(tampered)]);
  });

  it('reports a modified next-to-last entry as BROKEN_PREV_HASH at the last position (the two cannot be told apart)', async () => {
    // Prepare
    const tampered = tamper.replace(log.entries, SIZE - 2, tamper.payloadByte(log.entries[SIZE - 2]!));
    // Act & Assess
    await expectFindings(tampered, input, [{ kind: 'BROKEN_PREV_HASH', position: SIZE - 1 }, rootMismatch(tampered)]);
  });

  it('cannot see a modified last entry beyond the checkpoint: nothing signed or chained covers it yet', async () => {
    // Prepare
    const tampered = tamper.replace(log.entries, SIZE - 1, tamper.payloadByte(log.entries[SIZE - 1]!));
    // Act & Assess
    await expectFindings(tampered, log.input(await log.checkpoint(32)), []);
  });

  it('reports an entry modified beyond the checkpoint by the link that follows it', async () => {
    // Prepare
    const tampered = tamper.replace(log.entries, 35, tamper.payloadByte(log.entries[35]!));
    // Act & Assess
    await expectFindings(tampered, log.input(await log.checkpoint(32)), [{ kind: 'MODIFIED_ENTRY', position: 35 }]);
  });

  it.each([
    ['bytes that are not JSON', () => new TextEncoder().encode('not an entry')],
    ['an entry cut short', () => tamper.cut(log.entries[17]!, 200)],
    ['an empty record', () => new Uint8Array(0)],
  ])('reports %s as MALFORMED at its stream index, its position as deleted', async (_, bad) => {
    // Prepare
    const tampered = tamper.replace(log.entries, 17, bad());
    // Act & Assess
    await expectFindings(tampered, input, [
      { kind: 'MALFORMED', position: undefined, streamIndex: 17 },
      { kind: 'DELETED_ENTRIES', from: 17, to: 18 },
      rootUnavailable(),
    ]);
  });

  it('rejects non-canonical bytes in deep mode, which the fast scan reads as a modified entry', () => {
    // Prepare: a space after a colon parses to the same entry but is not RFC 8785
    const text = Buffer.from(log.entries[17]!).toString('utf8').replace('"kv":1', '"kv": 1');
    const tampered = tamper.replace(log.entries, 17, new TextEncoder().encode(text));
    // Act
    const fast = verifyLog(tampered, input);
    const deep = verifyLog(tampered, input, { deep: true });
    // Assess
    expect(plain(fast.findings)).toEqual([{ kind: 'MODIFIED_ENTRY', position: 17 }, rootMismatch(tampered)]);
    expect(plain(deep.findings)).toEqual([
      { kind: 'MALFORMED', position: undefined, streamIndex: 17 },
      { kind: 'DELETED_ENTRIES', from: 17, to: 18 },
      rootUnavailable(),
    ]);
  });
});

describe('verifyLog on entries a careless writer chained and signed', () => {
  it('reports an entry of another tenant as WRONG_TENANT only', async () => {
    // Prepare
    const careless = buildLog(SIZE, { quirks: { tenantAt: (p) => (p === 12 ? 'globex' : undefined) } });
    // Act & Assess
    await expectFindings(careless.entries, careless.input(await careless.checkpoint()), [
      { kind: 'WRONG_TENANT', position: 12, expected: 'acme', found: 'globex' },
    ]);
  });

  it.each([
    ['goes back', 1_700_000_000_000_000_000n, '2023-11-14T22:13:20.000000000Z'],
    ['stands still', BASE_NANOS + 11_000n, '2025-06-15T15:06:40.000011000Z'],
  ])('reports a clock that %s as TIMESTAMP_REGRESSION only', async (_, clock, found) => {
    // Prepare
    const careless = buildLog(SIZE, { quirks: { timestampAt: (p) => (p === 12 ? clock : undefined) } });
    // Act & Assess
    await expectFindings(careless.entries, careless.input(await careless.checkpoint()), [
      { kind: 'TIMESTAMP_REGRESSION', position: 12, previous: '2025-06-15T15:06:40.000011000Z', found },
    ]);
  });
});

describe('verifyLog checks the checkpoints', () => {
  it('reports a flipped signature bit as BAD_SIGNATURE and checks no root against the unsigned text', async () => {
    // Act
    const report = await expectFindings(log.entries, log.input(tamper.signature(checkpoint)), [{ kind: 'BAD_SIGNATURE' }]);
    // Assess
    expect(report).toMatchObject({ checkpoint: undefined, root: undefined, size: SIZE });
  });

  it('reports a checkpoint signed by another key of the same name as UNKNOWN_KEY', async () => {
    // Prepare
    const impostor = makeKeys(log.origin);
    const note = await signNote(formatCheckpoint({ origin: log.origin, size: SIZE, rootHash: log.rootAt(SIZE) }), [impostor.signer]);
    // Act & Assess: openNote matches a signature to a verifier by key name AND key id, and the id
    // hashes name and public key, so the impostor's line is an unknown key's (kept aside as
    // unverified), not a bad signature of ours; no verified signature left → UnverifiedNoteError.
    await expectFindings(log.entries, log.input(note), [{ kind: 'UNKNOWN_KEY' }]);
  });

  it('reports a checkpoint of another log, opened with that log\'s verifier, as WRONG_ORIGIN', async () => {
    // Prepare
    const other = buildLog(3, { tenant: 'globex' });
    const note = await other.checkpoint();
    // Act & Assess
    await expectFindings(log.entries, log.input(note, { verifier: other.keys.verifier }), [
      { kind: 'WRONG_ORIGIN', expected: log.origin, found: originFor(PREFIX, 'globex') },
    ]);
  });

  it('reports a checkpoint body naming another origin, signed with this log\'s key, as WRONG_ORIGIN', async () => {
    // Prepare
    const body = formatCheckpoint({ origin: originFor(PREFIX, 'globex'), size: SIZE, rootHash: log.rootAt(SIZE) });
    const note = await signNote(body, [log.keys.signer]);
    // Act & Assess
    await expectFindings(log.entries, log.input(note), [{ kind: 'WRONG_ORIGIN', expected: log.origin, found: originFor(PREFIX, 'globex') }]);
  });

  it('reports a signed note that is not a checkpoint as MALFORMED without position', async () => {
    // Prepare
    const note = await signNote('not a checkpoint\n', [log.keys.signer]);
    // Act & Assess
    await expectFindings(log.entries, log.input(note), [{ kind: 'MALFORMED', position: undefined, streamIndex: undefined }]);
  });

  it('reports a previous checkpoint of another history, signed by the same key, as FORK', async () => {
    // Prepare
    const rewritten = buildLog(20, { keys: log.keys });
    const previous = await rewritten.checkpoint(20);
    // Act
    const report = await expectFindings(log.entries, log.input(checkpoint, { previous }), [{ kind: 'FORK', size1: 20, size2: SIZE }]);
    // Assess
    expect(report.root).toBe(rootHex);
  });

  it('reports a consistency proof that does not verify as FORK', async () => {
    // Prepare
    const previous = await log.checkpoint(20);
    const proof = consistencyProof(log.entries, 20, SIZE);
    proof[1]![0]! ^= 0x01;
    // Act & Assess
    await expectFindings(log.entries, log.input(checkpoint, { previous, consistencyProof: proof }), [{ kind: 'FORK', size1: 20, size2: SIZE }]);
  });

  it('reports one FORK when both the proof and the recomputed previous root disagree with another history', async () => {
    // Prepare
    const rewritten = buildLog(20, { keys: log.keys });
    const previous = await rewritten.checkpoint(20);
    const proof = consistencyProof(log.entries, 20, SIZE);
    // Act & Assess
    await expectFindings(log.entries, log.input(checkpoint, { previous, consistencyProof: proof }), [{ kind: 'FORK', size1: 20, size2: SIZE }]);
  });

  it('reports a latest checkpoint older than the one already verified as FORK', async () => {
    // Prepare
    const previous = checkpoint;
    const latest = await log.checkpoint(20);
    // Act & Assess
    await expectFindings(log.entries, log.input(latest, { previous }), [{ kind: 'FORK', size1: SIZE, size2: 20 }]);
  });

  it('reports a tampered previous checkpoint by its own finding and skips the fork check', async () => {
    // Prepare
    const previous = tamper.signature(await log.checkpoint(20));
    // Act
    const report = await expectFindings(log.entries, log.input(checkpoint, { previous }), [{ kind: 'BAD_SIGNATURE' }]);
    // Assess
    expect(report.previous).toBeUndefined();
  });
});

describe('openCheckpointForVerification', () => {
  it('opens a good checkpoint with no finding', () => {
    // Act
    const opened = openCheckpointForVerification(checkpoint, log.keys.verifier, log.origin);
    // Assess
    expect(opened).toEqual({ checkpoint: { origin: log.origin, size: SIZE, rootHash: log.rootAt(SIZE), extensions: [] } });
  });

  it('turns a note without any signature block into MALFORMED', () => {
    // Act
    const opened = openCheckpointForVerification('ledger.example.com/acme\n1\n', log.keys.verifier, log.origin);
    // Assess
    expect(opened).toEqual({ finding: { kind: 'MALFORMED', position: undefined, streamIndex: undefined, message: expect.stringMatching(/^checkpoint: /) } });
  });
});

describe('cutSizes', () => {
  it('lists the sizes of the opened checkpoints, latest first', async () => {
    // Prepare
    const latest = openCheckpointForVerification(checkpoint, log.keys.verifier, log.origin).checkpoint;
    const previous = openCheckpointForVerification(await log.checkpoint(20), log.keys.verifier, log.origin).checkpoint;
    // Act & Assess
    expect(cutSizes(latest, previous)).toEqual([SIZE, 20]);
    expect(cutSizes(latest, undefined)).toEqual([SIZE]);
    expect(cutSizes(undefined, undefined)).toEqual([]);
  });
});

describe('verifyLog leaves its input alone', () => {
  it('never changes the stored bytes or the checkpoint bytes it is given, intact or tampered', async () => {
    // Prepare
    const logs = [
      log.entries,
      tamper.replace(log.entries, 17, tamper.payloadByte(log.entries[17]!)),
      tamper.replace(log.entries, 17, tamper.prevHash(log.entries[17]!, log.leafHex(3))),
      tamper.insert(log.entries, 17, tamper.forge(log, 17)),
      tamper.swap(log.entries, 17),
      tamper.remove(log.entries, 17),
    ];
    const note = new TextEncoder().encode(checkpoint);
    const previous = new TextEncoder().encode(await log.checkpoint(20));
    const before = logs.map(snapshot);
    const notesBefore = snapshot([note, previous]);
    // Act
    for (const entries of logs) await verifyEveryWay(entries, log.input(note, { previous }));
    // Assess
    expect(logs).toEqual(before);
    expect([note, previous]).toEqual(notesBefore);
  });
});
