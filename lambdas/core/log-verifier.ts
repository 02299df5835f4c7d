/**
 * Full verification of a tenant's log against signed checkpoints: open the
 * checkpoints, verify the entries segment by segment (segment-verifier.ts),
 * then combine the segments — links and timestamps across their borders,
 * compact ranges merged into the roots at the checkpoint sizes.
 *
 * A parallel verifier runs `SegmentVerifier`s on disjoint position ranges
 * (with `cutAt: cutSizes(...)`) and hands their results to `combineSegments`;
 * `verifyLog` does the same in one pass over one stream.
 */
import { bytesEqual, toHex } from './bytes.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { CompactRange } from './compact-range.js';
import { CoreError } from './errors.js';
import { verifyConsistency } from './merkle-proof.js';
import { CheckpointOriginMismatchError, InvalidSignatureError, UnverifiedNoteError } from './note-errors.js';
import { acceptTail, classifyLinks } from './segment-links.js';
import { SegmentVerifier, type SegmentOptions, type SegmentResult } from './segment-verifier.js';
import type { NoteVerifier } from './signed-note.js';
import type { Finding } from './verification-findings.js';

export interface LogVerificationInput {
  readonly tenant: string;
  /** The log's origin, `<prefix>/<tenant>`; also the verifier key's name. */
  readonly origin: string;
  readonly verifier: NoteVerifier;
  /** The latest signed checkpoint (note text). */
  readonly checkpoint: string | Uint8Array;
  /** The last checkpoint a previous run verified, if any: the log must extend it. */
  readonly previous?: string | Uint8Array;
  /** A consistency proof previous → latest as served by the log, checked as well when given. */
  readonly consistencyProof?: readonly Uint8Array[];
}

export interface LogVerificationReport {
  /** True when nothing was found. */
  readonly ok: boolean;
  readonly findings: readonly Finding[];
  /** Entries in the log (one past the last position seen). */
  readonly size: number;
  readonly checkpoint: Checkpoint | undefined;
  readonly previous: Checkpoint | undefined;
  /** Hex root recomputed at the checkpoint's size, when it could be. */
  readonly root: string | undefined;
}

/** Opens a signed checkpoint, turning every way it can fail into a finding. */
export function openCheckpointForVerification(note: string | Uint8Array, verifier: NoteVerifier, origin: string): { checkpoint?: Checkpoint; finding?: Finding } {
  try {
    return { checkpoint: openCheckpoint(note, verifier, { origin }) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof CheckpointOriginMismatchError) return { finding: { kind: 'WRONG_ORIGIN', expected: error.expected, found: error.found, message } };
    if (error instanceof UnverifiedNoteError) return { finding: { kind: 'UNKNOWN_KEY', message } };
    if (error instanceof InvalidSignatureError) return { finding: { kind: 'BAD_SIGNATURE', message } };
    if (error instanceof CoreError) return { finding: { kind: 'MALFORMED', position: undefined, streamIndex: undefined, message: `checkpoint: ${message}` } };
    throw error;
  }
}

/** Sizes at which segments must keep a compact range so the roots there can be computed. */
export function cutSizes(checkpoint: Checkpoint | undefined, previous: Checkpoint | undefined): number[] {
  return [checkpoint?.size, previous?.size].filter((s): s is number => s !== undefined);
}

/** Root at `size` from contiguous segments starting at 0, or undefined when the entries do not allow it. */
function rootAt(segments: readonly SegmentResult[], size: number): Uint8Array | undefined {
  if (size === 0) return CompactRange.empty().root();
  let range: CompactRange | undefined;
  for (const seg of segments) {
    if (seg.end === seg.begin) continue;
    const part = seg.cuts.get(size) ?? (seg.end <= size ? seg.range : undefined);
    if (part === undefined || part.begin !== (range?.end ?? 0)) return undefined;
    if (range === undefined) range = part.clone();
    else range.merge(part);
    if (range.end === size) return range.root();
  }
  return undefined;
}

/** Segments in storage order, stream indices made log-wide, undecided tails settled. */
function prepare(results: readonly SegmentResult[], checkpoint: Checkpoint | undefined): SegmentResult[] {
  const segments = [...results].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let offset = 0;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const shift = offset;
    offset += seg.pushed;
    if (shift === 0) continue;
    const findings = seg.findings.map((f) => ('streamIndex' in f && f.streamIndex !== undefined ? { ...f, streamIndex: f.streamIndex + shift } : f));
    const tail = seg.tail && { ...seg.tail, candidates: seg.tail.candidates.map((c) => ({ ...c, streamIndex: c.streamIndex + shift })) };
    segments[i] = { ...seg, findings, ...(tail ? { tail } : {}) };
  }
  for (let i = 0; i < segments.length; i++) {
    const tail = segments[i]!.tail;
    if (tail !== undefined) segments[i] = acceptTail(segments[i]!, settleTail(segments, i, checkpoint));
  }
  return segments;
}

/**
 * Which of the entries claiming a segment's last position is the genuine one:
 * the one the next segment's first entry links to, else (at the checkpoint's
 * last position) the one that yields the signed root, else the one that links
 * to its predecessor, else the first stored.
 */
function settleTail(segments: readonly SegmentResult[], i: number, checkpoint: Checkpoint | undefined): number {
  const seg = segments[i]!;
  const tail = seg.tail!;
  const next = segments.slice(i + 1).find((s) => s.firstPosition !== undefined);
  const linked = next?.firstPosition === tail.position + 1 ? tail.candidates.findIndex((c) => c.leafHex === next.firstPrevHash) : -1;
  if (linked >= 0) return linked;
  if (checkpoint?.size === tail.position + 1) {
    const others = segments.filter((_, j) => j !== i);
    const signed = tail.candidates.findIndex((_, k) => {
      const root = rootAt([...others, acceptTail(seg, k)].sort((a, b) => a.begin - b.begin || a.end - b.end), checkpoint.size);
      return root !== undefined && bytesEqual(root, checkpoint.rootHash);
    });
    if (signed >= 0) return signed;
  }
  return Math.max(0, tail.candidates.findIndex((c) => c.prevHash === tail.prevLeafHash));
}

/**
 * Combines segment results (any order; they must cover [0, n) between them)
 * into the findings of the whole log, checked against the opened checkpoints.
 * Classification is exact within segments; a tamper that straddles a segment
 * border (two swapped entries on either side) is still reported, but may be
 * named as a deletion plus an insertion rather than a reordering.
 */
export function combineSegments(
  results: readonly SegmentResult[],
  context: { readonly checkpoint?: Checkpoint; readonly previous?: Checkpoint; readonly consistencyProof?: readonly Uint8Array[] },
): { findings: Finding[]; size: number; root: string | undefined } {
  const segments = prepare(results, context.checkpoint);
  const findings: Finding[] = segments.flatMap((s) => s.findings);
  const broken: number[] = [];
  let end = 0;
  let last: SegmentResult | undefined;
  for (const seg of segments) {
    if (seg.begin > end) findings.push({ kind: 'DELETED_ENTRIES', from: end, to: seg.begin, message: `entries ${end}..${seg.begin - 1} are missing` });
    if (seg.end === seg.begin) continue;
    if (last !== undefined && seg.begin === end && seg.begin > 0) {
      // A segment that starts with a gap has already reported it; its first link cannot be checked.
      if (seg.firstPosition === seg.begin && seg.firstPrevHash !== last.lastLeafHash) broken.push(seg.begin);
      if (seg.firstTimestamp !== undefined && last.lastTimestamp !== undefined && seg.firstTimestamp <= last.lastTimestamp) {
        findings.push({ kind: 'TIMESTAMP_REGRESSION', position: seg.firstPosition ?? seg.begin, previous: last.lastTimestamp, found: seg.firstTimestamp, message: `entry ${seg.firstPosition ?? seg.begin} is timestamped ${seg.firstTimestamp}, not after ${last.lastTimestamp}` });
      }
    }
    broken.push(...seg.brokenLinks);
    end = Math.max(end, seg.end);
    last = seg;
  }
  findings.push(...classifyLinks(broken.sort((a, b) => a - b), end - 1));

  const { checkpoint, previous } = context;
  let root: Uint8Array | undefined;
  if (checkpoint !== undefined) {
    if (end < checkpoint.size) {
      findings.push({ kind: 'TRUNCATED_LOG', size: end, checkpointSize: checkpoint.size, message: `the log has ${end} entries but the checkpoint covers ${checkpoint.size}` });
    } else {
      root = rootAt(segments, checkpoint.size);
      if (root === undefined || !bytesEqual(root, checkpoint.rootHash)) {
        findings.push({ kind: 'ROOT_MISMATCH', size: checkpoint.size, expected: toHex(checkpoint.rootHash), computed: root ? toHex(root) : 'unavailable', message: `the entries do not hash to the signed root at size ${checkpoint.size}` });
      }
    }
  }
  if (checkpoint !== undefined && previous !== undefined) {
    findings.push(...checkPrevious(segments, checkpoint, previous, root, context.consistencyProof));
  }
  return { findings, size: end, root: root ? toHex(root) : undefined };
}

function checkPrevious(segments: readonly SegmentResult[], latest: Checkpoint, previous: Checkpoint, latestRoot: Uint8Array | undefined, proof: readonly Uint8Array[] | undefined): Finding[] {
  const findings: Finding[] = [];
  const fork = (message: string): Finding => ({ kind: 'FORK', size1: previous.size, size2: latest.size, message });
  if (previous.size > latest.size) {
    return [fork(`the latest checkpoint (size ${latest.size}) is older than one already verified (size ${previous.size})`)];
  }
  if (proof !== undefined && previous.size > 0) {
    try {
      verifyConsistency(previous.size, latest.size, proof, previous.rootHash, latest.rootHash);
    } catch (error) {
      findings.push(fork(`checkpoints ${previous.size} and ${latest.size} are not consistent: ${(error as Error).message}`));
    }
  }
  const latestMatches = latestRoot !== undefined && bytesEqual(latestRoot, latest.rootHash);
  const previousRoot = rootAt(segments, previous.size);
  if (latestMatches && previousRoot !== undefined && !bytesEqual(previousRoot, previous.rootHash) && findings.length === 0) {
    findings.push(fork(`the log matches checkpoint ${latest.size} but not the verified checkpoint ${previous.size}: history was rewritten`));
  }
  return findings;
}

/**
 * Verifies a whole log, streamed from position 0 in storage order, against
 * its latest signed checkpoint and, when given, the last verified one.
 *
 * @example
 * const report = verifyLog(entryBytes, { tenant, origin, verifier, checkpoint });
 * if (!report.ok) console.log(report.findings);
 */
export function verifyLog(entries: Iterable<Uint8Array>, input: LogVerificationInput, options: Pick<SegmentOptions, 'window' | 'deep'> = {}): LogVerificationReport {
  const { opened, findings, verifier } = start(input, options);
  for (const bytes of entries) verifier.push(bytes);
  return finish(verifier, opened, findings, input);
}

/** `verifyLog` over an async stream (a store reader). */
export async function verifyLogStream(entries: AsyncIterable<Uint8Array>, input: LogVerificationInput, options: Pick<SegmentOptions, 'window' | 'deep'> = {}): Promise<LogVerificationReport> {
  const { opened, findings, verifier } = start(input, options);
  for await (const bytes of entries) verifier.push(bytes);
  return finish(verifier, opened, findings, input);
}

function start(input: LogVerificationInput, options: Pick<SegmentOptions, 'window' | 'deep'>) {
  const findings: Finding[] = [];
  const latest = openCheckpointForVerification(input.checkpoint, input.verifier, input.origin);
  const previous = input.previous === undefined ? {} : openCheckpointForVerification(input.previous, input.verifier, input.origin);
  for (const f of [latest.finding, previous.finding]) if (f) findings.push(f);
  const opened = { checkpoint: latest.checkpoint, previous: previous.checkpoint };
  const verifier = new SegmentVerifier({ ...options, tenant: input.tenant, cutAt: cutSizes(opened.checkpoint, opened.previous) });
  return { opened, findings, verifier };
}

function finish(verifier: SegmentVerifier, opened: { checkpoint?: Checkpoint; previous?: Checkpoint }, findings: Finding[], input: LogVerificationInput): LogVerificationReport {
  const combined = combineSegments([verifier.finish()], { ...opened, consistencyProof: input.consistencyProof });
  const all = [...findings, ...combined.findings];
  return { ok: all.length === 0, findings: all, size: combined.size, checkpoint: opened.checkpoint, previous: opened.previous, root: combined.root };
}
