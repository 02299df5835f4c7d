/**
 * The loop every verifying thread runs (the caller's and the workers'): claim
 * the next segment from a shared counter, verify it from its byte range of the
 * bundle file, until none is left. Claiming with one atomic add keeps both
 * cores busy to the end whatever their speeds, with no message per segment.
 *
 * As a worker thread's entry (started by parallel-verifier.ts with a
 * `segmentJob` in its workerData) it runs the loop and posts its results once,
 * as JSON (segment-json.ts): the shape a Step Functions Map iteration returns.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { segmentResultToJson, type SegmentResultJson } from '../core/segment-json.js';
import { SegmentVerifier, type SegmentResult } from '../core/segment-verifier.js';
import { readBundleFile } from './bundle-file.js';
import type { SegmentTask } from './parallel-verifier.js';

const READ_BUFFER_SIZE = 8 << 20;

/** Segments to verify and the shared index of the next one to claim (an Int32Array over a SharedArrayBuffer). */
export interface SegmentJob {
  readonly tasks: readonly SegmentTask[];
  readonly next: Int32Array;
}

/** What a worker posts: the results of the segments it claimed, by task index. */
export interface SegmentJobResults {
  readonly results: ReadonlyArray<readonly [number, SegmentResultJson]>;
}

/**
 * Verifies segments of `job` until none is left to claim; returns them by task index.
 *
 * @example
 * const job = { tasks, next: new Int32Array(new SharedArrayBuffer(4)) };
 * const mine = verifyClaimedSegments(job); // workers given the same job share the work
 */
export function verifyClaimedSegments(job: SegmentJob): Array<[number, SegmentResult]> {
  const done: Array<[number, SegmentResult]> = [];
  const buffer = Buffer.allocUnsafe(READ_BUFFER_SIZE); // one per thread: fresh pages per segment cost ~3 ms each
  for (let i = Atomics.add(job.next, 0, 1); i < job.tasks.length; i = Atomics.add(job.next, 0, 1)) {
    const task = job.tasks[i]!;
    const verifier = new SegmentVerifier(task.options);
    for (const bytes of readBundleFile(task.file, task.byteOffset, task.count, buffer)) verifier.push(bytes);
    done.push([i, verifier.finish()]);
  }
  return done;
}

const job = (workerData as { segmentJob?: SegmentJob } | null)?.segmentJob;
if (parentPort !== null && job !== undefined) {
  const message: SegmentJobResults = { results: verifyClaimedSegments(job).map(([i, result]) => [i, segmentResultToJson(result)] as const) };
  parentPort.postMessage(message);
}
