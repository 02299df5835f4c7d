/**
 * Bounded concurrency over a list, for services that fan I/O out without
 * letting one call open unbounded requests.
 */

/**
 * Runs `work` over `items`, at most `limit` at a time; after a failure no new
 * item starts, and it rethrows once started work settled.
 *
 * @example
 * await forEachLimited(keys, 8, async (key) => void bodies.push(await objects.get(key)));
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      await work(items[next++]!).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
