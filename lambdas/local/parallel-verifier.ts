/**
 * Verifies a log held in a bundle file on every core: the file is split into
 * segments, large ones first, the calling thread and `parts − 1` worker threads
 * claim them one at a time from a shared counter, each streaming its segment's
 * own byte range (nothing is copied between threads), and the results are
 * combined by the core's `combineSegments` against the signed checkpoints.
 * This is the local counterpart of the nightly workflow's Distributed Map over
 * segments.
 *
 * Why so: the calling thread starts verifying at once while the workers boot
 * (~0.1 s each), and claiming shrinking segments dynamically keeps every core
 * busy until the end even when one runs slower (another process, a cold cache).
 */
import { buildSync } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { combineSegments, cutSizes, openCheckpointForVerification, type LogVerificationInput, type LogVerificationReport } from '../core/log-verifier.js';
import { segmentResultFromJson } from '../core/segment-json.js';
import type { SegmentOptions, SegmentResult } from '../core/segment-verifier.js';
import type { Finding } from '../core/verification-findings.js';
import { verifyClaimedSegments, type SegmentJob, type SegmentJobResults } from './segment-worker.js';

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

/**
 * Guided self-scheduling: each segment is this fraction of what is left per
 * thread, so segments start large (few borders, see combineSegments) and
 * shrink towards the end, where the threads then finish within a small one.
 */
const GUIDED_SHARE = 1 / 2;

const WORKER = new URL(import.meta.url.endsWith('.ts') ? './segment-worker.ts' : './segment-worker.js', import.meta.url);
let bundledWorker: string | undefined;

/** Source folders the worker bundle may draw from (besides node_modules): the cache key covers them. */
const WORKER_SOURCES = ['../core', '.'].map((dir) => fileURLToPath(new URL(`${dir}/`, WORKER)));

/**
 * The worker script to start. From TypeScript sources (development, tests,
 * benchmarks) the worker is bundled with esbuild into an ES module cached
 * under node_modules/.cache, keyed by the sizes and modification times of the
 * sources it can import (lambdas/core and lambdas/local; the build fails if it
 * imports anything else, so the key cannot miss a change): registering tsx
 * inside every worker costs ~0.3 s each, bundling ~0.2 s.
 */
function workerFile(): URL | string {
  if (!WORKER.pathname.endsWith('.ts')) return WORKER;
  if (bundledWorker !== undefined) return bundledWorker;
  const key = createHash('sha256');
  for (const dir of WORKER_SOURCES) {
    for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
      const stat = statSync(join(dir, file));
      if (stat.isFile()) key.update(`${dir}${file}:${stat.size}:${stat.mtimeMs}\n`);
    }
  }
  const dir = fileURLToPath(new URL('../../node_modules/.cache/govledger/', WORKER));
  const out = join(dir, `segment-worker-${key.digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    const built = buildSync({ entryPoints: [fileURLToPath(WORKER)], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: tmp, logLevel: 'silent', metafile: true, absWorkingDir: process.cwd() });
    const outside = Object.keys(built.metafile.inputs).map((input) => resolve(input)).filter((input) => !input.includes('/node_modules/') && !WORKER_SOURCES.some((d) => input.startsWith(d)));
    if (outside.length > 0) throw new Error(`the segment worker imports ${outside.join(', ')}: add its folder to WORKER_SOURCES`);
    renameSync(tmp, out);
  }
  bundledWorker = out;
  return out;
}

/**
 * The parent's Node options minus module loaders and preloads (`--import tsx`
 * and the like): the worker runs plain JavaScript, and a loader would cost each
 * worker ~0.3 s (and a hooks thread) for nothing.
 */
function workerExecArgv(): string[] {
  const loaders = /^(?:--import|--loader|--experimental-loader|--require|-r)(?:=|$)/;
  const argv: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i]!;
    if (!loaders.test(arg)) argv.push(arg);
    else if (!arg.includes('=')) i++; // the flag's value follows it
  }
  return argv;
}

/** Runs `segmentJob` on a worker thread; resolves with its results, rejects if it fails. */
function startWorker(segmentJob: SegmentJob): { done: Promise<SegmentJobResults>; worker: Worker } {
  const worker = new Worker(workerFile(), { workerData: { segmentJob }, execArgv: workerExecArgv() });
  const done = new Promise<SegmentJobResults>((resolve, reject) => {
    worker.once('message', (message: SegmentJobResults) => resolve(message));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`segment worker exited with code ${code} before posting its results`)));
  });
  done.catch(() => undefined); // awaited by the caller unless it failed first and terminates the worker
  return { done, worker };
}

/**
 * Splits [0, size) at the given boundaries into a few segments per thread,
 * verifies them on `parts` threads (this one included) and combines the
 * results. The calling thread is busy verifying until its share is done.
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
  const starts = segmentStarts(boundaries, size, Math.max(1, parts));
  const tasks: SegmentTask[] = starts.map((start, i) => {
    const next = starts[i + 1]?.position ?? size;
    return { file, byteOffset: start.byteOffset, count: next - start.position, options: { tenant: input.tenant, begin: start.position, cutAt } };
  });
  const results = await verifyOnThreads({ tasks, next: new Int32Array(new SharedArrayBuffer(4)) }, Math.min(parts, tasks.length));
  const combined = combineSegments(results, { checkpoint: latest.checkpoint, previous: previous.checkpoint, consistencyProof: input.consistencyProof });
  const all = [...findings, ...combined.findings];
  return { ok: all.length === 0, findings: all, size: combined.size, checkpoint: latest.checkpoint, previous: previous.checkpoint, root: combined.root };
}

/** Verifies every task of `job` on this thread and `threads − 1` workers; the results in task order. */
async function verifyOnThreads(job: SegmentJob, threads: number): Promise<SegmentResult[]> {
  const workers = Array.from({ length: Math.max(0, threads - 1) }, () => startWorker(job));
  try {
    const results: SegmentResult[] = [];
    for (const [i, result] of verifyClaimedSegments(job)) results[i] = result;
    for (const { results: theirs } of await Promise.all(workers.map((w) => w.done))) {
      for (const [i, json] of theirs) results[i] = segmentResultFromJson(json);
    }
    return results;
  } finally {
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }
}

/**
 * Where segments start: position 0, then each next boundary at or after
 * GUIDED_SHARE of the remaining entries per thread (one segment per thread of one).
 */
function segmentStarts(boundaries: readonly SegmentBoundary[], size: number, threads: number): SegmentBoundary[] {
  const sorted = [...boundaries].sort((a, b) => a.position - b.position);
  if (sorted[0]?.position !== 0) throw new Error('segment boundaries must include position 0');
  const starts: SegmentBoundary[] = [sorted[0]];
  if (threads <= 1) return starts;
  for (let i = 1; ; ) {
    const at = starts[starts.length - 1]!.position;
    const target = at + Math.ceil(((size - at) * GUIDED_SHARE) / threads);
    while (i < sorted.length && sorted[i]!.position < target) i++;
    if (i === sorted.length || sorted[i]!.position >= size) return starts;
    starts.push(sorted[i]!);
  }
}
