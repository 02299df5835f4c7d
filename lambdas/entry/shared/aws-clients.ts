/**
 * One AWS SDK client per service and process, traced by Powertools. The
 * adapter builders live in one module per service (`dynamo-adapters.ts`,
 * `s3-adapters.ts`, `kms-adapters.ts`, `cloudhsm-probe.ts`), so an entry's
 * bundle holds exactly the SDK clients the entry builds.
 */
import type { Powertools } from './powertools.js';

const clients = new Map<string, unknown>();

/**
 * The process's client `name`, created (and traced) on first use.
 *
 * @example
 * const kms = awsClient('kms', tools, () => new KMSClient({}));
 */
export function awsClient<T>(name: string, tools: Pick<Powertools, 'tracer'>, create: () => T): T {
  if (!clients.has(name)) clients.set(name, tools.tracer.captureAWSv3Client(create()));
  return clients.get(name) as T;
}
