import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

/** A running in-memory dynalite server and an SDK client pointed at it. */
export interface DynaliteHandle {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Region `local`, dummy credentials, `maxAttempts: 1` so faults surface at once. */
  readonly client: DynamoDBClient;
  /** Destroys the client and closes the server; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts dynalite in memory (no path) on 127.0.0.1 with an ephemeral port;
 * tables become ACTIVE at once (`createTableMs: 0`). Generic on purpose: any
 * DynamoDB adapter's tests can share it.
 *
 * @example
 * ```ts
 * let db: DynaliteHandle;
 * beforeAll(async () => { db = await startDynalite(); });
 * afterAll(() => db.stop());
 * ```
 */
export async function startDynalite(): Promise<DynaliteHandle> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= new Promise<void>((resolve, reject) => {
      client.destroy();
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    });
    return stopped;
  };
  return { endpoint, client, stop };
}
