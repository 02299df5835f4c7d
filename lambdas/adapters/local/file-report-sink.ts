/**
 * Verification reports in the data directory (DESIGN §6): the local
 * `ReportSink`. Reports go to `<dataDir>/reports/<tenant>/<runId>.json` and
 * `.txt`, written once; the last-run pointer is `<tenant>/last-run.json`.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tenantIdSchema } from '../../core/ledger-entry.js';
import { ObjectImmutableError } from '../../ports/errors.js';
import { writeFileAtomic } from './atomic-file.js';
import type { LastRunPointer, ReportSink } from '../../ports/report-sink.js';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;

/**
 * @example
 * const reports = new FileReportSink(join(dataDir, 'reports'));
 * const path = await reports.writeReport('acme', runId, json, summary);
 */
export class FileReportSink implements ReportSink {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  async writeReport(tenant: string, runId: string, json: Uint8Array, summary: string): Promise<string> {
    const dir = await this.#dir(tenant);
    if (!RUN_ID.test(runId)) throw new RangeError(`run id ${JSON.stringify(runId)} is not a file name`);
    const path = join(dir, `${runId}.json`);
    await writeOnce(join(dir, `${runId}.txt`), Buffer.from(summary, 'utf8'));
    await writeOnce(path, json);
    return path;
  }

  async lastRun(tenant: string): Promise<LastRunPointer | undefined> {
    try {
      const value = JSON.parse(await readFile(join(await this.#dir(tenant), 'last-run.json'), 'utf8')) as Partial<LastRunPointer>;
      return typeof value.runId === 'string' && Number.isSafeInteger(value.position) ? { runId: value.runId, position: value.position! } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  async setLastRun(tenant: string, pointer: LastRunPointer): Promise<void> {
    await writeFileAtomic(join(await this.#dir(tenant), 'last-run.json'), `${JSON.stringify(pointer)}\n`);
  }

  async #dir(tenant: string): Promise<string> {
    if (!tenantIdSchema.safeParse(tenant).success) throw new RangeError(`tenant ${JSON.stringify(tenant)} is not a tenant id`);
    const dir = join(this.#root, tenant);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }
}

/** Writes `bytes` to a new file, or accepts the identical file already there (the port's write-once rule); other bytes are ObjectImmutableError. */
async function writeOnce(path: string, bytes: Uint8Array): Promise<void> {
  const existing = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing === undefined) return writeFileAtomic(path, bytes);
  if (!existing.equals(bytes)) throw new ObjectImmutableError(path);
}
