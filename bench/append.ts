/**
 * Append benchmark (issue: the ledger, the API and npm start).
 *
 *   npm run bench -- append
 *
 * Starts the same stack as `npm start` (embedded engines, local keys, group
 * commit, the publisher and the change tailer) in a temporary data directory,
 * and measures appends per second on one tenant over real HTTP with 1, 8 and
 * 32 concurrent clients, single records and batches of 10, with p50/p99
 * latency. Baseline in the same run: raw conditional PutItem calls of ~1.3 KB
 * items to the same dynalite engine from 1, 8 and 32 concurrent callers,
 * without the ledger. append_ratio = appends/s ÷ raw puts/s at the same
 * concurrency, single records (target ≥ 0.5), the last line for 32 clients.
 * Also peak RSS, the engine round trips per append by operation (dynalite and
 * s3rver requests counted as the engines receive them, those of the publisher
 * and the change tailer included), and the CPU time this process spends per
 * raw put and per append: on a busy machine the throughput of the two phases
 * drifts apart, their CPU per op much less (the embedded PostgreSQL, a
 * process of its own, is not counted).
 *
 * The load generator runs in the same process, so its own cost counts
 * against the server: it uses node:http with keep-alive, the HTTP stack the
 * baseline's SDK client uses too. (Node 20's `fetch` costs 0.5–3 ms more CPU
 * per request here and caps one client at ~75 requests/s even against a
 * server that answers at once; `BENCH_APPEND_CLIENT=fetch` measures with it.)
 *
 * `BENCH_RECORD=0` prints without rewriting bench/RESULTS.md (for noisy
 * machines); `BENCH_APPEND_PER_CLIENT` sets the requests per client (40).
 */
import { subscribe } from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../lambdas/handlers/http/logger.js';
import { startLocalRuntime } from '../lambdas/local/local-runtime.js';
import { LocalTokenIssuer } from '../lambdas/local/local-tokens.js';
import { recordResults } from './results.js';

const PER_CLIENT = Number(process.env.BENCH_APPEND_PER_CLIENT ?? 40);
const RECORD = process.env.BENCH_RECORD !== '0';
const CLIENT = process.env.BENCH_APPEND_CLIENT === 'fetch' ? 'fetch' : 'node:http';
const quiet: Logger = { warn: () => undefined, error: () => undefined };

/**
 * Engine requests by operation as the embedded engines receive them: DynamoDB
 * (`PutItem`, `BatchGetItem`, …) and S3 (`S3 GET`, `S3 PUT`, …); the API's
 * own requests (`/v1/…`) are not counted.
 */
const roundTrips = new Map<string, number>();
subscribe('http.server.request.start', (message) => {
  const { headers, method, url } = (message as { request: { headers: Record<string, string | undefined>; method?: string; url?: string } }).request;
  const target = headers['x-amz-target'];
  const operation = target?.startsWith('DynamoDB_20120810.') ? target.slice(18) : url?.startsWith('/v1/') ? undefined : `S3 ${method}`;
  if (operation) roundTrips.set(operation, (roundTrips.get(operation) ?? 0) + 1);
});

/** `2.03 (GetItem 1.00, PutItem 1.03)` per append since `roundTrips` was cleared. */
function perAppend(appends: number): string {
  const all = [...roundTrips].sort(([a], [b]) => a.localeCompare(b));
  const total = all.reduce((sum, [, n]) => sum + n, 0);
  return `${(total / appends).toFixed(2)} (${all.map(([op, n]) => `${op} ${(n / appends).toFixed(2)}`).join(', ')})`;
}

type Post = (headers: Record<string, string>, body: string) => Promise<{ status: number; text: string }>;

/** POSTs to `url` with node:http (one keep-alive agent) or fetch; resolves with the status and the answer's text. */
function poster(url: string): Post {
  if (CLIENT === 'fetch') {
    return (headers, body) => fetch(url, { method: 'POST', headers, body }).then(async (r) => ({ status: r.status, text: await r.text() }));
  }
  const agent = new Agent({ keepAlive: true });
  return (headers, body) => new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(clients: number, perClient: number, once: (client: number, i: number) => Promise<void>) {
  const latencies: number[] = [];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const cpuMs = (cpu.user + cpu.system) / 1000 / (clients * perClient);
  return { perSecond: (clients * perClient) / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuMs };
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
    const send = poster(`${runtime.url}/v1/tenants/bench/records`);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const post = async (body: unknown, key: string) => {
      const answer = await send({ ...headers, 'idempotency-key': key }, JSON.stringify(body));
      if (answer.status !== 201) throw new Error(`append answered ${answer.status}: ${answer.text}`);
    };
    const lines: string[] = [`appends on one tenant over HTTP (${CLIENT} client) against the npm start stack; ${PER_CLIENT} requests per client`];
    const ratios: Array<[number, number]> = [];
    for (const clients of [1, 8, 32]) {
      const baseline = await run(clients, PER_CLIENT, async () => {
        const id = `raw-${sequence++}`;
        await raw.send(new PutItemCommand({ TableName: endpoints.ledgerTable, Item: { pk: { S: 'TENANT#raw' }, sk: { S: id }, v: { B: blob } }, ConditionExpression: 'attribute_not_exists(pk)' }));
      });
      roundTrips.clear();
      const single = await run(clients, PER_CLIENT, (c, i) => post({ stream: 's', payload }, `s-${clients}-${c}-${i}`));
      const singleTrips = perAppend(clients * PER_CLIENT);
      const batch = await run(clients, Math.max(1, PER_CLIENT / 4), (c, i) =>
        post({ records: Array.from({ length: 10 }, () => ({ stream: 's', payload })) }, `b-${clients}-${c}-${i}`),
      );
      ratios.push([clients, single.perSecond / baseline.perSecond]);
      lines.push(
        `${String(clients).padStart(2)} clients: raw puts ${baseline.perSecond.toFixed(0)}/s | single ${single.perSecond.toFixed(0)} appends/s, p50 ${single.p50.toFixed(1)} ms, p99 ${single.p99.toFixed(1)} ms | batches of 10: ${(batch.perSecond * 10).toFixed(0)} entries/s, p50 ${batch.p50.toFixed(1)} ms, p99 ${batch.p99.toFixed(1)} ms`,
        `           engine round trips per single append: ${singleTrips}`,
        `           CPU of this process per op: raw put ${baseline.cpuMs.toFixed(2)} ms, single append ${single.cpuMs.toFixed(2)} ms (ratio ${(baseline.cpuMs / single.cpuMs).toFixed(2)})`,
      );
    }
    raw.destroy();
    lines.push(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (server and load generator in one process)`);
    for (const [clients, ratio] of ratios.slice(0, -1)) lines.push(`append_ratio_${clients}_clients=${ratio.toFixed(2)}`);
    lines.push(`append_ratio=${ratios.at(-1)![1].toFixed(2)}`);
    if (RECORD) recordResults('append', 'npm run bench -- append', lines);
    console.log(lines.join('\n'));
  } finally {
    await runtime.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
