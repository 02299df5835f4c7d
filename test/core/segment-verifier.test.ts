import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../lambdas/core/bytes.js';
import { emptyEntryFields, scanEntryFields, tenantPattern } from '../../lambdas/core/entry-fields.js';
import { decodeEntry, encodeEntry, ENTRY_VERSION, formatTimestamp, type Entry } from '../../lambdas/core/ledger-entry.js';
import { combineSegments, cutSizes, openCheckpointForVerification, verifyLog, type LogVerificationInput } from '../../lambdas/core/log-verifier.js';
import { sealJson } from '../../lambdas/core/payload-envelope.js';
import { segmentResultFromJson, segmentResultToJson } from '../../lambdas/core/segment-json.js';
import { classifyLinks } from '../../lambdas/core/segment-links.js';
import { SegmentVerifier, type SegmentResult } from '../../lambdas/core/segment-verifier.js';
import type { Finding } from '../../lambdas/core/verification-findings.js';
import {
  BASE_NANOS, buildLog, consistencyProof, draftFor, makeDataKey, merkleRoot, tamper, TENANT, type TestLog,
} from './test-log.js';

const SIZE = 40;

let log: TestLog;
let checkpoint: string;

beforeAll(async () => {
  log = buildLog(SIZE);
  checkpoint = await log.checkpoint(SIZE);
});

function push(verifier: SegmentVerifier, entries: readonly Uint8Array[]): SegmentResult {
  for (const e of entries) verifier.push(e);
  return verifier.finish();
}

describe('SegmentVerifier', () => {
  it('folds an intact log into the compact range of its leaves, remembering its ends', () => {
    // Act
    const result = push(new SegmentVerifier({ tenant: TENANT }), log.entries);
    // Assess
    expect(result).toMatchObject({
      begin: 0, end: SIZE, pushed: SIZE, brokenLinks: [], findings: [],
      firstPrevHash: '0'.repeat(64), firstTimestamp: '2025-06-15T15:06:40.000000000Z',
      lastLeafHash: log.leafHex(SIZE - 1), lastTimestamp: '2025-06-15T15:06:40.000039000Z',
    });
    expect(toHex(result.range.root())).toBe(toHex(log.rootAt(SIZE)));
  });

  it('checks the first link and timestamp of a mid-log segment against what it is told precedes it', () => {
    // Prepare
    const rest = log.entries.slice(20);
    const before = { prevLeafHash: log.leafHex(19), prevTimestamp: '2025-06-15T15:06:40.000019000Z' };
    // Act
    const good = push(new SegmentVerifier({ tenant: TENANT, begin: 20, ...before }), rest);
    const badLink = push(new SegmentVerifier({ tenant: TENANT, begin: 20, ...before, prevLeafHash: log.leafHex(18) }), rest);
    const badClock = push(new SegmentVerifier({ tenant: TENANT, begin: 20, ...before, prevTimestamp: '2025-06-15T15:06:40.000020000Z' }), rest);
    // Assess
    expect(good).toMatchObject({ begin: 20, end: SIZE, brokenLinks: [], findings: [], firstPrevHash: log.leafHex(19) });
    expect(badLink).toMatchObject({ brokenLinks: [20], findings: [] });
    expect(badClock).toMatchObject({ brokenLinks: [], findings: [expect.objectContaining({ kind: 'TIMESTAMP_REGRESSION', position: 20 })] });
  });

  it('keeps a compact range at each requested cut size it reaches', () => {
    // Act
    const result = push(new SegmentVerifier({ tenant: TENANT, begin: 20, cutAt: [20, 25, SIZE, 99] }), log.entries.slice(20));
    // Assess
    expect([...result.cuts].map(([size, range]) => [size, range.begin, range.end])).toEqual([[20, 20, 20], [25, 20, 25], [SIZE, 20, SIZE]]);
  });

  it('holds back at most `window` entries: an entry stored further away than that is reported deleted, then reordered', () => {
    // Prepare: entry 10 stored after entry 20
    const moved = [...log.entries.slice(0, 10), ...log.entries.slice(11, 21), log.entries[10]!, ...log.entries.slice(21)];
    // Act
    const narrow = push(new SegmentVerifier({ tenant: TENANT, window: 4 }), moved);
    const wide = push(new SegmentVerifier({ tenant: TENANT, window: 16 }), moved);
    // Assess
    expect(narrow.findings.map(({ message, ...f }) => f)).toEqual([{ kind: 'DELETED_ENTRIES', from: 10, to: 11 }, { kind: 'REORDERED_ENTRIES', position: 10, after: 20 }]);
    expect(narrow.range.end).toBe(SIZE - 1);
    expect(wide.findings.map(({ message, ...f }) => f)).toEqual([{ kind: 'REORDERED_ENTRIES', position: 10, after: 20 }]);
    expect(toHex(wide.range.root())).toBe(toHex(log.rootAt(SIZE)));
  });

  it('keeps no reference to pushed bytes: 20,000 entries pushed as views of one overwritten buffer verify exactly', () => {
    // Prepare: cheap synthetic entries (canonical, see the decodeEntry check), pairs swapped now and then
    const count = 20_000;
    const swapped = new Set([1_000, 7_777, 19_998]);
    const leaves: Uint8Array[] = [];
    const buffer = Buffer.alloc(1024);
    const verifier = new SegmentVerifier({ tenant: TENANT, window: 8 });
    let prev = '0'.repeat(64);
    const make = (i: number): string => {
      const text = syntheticEntry(i, prev);
      const leaf = createHash('sha256').update(Uint8Array.of(0)).update(text, 'latin1').digest();
      leaves.push(leaf);
      prev = leaf.toString('hex');
      return text;
    };
    const pushText = (text: string) => {
      buffer.fill(0x78);
      const length = buffer.write(text, 'latin1');
      verifier.push(buffer.subarray(0, length));
    };
    decodeEntry(Buffer.from(syntheticEntry(0, prev), 'latin1'));
    // Act
    for (let i = 0; i < count; i++) {
      if (swapped.has(i)) {
        const first = make(i);
        pushText(make(i + 1));
        pushText(first);
        i++;
      } else {
        pushText(make(i));
      }
    }
    buffer.fill(0x78);
    const result = verifier.finish();
    // Assess
    expect(result.findings.map(({ message, ...f }) => f)).toEqual([...swapped].map((i) => ({ kind: 'REORDERED_ENTRIES', position: i, after: i + 1 })));
    expect(result).toMatchObject({ end: count, pushed: count, brokenLinks: [], lastLeafHash: toHex(leaves[count - 1]!) });
    expect(toHex(result.range.root())).toBe(toHex(merkleRoot(leaves)));
  });
});

describe('SegmentVerifier with entries of very different sizes', () => {
  it('verifies them exactly in any mix of sizes, moved or not (held entries grow and are reused)', async () => {
    // Prepare: payloads from a few bytes to ~40 KiB, so reused entry buffers must grow and cached views must not serve stale lengths
    const sized = buildLog(60, { keys: log.keys, quirks: { draftAt: (p, tenant, dek) => ({ ...draftFor(p, tenant, dek), payload: sealJson({ note: 'x'.repeat((p * 7_919) % 30_000) }, dek, { tenant, recordId: `rec-${p % 7}`, idempotencyKey: `idem-${p}` }) }) } });
    const input = sized.input(await sized.checkpoint());
    const moved = tamper.swap(tamper.swap(sized.entries, 20), 41);
    // Act
    const intact = push(new SegmentVerifier({ tenant: TENANT }), sized.entries);
    const report = verifyLog(moved, input);
    // Assess
    expect(intact).toMatchObject({ end: 60, brokenLinks: [], findings: [], lastLeafHash: sized.leafHex(59) });
    expect(toHex(intact.range.root())).toBe(toHex(sized.rootAt(60)));
    expect(report.findings.map(({ message, ...f }) => f)).toEqual([{ kind: 'REORDERED_ENTRIES', position: 20, after: 21 }, { kind: 'REORDERED_ENTRIES', position: 41, after: 42 }]);
    expect(report.root).toBe(toHex(sized.rootAt(60)));
  });
});

/** A canonical CREATE entry from a template (no validation, no encryption): microseconds each. */
function syntheticEntry(i: number, prevHash: string): string {
  const b64 = (n: number, fill: number) => Buffer.alloc(n, fill).toString('base64');
  return (
    `{"actor":"user:a","correlationId":"corr-${i}","generation":0,"idempotencyKey":"idem-${i}","operation":"CREATE",` +
    `"payload":{"alg":"A256GCM","cm":"${b64(32, 1)}","ct":"${b64(48, i % 256)}","iv":"${b64(12, 3)}","kid":"acme/dek/1","kv":1},` +
    `"position":${i},"prevHash":"${prevHash}","recordId":"rec-${i % 50}","revision":1,"signatures":[],"stream":"decisions",` +
    `"tenant":"${TENANT}","timestamp":"${formatTimestamp(BASE_NANOS + BigInt(i) * 1_000n)}","v":1}`
  );
}

describe('classifyLinks', () => {
  it.each([
    ['no broken link', [], []],
    ['a lone break: the entry before it was modified', [18], [{ kind: 'MODIFIED_ENTRY', position: 17 }]],
    ['two consecutive breaks: the first entry\'s prevHash was altered', [17, 18], [{ kind: 'BROKEN_PREV_HASH', position: 17 }]],
    ['a break at genesis', [0], [{ kind: 'BROKEN_PREV_HASH', position: 0 }]],
    ['breaks at genesis and 1', [0, 1], [{ kind: 'BROKEN_PREV_HASH', position: 0 }]],
    ['a lone break at the last position', [39], [{ kind: 'BROKEN_PREV_HASH', position: 39 }]],
    ['three consecutive breaks', [5, 6, 7], [{ kind: 'BROKEN_PREV_HASH', position: 5 }, { kind: 'MODIFIED_ENTRY', position: 6 }]],
    ['separate breaks', [3, 10, 11, 30], [{ kind: 'MODIFIED_ENTRY', position: 2 }, { kind: 'BROKEN_PREV_HASH', position: 10 }, { kind: 'MODIFIED_ENTRY', position: 29 }]],
  ])('classifies %s', (_, links, expected) => {
    // Act
    const findings = classifyLinks(links, 39);
    // Assess
    expect(findings.map(({ message, ...f }) => f)).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------
// Segments: split the stored sequence, verify each slice on its own, combine.

interface Case {
  readonly entries: readonly Uint8Array[];
  readonly input: LogVerificationInput;
  /** Slice starts (stream indices) that sit right at the tampered spot. */
  readonly borders: readonly number[];
  /** Slice starts that split the tampered spot across two segments (a documented limit of combineSegments). */
  readonly avoid?: readonly number[];
  /**
   * The position a slice starting at stream index s is told to begin at: the
   * one the splitter's index of the genuine log gives that storage slot
   * (identity unless records were added or removed).
   */
  readonly beginOf?: (s: number) => number;
}

const at = (i: number, bytes: Uint8Array) => tamper.replace(log.entries, i, bytes);
const afterInsertAt = (i: number) => (s: number) => (s <= i ? s : s - 1);
const afterRemoving = (from: number, to: number) => (s: number) => (s < from ? s : s + to - from);

/** The tamper classes of log-verifier.test.ts, each with the slice starts that sit on it. */
const CASES: Record<string, () => Promise<Case>> = {
  'an intact log': async () => ({ entries: log.entries, input: log.input(checkpoint), borders: [] }),
  'an intact log beyond its checkpoint, with a previous one': async () => ({ entries: log.entries, input: log.input(await log.checkpoint(32), { previous: await log.checkpoint(13), consistencyProof: consistencyProof(log.entries, 13, 32) }), borders: [13, 32] }),
  'a modified entry': async () => ({ entries: at(17, tamper.payloadByte(log.entries[17]!)), input: log.input(checkpoint), borders: [17, 18] }),
  'a deleted entry': async () => ({ entries: tamper.remove(log.entries, 17), input: log.input(checkpoint), borders: [17], beginOf: afterRemoving(17, 18) }),
  'deleted entries': async () => ({ entries: tamper.remove(log.entries, 17, 21), input: log.input(checkpoint), borders: [17], beginOf: afterRemoving(17, 21) }),
  'a forged entry stored before the genuine one': async () => ({ entries: tamper.insert(log.entries, 17, tamper.forge(log, 17)), input: log.input(checkpoint), borders: [17, 19], avoid: [18], beginOf: afterInsertAt(17) }),
  'a forged entry stored after the genuine one': async () => ({ entries: tamper.insert(log.entries, 18, tamper.forge(log, 17)), input: log.input(checkpoint), borders: [17, 18, 19], beginOf: afterInsertAt(18) }),
  'a forged entry stored far away': async () => ({ entries: tamper.insert(log.entries, 30, tamper.forge(log, 17)), input: log.input(checkpoint), borders: [30, 31], beginOf: afterInsertAt(30) }),
  'swapped neighbours': async () => ({ entries: tamper.swap(log.entries, 17), input: log.input(checkpoint), borders: [17, 19], avoid: [18] }),
  'a truncated log': async () => ({ entries: log.entries.slice(0, 35), input: log.input(checkpoint), borders: [] }),
  'a replaced prevHash': async () => ({ entries: at(17, tamper.prevHash(log.entries[17]!, log.leafHex(4))), input: log.input(checkpoint), borders: [17, 18] }),
  'a replaced genesis prevHash': async () => ({ entries: at(0, tamper.prevHash(log.entries[0]!, 'ab'.repeat(32))), input: log.input(checkpoint), borders: [1] }),
  'a modified last entry': async () => ({ entries: at(SIZE - 1, tamper.payloadByte(log.entries[SIZE - 1]!)), input: log.input(checkpoint), borders: [SIZE - 1] }),
  'a modified next-to-last entry': async () => ({ entries: at(SIZE - 2, tamper.payloadByte(log.entries[SIZE - 2]!)), input: log.input(checkpoint), borders: [SIZE - 2, SIZE - 1] }),
  'bytes that are not JSON': async () => ({ entries: at(17, new TextEncoder().encode('garbage')), input: log.input(checkpoint), borders: [17, 18] }),
  'an entry cut short': async () => ({ entries: at(17, tamper.cut(log.entries[17]!, 150)), input: log.input(checkpoint), borders: [17, 18] }),
  'an entry of another tenant': async () => {
    const careless = buildLog(SIZE, { keys: log.keys, quirks: { tenantAt: (p) => (p === 12 ? 'globex' : undefined) } });
    return { entries: careless.entries, input: careless.input(await careless.checkpoint()), borders: [12, 13] };
  },
  'a timestamp regression': async () => {
    const careless = buildLog(SIZE, { keys: log.keys, quirks: { timestampAt: (p) => (p === 12 ? BASE_NANOS : undefined) } });
    return { entries: careless.entries, input: careless.input(await careless.checkpoint()), borders: [12, 13] };
  },
  'a previous checkpoint of another history': async () => ({ entries: log.entries, input: log.input(checkpoint, { previous: await buildLog(20, { keys: log.keys }).checkpoint() }), borders: [20] }),
  'a consistency proof that fails': async () => {
    const proof = consistencyProof(log.entries, 20, SIZE);
    proof[0]![5]! ^= 0x80;
    return { entries: log.entries, input: log.input(checkpoint, { previous: await log.checkpoint(20), consistencyProof: proof }), borders: [20] };
  },
  'a latest checkpoint older than the previous': async () => ({ entries: log.entries, input: log.input(await log.checkpoint(20), { previous: checkpoint }), borders: [20] }),
  'a bad checkpoint signature': async () => ({ entries: log.entries, input: log.input(tamper.signature(checkpoint)), borders: [] }),
};

const roundTrip = (r: SegmentResult): SegmentResult => segmentResultFromJson(JSON.parse(JSON.stringify(segmentResultToJson(r))));

/**
 * As the parallel verifier does it: open the checkpoints, verify the stored
 * slices [starts[k], starts[k+1]) apart, each told the position it begins at, combine.
 */
function verifySegmented(entries: readonly Uint8Array[], input: LogVerificationInput, starts: readonly number[], how: { json: boolean; reverse: boolean; deep: boolean }, beginOf = (s: number) => s) {
  const latest = openCheckpointForVerification(input.checkpoint, input.verifier, input.origin);
  const previous = input.previous === undefined ? {} : openCheckpointForVerification(input.previous, input.verifier, input.origin);
  const cutAt = cutSizes(latest.checkpoint, previous.checkpoint);
  const bounds = [0, ...starts, entries.length];
  const results = bounds.slice(0, -1).map((start, k) => {
    const end = bounds[k + 1]!;
    const verifier = new SegmentVerifier({ tenant: input.tenant, begin: beginOf(start), cutAt, deep: how.deep });
    const result = push(verifier, entries.slice(start, end));
    return how.json ? roundTrip(result) : result;
  });
  if (how.reverse) results.reverse();
  const combined = combineSegments(results, { checkpoint: latest.checkpoint, previous: previous.checkpoint, consistencyProof: input.consistencyProof });
  const opening = [latest.finding, previous.finding].filter((f): f is Finding => f !== undefined);
  return { findings: [...opening, ...combined.findings], root: combined.root, size: combined.size };
}

/** Findings as a sorted list without messages: the order of findings across segments is not the one-pass order. */
function normalized(findings: readonly Finding[]): string[] {
  return findings.map(({ message, ...f }) => JSON.stringify(f)).sort();
}

const how = fc.record({ json: fc.boolean(), reverse: fc.boolean(), deep: fc.boolean() });

function starts(length: number, options: { forced?: readonly number[]; excluded: ReadonlySet<number> }): fc.Arbitrary<number[]> {
  const free = fc.uniqueArray(fc.integer({ min: 1, max: length - 1 }), { minLength: options.forced ? 0 : 1, maxLength: options.forced ? 3 : 4 })
    .map((xs) => xs.filter((x) => !options.excluded.has(x)));
  const withForced = options.forced
    ? fc.tuple(fc.constantFrom(...options.forced), free).map(([b, xs]) => [b, ...xs.filter((x) => x !== b)])
    : free.filter((xs) => xs.length > 0);
  return withForced.map((xs) => [...xs].sort((a, b) => a - b));
}

describe('combineSegments over 2 to 5 segments', () => {
  it.each(Object.keys(CASES))('matches one pass for %s, with the tampered spot inside a segment', async (name) => {
    // Prepare
    const c = await CASES[name]!();
    const expected = verifyLog(c.entries, c.input);
    const excluded = new Set([...c.borders, ...(c.avoid ?? [])]);
    fc.assert(
      fc.property(starts(c.entries.length, { excluded }), how, (cuts, options) => {
        // Act
        const combined = verifySegmented(c.entries, c.input, cuts, options, c.beginOf);
        // Assess
        expect(normalized(combined.findings)).toEqual(normalized(expected.findings));
        expect(combined.root).toBe(expected.root);
        expect(combined.size).toBe(expected.size);
      }),
      { numRuns: 25 },
    );
  });

  it.each(Object.keys(CASES).filter((name) => name !== 'an intact log' && name !== 'a truncated log' && name !== 'a bad checkpoint signature'))(
    'matches one pass for %s, with a segment starting right at the tampered spot',
    async (name) => {
      // Prepare
      const c = await CASES[name]!();
      const expected = verifyLog(c.entries, c.input);
      fc.assert(
        fc.property(starts(c.entries.length, { forced: c.borders, excluded: new Set(c.avoid) }), how, (cuts, options) => {
          // Act
          const combined = verifySegmented(c.entries, c.input, cuts, options, c.beginOf);
          // Assess
          expect(normalized(combined.findings)).toEqual(normalized(expected.findings));
          expect(combined.root).toBe(expected.root);
        }),
        { numRuns: 15 },
      );
    },
  );

  /** Verifies case `name` in one pass and split at `cuts`. */
  async function onePassAndSplit(name: string, cuts: number[]) {
    const c = await CASES[name]!();
    return {
      expected: verifyLog(c.entries, c.input),
      combined: verifySegmented(c.entries, c.input, cuts, { json: false, reverse: false, deep: false }, c.beginOf),
    };
  }

  it.each([
    ['bytes that are not JSON'],
    ['an entry cut short'],
  ])('accuses the previous segment\'s last entry (MODIFIED_ENTRY 16) when a segment starts with %s', async (name) => {
    // Prepare & Act: segment [17, 40) starts with an unreadable record, so its first accepted entry is 18
    // and its firstPrevHash stays undefined; combineSegments compares undefined with entry 16's leaf hash.
    const { expected, combined } = await onePassAndSplit(name, [17]);
    // Assess
    expect(normalized(combined.findings)).toEqual(normalized(expected.findings));
  });

  it('accuses the previous segment\'s last entry when a segment told to begin at 17 starts with entry 18 (17 deleted)', async () => {
    // Prepare: the splitter's index says stream slot 17 holds position 17, but it was deleted
    const entries = tamper.remove(log.entries, 17);
    const input = log.input(checkpoint);
    const expected = verifyLog(entries, input);
    // Act
    const combined = verifySegmented(entries, input, [17], { json: false, reverse: false, deep: false });
    // Assess
    expect(normalized(combined.findings)).toEqual(normalized(expected.findings));
  });

  it('keeps the forged entry and reports the genuine one as INSERTED when both end a segment, forged first', async () => {
    // Prepare & Act: with no successor in the segment both candidates link to entry 16 and the first
    // stored wins; the next segment's first link then breaks (MODIFIED_ENTRY 17) and the root mismatches.
    const { expected, combined } = await onePassAndSplit('a forged entry stored before the genuine one', [19]);
    // Assess
    expect(normalized(combined.findings)).toEqual(normalized(expected.findings));
    expect(combined.root).toBe(expected.root);
  });

  // A known limit, documented on combineSegments: when a segment border falls
  // between the two entries of a tamper, each segment sees only half of it. The
  // tamper is still reported at the right positions, under other names.
  it('still flags a forged entry stored before the genuine one when a segment border falls between the two (overlapping segments: no root)', async () => {
    // Prepare & Act
    const { expected, combined } = await onePassAndSplit('a forged entry stored before the genuine one', [18]);
    // Assess
    expect(expected.ok).toBe(false);
    expect(combined.findings.map(({ message, ...f }) => f)).toEqual([
      { kind: 'ROOT_MISMATCH', size: SIZE, expected: toHex(log.rootAt(SIZE)), computed: 'unavailable' },
    ]);
  });

  it('still reports swapped neighbours when a segment border falls between the two', async () => {
    // Prepare & Act
    const { combined } = await onePassAndSplit('swapped neighbours', [18]);
    // Assess
    expect(combined.findings.map(({ message, ...f }) => f)).toEqual([
      { kind: 'DELETED_ENTRIES', from: 17, to: 18 },
      { kind: 'INSERTED_ENTRY', position: 17, streamIndex: 18 },
      { kind: 'DELETED_ENTRIES', from: 18, to: 19 },
      { kind: 'ROOT_MISMATCH', size: SIZE, expected: toHex(log.rootAt(SIZE)), computed: 'unavailable' },
    ]);
  });

  it('gives the same root whatever the order of the segments, when an empty segment shares its begin with another', async () => {
    // Prepare: [0, 18), an empty segment at 18 (all its records rejected), [18, 30), [30, 40)
    const cutAt = [SIZE];
    const segment = (begin: number, end: number) => push(new SegmentVerifier({ tenant: TENANT, begin, cutAt }), log.entries.slice(begin, end));
    const [a, empty, c, d] = [segment(0, 18), segment(18, 18), segment(18, 30), segment(30, SIZE)];
    const opened = openCheckpointForVerification(checkpoint, log.keys.verifier, log.origin);
    // Act
    const emptyFirst = combineSegments([a, empty, c, d], opened);
    const emptyAfter = combineSegments([a, c, empty, d], opened);
    // Assess: rootAt merges the segments in (stable) begin order and gives up on [18, 18) after [18, 30)
    expect(emptyFirst).toEqual({ findings: [], size: SIZE, root: toHex(log.rootAt(SIZE)) });
    expect(emptyAfter).toEqual(emptyFirst);
  });

  it('gives the stream index of an inserted or malformed entry in a later segment as one pass does', async () => {
    // Prepare
    const entries = tamper.replace(tamper.insert(log.entries, 30, tamper.forge(log, 25)), 35, new TextEncoder().encode('garbage'));
    const input = log.input(checkpoint);
    const expected = verifyLog(entries, input);
    // Act
    const combined = verifySegmented(entries, input, [20], { json: false, reverse: false, deep: false });
    // Assess
    expect(expected.findings.map(({ message, ...f }) => f)).toEqual(expect.arrayContaining([
      { kind: 'INSERTED_ENTRY', position: 25, streamIndex: 30 },
      { kind: 'MALFORMED', position: undefined, streamIndex: 35 },
    ]));
    const pick = (fs: readonly Finding[]) => fs.filter((f) => f.kind === 'INSERTED_ENTRY' || f.kind === 'MALFORMED').map(({ message, ...f }) => f);
    expect(pick(combined.findings)).toEqual(pick(expected.findings));
  });
});

// ---------------------------------------------------------------------------
// entry-fields: the fast scan against JSON.parse.

const TEXT = fc.stringMatching(/^[\x21-\x7e](?:[\x20-\x7e]{0,12}[\x21-\x7e])?$/);
const NAME = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,12}$/);
const HEX64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
const TENANT_ID = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
const TIMESTAMP = fc.bigInt({ min: 0n, max: 253_402_300_799_999_999_999n }).map(formatTimestamp);
/** Any JSON value but those with a "__proto__" key, which the entry schema refuses. */
const JSON_VALUE = fc.jsonValue({ maxDepth: 3 }).filter((v) => !JSON.stringify(v).includes('"__proto__"'));
const BASE64 = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b).toString('base64'));
const SIGNATURE = fc.record(
  { signer: TEXT, keyId: TEXT, alg: fc.constantFrom('Ed25519', 'ES256', 'RS256', 'WebAuthn'), sig: BASE64, authenticatorData: BASE64, clientDataJSON: BASE64 },
  { requiredKeys: ['signer', 'keyId', 'alg', 'sig'] },
);
/** SYSTEM details that name the very keys the scanner looks for, with values shaped like the real ones. */
const TRICKY_DETAILS = fc.record(
  {
    prevHash: fc.oneof(HEX64, JSON_VALUE),
    position: fc.oneof(fc.maxSafeNat(), JSON_VALUE),
    tenant: fc.oneof(TENANT_ID, JSON_VALUE),
    timestamp: fc.oneof(TIMESTAMP, JSON_VALUE),
    v: JSON_VALUE,
    nested: fc.record({ prevHash: HEX64, tenant: TENANT_ID, timestamp: TIMESTAMP, position: fc.nat() }),
  },
  { requiredKeys: [] },
);

describe('scanEntryFields', () => {
  const dek = makeDataKey(TENANT);
  const sealed = sealJson({ decision: 'approve' }, dek, { tenant: TENANT, recordId: 'r', idempotencyKey: 'k' });

  const entryArb = fc.record({
    tenant: TENANT_ID,
    position: fc.maxSafeNat(),
    timestamp: TIMESTAMP,
    prevHash: HEX64,
    generation: fc.nat(),
    stream: NAME,
    recordId: NAME,
    revision: fc.integer({ min: 1, max: 1_000 }),
    actor: TEXT,
    correlationId: TEXT,
    idempotencyKey: TEXT,
    signatures: fc.array(SIGNATURE, { maxLength: 3 }),
    system: fc.option(fc.record({ kind: NAME, details: fc.tuple(TRICKY_DETAILS, fc.dictionary(NAME, JSON_VALUE, { maxKeys: 3 })).map(([a, b]) => ({ ...b, ...a })) })),
  }).map(({ system, ...rest }): Entry => ({
    ...rest,
    v: ENTRY_VERSION,
    operation: system ? 'SYSTEM' : 'UPDATE',
    payload: system ? ({ system } as unknown as Entry['payload']) : sealed,
  }));

  it('reads position, prevHash, timestamp and tenant as JSON.parse does, for any valid entry', () => {
    fc.assert(
      fc.property(entryArb, fc.constantFrom('same', 'other', 'suffix'), TENANT_ID, (entry, mode, other) => {
        // Prepare: expect the entry's own tenant, another one, or a proper suffix of its own
        const bytes = Buffer.from(encodeEntry(entry).bytes);
        const parsed = JSON.parse(bytes.toString('utf8')) as Entry;
        const expectedTenant = mode === 'same' ? parsed.tenant : mode === 'other' ? other : parsed.tenant.slice(1);
        const out = emptyEntryFields();
        // Act
        const ok = scanEntryFields(bytes, out, tenantPattern(expectedTenant));
        // Assess
        expect(ok).toBe(true);
        expect({
          position: out.position,
          prevHash: bytes.toString('latin1', out.prevHashAt, out.prevHashAt + 64),
          timestamp: bytes.toString('latin1', out.timestampAt, out.timestampAt + 30),
          tenant: bytes.toString('utf8', out.tenantStart, out.tenantEnd),
          tenantMatches: out.tenantMatches,
        }).toEqual({ position: parsed.position, prevHash: parsed.prevHash, timestamp: parsed.timestamp, tenant: parsed.tenant, tenantMatches: expectedTenant === parsed.tenant });
      }),
      { numRuns: 300 },
    );
  });

  it('finds prevHash and the tenant behind values made of the very characters of their keys', () => {
    // Prepare: the backwards search skips by the byte under its window; values built from the keys'
    // own characters (escaped quotes included) give it the fewest and the trickiest skips.
    const KEYISH = fc.string({ unit: fc.constantFrom(...',"prevHash:tenant\\'.split('')), minLength: 1, maxLength: 24 }).filter((t) => /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(t));
    const trickyEntry = fc.tuple(entryArb, fc.array(fc.record({ signer: KEYISH, keyId: KEYISH, alg: fc.constant('Ed25519' as const), sig: BASE64 }), { minLength: 1, maxLength: 3 }), KEYISH)
      .map(([entry, signatures, actor]): Entry => ({ ...entry, signatures, actor }));
    fc.assert(
      fc.property(trickyEntry, fc.boolean(), (entry, expectOwn) => {
        const bytes = Buffer.from(encodeEntry(entry).bytes);
        const out = emptyEntryFields();
        // Act
        const ok = scanEntryFields(bytes, out, expectOwn ? tenantPattern(entry.tenant) : undefined);
        // Assess
        expect(ok).toBe(true);
        expect([out.position, bytes.toString('latin1', out.prevHashAt, out.prevHashAt + 64), bytes.toString('utf8', out.tenantStart, out.tenantEnd)]).toEqual([entry.position, entry.prevHash, entry.tenant]);
      }),
      { numRuns: 200 },
    );
  });

  it('reads the fields without an expected tenant, reporting no match', () => {
    // Prepare
    const bytes = Buffer.from(log.entries[7]!);
    const out = emptyEntryFields();
    // Act
    const ok = scanEntryFields(bytes, out);
    // Assess
    expect(ok).toBe(true);
    expect(out).toMatchObject({ position: 7, tenantMatches: false });
    expect(bytes.toString('utf8', out.tenantStart, out.tenantEnd)).toBe(TENANT);
  });

  const text = (i: number) => Buffer.from(log.entries[i]!).toString('latin1');
  it.each([
    ['empty bytes', () => ''],
    ['an empty object', () => '{}'],
    ['text that is not JSON', () => 'not an entry at all, not even close'],
    ['a JSON array', () => '[1,2,3]'],
    ['an object with a tenant and timestamp only', () => '{"tenant":"acme","timestamp":"2025-06-15T15:06:40.000000000Z","v":1}'],
    ['an entry without prevHash', () => text(3).replace(/"prevHash":"[0-9a-f]{64}",/, '')],
    ['an entry without position', () => text(3).replace('"position":3,', '')],
    ['a negative position', () => text(3).replace('"position":3,', '"position":-3,')],
    ['a position with a leading zero', () => text(3).replace('"position":3,', '"position":03,')],
    ['a fractional position', () => text(3).replace('"position":3,', '"position":3.5,')],
    ['a position as a string', () => text(3).replace('"position":3,', '"position":"3",')],
    ['a prevHash of 63 digits', () => text(3).replace(/("prevHash":")[0-9a-f]/, '$1')],
    ['a timestamp without nanoseconds', () => text(3).replace(/\.\d{9}Z/, 'Z')],
    ['another version', () => text(3).replace('"v":1}', '"v":2}')],
    ['trailing whitespace', () => `${text(3)} `],
  ])('rejects %s', (_, make) => {
    // Act
    const ok = scanEntryFields(Buffer.from(make(), 'latin1'), emptyEntryFields(), tenantPattern(TENANT));
    // Assess
    expect(ok).toBe(false);
  });

  it('rejects every proper prefix of an entry', () => {
    // Prepare
    const bytes = Buffer.from(log.entries[3]!);
    // Act
    const accepted = Array.from({ length: bytes.length }, (_, n) => n).filter((n) => scanEntryFields(bytes.subarray(0, n), emptyEntryFields(), tenantPattern(TENANT)));
    // Assess
    expect(accepted).toEqual([]);
  });
});
