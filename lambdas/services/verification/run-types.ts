/**
 * The nightly verification run's step inputs and outputs (DESIGN §5). Every
 * step takes and returns plain JSON, so the same step functions run in order
 * in the CLI (`govledger verify`) and as Step Functions Lambda tasks (the
 * Distributed Map iterates `RunPlan.segments`).
 */
import type { RecoveryDetails } from '../../core/ledger-entry.js';
import type { SegmentResultJson } from '../../core/segment-json.js';
import type { RecoverySummary } from '../recovery-record.js';
import type { Finding } from '../../core/verification-findings.js';

/** What the plan step decided for one tenant's run. */
export interface RunPlan {
  readonly runId: string;
  readonly tenant: string;
  /** `<log prefix>/<tenant>`: the checkpoints' origin and the verifier key's name. */
  readonly origin: string;
  readonly startedAt: string;
  /** Entries stored when the run started (one past the tail batch's last position). */
  readonly size: number;
  /** The latest signed checkpoint's note text, or null before the first publish. */
  readonly checkpoint: string | null;
  /** The checkpoint the last successful run verified (from its SYSTEM entry), or null. */
  readonly previous: string | null;
  /** Position of that run's SYSTEM entry, or null. */
  readonly previousRunPosition: number | null;
  /** Sizes at which segments keep compact ranges (the checkpoints' sizes). */
  readonly cutAt: readonly number[];
  /** Nominal segment bounds `[from, to)`; the last one ends at `size`. */
  readonly segments: readonly SegmentTask[];
  /** Recovery entries the finish step checks: forks from either checkpoint and the newest (absent in older plans: none). */
  readonly recoveries?: readonly PlannedRecovery[];
}

/** A recovery entry as the plan found it (DESIGN §5 "Recovery audit trail"). */
export interface PlannedRecovery {
  readonly position: number;
  /** The entry's own generation. */
  readonly generation: number;
  readonly details: RecoveryDetails;
  /** The generation of the entry before it, which it must exceed. */
  readonly before: number;
  /** Entries after it (up to the next planned recovery, from the last verified size on) with a lower generation than its own; the first 100. */
  readonly regressions: ReadonlyArray<{ readonly position: number; readonly generation: number }>;
}

/** A recovery the run checked and accepted: informational, not a finding. */
export type RecoveryItem = RecoverySummary;

/** One Distributed Map item: verify the batches whose first position is in `[from, to)`. */
export interface SegmentTask {
  readonly runId: string;
  readonly tenant: string;
  readonly index: number;
  readonly from: number;
  readonly to: number;
  /** Whether this is the log's last segment (copies are also checked beyond `to` for extra rows). */
  readonly last: boolean;
  readonly cutAt: readonly number[];
}

/** A disagreement between the ledger and a downstream copy; never auto-fixed. */
export type CrossFinding =
  /** The copy holds other content than the ledger for this position. */
  | { readonly kind: 'COPY_MISMATCH'; readonly copy: string; readonly position: number; readonly ledger: string; readonly found: string; readonly message: string }
  /** The copy holds a position the ledger does not. */
  | { readonly kind: 'COPY_EXTRA'; readonly copy: string; readonly position: number; readonly found: string; readonly message: string }
  /** A missing position could not be re-derived (the copy refused or failed). */
  | { readonly kind: 'COPY_REPAIR_FAILED'; readonly copy: string; readonly position: number; readonly message: string };

/** Positions a copy lacked and that were re-derived from the ledger (logged, not a finding). */
export interface CopyRepair {
  readonly copy: string;
  readonly from: number;
  readonly to: number;
}

/** Per copy: positions compared, repaired and found different in one segment (or a run). */
export interface CopyTally {
  readonly checked: number;
  readonly repaired: number;
  readonly findings: number;
}

export interface SegmentOutcome {
  readonly index: number;
  readonly result: SegmentResultJson;
  readonly cross: readonly CrossFinding[];
  readonly repairs: readonly CopyRepair[];
  readonly copies: Readonly<Record<string, CopyTally>>;
  /** Findings beyond the cap were dropped from `cross` (their count is still in `copies`). */
  readonly crossTruncated: boolean;
}

/** The run's report, written as JSON and as a summary; its SHA-256 goes into the ledger. */
export interface VerificationReport {
  readonly format: 'govledger.verification-report/v1';
  readonly runId: string;
  readonly tenant: string;
  readonly origin: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ok: boolean;
  /** Entries verified (one past the last position seen). */
  readonly size: number;
  readonly checkpoint: { readonly size: number; readonly root: string } | null;
  readonly previous: { readonly size: number; readonly root: string } | null;
  readonly findings: readonly Finding[];
  readonly cross: readonly CrossFinding[];
  readonly repairs: readonly CopyRepair[];
  readonly copies: Readonly<Record<string, CopyTally>>;
  /** Recorded recoveries this run checked and accepted (forks the log may take). */
  readonly recoveries: readonly RecoveryItem[];
}

/** What the finish step returns: the report, where it went and the SYSTEM entry recording it. */
export interface RunOutcome {
  readonly report: VerificationReport;
  readonly reportSha256: string;
  readonly reportLocation: string;
  readonly systemPosition: number;
}

/** The SYSTEM entry kind recording a verification run. */
export const VERIFICATION_KIND = 'verification';
