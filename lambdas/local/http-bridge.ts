/**
 * The local stand-in for API Gateway (DESIGN §6): a node:http server that turns
 * each request into an HTTP API payload v2.0 event, hands it to an injected
 * `dispatch` (the same route table and handlers as on AWS) and writes the
 * structured result back. Only the gateway's behaviour is modelled here; the
 * routing and the handlers are the caller's.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { INTERNAL_ERROR, PROBLEM_MEDIA_TYPE, PROBLEM_TYPES, type ProblemType } from '../handlers/http/problem.js';

/** Receives one request; a throw or a rejection becomes a generic 500 problem. */
export type Dispatch = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export interface HttpServerOptions {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** 0 picks a free port (see the returned `url`). */
  readonly port: number;
  readonly dispatch: Dispatch;
  /** Largest accepted request body; default 6 MiB, Lambda's request payload limit. */
  readonly maxBodyBytes?: number;
  /** Told about dispatch failures (never sent to the client); default one line on stderr. */
  readonly onError?: (error: unknown, event: APIGatewayProxyEventV2) => void;
  /** How long `close()` lets in-flight requests finish before dropping them; default 5000 ms. */
  readonly closeGraceMs?: number;
}

export interface HttpServer {
  /** `http://<host>:<port>`, with the actual port. */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes idle keep-alive sockets; idempotent. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;
/** After a 413, how long the rest of the body is discarded (so the client reads the answer) before the socket is dropped. */
const DISCARD_MS = 1000;
const TEXT_TYPE = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|graphql)\b|[^;]+\+(json|xml)\b)/i;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Starts the server and resolves once it listens. Per request: a body larger
 * than `maxBodyBytes` (by Content-Length or while streaming) gets a 413
 * `urn:govledger:problem:body-too-large` without being buffered; a client that
 * aborts is dropped without dispatching; a dispatch that throws gets a 500
 * `urn:govledger:problem:internal-error` that reveals nothing of the error.
 *
 * @example
 * const api = await startHttpServer({ port: Number(process.env.PORT ?? 8787), dispatch: (event) => router(event) });
 * console.log(`govledger API on ${api.url}`);
 * process.once('SIGINT', () => void api.close());
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { host = '127.0.0.1', port, dispatch, maxBodyBytes = DEFAULT_MAX_BODY_BYTES, closeGraceMs = 5000 } = options;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) throw new RangeError('maxBodyBytes must be a whole number ≥ 0');
  const onError = options.onError ?? ((error: unknown, event: APIGatewayProxyEventV2) => {
    console.error(`govledger: request ${event.requestContext.requestId} (${event.requestContext.http.method} ${event.rawPath}) failed:`, error);
  });
  const context = { dispatch, maxBodyBytes, onError };
  const server = createServer((req, res) => void serve(req, res, context).catch(() => res.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: actual } = server.address() as AddressInfo;
  const target = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const url = `http://${target.includes(':') ? `[${target}]` : target}:${actual}`;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve, reject) => {
      const force = setTimeout(() => server.closeAllConnections(), closeGraceMs);
      force.unref();
      server.close((error) => {
        clearTimeout(force);
        return error ? reject(error) : resolve();
      });
      server.closeIdleConnections();
    });
    return closed;
  };
  return { url, close };
}

interface Context {
  readonly dispatch: Dispatch;
  readonly maxBodyBytes: number;
  readonly onError: (error: unknown, event: APIGatewayProxyEventV2) => void;
}

async function serve(req: IncomingMessage, res: ServerResponse, { dispatch, maxBodyBytes, onError }: Context): Promise<void> {
  res.on('error', () => undefined); // a client gone mid-response is not our failure
  req.on('error', () => undefined);
  const requestId = randomUUID();
  res.setHeader('apigw-requestid', requestId);
  const declared = Number(req.headers['content-length'] ?? 0);
  const body = declared > maxBodyBytes ? 'too-large' : await readBody(req, maxBodyBytes);
  if (body === 'aborted') return;
  if (body === 'too-large') return rejectOversize(req, res, maxBodyBytes);
  const event = toEvent(req, body, requestId);
  try {
    writeResult(res, await dispatch(event));
  } catch (error) {
    try {
      onError(error, event);
    } catch {
      // a failing logger must not cost the client its answer
    }
    sendProblem(res, INTERNAL_ERROR, `request ${requestId} failed; see the server log`);
  }
}

/** The whole body, 'too-large' as soon as it passes the limit (the rest is not read), or 'aborted'. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      chunks.length = 0;
      finish('too-large');
    };
    const finish = (outcome: Buffer | 'too-large' | 'aborted'): void => {
      req.off('data', onData).off('end', onEnd).off('close', onClose);
      if (outcome === 'too-large') req.pause();
      resolve(outcome);
    };
    const onEnd = (): void => finish(Buffer.concat(chunks, size));
    const onClose = (): void => finish('aborted'); // 'close' before 'end': the client went away
    req.on('data', onData).on('end', onEnd).on('close', onClose);
  });
}

/** Answers 413 and closes the connection; what the client still sends is discarded briefly, then the socket is dropped. */
function rejectOversize(req: IncomingMessage, res: ServerResponse, limit: number): void {
  res.setHeader('connection', 'close');
  sendProblem(res, PROBLEM_TYPES.BODY_TOO_LARGE, `the request body exceeds ${limit} bytes`);
  res.once('finish', () => {
    req.resume();
    setTimeout(() => req.socket.destroy(), DISCARD_MS).unref();
  });
}

/**
 * Replaces whatever the response had so far (headers a failed result set
 * included) with a problem of one of the API's problem types (http/problem.ts).
 */
function sendProblem(res: ServerResponse, { status, type, title }: ProblemType, detail: string): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  for (const name of res.getHeaderNames()) if (name !== 'apigw-requestid' && name !== 'connection') res.removeHeader(name);
  const body = JSON.stringify({ type, title, status, detail });
  res.writeHead(status, { 'content-type': PROBLEM_MEDIA_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The HTTP API payload v2.0 event: duplicate headers and query values joined by commas, cookies apart, as API Gateway does. */
function toEvent(req: IncomingMessage, body: Buffer, requestId: string): APIGatewayProxyEventV2 {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQueryString = q < 0 ? '' : target.slice(q + 1);
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (name !== 'cookie' && values) headers[name] = values.join(',');
  }
  const cookies = (req.headersDistinct.cookie ?? []).flatMap((c) => c.split(';')).map((c) => c.trim()).filter((c) => c !== '');
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  const text = body.length === 0 ? '' : textOf(body, headers['content-type']);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(rawQueryString === '' ? {} : { queryStringParameters: query }),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method: req.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.length === 0 ? {} : text === undefined ? { body: body.toString('base64') } : { body: text }),
    isBase64Encoded: body.length > 0 && text === undefined,
  };
}

/** The body as text when its type is textual (or unstated) and its bytes are valid UTF-8; otherwise undefined (send base64). */
function textOf(body: Buffer, contentType: string | undefined): string | undefined {
  if (contentType !== undefined && !TEXT_TYPE.test(contentType.trim())) return undefined;
  try {
    return strictUtf8.decode(body);
  } catch {
    return undefined;
  }
}

/** Throws (before anything is sent) on a result API Gateway would also reject: a non-string body, a bad status or header. */
function writeResult(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  if (result === null || typeof result !== 'object') throw new TypeError('dispatch must return a structured result');
  if (result.body !== undefined && typeof result.body !== 'string') throw new TypeError('dispatch returned a non-string body');
  const status = result.statusCode ?? 200;
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new RangeError(`dispatch returned status ${status}`);
  const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, String(value));
  if (result.cookies?.length) res.setHeader('set-cookie', result.cookies);
  res.setHeader('content-length', body.length);
  res.statusCode = status;
  if (!res.destroyed) res.end(body);
}

/** API Gateway's `requestContext.time`: `23/Nov/2026:09:15:02 +0000`. */
function clfTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
