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
 *
 * Speed: entries are read into reused `HeldEntry`s and compared as bytes, and
 * entries stored in order take a short path; strings are made only for results.
 */
import { fromHex } from './bytes.js';
import { decodeEntry, GENESIS_PREV_HASH } from './ledger-entry.js';
import { digestHex, emptyEntryFields, HeldEntry, scanEntryFields, tenantPattern } from './entry-fields.js';
import { CompactRange } from './compact-range.js';
import { CoreError } from './errors.js';
import { HASH_SIZE } from './rfc9162-hasher.js';
import type { SegmentTail } from './segment-links.js';
import type { Finding } from './verification-findings.js';

export type { SegmentTail, TailCandidate } from './segment-links.js';

export interface SegmentOptions {
  /** The tenant whose log this is; any other tenant in an entry is a finding. */
  readonly tenant: string;
  /** First position of the segment (default 0). */
  readonly begin?: number;
  /** Leaf hash (lowercase hex) of entry begin−1, when known; at begin 0 it is the genesis value. */
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

/**
 * Verifies one segment as its entries are pushed; `finish` gives the result to combine.
 *
 * @example
 * const verifier = new SegmentVerifier({ tenant, begin: 4096, cutAt: [checkpoint.size] });
 * for (const bytes of entriesOfSegment) verifier.push(bytes);
 * const result = verifier.finish(); // → combineSegments([...results], { checkpoint })
 */
export class SegmentVerifier {
  private readonly tenant: string;
  private readonly tenantBytes: Buffer;
  private readonly begin: number;
  private readonly window: number;
  private readonly deep: boolean;
  private readonly cutAt: ReadonlySet<number>;
  /** The cut sizes ascending, and the first one not yet passed (checked once per entry). */
  private readonly cutList: readonly number[];
  private nextCut = 0;
  private readonly range: CompactRange;
  private readonly cuts = new Map<number, CompactRange>();
  private readonly findings: Finding[] = [];
  private readonly brokenLinks: number[] = [];
  /** Entries held back, sorted by position (stable for equal positions). */
  private readonly pending: HeldEntry[] = [];
  /** Settled entries, for reuse. */
  private readonly free: HeldEntry[] = [];
  private readonly fields = emptyEntryFields();
  private expected: number;
  private maxSeen = -1;
  private pushed = 0;
  /** Leaf hash (binary string) of entry expected−1; undefined when unknown (across a gap). */
  private prevLeaf: string | undefined;
  /** The last entry accepted (kept for its timestamp), else the timestamp given for entry begin−1. */
  private prevEntry: HeldEntry | Buffer | undefined;
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
    this.cutList = [...this.cutAt].sort((a, b) => a - b);
    this.range = CompactRange.empty(this.begin);
    const prevLeafHash = this.begin === 0 ? GENESIS_PREV_HASH : options.prevLeafHash;
    this.prevLeaf = prevLeafHash === undefined ? undefined : Buffer.from(fromHex(prevLeafHash, HASH_SIZE)).toString('latin1');
    this.prevEntry = options.prevTimestamp === undefined ? undefined : Buffer.from(options.prevTimestamp, 'latin1');
    this.takeCut();
  }

  /** Adds the next stored entry's canonical bytes, in storage order. */
  push(entryBytes: Uint8Array): void {
    const item = this.free.pop() ?? new HeldEntry();
    item.streamIndex = this.pushed++;
    const bytes = Buffer.isBuffer(entryBytes) ? entryBytes : Buffer.from(entryBytes.buffer, entryBytes.byteOffset, entryBytes.byteLength);
    if (!this.read(bytes, item)) {
      this.free.push(item);
      return;
    }
    const p = item.position;
    const q = this.pending;
    if (q.length === 1 && p === this.expected + 1 && q[0]!.position === this.expected) {
      // In-order storage, the common case: what drain() does, without moving things around.
      const held = q[0]!;
      q[0] = item;
      this.maxSeen = p;
      this.accept(held, undefined);
      return;
    }
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
    const some = this.expected > this.begin;
    return {
      begin: this.begin,
      end: this.expected,
      range: this.range,
      cuts: this.cuts,
      firstPosition: this.firstPosition,
      firstPrevHash: this.firstPrevHash,
      firstTimestamp: this.firstTimestamp,
      lastLeafHash: some ? this.prevLeafHex() : undefined,
      lastTimestamp: some ? this.prevTimestamp() : undefined,
      brokenLinks: this.brokenLinks,
      findings: this.findings,
      pushed: this.pushed,
      ...(this.tail ? { tail: this.tail } : {}),
    };
  }

  private prevLeafHex(): string | undefined {
    return this.prevLeaf === undefined ? undefined : digestHex(this.prevLeaf);
  }

  private prevTimestamp(): string | undefined {
    const prev = this.prevEntry;
    return prev instanceof HeldEntry ? prev.timestamp : prev?.toString('latin1');
  }

  /** Reads an entry into `item`; false (with a finding) when it is not one. */
  private read(bytes: Buffer, item: HeldEntry): boolean {
    const f = this.fields;
    const streamIndex = item.streamIndex;
    if (this.deep) {
      try {
        decodeEntry(bytes);
      } catch (cause) {
        const message = cause instanceof CoreError ? cause.message : String(cause);
        this.findings.push({ kind: 'MALFORMED', position: undefined, streamIndex, message: `entry #${streamIndex}: ${message}` });
        return false;
      }
    }
    if (!scanEntryFields(bytes, f, this.tenantBytes)) {
      this.findings.push({ kind: 'MALFORMED', position: undefined, streamIndex, message: `entry #${streamIndex} is not a canonical ledger entry` });
      return false;
    }
    if (!f.tenantMatches) {
      const found = bytes.toString('utf8', f.tenantStart, f.tenantEnd);
      this.findings.push({ kind: 'WRONG_TENANT', position: f.position, expected: this.tenant, found, message: `entry ${f.position} belongs to tenant ${JSON.stringify(found)}` });
    }
    item.load(bytes, f);
    return true;
  }

  /** Keeps `pending` sorted by position (stable for equal positions). */
  private insert(item: HeldEntry): void {
    const q = this.pending;
    let i = q.length;
    while (i > 0 && q[i - 1]!.position > item.position) i--;
    if (i === q.length) q.push(item);
    else q.splice(i, 0, item);
  }

  private drain(final: boolean): void {
    const q = this.pending;
    // In-order storage: the held entry has its successor behind it.
    while (q.length === 2 && q[0]!.position === this.expected && q[1]!.position === this.expected + 1) {
      this.accept(q.shift()!, undefined);
    }
    while (q.length > 0) {
      const first = q[0]!.position;
      const full = q.length > this.window;
      if (first > this.expected) {
        if (!full && !final) return;
        this.findings.push({ kind: 'DELETED_ENTRIES', from: this.expected, to: first, message: `entries ${this.expected}..${first - 1} are missing` });
        this.deletedRanges.push([this.expected, first]);
        this.expected = first;
        this.prevLeaf = undefined; // the next link cannot be checked across a gap
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
          candidates: candidates.map((c) => ({ leafHex: c.leafHex, prevHash: c.prevHash, timestamp: c.timestamp, streamIndex: c.streamIndex })),
          prevLeafHash: this.prevLeafHex(),
          prevTimestamp: this.prevTimestamp(),
          cutAfter: this.cutAt.has(first + 1),
        };
        this.free.push(...candidates);
        return;
      }
      this.accept(this.choose(candidates, successor), candidates);
    }
  }

  private choose(candidates: HeldEntry[], successor: HeldEntry | undefined): HeldEntry {
    if (candidates.length === 1) return candidates[0]!;
    const prevLeaf = this.prevLeaf;
    return (
      (successor && candidates.find((c) => successor.linksTo(c.leaf))) ??
      (prevLeaf === undefined ? undefined : candidates.find((c) => c.linksTo(prevLeaf))) ??
      candidates[0]!
    );
  }

  /** Appends `chosen` to the chain; the other `candidates` for its position are insertions. */
  private accept(chosen: HeldEntry, candidates: readonly HeldEntry[] | undefined): void {
    if (candidates !== undefined) {
      for (const other of candidates) if (other !== chosen) this.inserted(other);
    }
    const p = chosen.position;
    if (this.firstPosition === undefined) {
      this.firstPosition = p;
      this.firstPrevHash = chosen.prevHash;
      this.firstTimestamp = chosen.timestamp;
    }
    if (this.prevLeaf !== undefined && !chosen.linksTo(this.prevLeaf)) this.brokenLinks.push(p);
    const previous = this.prevEntry;
    if (previous !== undefined && chosen.compareTimestamp(previous) <= 0) {
      const [found, before] = [chosen.timestamp, this.prevTimestamp()!];
      this.findings.push({ kind: 'TIMESTAMP_REGRESSION', position: p, previous: before, found, message: `entry ${p} is timestamped ${found}, not after ${before}` });
    }
    this.range.appendDigest(chosen.leaf);
    this.prevLeaf = chosen.leaf;
    if (previous instanceof HeldEntry) this.free.push(previous);
    this.prevEntry = chosen;
    this.expected = p + 1;
    if (this.expected >= (this.cutList[this.nextCut] ?? Infinity)) this.takeCut();
  }

  /** Keeps a copy of the range when `expected` is a cut size; passes the cuts below it. */
  private takeCut(): void {
    while (this.nextCut < this.cutList.length && this.cutList[this.nextCut]! < this.expected) this.nextCut++;
    if (this.cutList[this.nextCut] === this.expected) this.cuts.set(this.expected, this.range.clone());
  }

  private late(item: HeldEntry): void {
    const wasDeleted = this.deletedRanges.some(([from, to]) => item.position >= from && item.position < to);
    if (wasDeleted) {
      this.findings.push({ kind: 'REORDERED_ENTRIES', position: item.position, after: this.maxSeen, message: `entry ${item.position} is stored after entry ${this.maxSeen}` });
      this.free.push(item);
    } else {
      this.inserted(item);
    }
  }

  private inserted(item: HeldEntry): void {
    this.findings.push({ kind: 'INSERTED_ENTRY', position: item.position, streamIndex: item.streamIndex, message: `entry #${item.streamIndex} claims position ${item.position} but is not part of the chain` });
    this.free.push(item);
  }
}
