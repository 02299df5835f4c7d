/**
 * Cross-verification of one window of positions (DESIGN §5): the ledger's
 * leaf hashes against what each downstream copy (event store, projection)
 * serves. A position a copy lacks is re-derived from the ledger through the
 * copy's own idempotent `apply` and logged as a repair; a different hash or a
 * position the ledger does not hold is a finding for humans, never fixed.
 */
import type { ChangeCopy, LedgerChange } from '../../ports/change-stream.js';
import type { CopyRepair, CrossFinding } from './run-types.js';

/** Ledger side of a window: position → entry bytes and leaf hash, consecutive from `from`. */
export interface LedgerWindow {
  readonly tenant: string;
  readonly from: number;
  readonly to: number;
  readonly changes: ReadonlyMap<number, LedgerChange>;
}

export interface WindowOutcome {
  readonly findings: CrossFinding[];
  readonly repairs: CopyRepair[];
  readonly checked: number;
  readonly repaired: number;
}

/**
 * Compares one copy over `[window.from, window.to)`; with `beyond` also every
 * position the copy holds from `window.to` on, which must then be found in
 * the ledger through `ledgerAt` (entries appended since the run started are
 * fine, anything else is COPY_EXTRA).
 *
 * @example
 * const outcome = await crossCheckWindow(projection, window, { beyond: true, ledgerAt });
 */
export async function crossCheckWindow(
  copy: ChangeCopy,
  window: LedgerWindow,
  options: { beyond?: boolean; ledgerAt?: (position: number) => Promise<string | undefined> } = {},
): Promise<WindowOutcome> {
  const to = options.beyond ? Number.MAX_SAFE_INTEGER : window.to;
  const held = await copy.leafHashes(window.tenant, window.from, to);
  const findings: CrossFinding[] = [];
  const missing: LedgerChange[] = [];
  let checked = 0;
  for (let p = window.from; p < window.to; p++) {
    const change = window.changes.get(p);
    const found = held.get(p);
    if (change === undefined) {
      if (found !== undefined) findings.push(extra(copy.name, p, found));
      continue;
    }
    checked++;
    if (found === undefined) missing.push(change);
    else if (found !== change.leafHash) findings.push(mismatch(copy.name, p, change.leafHash, found));
  }
  for (const [p, found] of held) {
    if (p < window.to) continue;
    const ledger = await options.ledgerAt?.(p);
    if (ledger === undefined) findings.push(extra(copy.name, p, found));
    else if (ledger !== found) findings.push(mismatch(copy.name, p, ledger, found));
  }
  const repairs: CopyRepair[] = [];
  let repaired = 0;
  if (missing.length > 0) {
    try {
      await copy.apply(missing);
      repaired = missing.length;
      repairs.push(...ranges(missing.map((c) => c.position)).map(([from, end]) => ({ copy: copy.name, from, to: end })));
    } catch (error) {
      for (const c of missing) findings.push({ kind: 'COPY_REPAIR_FAILED', copy: copy.name, position: c.position, message: `re-deriving position ${c.position} into ${copy.name} failed: ${(error as Error).message}` });
    }
  }
  return { findings, repairs, checked, repaired };
}

function mismatch(copy: string, position: number, ledger: string, found: string): CrossFinding {
  return { kind: 'COPY_MISMATCH', copy, position, ledger, found, message: `${copy} holds other content than the ledger at position ${position}` };
}

function extra(copy: string, position: number, found: string): CrossFinding {
  return { kind: 'COPY_EXTRA', copy, position, found, message: `${copy} holds position ${position}, which the ledger does not` };
}

/** Ascending positions → maximal runs `[from, to)`. */
function ranges(positions: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const p of positions) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === p) last[1] = p + 1;
    else out.push([p, p + 1]);
  }
  return out;
}
