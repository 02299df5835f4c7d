/**
 * Verification and drill reports in S3 (DESIGN §5): the AWS `ReportSink`, on
 * the reports bucket (versioned, Object Lock in compliance mode: reports are
 * evidence) through the `ObjectStore` port, so the write-once and
 * compare-and-swap rules are the port's own.
 *
 * Layout: `<tenant>/<runId>.txt` (the summary), then `<tenant>/<runId>.json`
 * (the report), both write-once: writing the same bytes again succeeds (a
 * retried task), other bytes under a run id throw `ObjectImmutableError` and
 * change nothing. The JSON goes last, so a report whose JSON exists is whole.
 * The last-run pointer is `<tenant>/last-run.json`, swapped with `putIfMatch`
 * and only ever moved forward (to a later SYSTEM entry): a slow run that
 * finishes after a newer one cannot point the next run at an older
 * checkpoint. Every old pointer stays as a locked noncurrent version. A
 * pointer other writers keep moving past `maxSwaps` rounds is
 * `ObjectStoreUnavailableError` (contention: retry).
 */
import { tenantIdSchema } from '../../core/ledger-entry.js';
import { ObjectStoreUnavailableError, type ObjectStore } from '../../ports/object-store.js';
import type { LastRunPointer, ReportSink } from '../../ports/report-sink.js';

/** A run id is one key segment: letters, digits and `-`, not the pointer's own name. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;
const POINTER = 'last-run';

/** Where the reports go, how their location reads, and how hard to fight over the pointer. */
export interface S3ReportSinkOptions {
  /** The reports bucket (`S3ObjectStore`, native conditional puts on AWS). */
  readonly objects: ObjectStore;
  /** Where a key is, as operators name it (`s3://<bucket>/<key>`). */
  readonly uri: (key: string) => string;
  /** Compare-and-swap rounds before `setLastRun` gives up on a pointer other writers keep moving (default 8). */
  readonly maxSwaps?: number;
}

/**
 * @example
 * const reports = new S3ReportSink({ objects: new S3ObjectStore({ client, bucket }), uri: (key) => `s3://${bucket}/${key}` });
 * await reports.writeReport('acme', runId, json, summary); // 's3://…/acme/<runId>.json'
 */
export class S3ReportSink implements ReportSink {
  readonly #objects: ObjectStore;
  readonly #uri: (key: string) => string;
  readonly #maxSwaps: number;

  constructor(options: S3ReportSinkOptions) {
    this.#objects = options.objects;
    this.#uri = options.uri;
    this.#maxSwaps = options.maxSwaps ?? 8;
    if (!Number.isInteger(this.#maxSwaps) || this.#maxSwaps < 1) throw new RangeError(`maxSwaps must be ≥ 1, got ${this.#maxSwaps}`);
  }

  async writeReport(tenant: string, runId: string, json: Uint8Array, summary: string): Promise<string> {
    checkTenant(tenant);
    if (!RUN_ID.test(runId) || runId === POINTER) throw new RangeError(`run id ${JSON.stringify(runId)} is not one key segment of letters, digits and "-"`);
    await this.#objects.put(`${tenant}/${runId}.txt`, new TextEncoder().encode(summary), { contentType: 'text/plain; charset=utf-8', immutable: true });
    const key = `${tenant}/${runId}.json`;
    await this.#objects.put(key, json, { contentType: 'application/json', immutable: true });
    return this.#uri(key);
  }

  async lastRun(tenant: string): Promise<LastRunPointer | undefined> {
    checkTenant(tenant);
    const current = await this.#objects.getVersioned(pointerKey(tenant));
    return current === undefined ? undefined : parsePointer(current.bytes);
  }

  async setLastRun(tenant: string, pointer: LastRunPointer): Promise<void> {
    checkTenant(tenant);
    if (!RUN_ID.test(pointer.runId) || !Number.isSafeInteger(pointer.position) || pointer.position < 0) throw new RangeError(`bad last-run pointer ${JSON.stringify(pointer)}`);
    const bytes = new TextEncoder().encode(`${JSON.stringify({ runId: pointer.runId, position: pointer.position })}\n`);
    for (let round = 0; round < this.#maxSwaps; round++) {
      const current = await this.#objects.getVersioned(pointerKey(tenant));
      const held = current === undefined ? undefined : parsePointer(current.bytes);
      if (held !== undefined && held.position >= pointer.position) return; // as new or newer already
      if ((await this.#objects.putIfMatch(pointerKey(tenant), bytes, { contentType: 'application/json' }, current?.etag)) !== undefined) return;
    }
    // Contention, not a fault of the pointer: transient, so the caller (a retried task) may try again.
    throw new ObjectStoreUnavailableError(`the last-run pointer of ${tenant} kept changing: gave up after ${this.#maxSwaps} compare-and-swap rounds`);
  }
}

const pointerKey = (tenant: string): string => `${tenant}/${POINTER}.json`;

function checkTenant(tenant: string): void {
  if (!tenantIdSchema.safeParse(tenant).success) throw new RangeError(`tenant ${JSON.stringify(tenant)} is not a tenant id`);
}

/** The pointer in `bytes`, or undefined when they are not one (a hint only: the verifier trusts the SYSTEM entry it names). */
function parsePointer(bytes: Uint8Array): LastRunPointer | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LastRunPointer>;
    return typeof value.runId === 'string' && Number.isSafeInteger(value.position) ? { runId: value.runId, position: value.position! } : undefined;
  } catch {
    return undefined;
  }
}
