/**
 * Append benchmark (issue: the ledger, the API and npm start).
 *
 *   npm run bench -- append
 *
 * Starts the same stack as `npm start` (embedded dynalite and s3rver, local
 * keys, group commit) in a temporary data directory, and measures appends per
 * second on one tenant over real HTTP with 1, 8 and 32 concurrent clients,
 * single records and batches of 10, with p50/p99 latency. Baseline in the same
 * run: raw conditional PutItem calls of ~1.3 KB items to the same dynalite
 * engine from 1, 8 and 32 concurrent callers, without the ledger.
 * append_ratio = appends/s ÷ raw puts/s at the same concurrency, single
 * records (target ≥ 0.5), the last line for 32 clients. Also peak RSS.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../lambdas/handlers/http/logger.js';
import { startLocalRuntime } from '../lambdas/local/local-runtime.js';
import { LocalTokenIssuer } from '../lambdas/local/local-tokens.js';
import { recordResults } from './results.js';

const PER_CLIENT = Number(process.env.BENCH_APPEND_PER_CLIENT ?? 40);
const quiet: Logger = { warn: () => undefined, error: () => undefined };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(clients: number, perClient: number, once: (client: number, i: number) => Promise<void>) {
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < perClient; i++) {
        const s = performance.now();
        await once(c, i);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: (clients * perClient) / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'govledger-bench-append-'));
  const env = { ...process.env, GOVLEDGER_DATA_DIR: dir, PORT: '0' };
  const runtime = await startLocalRuntime({ env, logger: quiet });
  try {
    const token = await (await LocalTokenIssuer.open(dir)).mintToken({ tenants: ['bench'], scopes: ['records:write'] });
    const endpoints = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as { dynamodb: string; ledgerTable: string };
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const raw = new DynamoDBClient({ endpoint: endpoints.dynamodb, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const payload = { text: 'x'.repeat(600) };
    const blob = new Uint8Array(1300);
    let sequence = 0;
    const post = (body: unknown, key: string) =>
      fetch(`${runtime.url}/v1/tenants/bench/records`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
      }).then(async (r) => {
        if (r.status !== 201) throw new Error(`append answered ${r.status}: ${await r.text()}`);
      });
    const lines: string[] = [`appends on one tenant over HTTP against the npm start stack; ${PER_CLIENT} requests per client`];
    const ratios: Array<[number, number]> = [];
    for (const clients of [1, 8, 32]) {
      const baseline = await run(clients, PER_CLIENT, async () => {
        const id = `raw-${sequence++}`;
        await raw.send(new PutItemCommand({ TableName: endpoints.ledgerTable, Item: { pk: { S: 'TENANT#raw' }, sk: { S: id }, v: { B: blob } }, ConditionExpression: 'attribute_not_exists(pk)' }));
      });
      const single = await run(clients, PER_CLIENT, (c, i) => post({ stream: 's', payload }, `s-${clients}-${c}-${i}`));
      const batch = await run(clients, Math.max(1, PER_CLIENT / 4), (c, i) =>
        post({ records: Array.from({ length: 10 }, () => ({ stream: 's', payload })) }, `b-${clients}-${c}-${i}`),
      );
      ratios.push([clients, single.perSecond / baseline.perSecond]);
      lines.push(
        `${String(clients).padStart(2)} clients: raw puts ${baseline.perSecond.toFixed(0)}/s | single ${single.perSecond.toFixed(0)} appends/s, p50 ${single.p50.toFixed(1)} ms, p99 ${single.p99.toFixed(1)} ms | batches of 10: ${(batch.perSecond * 10).toFixed(0)} entries/s, p50 ${batch.p50.toFixed(1)} ms, p99 ${batch.p99.toFixed(1)} ms`,
      );
    }
    raw.destroy();
    lines.push(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (server and load generator in one process)`);
    for (const [clients, ratio] of ratios.slice(0, -1)) lines.push(`append_ratio_${clients}_clients=${ratio.toFixed(2)}`);
    lines.push(`append_ratio=${ratios.at(-1)![1].toFixed(2)}`);
    recordResults('append', 'npm run bench -- append', lines);
    console.log(lines.join('\n'));
  } finally {
    await runtime.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
