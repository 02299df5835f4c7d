/**
 * The embedded engines in a process of their own, for benchmarks that
 * measure a command the way it runs beside `npm start`: the server process
 * holds the engines and the command attaches to them (`attachOrStartEngines`).
 * Started with `fork` by the benchmark: starts the engines on the data
 * directory given as its argument, writes `endpoints.json` there, sends
 * `ready`, and stops the engines when its parent disconnects or says `stop`.
 */
import { endpointsOf, startEngines, writeEndpoints } from '../lambdas/local/engines.js';

const dataDir = process.argv[2];
if (dataDir === undefined || process.send === undefined) throw new Error('usage: fork("bench/engine-host.ts", [dataDir]) from a benchmark');
const engines = await startEngines(dataDir, { env: {}, postgres: true });
await writeEndpoints(dataDir, endpointsOf(engines, 'http://127.0.0.1:0'));
let stopping: Promise<void> | undefined;
const stop = () => (stopping ??= engines.stop().then(() => process.exit(0)));
process.on('message', (message) => void (message === 'stop' && stop()));
process.on('disconnect', () => void stop());
process.send('ready');
