/**
 * Where verification runs leave their reports (DESIGN §5): S3 on AWS, the data
 * directory locally. The report's SHA-256 is recorded in the ledger by a
 * SYSTEM entry, so a report can be checked against the log later; the sink
 * also keeps a pointer to the last run's SYSTEM entry, so the next run finds
 * the checkpoint it must extend without reading the whole log.
 *
 * Contract for every adapter:
 * - `writeReport` is durable on return and never overwrites: a report is
 *   written once under its run id (writing the same bytes again is fine).
 * - `lastRun`/`setLastRun` read and replace the pointer; the pointer is a
 *   hint: the verifier re-reads the SYSTEM entry it points at from the ledger
 *   and trusts only that entry.
 */
export interface ReportSink {
  /** Stores `<tenant>/<runId>.json` and `.txt`; returns where (a URL, an S3 URI or a path). */
  writeReport(tenant: string, runId: string, json: Uint8Array, summary: string): Promise<string>;
  lastRun(tenant: string): Promise<LastRunPointer | undefined>;
  setLastRun(tenant: string, pointer: LastRunPointer): Promise<void>;
}

/** Locates the SYSTEM entry of the last run that verified a checkpoint. */
export interface LastRunPointer {
  readonly runId: string;
  readonly position: number;
}
