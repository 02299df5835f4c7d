/**
 * THE route table of HTTP API v1 (DESIGN §3): read by the local server to
 * route requests and by the CDK stack to declare API Gateway routes, so both
 * serve exactly the same surface. Paths use API Gateway syntax: `{name}`
 * matches one segment, a final `{name+}` one or more.
 *
 * Matching is exact per segment, after percent-decoding each segment on its
 * own. Segments that are empty, `.` or `..` (raw or decoded), or that decode
 * to a `/`, `\` or a control character never match: no path traversal reaches
 * a handler, and no encoded slash smuggles a second segment into a parameter.
 */
import { MethodNotAllowedError, NotFoundError } from './http/http-errors.js';

export type HttpMethod = 'GET' | 'POST';
export type Scope = 'records:write' | 'records:read' | 'proofs:read' | 'admin';

export interface Route {
  readonly method: HttpMethod;
  /** API Gateway route path, e.g. `/v1/tenants/{tenant}/records/{recordId}`. */
  readonly path: string;
  readonly operationId: string;
  /** Every one of these must be granted to the token (none for public routes). */
  readonly scopes: readonly Scope[];
  /** Whether a bearer token is required. */
  readonly auth: boolean;
}

const T = '/v1/tenants/{tenant}';

/** Every v1 route, once. */
export const ROUTES = [
  { method: 'POST', path: `${T}/records`, operationId: 'appendRecords', scopes: ['records:write'], auth: true },
  { method: 'GET', path: `${T}/records`, operationId: 'listRecords', scopes: ['records:read'], auth: true },
  { method: 'GET', path: `${T}/records/{recordId}`, operationId: 'getRecord', scopes: ['records:read'], auth: true },
  { method: 'GET', path: `${T}/records/{recordId}/history`, operationId: 'getRecordHistory', scopes: ['records:read'], auth: true },
  { method: 'GET', path: `${T}/entries/{position}`, operationId: 'getEntry', scopes: ['proofs:read'], auth: true },
  { method: 'GET', path: `${T}/proofs/consistency`, operationId: 'getConsistencyProof', scopes: ['proofs:read'], auth: true },
  { method: 'GET', path: `${T}/commitments/{idempotencyKey}`, operationId: 'getCommitment', scopes: ['proofs:read'], auth: true },
  { method: 'GET', path: `${T}/log/checkpoint`, operationId: 'getCheckpoint', scopes: ['proofs:read'], auth: true },
  { method: 'GET', path: `${T}/log/tile/{tile+}`, operationId: 'getTile', scopes: ['proofs:read'], auth: true },
  { method: 'GET', path: `${T}/log-key`, operationId: 'getLogKey', scopes: ['proofs:read'], auth: true },
  { method: 'POST', path: `${T}/admin/keys/rotate`, operationId: 'rotateKeys', scopes: ['admin'], auth: true },
  { method: 'POST', path: `${T}/admin/shred`, operationId: 'shredTenant', scopes: ['admin'], auth: true },
  { method: 'GET', path: '/v1/openapi.json', operationId: 'getOpenApi', scopes: [], auth: false },
  { method: 'GET', path: '/healthz', operationId: 'healthz', scopes: [], auth: false },
] as const satisfies readonly Route[];

export type OperationId = (typeof ROUTES)[number]['operationId'];

/**
 * The route of an operation; handlers take their scopes from here.
 *
 * @example
 * routeById('appendRecords').scopes; // → ['records:write']
 */
export function routeById(operationId: OperationId): Route {
  return ROUTES.find((r) => r.operationId === operationId)!;
}

export interface RouteMatch {
  readonly route: Route;
  /** Decoded values by name (`{tile+}` is named `tile`, segments joined by `/`). */
  readonly pathParameters: Readonly<Record<string, string>>;
}

type Part = { kind: 'literal'; value: string } | { kind: 'param' | 'greedy'; name: string };

function compile(path: string): Part[] {
  return path
    .slice(1)
    .split('/')
    .map((s): Part => {
      const m = /^\{([A-Za-z][A-Za-z0-9]*)(\+?)\}$/.exec(s);
      if (!m) return { kind: 'literal', value: s };
      return { kind: m[2] ? 'greedy' : 'param', name: m[1]! };
    });
}

const COMPILED = ROUTES.map((route) => ({ route: route as Route, parts: compile(route.path) }));
const UNSAFE = /[/\\\x00-\x1f\x7f]/;

/** Decoded segments, or undefined when the path is malformed or unsafe. */
function segments(rawPath: string): string[] | undefined {
  if (!rawPath.startsWith('/')) return undefined;
  const out: string[] = [];
  for (const raw of rawPath.slice(1).split('/')) {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (s === '' || s === '.' || s === '..' || raw === '.' || raw === '..' || UNSAFE.test(s)) return undefined;
    out.push(s);
  }
  return out;
}

/** Parameters if `parts` matches `segs`, plus a specificity rank (higher wins, like API Gateway). */
function bind(parts: readonly Part[], segs: readonly string[]): { params: Record<string, string>; rank: number[] } | undefined {
  const params: Record<string, string> = {};
  const rank: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.kind === 'greedy') {
      if (i !== parts.length - 1 || segs.length <= i) return undefined;
      params[part.name] = segs.slice(i).join('/');
      rank.push(0);
      return { params, rank };
    }
    const seg = segs[i];
    if (seg === undefined) return undefined;
    if (part.kind === 'literal') {
      if (seg !== part.value) return undefined;
      rank.push(2);
    } else {
      params[part.name] = seg;
      rank.push(1);
    }
  }
  return segs.length === parts.length ? { params, rank } : undefined;
}

function candidates(rawPath: string): Array<{ route: Route; params: Record<string, string>; rank: number[] }> {
  const segs = segments(rawPath);
  if (!segs) return [];
  const found = [];
  for (const { route, parts } of COMPILED) {
    const bound = bind(parts, segs);
    if (bound) found.push({ route, ...bound });
  }
  return found;
}

function moreSpecific(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? -1) !== (b[i] ?? -1)) return (b[i] ?? -1) - (a[i] ?? -1);
  return 0;
}

/**
 * The route for a method and a raw (still percent-encoded, query-free) path.
 *
 * @example
 * matchRoute('GET', '/v1/tenants/acme/records/r%3A1');
 * // → { route: { operationId: 'getRecord', … }, pathParameters: { tenant: 'acme', recordId: 'r:1' } }
 */
export function matchRoute(method: string, rawPath: string): RouteMatch | undefined {
  const upper = method.toUpperCase();
  const best = candidates(rawPath)
    .filter((c) => c.route.method === upper)
    .sort((a, b) => moreSpecific(a.rank, b.rank))[0];
  return best && { route: best.route, pathParameters: best.params };
}

/**
 * Methods the path answers to; empty when no route has the path (404 rather than 405).
 *
 * @example
 * allowedMethods('/v1/tenants/acme/records'); // → ['GET', 'POST']
 */
export function allowedMethods(rawPath: string): HttpMethod[] {
  return [...new Set(candidates(rawPath).map((c) => c.route.method))].sort();
}

/**
 * `matchRoute`, or the error to answer with: 405 (with `Allow`) when the path
 * exists for other methods, 404 otherwise. For the local server.
 *
 * @example
 * const { route, pathParameters } = resolveRoute(req.method, url.pathname);
 */
export function resolveRoute(method: string, rawPath: string): RouteMatch {
  const match = matchRoute(method, rawPath);
  if (match) return match;
  const allowed = allowedMethods(rawPath);
  throw allowed.length > 0 ? new MethodNotAllowedError(allowed) : new NotFoundError();
}
