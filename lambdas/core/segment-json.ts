/**
 * A JSON form of segment results, so segments verified elsewhere (a worker
 * thread, a Step Functions Distributed Map iteration) can be combined here.
 * Hashes travel as lowercase hex; the compact ranges are rebuilt and checked
 * by `CompactRange.from` on the way back.
 */
import { fromHex, toHex } from './bytes.js';
import { CompactRange } from './compact-range.js';
import type { SegmentResult, SegmentTail } from './segment-verifier.js';
import type { Finding } from './verification-findings.js';

export interface RangeJson {
  readonly begin: number;
  readonly end: number;
  readonly hashes: readonly string[];
}

export interface SegmentResultJson {
  readonly begin: number;
  readonly end: number;
  readonly range: RangeJson;
  readonly cuts: ReadonlyArray<readonly [number, RangeJson]>;
  readonly firstPosition: number | null;
  readonly firstPrevHash: string | null;
  readonly firstTimestamp: string | null;
  readonly lastLeafHash: string | null;
  readonly lastTimestamp: string | null;
  readonly brokenLinks: readonly number[];
  readonly findings: readonly Finding[];
  readonly pushed: number;
  readonly tail: SegmentTailJson | null;
}

/** The undecided tail in JSON: undefined values become null. */
export interface SegmentTailJson extends Omit<SegmentTail, 'prevLeafHash' | 'prevTimestamp'> {
  readonly prevLeafHash: string | null;
  readonly prevTimestamp: string | null;
}

function rangeToJson(range: CompactRange): RangeJson {
  return { begin: range.begin, end: range.end, hashes: range.hashes.map(toHex) };
}

function rangeFromJson(json: RangeJson): CompactRange {
  return CompactRange.from(json.begin, json.end, json.hashes.map((h) => fromHex(h, 32)));
}

export function segmentResultToJson(result: SegmentResult): SegmentResultJson {
  return {
    begin: result.begin,
    end: result.end,
    range: rangeToJson(result.range),
    cuts: [...result.cuts].map(([size, range]) => [size, rangeToJson(range)] as const),
    firstPosition: result.firstPosition ?? null,
    firstPrevHash: result.firstPrevHash ?? null,
    firstTimestamp: result.firstTimestamp ?? null,
    lastLeafHash: result.lastLeafHash ?? null,
    lastTimestamp: result.lastTimestamp ?? null,
    brokenLinks: result.brokenLinks,
    findings: result.findings,
    pushed: result.pushed,
    tail: result.tail ? { ...result.tail, prevLeafHash: result.tail.prevLeafHash ?? null, prevTimestamp: result.tail.prevTimestamp ?? null } : null,
  };
}

export function segmentResultFromJson(json: SegmentResultJson): SegmentResult {
  return {
    begin: json.begin,
    end: json.end,
    range: rangeFromJson(json.range),
    cuts: new Map(json.cuts.map(([size, range]) => [size, rangeFromJson(range)])),
    firstPosition: json.firstPosition ?? undefined,
    firstPrevHash: json.firstPrevHash ?? undefined,
    firstTimestamp: json.firstTimestamp ?? undefined,
    lastLeafHash: json.lastLeafHash ?? undefined,
    lastTimestamp: json.lastTimestamp ?? undefined,
    brokenLinks: json.brokenLinks,
    findings: json.findings,
    pushed: json.pushed,
    ...(json.tail ? { tail: { ...json.tail, prevLeafHash: json.tail.prevLeafHash ?? undefined, prevTimestamp: json.tail.prevTimestamp ?? undefined } } : {}),
  };
}
