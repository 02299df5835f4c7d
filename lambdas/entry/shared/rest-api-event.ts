/**
 * API Gateway REST API (payload 1.0) in front of handlers written for HTTP API
 * events (payload 2.0, what the middy stack and the local server speak). We
 * deploy a REST API because only REST API stages take an AWS WAF web ACL (see
 * docs/deploy.md); this module is the one place that bridges the formats.
 *
 * Path parameters are never taken from API Gateway: REST APIs hand them over
 * still percent-encoded, HTTP APIs decoded. The raw path is matched again
 * with the shared route table (`matchRoute`), so parameters are decoded and
 * checked exactly as the local server does it, and a request reaching a
 * function for another route is a 404, never the wrong handler.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { NotFoundError } from '../../handlers/http/http-errors.js';
import type { HttpHandler } from '../../handlers/http/http-handler.js';
import type { HttpEvent, HttpResponse } from '../../handlers/http/http-types.js';
import type { Logger } from '../../handlers/http/logger.js';
import { toProblemResponse } from '../../handlers/http/problem.js';
import { matchRoute, type Route } from '../../handlers/routes.js';

/** Names lowercased, repeated values joined with `,` (payload 2.0 rules); cookies split out. */
function headersOf(event: APIGatewayProxyEvent): { headers: Record<string, string>; cookies: string[] } {
  const multi: Record<string, string[]> = {};
  const add = (name: string, values: readonly (string | undefined)[]) => {
    const kept = values.filter((v): v is string => v !== undefined);
    if (kept.length > 0) multi[name.toLowerCase()] = [...(multi[name.toLowerCase()] ?? []), ...kept];
  };
  if (event.multiValueHeaders && Object.keys(event.multiValueHeaders).length > 0) {
    for (const [name, values] of Object.entries(event.multiValueHeaders)) add(name, values ?? []);
  } else {
    for (const [name, value] of Object.entries(event.headers ?? {})) add(name, [value]);
  }
  const cookies = (multi.cookie ?? []).flatMap((c) => c.split(';')).map((c) => c.trim()).filter((c) => c !== '');
  delete multi.cookie;
  return { headers: Object.fromEntries(Object.entries(multi).map(([name, values]) => [name, values.join(',')])), cookies };
}

/** Decoded query values by name (repeats joined with `,`) and the re-encoded raw query string. */
function queryOf(event: APIGatewayProxyEvent): { parameters: Record<string, string> | undefined; raw: string } {
  const multi: Record<string, readonly string[]> = {};
  if (event.multiValueQueryStringParameters) {
    for (const [name, values] of Object.entries(event.multiValueQueryStringParameters)) if (values) multi[name] = values;
  } else {
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined) multi[name] = [value];
  }
  const names = Object.keys(multi);
  if (names.length === 0) return { parameters: undefined, raw: '' };
  const raw = names.flatMap((n) => multi[n]!.map((v) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`)).join('&');
  return { parameters: Object.fromEntries(names.map((n) => [n, multi[n]!.join(',')])), raw };
}

/**
 * The payload 2.0 event for a REST API event of `route`, or NotFoundError when
 * its path does not match that route in the shared table.
 *
 * @example
 * const v2 = toHttpApiEvent(restEvent, routeById('getEntry'));
 * v2.pathParameters; // { tenant: 'acme', position: '7' }, decoded
 */
export function toHttpApiEvent(event: APIGatewayProxyEvent, route: Route): HttpEvent {
  const match = matchRoute(event.httpMethod, event.path);
  if (match === undefined || match.route.operationId !== route.operationId) throw new NotFoundError();
  const { headers, cookies } = headersOf(event);
  const query = queryOf(event);
  const context = event.requestContext;
  const routeKey = `${route.method} ${route.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: event.path,
    rawQueryString: query.raw,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(query.parameters ? { queryStringParameters: query.parameters } : {}),
    pathParameters: { ...match.pathParameters },
    ...(event.stageVariables ? { stageVariables: event.stageVariables as Record<string, string> } : {}),
    ...(event.body === null || event.body === undefined ? {} : { body: event.body }),
    isBase64Encoded: event.isBase64Encoded ?? false,
    requestContext: {
      accountId: context.accountId,
      apiId: context.apiId,
      domainName: context.domainName ?? '',
      domainPrefix: context.domainPrefix ?? '',
      http: {
        method: event.httpMethod,
        path: event.path,
        protocol: context.protocol,
        sourceIp: context.identity?.sourceIp ?? '',
        userAgent: context.identity?.userAgent ?? '',
      },
      requestId: context.requestId,
      routeKey,
      stage: context.stage,
      time: context.requestTime ?? '',
      timeEpoch: context.requestTimeEpoch,
    },
  };
}

/**
 * The REST API result for a payload 2.0 response (cookies become `Set-Cookie` values).
 *
 * @example
 * toRestApiResult({ statusCode: 201, headers: { 'Content-Type': 'application/json' }, body: '{}' });
 */
export function toRestApiResult(response: HttpResponse): APIGatewayProxyResult {
  const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([k, v]) => [k, String(v)]));
  return {
    statusCode: response.statusCode ?? 200,
    headers,
    ...(response.cookies && response.cookies.length > 0 ? { multiValueHeaders: { 'Set-Cookie': [...response.cookies] } } : {}),
    body: response.body ?? '',
    isBase64Encoded: response.isBase64Encoded ?? false,
  };
}

/**
 * Serves `route` behind a REST API with a handler written for payload 2.0.
 *
 * @example
 * export const handler = restApiHandler(routeById('getEntry'), getEntry, logger);
 */
export function restApiHandler(route: Route, handler: HttpHandler, logger: Logger) {
  return async function restApi(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
    let v2: HttpEvent;
    try {
      v2 = toHttpApiEvent(event, route);
    } catch (error) {
      return toRestApiResult(toProblemResponse(error, { logger, retryAfterSeconds: 1, requestId: event.requestContext?.requestId }));
    }
    return toRestApiResult(await handler(v2, context));
  };
}
