/**
 * Backup-restore drills (DESIGN §5): restore each backup into scratch
 * resources, verify what came back, record how long it took (RTO) and the
 * newest position recovered (RPO), and tear the scratch resources down even
 * when a step fails.
 *
 * - A restored **ledger** must verify on its own (chain, leaf hashes, the
 *   newest signed checkpoint it covers), hold exactly the live ledger's bytes
 *   at every position it has, and hold every entry the live ledger had
 *   acknowledged by the restore point — a restore missing acknowledged
 *   entries fails loudly (`RESTORE_LOST_ACKNOWLEDGED`).
 * - A restored **copy** (database, event archive) must agree with the live
 *   ledger wherever it holds a position, hold no position the ledger lacks,
 *   and have no holes below its newest position.
 */
import { toHex } from '../../core/bytes.js';
import { decodeEntry, formatTimestamp } from '../../core/ledger-entry.js';
import { hashLeafHex, sha256 } from '../../core/rfc9162-hasher.js';
import type { ChangeCopy } from '../../ports/change-stream.js';
import type { LedgerBatch, LedgerStore } from '../../ports/ledger-store.js';
import type { ReportSink } from '../../ports/report-sink.js';
import type { RestoredCopy, RestoreTarget } from '../../ports/restore-target.js';
import { combineRun } from './finish-step.js';
import { checkpointSizeOf, planRun, type PlanDeps } from './plan-step.js';
import { verifySegment } from './segment-step.js';
import type { FinishDeps } from './finish-step.js';

type LedgerReader = Pick<LedgerStore, 'readTail' | 'readBatches' | 'batchAt'>;

export type DrillFinding =
  | { readonly kind: 'RESTORE_FAILED'; readonly target: string; readonly message: string }
  | { readonly kind: 'RESTORE_LOST_ACKNOWLEDGED'; readonly target: string; readonly tenant: string; readonly restored: number; readonly acknowledged: number; readonly message: string }
  | { readonly kind: 'RESTORE_UNVERIFIED'; readonly target: string; readonly tenant: string; readonly detail: string; readonly message: string }
  | { readonly kind: 'RESTORE_DIFFERS'; readonly target: string; readonly tenant: string; readonly position: number; readonly message: string }
  | { readonly kind: 'TEARDOWN_FAILED'; readonly target: string; readonly message: string };

export interface DrillTargetReport {
  readonly target: string;
  readonly ok: boolean;
  /** Milliseconds from the start of the restore until the restored copy was verified. */
  readonly rtoMs: number;
  /** The point in time the restore recovered to. */
  readonly restoredTo: string | null;
  /** Per tenant: newest position recovered + 1 (RPO as a position) and entries acknowledged by the restore point. */
  readonly tenants: Readonly<Record<string, { readonly recovered: number; readonly acknowledged: number }>>;
  readonly findings: readonly DrillFinding[];
}

export interface DrillDeps extends Omit<PlanDeps, 'ledger'>, Pick<FinishDeps, 'verifierFor'> {
  /** The live ledger: the reference every restored copy is compared with. */
  readonly live: LedgerReader;
  readonly clock?: () => Date;
}

/**
 * Runs every target's restore → verify → teardown in turn.
 *
 * @example
 * const reports = await runDrill(deps, [localLedgerCopy(dataDir)], ['acme']);
 * process.exitCode = reports.every((r) => r.ok) ? 0 : 1;
 */
export async function runDrill(deps: DrillDeps, targets: readonly RestoreTarget[], tenants: readonly string[]): Promise<DrillTargetReport[]> {
  const reports: DrillTargetReport[] = [];
  for (const target of targets) reports.push(await drillOne(deps, target, tenants));
  return reports;
}

async function drillOne(deps: DrillDeps, target: RestoreTarget, tenants: readonly string[]): Promise<DrillTargetReport> {
  const now = deps.clock ?? (() => new Date());
  const started = now().getTime();
  const findings: DrillFinding[] = [];
  const perTenant: Record<string, { recovered: number; acknowledged: number }> = {};
  let restoredTo: Date | undefined;
  try {
    const restored = await target.restore();
    restoredTo = restored.restoredTo;
    const checked = await checkRestored(deps, target.name, restored, tenants);
    Object.assign(perTenant, checked.tenants);
    findings.push(...checked.findings);
  } catch (error) {
    findings.push({ kind: 'RESTORE_FAILED', target: target.name, message: `${target.name}: ${(error as Error).message}` });
  } finally {
    try {
      await target.teardown();
    } catch (error) {
      findings.push({ kind: 'TEARDOWN_FAILED', target: target.name, message: `${target.name}: scratch resources were not removed: ${(error as Error).message}` });
    }
  }
  return { target: target.name, ok: findings.length === 0, rtoMs: now().getTime() - started, restoredTo: restoredTo?.toISOString() ?? null, tenants: perTenant, findings };
}

/**
 * The verify half of a drill, for a copy already restored (the Step Functions
 * drill calls it between its restore-polling and teardown states).
 *
 * @example
 * const { tenants, findings } = await checkRestored(deps, 'ledger', await target.open(restoredTo), ['acme']);
 */
export async function checkRestored(deps: DrillDeps, target: string, restored: RestoredCopy, tenants: readonly string[]): Promise<{ tenants: Record<string, { recovered: number; acknowledged: number }>; findings: DrillFinding[] }> {
  const findings: DrillFinding[] = [];
  const perTenant: Record<string, { recovered: number; acknowledged: number }> = {};
  for (const tenant of tenants) {
    const acknowledged = await acknowledgedBy(deps.live, tenant, restored.restoredTo);
    const recovered =
      restored.kind === 'ledger'
        ? await checkLedger(deps, target, restored.ledger, tenant, acknowledged, findings)
        : await checkCopy(deps.live, target, restored.copy, tenant, findings);
    perTenant[tenant] = { recovered, acknowledged };
  }
  return { tenants: perTenant, findings };
}

/** Verifies a restored ledger for one tenant; returns the number of entries it holds. */
async function checkLedger(deps: DrillDeps, target: string, restored: LedgerReader, tenant: string, acknowledged: number, findings: DrillFinding[]): Promise<number> {
  const plan = await planRun({ ...deps, ledger: restored }, tenant, { segmentSize: Number.MAX_SAFE_INTEGER });
  // The live checkpoint may be newer than the restore point: verify against the newest one the copy covers.
  const covered = (note: string | null): note is string => note !== null && checkpointSizeOf(note) <= plan.size;
  const checkpoint = covered(plan.checkpoint) ? plan.checkpoint : covered(plan.previous) ? plan.previous : null;
  const cutAt = checkpoint === null ? [] : [checkpointSizeOf(checkpoint)];
  const scoped = { ...plan, checkpoint, previous: null, cutAt };
  // The live ledger, seen as a copy: positions it lacks cannot be "re-derived" into it, so they surface as COPY_REPAIR_FAILED.
  const live: ChangeCopy = {
    name: 'live-ledger',
    leafHashes: (t, from, to) => leafHashesOf(deps.live, t, from, to),
    apply: () => Promise.reject(new Error('not in the live ledger')),
  };
  const outcomes = [];
  for (const task of scoped.segments) outcomes.push(await verifySegment({ ledger: restored, copies: [live] }, { ...task, cutAt, last: false }));
  const { findings: logFindings, size } = combineRun(deps.verifierFor(plan.origin), scoped, outcomes);
  for (const f of logFindings) findings.push({ kind: 'RESTORE_UNVERIFIED', target, tenant, detail: f.kind, message: `${target} (${tenant}): ${f.message}` });
  for (const o of outcomes) {
    for (const c of o.cross) {
      const what = { COPY_REPAIR_FAILED: 'is in the restored ledger but not in the live one', COPY_EXTRA: 'is in the live ledger but missing from the restored one', COPY_MISMATCH: 'differs from the live ledger' }[c.kind];
      findings.push({ kind: 'RESTORE_DIFFERS', target, tenant, position: c.position, message: `${target} (${tenant}): position ${c.position} ${what}` });
    }
  }
  if (size < acknowledged) {
    findings.push({ kind: 'RESTORE_LOST_ACKNOWLEDGED', target, tenant, restored: size, acknowledged, message: `${target} (${tenant}): the restored ledger holds ${size} entries but ${acknowledged} were acknowledged by the restore point` });
  }
  return size;
}

/** Compares a restored copy with the live ledger; returns its contiguous prefix (newest position + 1 without holes). */
async function checkCopy(live: LedgerReader, target: string, copy: Pick<ChangeCopy, 'name' | 'leafHashes'>, tenant: string, findings: DrillFinding[]): Promise<number> {
  const held = await copy.leafHashes(tenant, 0, Number.MAX_SAFE_INTEGER);
  const positions = [...held.keys()].sort((a, b) => a - b);
  const newest = positions.length === 0 ? -1 : positions[positions.length - 1]!;
  const ledger = await leafHashesOf(live, tenant, 0, newest + 1);
  let prefix = 0;
  while (held.has(prefix)) prefix++;
  if (prefix <= newest) findings.push({ kind: 'RESTORE_DIFFERS', target, tenant, position: prefix, message: `${target} (${tenant}): holes below position ${newest}, first at ${prefix}` });
  for (const p of positions) {
    if (ledger.get(p) !== held.get(p)) findings.push({ kind: 'RESTORE_DIFFERS', target, tenant, position: p, message: `${target} (${tenant}): position ${p} ${ledger.has(p) ? 'differs from' : 'is not in'} the live ledger` });
  }
  return prefix;
}

async function leafHashesOf(ledger: LedgerReader, tenant: string, from: number, to: number): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for await (const batch of ledger.readBatches(tenant, from)) {
    if (batch.firstPosition >= to) break;
    batch.entries.forEach((e, i) => {
      const p = batch.firstPosition + i;
      if (p >= from && p < to) out.set(p, hashLeafHex(e));
    });
  }
  return out;
}

/** How many entries the live ledger had acknowledged at `at` (timestamps are assigned at acceptance, ascending). */
async function acknowledgedBy(live: LedgerReader, tenant: string, at: Date): Promise<number> {
  const limit = formatTimestamp(BigInt(at.getTime()) * 1_000_000n + 999_999n);
  let batch = await live.readTail(tenant);
  while (batch !== undefined && batch.firstPosition > 0 && timestampOf(batch, 0) > limit) batch = await live.batchAt(tenant, batch.firstPosition - 1);
  if (batch === undefined) return 0;
  let count = batch.firstPosition;
  for (let i = 0; i < batch.entries.length && timestampOf(batch, i) <= limit; i++) count++;
  return count;
}

function timestampOf(batch: LedgerBatch, index: number): string {
  return decodeEntry(batch.entries[index]!).entry.timestamp;
}

/** What recording a drill needs: the report sink and the ledger's SYSTEM appends. */
export interface DrillRecordDeps {
  readonly reports: Pick<ReportSink, 'writeReport'>;
  readonly appendSystem: FinishDeps['appendSystem'];
  readonly clock?: () => Date;
}

/**
 * Writes each tenant's drill report (its RTO/RPO per target, and every
 * finding that concerns it or all tenants) and appends a `drill` SYSTEM
 * entry with the report's SHA-256, as verification runs do.
 *
 * @example
 * const recorded = await recordDrill(deps, await runDrill(...), ['acme']);
 */
export async function recordDrill(deps: DrillRecordDeps, targets: readonly DrillTargetReport[], tenants: readonly string[]): Promise<Array<{ tenant: string; reportLocation: string; reportSha256: string; systemPosition: number }>> {
  const at = (deps.clock ?? (() => new Date()))().toISOString();
  const runId = `drill-${at.replace(/[-:.]/g, '')}`;
  const recorded = [];
  for (const tenant of tenants) {
    const mine = targets.map((t) => ({
      target: t.target,
      rtoMs: t.rtoMs,
      restoredTo: t.restoredTo,
      ...(t.tenants[tenant] ?? { recovered: null, acknowledged: null }),
      findings: t.findings.filter((f) => !('tenant' in f) || f.tenant === tenant),
    }));
    const ok = mine.every((t) => t.findings.length === 0 && t.recovered !== null);
    const report = { format: 'govledger.drill-report/v1', runId, tenant, at, ok, targets: mine };
    const json = new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`);
    const reportSha256 = toHex(sha256(json));
    const summary = [`${tenant}: drill ${ok ? 'OK' : 'FAILED'} (${runId})`, ...mine.map((t) => `  ${t.target}: RTO ${(t.rtoMs / 1000).toFixed(1)} s, recovered ${t.recovered ?? '-'} of ${t.acknowledged ?? '-'} acknowledged, ${t.findings.length} finding(s)`)].join('\n');
    const reportLocation = await deps.reports.writeReport(tenant, runId, json, `${summary}\n`);
    const details = { runId, ok, reportSha256, reportLocation, targets: mine.map((t) => `${t.target}:${t.recovered ?? '-'}/${t.acknowledged ?? '-'}:${t.rtoMs}ms`).join(' ') };
    const { position } = await deps.appendSystem(tenant, { kind: 'drill', details }, 'system:drill');
    recorded.push({ tenant, reportLocation, reportSha256, systemPosition: position });
  }
  return recorded;
}
