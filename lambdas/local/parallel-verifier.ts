/**
 * Verifies a log held in a bundle file on every core: one worker thread per
 * segment, each streaming its own byte range, the results combined by the
 * core's `combineSegments` against the signed checkpoints. This is the local
 * counterpart of the nightly workflow's Distributed Map over segments.
 */
import { buildSync } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { combineSegments, cutSizes, openCheckpointForVerification, type LogVerificationInput, type LogVerificationReport } from '../core/log-verifier.js';
import { segmentResultFromJson, type SegmentResultJson } from '../core/segment-json.js';
import type { SegmentOptions } from '../core/segment-verifier.js';
import type { Finding } from '../core/verification-findings.js';

/** One segment: `count` entries from `byteOffset` of `file`, starting at position `options.begin`. */
export interface SegmentTask {
  readonly file: string;
  readonly byteOffset: number;
  readonly count: number;
  readonly options: SegmentOptions;
}

/** Where segments may start: position → byte offset in the file (position 0 at offset 0 included). */
export interface SegmentBoundary {
  readonly position: number;
  readonly byteOffset: number;
}

const WORKER = new URL(import.meta.url.endsWith('.ts') ? './segment-worker.ts' : './segment-worker.js', import.meta.url);
let bundledWorker: string | undefined;

/**
 * The worker script to start. From TypeScript sources (development, tests,
 * benchmarks) the worker is bundled with esbuild into an ES module cached
 * under node_modules/.cache, keyed by the sources' sizes and modification
 * times: registering tsx inside every worker costs ~0.3 s each, bundling ~0.2 s.
 */
function workerFile(): URL | string {
  if (!WORKER.pathname.endsWith('.ts')) return WORKER;
  if (bundledWorker !== undefined) return bundledWorker;
  const sources = fileURLToPath(new URL('..', WORKER));
  const key = createHash('sha256');
  for (const file of readdirSync(sources, { recursive: true, encoding: 'utf8' }).sort()) {
    const stat = statSync(join(sources, file));
    if (stat.isFile()) key.update(`${file}:${stat.size}:${stat.mtimeMs}\n`);
  }
  const dir = fileURLToPath(new URL('../../node_modules/.cache/govledger/', WORKER));
  const out = join(dir, `segment-worker-${key.digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    buildSync({ entryPoints: [fileURLToPath(WORKER)], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: tmp, logLevel: 'silent' });
    renameSync(tmp, out);
  }
  bundledWorker = out;
  return out;
}

function startWorker(task: SegmentTask): Promise<SegmentResultJson> {
  const worker = new Worker(workerFile(), { workerData: task });
  return new Promise((resolve, reject) => {
    worker.once('message', (result: SegmentResultJson) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`segment worker exited with code ${code}`)));
  });
}

/**
 * Splits [0, size) into `parts` segments at the given boundaries, verifies them
 * in parallel and combines the results.
 *
 * @example
 * const report = await verifyFileInParallel(file, size, boundaries, { tenant, origin, verifier, checkpoint });
 */
export async function verifyFileInParallel(
  file: string,
  size: number,
  boundaries: readonly SegmentBoundary[],
  input: LogVerificationInput,
  parts = availableParallelism(),
): Promise<LogVerificationReport> {
  const findings: Finding[] = [];
  const latest = openCheckpointForVerification(input.checkpoint, input.verifier, input.origin);
  const previous = input.previous === undefined ? {} : openCheckpointForVerification(input.previous, input.verifier, input.origin);
  for (const f of [latest.finding, previous.finding]) if (f) findings.push(f);
  const cutAt = cutSizes(latest.checkpoint, previous.checkpoint);
  const starts = pickStarts(boundaries, size, parts);
  const tasks = starts.map((start, i) => {
    const next = starts[i + 1]?.position ?? size;
    return { file, byteOffset: start.byteOffset, count: next - start.position, options: { tenant: input.tenant, begin: start.position, cutAt } };
  });
  const results = (await Promise.all(tasks.map(startWorker))).map(segmentResultFromJson);
  const combined = combineSegments(results, { checkpoint: latest.checkpoint, previous: previous.checkpoint, consistencyProof: input.consistencyProof });
  const all = [...findings, ...combined.findings];
  return { ok: all.length === 0, findings: all, size: combined.size, checkpoint: latest.checkpoint, previous: previous.checkpoint, root: combined.root };
}

/** Evenly spaced boundaries, always including position 0. */
function pickStarts(boundaries: readonly SegmentBoundary[], size: number, parts: number): SegmentBoundary[] {
  const sorted = [...boundaries].sort((a, b) => a.position - b.position);
  if (sorted[0]?.position !== 0) throw new Error('segment boundaries must include position 0');
  const starts: SegmentBoundary[] = [sorted[0]];
  for (let k = 1; k < parts; k++) {
    const target = (size * k) / parts;
    const best = sorted.reduce((a, b) => (Math.abs(b.position - target) < Math.abs(a.position - target) ? b : a));
    if (best.position > starts[starts.length - 1]!.position && best.position < size) starts.push(best);
  }
  return starts;
}
