/**
 * `npm run bench -- verify-e2e`: the local nightly run end to end — full
 * verification of one tenant's log read from the embedded DynamoDB engine,
 * plus cross-verification of every position against the event archive (S3
 * engine) and the projection (embedded PostgreSQL) — against a baseline
 * measured in the same run: raw SHA-256 of the same entry bytes, already in
 * memory. `e2e_verify_ratio=` is the last line (issue 8's target ≥ 0.3), with
 * peak RSS.
 *
 * The log is built through the real services (encrypted payloads, batches of
 * 100 entries per request) and the copies are filled by the real change
 * tailer. The engines run in a process of their own (`engine-host.ts`), as
 * they do when `govledger verify` attaches to a running `npm start`, so the
 * RSS figures are the verifying process's. `BENCH_E2E_N` sets the size (default 20,000: building 10⁶ entries
 * through the services takes about 20 minutes here, far longer than the run
 * being measured). Peak RSS is sampled during the run only, and the baseline
 * streams the log batch by batch, so neither holds the log in memory: run it
 * at two sizes to see that the run's RSS does not grow with n.
 */
import { fork } from 'node:child_process';
import { hash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresChangeCursors } from '../lambdas/adapters/postgres/postgres-change-cursors.js';
import type { Logger } from '../lambdas/handlers/http/logger.js';
import type { EndpointsInfo } from '../lambdas/local/engines.js';
import { clientsOfEndpoints, wireLocalServices } from '../lambdas/local/local-services.js';
import { ChangeTailer } from '../lambdas/services/change-tailer.js';
import { forEachLimited } from '../lambdas/services/for-each-limited.js';
import { LogPublisher } from '../lambdas/services/log-publisher.js';
import { requestHash } from '../lambdas/services/ledger-service.js';
import { runVerification } from '../lambdas/services/verification/run-verification.js';
import { recordResults } from './results.js';

const N = Number(process.env.BENCH_E2E_N ?? 20_000);
const TENANT = 'bench';
const quiet: Logger = { warn: () => undefined, error: () => undefined };

const dir = await mkdtemp(join(tmpdir(), 'govledger-e2e-'));
// dynalite keeps about 2 KB of heap per stored entry (measured: the engines' retained heap grew 52 -> 104 MiB from 10k to 40k entries): room for 10⁶.
const host = fork(join(import.meta.dirname, 'engine-host.ts'), [dir], { execArgv: ['--import', 'tsx', '--max-old-space-size=8192'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
await new Promise<void>((resolve, reject) => {
  host.once('message', () => resolve());
  host.once('exit', (code) => reject(new Error(`the engine host exited (${code}) before it was ready`)));
});
try {
  const clients = await clientsOfEndpoints(dir, JSON.parse(await readFile(join(dir, 'endpoints.json'), 'utf8')) as EndpointsInfo);
  const services = await wireLocalServices(dir, clients, { GOVLEDGER_LOG_PREFIX: 'govledger.bench' }, quiet);
  try {
    // Build: N entries through the ledger service, ~1 KiB payloads, 100 per request, 4 clients at once (group commit).
    let t = performance.now();
    const payload = { text: 'x'.repeat(900) };
    await forEachLimited(Array.from({ length: Math.ceil(N / 100) }, (_, c) => c * 100), 4, async (i) => {
      const records = Array.from({ length: Math.min(100, N - i) }, (_, k) => ({ stream: 'evidence', recordId: `r-${i + k}`, payload: { ...payload, n: i + k } }));
      const body = JSON.stringify({ records });
      await services.ledger.append({ tenant: TENANT, idempotencyKey: `k-${i}`, requestHash: requestHash(body), actor: 'bench', correlationId: `c-${i}`, records });
    });
    const built = performance.now() - t;
    t = performance.now();
    const tailer = new ChangeTailer(services.ledgerStore, services.copies, new PostgresChangeCursors(services.databases.projector), { onError: (_t, e) => console.error(String(e)) });
    await tailer.start();
    await tailer.catchUp(TENANT);
    await tailer.stop();
    const copied = performance.now() - t;
    await new LogPublisher(services.ledgerStore, services.objects, services.signing, { logPrefix: services.logPrefix }).publish(TENANT);

    // Baseline: the same entry bytes, in memory, hashed once each (per batch, best of 3, summed; the reads are not timed).
    let baseline = 0;
    let totalBytes = 0;
    for await (const batch of services.ledgerStore.readBatches(TENANT, 0)) {
      let best = Infinity;
      for (let round = 0; round < 3; round++) {
        const s = performance.now();
        for (const b of batch.entries) hash('sha256', b, 'hex');
        best = Math.min(best, performance.now() - s);
      }
      baseline += best;
      for (const b of batch.entries) totalBytes += b.length;
    }

    // The run: plan → segments (ledger + both copies) → finish (report + SYSTEM entry), its RSS sampled every 20 ms.
    (globalThis as { gc?: () => void }).gc?.(); // with node --expose-gc: the heap figure below is what is retained, not garbage
    const { rss: rssBefore, heapUsed: heapBefore } = process.memoryUsage();
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    t = performance.now();
    const [outcome] = await runVerification(
      {
        ledger: services.ledgerStore, objects: services.objects, reports: services.reports, logPrefix: services.logPrefix, copies: services.copies,
        verifierFor: services.verifierFor,
        appendSystem: (tenant, system, actor) => services.ledger.appendSystem(tenant, system, actor),
      },
      [TENANT],
    );
    const verified = performance.now() - t;
    clearInterval(sampler);
    // Where the time goes: the ledger alone, then each copy's read-back alone.
    const parts: string[] = [];
    for (const copy of [undefined, ...services.copies]) {
      const s = performance.now();
      if (copy === undefined) for await (const _batch of services.ledgerStore.readBatches(TENANT, 0)) void _batch;
      else await copy.leafHashes(TENANT, 0, Number.MAX_SAFE_INTEGER);
      parts.push(`${copy?.name ?? 'ledger read'} ${(performance.now() - s).toFixed(0)} ms`);
    }
    if (!outcome!.report.ok) throw new Error(`the benchmark's own log did not verify: ${JSON.stringify(outcome!.report.findings.slice(0, 3))}`);
    const rate = (ms: number) => Math.round((N / ms) * 1000);
    const lines = [
      `entries: ${N} × ~${Math.round(totalBytes / N)} B (canonical, encrypted payloads), one tenant; built in ${(built / 1000).toFixed(1)} s, copied to the archive and projection in ${(copied / 1000).toFixed(1)} s`,
      `baseline  ${baseline.toFixed(0).padStart(7)} ms  ${rate(baseline)} entries/s  (raw SHA-256 of the same bytes in memory, best of 3)`,
      `e2e run   ${verified.toFixed(0).padStart(7)} ms  ${rate(verified)} entries/s  (ledger read from dynalite + verify + archive and projection compared position by position + report)`,
      `copies compared: ${Object.entries(outcome!.report.copies).map(([name, c]) => `${name} ${c.checked}`).join(', ')}; reading alone: ${parts.join(', ')}`,
      `RSS during the run: peak ${(peak / 2 ** 20).toFixed(0)} MiB, ${((peak - rssBefore) / 2 ** 20).toFixed(0)} MiB above its start (${(rssBefore / 2 ** 20).toFixed(0)} MiB, of which JS heap ${(heapBefore / 2 ** 20).toFixed(0)} MiB; the engines run in another process)`,
      `e2e_verify_ratio=${(baseline / verified).toFixed(4)}`,
    ];
    for (const line of lines) console.log(line);
    if (process.env.BENCH_RECORD !== '0') recordResults('verify-e2e', `BENCH_E2E_N=${N} npm run bench -- verify-e2e`, lines);
  } finally {
    await services.close();
    clients.dynamodb.destroy();
    clients.s3.destroy();
  }
} finally {
  await new Promise((resolve) => {
    host.once('exit', resolve);
    host.send('stop');
  });
  await rm(dir, { recursive: true, force: true });
}
