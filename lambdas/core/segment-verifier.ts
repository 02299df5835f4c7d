/**
 * Streaming verification of one segment of a tenant's log: positions
 * [begin, end) pushed in storage order, checked and folded into a compact range
 * with O(window + log n) memory, whatever the segment's length.
 *
 * Per entry it recomputes the leaf hash from the stored canonical bytes, reads
 * position, prevHash, tenant and timestamp (entry-fields.ts; or parses and
 * validates the whole entry in deep mode), and orders entries by position
 * through a small window so deletions, insertions and swaps are told apart:
 * - a position never seen → DELETED_ENTRIES;
 * - two entries for one position → the one its successor links to stays in the
 *   chain, the other is an INSERTED_ENTRY;
 * - a position that arrives after a higher one → REORDERED_ENTRIES (the chain
 *   and the root are then checked in position order, so content that is intact
 *   but misplaced verifies apart from that finding).
 * Broken prevHash links are collected and classified by `classifyLinks` once
 * neighbouring segments are known (combine step), since telling a modified
 * entry from a forged link needs the next link too.
 */
import { decodeEntry, GENESIS_PREV_HASH } from './ledger-entry.js';
import { emptyEntryFields, scanEntryFields, tenantPattern } from './entry-fields.js';
import { CompactRange } from './compact-range.js';
import { CoreError } from './errors.js';
import { hashLeafHex } from './rfc9162-hasher.js';
import type { Finding } from './verification-findings.js';

export interface SegmentOptions {
  /** The tenant whose log this is; any other tenant in an entry is a finding. */
  readonly tenant: string;
  /** First position of the segment (default 0). */
  readonly begin?: number;
  /** Leaf hash (hex) of entry begin−1, when known; at begin 0 it is the genesis value. */
  readonly prevLeafHash?: string;
  /** Timestamp of entry begin−1, when known. */
  readonly prevTimestamp?: string;
  /** Sizes at which to keep a copy of the compact range (to compute roots there). */
  readonly cutAt?: readonly number[];
  /** Entries held back to reorder them by position (default 16). */
  readonly window?: number;
  /** Parse and validate every entry in full (schema, canonical form); slower. */
  readonly deep?: boolean;
}

export interface SegmentResult {
  readonly begin: number;
  /** One past the last position accepted. */
  readonly end: number;
  /** Compact range of the accepted leaves, in position order. */
  readonly range: CompactRange;
  /** Compact ranges [begin, s) for each requested cut s reached. */
  readonly cuts: ReadonlyMap<number, CompactRange>;
  /** Position of the first accepted entry: begin, unless the segment starts with a gap. */
  readonly firstPosition: number | undefined;
  /** prevHash of the first accepted entry (checked by the combine step when begin > 0). */
  readonly firstPrevHash: string | undefined;
  readonly firstTimestamp: string | undefined;
  readonly lastLeafHash: string | undefined;
  readonly lastTimestamp: string | undefined;
  /** Positions whose entry does not link to its predecessor, ascending. */
  readonly brokenLinks: readonly number[];
  /** Findings other than link breaks. */
  readonly findings: readonly Finding[];
  /** Entries pushed (including rejected ones). */
  readonly pushed: number;
  /**
   * Set when the segment ends with two or more entries claiming its last
   * position and nothing inside it tells which one the chain continues from:
   * the combine step decides with the next segment's first link or with the
   * signed root (`acceptTail`). `end` and `range` then stop before it.
   */
  readonly tail?: SegmentTail;
}

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

export interface TailCandidate {
  readonly leafHex: string;
  readonly prevHash: string;
  readonly timestamp: string;
  readonly streamIndex: number;
}

interface Pending {
  position: number;
  streamIndex: number;
  leaf: Buffer;
  leafHex: string;
  prevHash: string;
  timestamp: string;
}

export class SegmentVerifier {
  private readonly tenant: string;
  private readonly tenantBytes: Buffer;
  private readonly begin: number;
  private readonly window: number;
  private readonly deep: boolean;
  private readonly cutAt: ReadonlySet<number>;
  private readonly range: CompactRange;
  private readonly cuts = new Map<number, CompactRange>();
  private readonly findings: Finding[] = [];
  private readonly brokenLinks: number[] = [];
  private readonly pending: Pending[] = [];
  private readonly fields = emptyEntryFields();
  private expected: number;
  private maxSeen = -1;
  private pushed = 0;
  private prevLeafHex: string | undefined;
  private prevTimestamp: string | undefined;
  private firstPosition: number | undefined;
  private firstPrevHash: string | undefined;
  private tail: SegmentTail | undefined;
  private firstTimestamp: string | undefined;
  private deletedRanges: Array<[number, number]> = [];

  constructor(options: SegmentOptions) {
    this.tenant = options.tenant;
    this.tenantBytes = tenantPattern(options.tenant);
    this.begin = options.begin ?? 0;
    this.expected = this.begin;
    this.window = Math.max(1, options.window ?? 16);
    this.deep = options.deep ?? false;
    this.cutAt = new Set(options.cutAt ?? []);
    this.range = CompactRange.empty(this.begin);
    this.prevLeafHex = this.begin === 0 ? GENESIS_PREV_HASH : options.prevLeafHash;
    this.prevTimestamp = options.prevTimestamp;
    if (this.cutAt.has(this.begin)) this.cuts.set(this.begin, this.range.clone());
  }

  /** Adds the next stored entry's canonical bytes, in storage order. */
  push(entryBytes: Uint8Array): void {
    const streamIndex = this.pushed++;
    const bytes = Buffer.isBuffer(entryBytes) ? entryBytes : Buffer.from(entryBytes.buffer, entryBytes.byteOffset, entryBytes.byteLength);
    const item = this.read(bytes, streamIndex);
    if (item === undefined) return;
    const p = item.position;
    if (p < this.expected) {
      this.late(item);
      return;
    }
    if (p < this.maxSeen) {
      this.findings.push({ kind: 'REORDERED_ENTRIES', position: p, after: this.maxSeen, message: `entry ${p} is stored after entry ${this.maxSeen}` });
    } else {
      this.maxSeen = p;
    }
    this.insert(item);
    this.drain(false);
  }

  /** Processes what is held back and returns the segment's result. */
  finish(): SegmentResult {
    this.drain(true);
    return {
      begin: this.begin,
      end: this.expected,
      range: this.range,
      cuts: this.cuts,
      firstPosition: this.firstPosition,
      firstPrevHash: this.firstPrevHash,
      firstTimestamp: this.firstTimestamp,
      lastLeafHash: this.expected > this.begin ? this.prevLeafHex : undefined,
      lastTimestamp: this.expected > this.begin ? this.prevTimestamp : undefined,
      brokenLinks: this.brokenLinks,
      findings: this.findings,
      pushed: this.pushed,
      ...(this.tail ? { tail: this.tail } : {}),
    };
  }

  private read(bytes: Buffer, streamIndex: number): Pending | undefined {
    const f = this.fields;
    if (this.deep) {
      try {
        decodeEntry(bytes);
      } catch (cause) {
        const message = cause instanceof CoreError ? cause.message : String(cause);
        this.findings.push({ kind: 'MALFORMED', position: undefined, streamIndex, message: `entry #${streamIndex}: ${message}` });
        return undefined;
      }
    }
    if (!scanEntryFields(bytes, f, this.tenantBytes)) {
      this.findings.push({ kind: 'MALFORMED', position: undefined, streamIndex, message: `entry #${streamIndex} is not a canonical ledger entry` });
      return undefined;
    }
    if (!f.tenantMatches) {
      const found = bytes.toString('utf8', f.tenantStart, f.tenantEnd);
      this.findings.push({ kind: 'WRONG_TENANT', position: f.position, expected: this.tenant, found, message: `entry ${f.position} belongs to tenant ${JSON.stringify(found)}` });
    }
    const leafHex = hashLeafHex(bytes);
    return {
      position: f.position,
      streamIndex,
      leaf: Buffer.from(leafHex, 'hex'),
      leafHex,
      prevHash: bytes.toString('latin1', f.prevHashAt, f.prevHashAt + 64),
      timestamp: bytes.toString('latin1', f.timestampAt, f.timestampAt + 30),
    };
  }

  /** Keeps `pending` sorted by position (stable for equal positions). */
  private insert(item: Pending): void {
    const q = this.pending;
    let i = q.length;
    while (i > 0 && q[i - 1]!.position > item.position) i--;
    if (i === q.length) q.push(item);
    else q.splice(i, 0, item);
  }

  private drain(final: boolean): void {
    const q = this.pending;
    // In-order storage, the common case: the held entry has its successor behind it.
    while (q.length === 2 && q[0]!.position === this.expected && q[1]!.position === this.expected + 1) {
      const item = q.shift()!;
      this.accept(item, [item]);
    }
    while (q.length > 0) {
      const first = q[0]!.position;
      const full = q.length > this.window;
      if (first > this.expected) {
        if (!full && !final) return;
        this.findings.push({ kind: 'DELETED_ENTRIES', from: this.expected, to: first, message: `entries ${this.expected}..${first - 1} are missing` });
        this.deletedRanges.push([this.expected, first]);
        this.expected = first;
        this.prevLeafHex = undefined; // the next link cannot be checked across a gap
        continue;
      }
      let n = 1;
      while (n < q.length && q[n]!.position === first) n++;
      const successor = n < q.length && q[n]!.position === first + 1 ? q[n] : undefined;
      if (n === q.length && !full && !final) return; // wait for a successor to decide
      const candidates = q.splice(0, n);
      if (n > 1 && successor === undefined && q.length === 0 && final) {
        this.tail = {
          position: first,
          candidates: candidates.map(({ leafHex, prevHash, timestamp, streamIndex }) => ({ leafHex, prevHash, timestamp, streamIndex })),
          prevLeafHash: this.prevLeafHex,
          prevTimestamp: this.prevTimestamp,
          cutAfter: this.cutAt.has(first + 1),
        };
        return;
      }
      this.accept(this.choose(candidates, successor), candidates);
    }
  }

  private choose(candidates: Pending[], successor: Pending | undefined): Pending {
    if (candidates.length === 1) return candidates[0]!;
    return (
      (successor && candidates.find((c) => c.leafHex === successor.prevHash)) ??
      candidates.find((c) => c.prevHash === this.prevLeafHex) ??
      candidates[0]!
    );
  }

  private accept(chosen: Pending, candidates: Pending[]): void {
    for (const other of candidates) {
      if (other !== chosen) this.inserted(other);
    }
    const p = chosen.position;
    if (this.firstPosition === undefined) {
      this.firstPosition = p;
      this.firstPrevHash = chosen.prevHash;
      this.firstTimestamp = chosen.timestamp;
    }
    if (this.prevLeafHex !== undefined && chosen.prevHash !== this.prevLeafHex) this.brokenLinks.push(p);
    if (this.prevTimestamp !== undefined && chosen.timestamp <= this.prevTimestamp) {
      this.findings.push({ kind: 'TIMESTAMP_REGRESSION', position: p, previous: this.prevTimestamp, found: chosen.timestamp, message: `entry ${p} is timestamped ${chosen.timestamp}, not after ${this.prevTimestamp}` });
    }
    this.range.append(chosen.leaf);
    this.prevLeafHex = chosen.leafHex;
    this.prevTimestamp = chosen.timestamp;
    this.expected = p + 1;
    if (this.cutAt.has(this.expected)) this.cuts.set(this.expected, this.range.clone());
  }

  private late(item: Pending): void {
    const wasDeleted = this.deletedRanges.some(([from, to]) => item.position >= from && item.position < to);
    if (wasDeleted) {
      this.findings.push({ kind: 'REORDERED_ENTRIES', position: item.position, after: this.maxSeen, message: `entry ${item.position} is stored after entry ${this.maxSeen}` });
    } else {
      this.inserted(item);
    }
  }

  private inserted(item: Pending): void {
    this.findings.push({ kind: 'INSERTED_ENTRY', position: item.position, streamIndex: item.streamIndex, message: `entry #${item.streamIndex} claims position ${item.position} but is not part of the chain` });
  }
}
