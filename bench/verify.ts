/**
 * Full-verification benchmark (issue: the verifiable core).
 *
 *   npm run bench -- verify                       # 1,000,000 entries
 *   BENCH_VERIFY_N=100000 npx tsx bench/verify.ts # smaller
 *
 * Streams N synthetic ~1.2 KiB canonical entries from a file and measures,
 * each phase in a fresh child process so that peak RSS is its own:
 *   read      reading and splitting the file only (the floor all phases share);
 *   bulk      the same read + one SHA-256 stream over all the bytes (the
 *             machine's raw SHA-256 rate, for context: no per-call cost);
 *   baseline  the same read + raw node:crypto SHA-256 of every entry's bytes,
 *             one `crypto.hash` call per entry with a string digest (its
 *             fastest form: a Buffer digest costs ~1.2 µs more per call);
 *   verify    the same read + full verification on one thread (`verifyLog`):
 *             leaf hashes, prevHash chain, tenant, timestamps, compact range →
 *             root against the signed checkpoint, signature checked;
 *   parallel  full verification on every core (`verifyFileInParallel`: this
 *             thread and one worker thread per further core claim segments of
 *             the file from a shared counter; results combined), the local default.
 * verify_ratio = baseline time / parallel time (target ≥ 0.70);
 * verify_ratio_single_thread = baseline time / verify time. Then the time to
 * verify one inclusion and one consistency proof at n = N (target < 50 µs),
 * with proofs assembled from tiles as a reader would.
 * BENCH_RECORD=0 prints the figures without writing them to bench/RESULTS.md.
 */
import { createHash, hash, randomInt } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CompactRange, rangeNodes } from '../lambdas/core/compact-range.js';
import { verifyLog } from '../lambdas/core/log-verifier.js';
import { ProofNodes, verifyConsistency, verifyInclusion } from '../lambdas/core/merkle-proof.js';
import { hashLeaf } from '../lambdas/core/rfc9162-hasher.js';
import { Ed25519NoteVerifier } from '../lambdas/core/signed-note.js';
import { TileBuilder } from '../lambdas/core/tile-builder.js';
import { hashesFromTiles, tilePath, type TileRef } from '../lambdas/core/tlog-tiles.js';
import { readBundleFile as readEntries } from '../lambdas/local/bundle-file.js';
import { verifyFileInParallel } from '../lambdas/local/parallel-verifier.js';
import { ORIGIN, SEGMENT_STRIDE, syntheticLog, TENANT, type SyntheticLog } from './synthetic-log.js';
import { recordResults } from './results.js';

const N = Number(process.env.BENCH_VERIFY_N ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const FILE = fileURLToPath(new URL(`./.data/verify-${N}.log`, import.meta.url));
const PHASES = ['read', 'bulk', 'baseline', 'verify', 'parallel'] as const;
type Phase = (typeof PHASES)[number];

async function runPhase(phase: Phase, log: SyntheticLog): Promise<{ ms: number; maxRssMiB: number }> {
  const t0 = process.hrtime.bigint();
  if (phase === 'read') {
    let n = 0;
    for (const entry of readEntries(log.file)) n += entry.length > 0 ? 1 : 0;
    if (n !== log.size) throw new Error('short read');
  } else if (phase === 'bulk') {
    const all = createHash('sha256');
    for (const entry of readEntries(log.file)) all.update(entry);
    all.digest();
  } else if (phase === 'baseline') {
    for (const entry of readEntries(log.file)) hash('sha256', entry, 'binary');
  } else {
    const input = { tenant: TENANT, origin: ORIGIN, verifier: new Ed25519NoteVerifier(log.verifierKey), checkpoint: log.checkpoint };
    const report =
      phase === 'verify'
        ? verifyLog(readEntries(log.file), input)
        : await verifyFileInParallel(log.file, log.size, log.offsets.map((byteOffset, i) => ({ position: i * SEGMENT_STRIDE, byteOffset })), input);
    if (!report.ok || report.size !== log.size) throw new Error(`verification failed: ${JSON.stringify(report.findings.slice(0, 3))}`);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
}

function child(phase: Phase): { ms: number; maxRssMiB: number } {
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--phase', phase], {
    env: process.env,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as { ms: number; maxRssMiB: number };
}

/** Verifies `count` random proofs of each kind at size N; returns µs per proof. */
function proofTimes(log: SyntheticLog, count: number): { inclusionUs: number; consistencyUs: number } {
  const tiles = new Map<string, Uint8Array>();
  const range = CompactRange.empty();
  const builder = new TileBuilder(0, tiles);
  const wanted = new Set(Array.from({ length: count }, () => randomInt(0, log.size)));
  const leaves = new Map<number, Uint8Array>();
  let position = 0;
  for (const entry of readEntries(log.file)) {
    const leaf = hashLeaf(entry);
    if (wanted.has(position)) leaves.set(position, leaf);
    range.append(leaf, builder.visitor);
    position++;
  }
  for (const t of builder.changedTiles()) tiles.set(t.path, t.bytes);
  const root = Buffer.from(log.rootHex, 'hex');
  const read = (ref: TileRef) => tiles.get(tilePath(ref));
  const inclusion = [...leaves].map(([index, leaf]) => {
    const nodes = ProofNodes.inclusion(index, log.size);
    return { index, leaf, proof: nodes.rehash(hashesFromTiles(nodes.ids, log.size, read)) };
  });
  const consistency = Array.from({ length: count }, () => {
    const size1 = randomInt(1, log.size);
    const nodes = ProofNodes.consistency(size1, log.size);
    const root1 = CompactRange.from(0, size1, hashesFromTiles(rangeNodes(0, size1), log.size, read)).root();
    return { size1, root1, proof: nodes.rehash(hashesFromTiles(nodes.ids, log.size, read)) };
  });
  const t0 = process.hrtime.bigint();
  for (const { index, leaf, proof } of inclusion) verifyInclusion(index, log.size, leaf, proof, root);
  const t1 = process.hrtime.bigint();
  for (const { size1, root1, proof } of consistency) verifyConsistency(size1, log.size, proof, root1, root);
  const t2 = process.hrtime.bigint();
  return { inclusionUs: Number(t1 - t0) / 1e3 / inclusion.length, consistencyUs: Number(t2 - t1) / 1e3 / consistency.length };
}

async function main(): Promise<void> {
  const phaseArg = process.argv.indexOf('--phase');
  if (phaseArg > 0) {
    const log = await syntheticLog(FILE, N);
    console.log(JSON.stringify(await runPhase(process.argv[phaseArg + 1] as Phase, log)));
    return;
  }
  const g0 = Date.now();
  const log = await syntheticLog(FILE, N);
  console.log(`log: ${log.size} entries, ${(log.bytes / log.size).toFixed(0)} B/entry on average, ${(log.bytes / 2 ** 20).toFixed(0)} MiB (ready in ${((Date.now() - g0) / 1000).toFixed(1)} s)`);
  const best: Record<Phase, { ms: number; maxRssMiB: number }> = {} as never;
  for (let round = 0; round < ROUNDS; round++) {
    for (const phase of PHASES) {
      const r = child(phase);
      if (!best[phase] || r.ms < best[phase].ms) best[phase] = r;
    }
  }
  const mb = log.bytes / 1e6;
  const proofs = proofTimes(log, 2000);
  const single = best.baseline.ms / best.verify.ms;
  const ratio = best.baseline.ms / best.parallel.ms;
  const lines = [
    `entries: ${log.size} × ${(log.bytes / log.size).toFixed(0)} B (canonical), ${(log.bytes / 2 ** 20).toFixed(0)} MiB; best of ${ROUNDS} rounds, each phase in a fresh process`,
    ...PHASES.map((p) => `${p.padEnd(8)} ${best[p].ms.toFixed(0).padStart(5)} ms  ${((log.size / best[p].ms) * 1000).toFixed(0).padStart(8)} entries/s  ${((mb / best[p].ms) * 1000).toFixed(0).padStart(5)} MB/s  peak RSS ${best[p].maxRssMiB.toFixed(0)} MiB`),
    `peak RSS of verification beyond reading: ${Math.max(0, best.verify.maxRssMiB - best.read.maxRssMiB).toFixed(0)} MiB (single thread), ${Math.max(0, best.parallel.maxRssMiB - best.read.maxRssMiB).toFixed(0)} MiB (${availableParallelism()} threads)`,
    `inclusion proof verify at n=${log.size}: ${proofs.inclusionUs.toFixed(1)} µs/proof; consistency: ${proofs.consistencyUs.toFixed(1)} µs/proof`,
    `verify_ratio_single_thread=${single.toFixed(2)}`,
    `verify_ratio=${ratio.toFixed(2)}`,
  ];
  if (process.env.BENCH_RECORD !== '0') recordResults('verify', `BENCH_VERIFY_N=${N} npm run bench -- verify`, lines);
  console.log(lines.join('\n'));
}

await main();
