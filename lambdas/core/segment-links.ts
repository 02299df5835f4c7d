/**
 * How a segment's loose ends become findings: broken prevHash links are
 * classified once neighbouring segments are known, and an undecided last
 * position is settled by the combine step (log-verifier.ts).
 */
import type { SegmentResult } from './segment-verifier.js';
import type { Finding } from './verification-findings.js';

/** The undecided last position of a segment. */
export interface SegmentTail {
  readonly position: number;
  readonly candidates: readonly TailCandidate[];
  /** Leaf hash (hex) and timestamp of the entry before it, when known. */
  readonly prevLeafHash: string | undefined;
  readonly prevTimestamp: string | undefined;
  /** Whether a cut was requested right after it. */
  readonly cutAfter: boolean;
}

/** One of the entries that claim a tail's position. */
export interface TailCandidate {
  readonly leafHex: string;
  readonly prevHash: string;
  readonly timestamp: string;
  readonly streamIndex: number;
}

/**
 * Turns broken links into findings. A link p is broken when entry p's prevHash
 * is not the leaf hash of entry p−1. Altering entry p−1 breaks link p only;
 * altering entry p's prevHash breaks link p and, since entry p's bytes changed,
 * link p+1. So a broken link followed by another is BROKEN_PREV_HASH at p, and
 * a lone one is MODIFIED_ENTRY at p−1; a lone break at position 0 or at the
 * last position cannot be told apart and is reported as BROKEN_PREV_HASH.
 */
export function classifyLinks(brokenLinks: readonly number[], lastPosition: number): Finding[] {
  const findings: Finding[] = [];
  for (let i = 0; i < brokenLinks.length; i++) {
    const p = brokenLinks[i]!;
    if (brokenLinks[i + 1] === p + 1) {
      const link = p === 0 ? 'does not carry the genesis prevHash' : `does not link to entry ${p - 1}`;
      findings.push({ kind: 'BROKEN_PREV_HASH', position: p, message: `entry ${p} ${link} and was altered` });
      i++;
    } else if (p === 0) {
      findings.push({ kind: 'BROKEN_PREV_HASH', position: 0, message: 'entry 0 does not carry the genesis prevHash' });
    } else if (p === lastPosition) {
      findings.push({ kind: 'BROKEN_PREV_HASH', position: p, message: `the last entry ${p} does not link to entry ${p - 1}: one of the two was altered` });
    } else {
      findings.push({ kind: 'MODIFIED_ENTRY', position: p - 1, message: `entry ${p - 1} differs from what entry ${p} committed to` });
    }
  }
  return findings;
}

/**
 * Settles an undecided tail with candidate `index`: that entry joins the chain
 * (range, cuts, links and timestamps as `SegmentVerifier` would have done) and
 * the others are INSERTED_ENTRY findings.
 */
export function acceptTail(segment: SegmentResult, index: number): SegmentResult {
  const tail = segment.tail;
  const chosen = tail?.candidates[index];
  if (tail === undefined || chosen === undefined) return segment;
  const p = tail.position;
  const range = segment.range.clone();
  range.append(Buffer.from(chosen.leafHex, 'hex'));
  const cuts = new Map(segment.cuts);
  if (tail.cutAfter) cuts.set(p + 1, range.clone());
  const findings: Finding[] = [...segment.findings];
  for (const other of tail.candidates) {
    if (other !== chosen) findings.push({ kind: 'INSERTED_ENTRY', position: p, streamIndex: other.streamIndex, message: `entry #${other.streamIndex} claims position ${p} but is not part of the chain` });
  }
  if (tail.prevTimestamp !== undefined && chosen.timestamp <= tail.prevTimestamp) {
    findings.push({ kind: 'TIMESTAMP_REGRESSION', position: p, previous: tail.prevTimestamp, found: chosen.timestamp, message: `entry ${p} is timestamped ${chosen.timestamp}, not after ${tail.prevTimestamp}` });
  }
  const broken = tail.prevLeafHash !== undefined && chosen.prevHash !== tail.prevLeafHash;
  const first = segment.firstPosition === undefined;
  const { tail: _settled, ...rest } = segment;
  return {
    ...rest,
    end: p + 1,
    range,
    cuts,
    firstPosition: first ? p : segment.firstPosition,
    firstPrevHash: first ? chosen.prevHash : segment.firstPrevHash,
    firstTimestamp: first ? chosen.timestamp : segment.firstTimestamp,
    lastLeafHash: chosen.leafHex,
    lastTimestamp: chosen.timestamp,
    brokenLinks: broken ? [...segment.brokenLinks, p] : segment.brokenLinks,
    findings,
  };
}
