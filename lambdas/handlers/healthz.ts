/**
 * GET /healthz: liveness plus each dependency's state (DESIGN §3). Public,
 * so it names dependencies and their state only, never error messages; a
 * failing or slow probe is logged and reported `unavailable` with a 503.
 */
import { httpHandler, type HttpHandler } from './http/http-handler.js';
import type { HttpResult } from './http/http-types.js';
import type { Logger } from './http/logger.js';
import { routeById } from './routes.js';

/** Resolves when the dependency answers; rejects otherwise. */
export type HealthProbe = () => Promise<unknown>;

export interface HealthzDeps {
  /** Probes by dependency name (e.g. `ledger`, `keys`, `objects`). */
  readonly probes?: Readonly<Record<string, HealthProbe>>;
  readonly logger: Logger;
  /** Per-probe time limit, ms (default 2000). */
  readonly timeoutMs?: number;
  /** `Retry-After` on a 503, seconds (default 1). */
  readonly retryAfterSeconds?: number;
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * @example
 * export const handler = healthzHandler({ logger, probes: { ledger: () => store.readTail('healthz') } });
 */
export function healthzHandler(deps: HealthzDeps): HttpHandler {
  const probes = Object.entries(deps.probes ?? {});
  const timeoutMs = deps.timeoutMs ?? 2000;
  const retryAfterSeconds = deps.retryAfterSeconds ?? 1;
  return httpHandler({ route: routeById('healthz'), logger: deps.logger }, async (): Promise<HttpResult> => {
    const states = await Promise.all(
      probes.map(async ([name, probe]) => {
        try {
          await within(Promise.resolve().then(probe), timeoutMs);
          return [name, 'ok'] as const;
        } catch (error) {
          deps.logger.warn('health probe failed', { dependency: name, error: error instanceof Error ? error.message : String(error) });
          return [name, 'unavailable'] as const;
        }
      }),
    );
    const ok = states.every(([, state]) => state === 'ok');
    return { statusCode: ok ? 200 : 503, headers: ok ? {} : ({ 'Retry-After': String(retryAfterSeconds) } as Record<string, string>), body: { status: ok ? 'ok' : 'degraded', dependencies: Object.fromEntries(states) } };
  });
}
