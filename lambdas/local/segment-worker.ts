/**
 * Worker-thread entry: verifies one segment read from a bundle file and posts
 * its result as JSON (segment-json.ts), the same shape a Step Functions Map
 * iteration returns.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { segmentResultToJson } from '../core/segment-json.js';
import { SegmentVerifier } from '../core/segment-verifier.js';
import { readBundleFile } from './bundle-file.js';
import type { SegmentTask } from './parallel-verifier.js';

const task = workerData as SegmentTask;
const verifier = new SegmentVerifier(task.options);
for (const bytes of readBundleFile(task.file, task.byteOffset, task.count)) verifier.push(bytes);
parentPort!.postMessage(segmentResultToJson(verifier.finish()));
