/**
 * Step 2 of a verification run, one Distributed Map item: verify the batches
 * whose first position lies in `[task.from, task.to)` — links, leaf hashes,
 * positions, tenant, timestamps and the segment's compact range — and
 * cross-verify the same positions against every downstream copy, window by
 * window so memory stays bounded whatever the segment's size.
 *
 * Segments are cut at batch items as stored, not at claimed positions: a
 * segment owns every batch whose key is in its range, so a batch that
 * straddles a nominal bound belongs to the segment it starts in, and a gap
 * or an inserted item is seen by exactly one segment.
 */
import { segmentResultToJson } from '../../core/segment-json.js';
import { SegmentVerifier } from '../../core/segment-verifier.js';
import { hashLeafHex } from '../../core/rfc9162-hasher.js';
import type { ChangeCopy, LedgerChange } from '../../ports/change-stream.js';
import type { LedgerStore } from '../../ports/ledger-store.js';
import { crossCheckWindow } from './cross-check.js';
import type { CopyRepair, CopyTally, CrossFinding, SegmentOutcome, SegmentTask } from './run-types.js';

/** Positions compared per round trip to the copies. */
export const CROSS_WINDOW = 5_000;
/** Cross findings kept per segment (Step Functions payloads are capped at 256 KiB); counts stay exact. */
export const MAX_CROSS_FINDINGS = 200;

export interface SegmentDeps {
  readonly ledger: Pick<LedgerStore, 'readBatches' | 'batchAt'>;
  readonly copies: readonly ChangeCopy[];
  /** Called after each batch with the number of entries read (progress bars). */
  readonly onProgress?: (entries: number) => void;
}

/**
 * Verifies one segment.
 *
 * @example
 * const outcome = await verifySegment({ ledger, copies: [archive, projection] }, plan.segments[0]);
 */
export async function verifySegment(deps: SegmentDeps, task: SegmentTask): Promise<SegmentOutcome> {
  const tally = new Map<string, { checked: number; repaired: number; findings: number }>(deps.copies.map((c) => [c.name, { checked: 0, repaired: 0, findings: 0 }]));
  const cross: CrossFinding[] = [];
  const repairs: CopyRepair[] = [];
  let verifier: SegmentVerifier | undefined;
  let window = new Map<number, LedgerChange>();
  /** Copy positions are compared from this segment's first stored batch on: those before it belong to the previous segment's last batch. */
  let windowFrom: number | undefined;
  let end: number | undefined;

  const flush = async (until: number, beyond: boolean): Promise<void> => {
    // The copies live in different engines: read them at once, then tally in copy order (reports stay deterministic).
    const outs = await Promise.all(
      deps.copies.map((copy) => crossCheckWindow(copy, { tenant: task.tenant, from: windowFrom ?? task.from, to: until, changes: window }, { beyond, ledgerAt: (p) => ledgerLeafAt(deps.ledger, task.tenant, p) })),
    );
    for (const [i, copy] of deps.copies.entries()) {
      const out = outs[i]!;
      const t = tally.get(copy.name)!;
      t.checked += out.checked;
      t.repaired += out.repaired;
      t.findings += out.findings.length;
      cross.push(...out.findings.slice(0, Math.max(0, MAX_CROSS_FINDINGS - cross.length)));
      repairs.push(...out.repairs);
    }
    window = new Map();
    windowFrom = until;
  };

  for await (const batch of deps.ledger.readBatches(task.tenant, task.from)) {
    if (batch.firstPosition < task.from) continue;
    if (batch.firstPosition >= task.to) break;
    verifier ??= new SegmentVerifier({ tenant: task.tenant, begin: batch.firstPosition, cutAt: task.cutAt });
    windowFrom ??= batch.firstPosition;
    if (deps.copies.length > 0 && batch.firstPosition - windowFrom >= CROSS_WINDOW) await flush(batch.firstPosition, false);
    end = batch.firstPosition + batch.entries.length;
    for (let i = 0; i < batch.entries.length; i++) {
      const entry = batch.entries[i]!;
      verifier.push(entry);
      const position = batch.firstPosition + i;
      if (deps.copies.length > 0) window.set(position, { tenant: task.tenant, position, entry, leafHash: hashLeafHex(entry) });
    }
    deps.onProgress?.(batch.entries.length);
  }
  // A segment that owns no batch compares nothing, unless it is the last: then every copy position from it on must be in the ledger.
  if (deps.copies.length > 0 && (end !== undefined || task.last)) await flush(end ?? task.from, task.last);
  const result = (verifier ?? new SegmentVerifier({ tenant: task.tenant, begin: task.from, cutAt: task.cutAt })).finish();
  const copies: Record<string, CopyTally> = Object.fromEntries(tally);
  const dropped = [...tally.values()].reduce((n, t) => n + t.findings, 0) > cross.length;
  return { index: task.index, result: segmentResultToJson(result), cross, repairs, copies, crossTruncated: dropped };
}

/** The ledger's leaf hash at a position appended since the run was planned (checked for "extra" rows). */
async function ledgerLeafAt(ledger: Pick<LedgerStore, 'batchAt'>, tenant: string, position: number): Promise<string | undefined> {
  const batch = await ledger.batchAt(tenant, position);
  const bytes = batch?.entries[position - batch.firstPosition];
  return bytes === undefined ? undefined : hashLeafHex(bytes);
}
