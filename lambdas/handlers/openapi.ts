/**
 * The OpenAPI 3.1 document of HTTP API v1, generated from the route table
 * (`routes.ts`) and the zod schemas the handlers enforce (`schemas.ts`, via
 * `z.toJSONSchema`), so it cannot list a route that does not exist or a
 * field the API would refuse. Error responses list the problem types
 * `problem.ts` can answer with for each status.
 */
import * as z from 'zod';
import { INTERNAL_ERROR, PROBLEM_MEDIA_TYPE, PROBLEM_TYPES } from './http/problem.js';
import { ROUTES, type OperationId, type Route } from './routes.js';
import { signatureSchema } from '../core/ledger-entry.js';
import * as s from './schemas.js';

type JsonObject = Record<string, unknown>;

interface OperationDoc {
  readonly summary: string;
  readonly query?: string;
  readonly body?: string;
  /** Component id of the success body, or a non-JSON media type. */
  readonly success: { readonly status: number; readonly description: string; readonly schema?: string; readonly mediaType?: string };
  readonly headers?: readonly string[];
}

/** Schemas published as components, by id. */
const COMPONENTS = {
  JsonValue: s.recordInputSchema.shape.payload,
  TenantId: s.tenantParamSchema,
  RecordId: s.recordIdSchema,
  NonNegativeInteger: s.uintStringSchema,
  StreamName: s.streamSchema,
  Signature: signatureSchema,
  IdempotencyKey: s.idempotencyKeySchema,
  CorrelationId: s.correlationIdSchema,
  RecordInput: s.recordInputSchema,
  RecordBatch: s.batchInputSchema,
  AppendBody: s.appendBodySchema,
  AppendedRecord: s.appendedRecordSchema,
  AppendResponse: s.appendResponseSchema,
  EntryResponse: s.entryResponseSchema,
  ConsistencyResponse: s.consistencyResponseSchema,
  HealthResponse: s.healthResponseSchema,
  Problem: s.problemSchema,
  ListRecordsQuery: s.listRecordsQuerySchema,
  GetRecordQuery: s.getRecordQuerySchema,
  EntryQuery: s.entryQuerySchema,
  ConsistencyQuery: s.consistencyQuerySchema,
  RecordHistoryQuery: s.recordHistoryQuerySchema,
  WaitTimeout: s.waitTimeoutSchema,
  PageCursor: s.pageCursorSchema,
  PageLimit: s.pageLimitSchema,
  ProjectedThrough: s.projectedThroughSchema,
  NextCursor: s.nextCursorSchema,
  RecordView: s.recordViewSchema,
  RecordResponse: s.recordResponseSchema,
  RecordHistoryResponse: s.recordHistoryResponseSchema,
  RecordListResponse: s.recordListResponseSchema,
  RotateKeysBody: s.rotateKeysBodySchema,
  ShredTenantBody: s.shredTenantBodySchema,
} satisfies Record<string, z.ZodType>;
type ComponentId = keyof typeof COMPONENTS;
const QUERY_COMPONENTS: readonly ComponentId[] = ['ListRecordsQuery', 'GetRecordQuery', 'EntryQuery', 'ConsistencyQuery', 'RecordHistoryQuery'];

const PATH_PARAMETERS: Readonly<Record<string, { schema: JsonObject; description: string }>> = {
  tenant: { schema: { $ref: '#/components/schemas/TenantId' }, description: 'Tenant id; another tenant\'s answers 404' },
  recordId: { schema: { $ref: '#/components/schemas/RecordId' }, description: 'Record id' },
  position: { schema: { $ref: '#/components/schemas/NonNegativeInteger' }, description: 'Log position' },
  idempotencyKey: { schema: { $ref: '#/components/schemas/IdempotencyKey' }, description: 'The Idempotency-Key of the request, percent-encoded' },
  tile: { schema: { type: 'string' }, description: 'C2SP tlog-tiles path below tile/, e.g. 0/x001/234.p/5 or entries/000 (slashes literal)' },
};

const json = (schema: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } });

const OPERATIONS: Readonly<Record<OperationId, OperationDoc>> = {
  appendRecords: {
    summary: 'Append one record or a batch of 1..100, idempotently',
    body: 'AppendBody',
    headers: ['Idempotency-Key', 'X-Correlation-Id'],
    success: { status: 201, description: 'Appended (or replayed: Idempotent-Replayed: true)', schema: 'AppendResponse' },
  },
  listRecords: {
    summary: 'Live records as of a position or an RFC 3339 time (default: now), by record id, paginated; optionally waiting for a position (410 once shredded)',
    query: 'ListRecordsQuery',
    success: { status: 200, description: 'Records, the position they are as of, and projectedThrough', schema: 'RecordListResponse' },
  },
  getRecord: {
    summary: 'Current state of a record, decrypted; proof=true verifies it against the ledger and adds its inclusion proof (410 once shredded)',
    query: 'GetRecordQuery',
    success: { status: 200, description: 'Record and projectedThrough', schema: 'RecordResponse' },
  },
  getRecordHistory: {
    summary: 'Every revision of a record, oldest first, paginated (410 once shredded)',
    query: 'RecordHistoryQuery',
    success: { status: 200, description: 'Revisions and projectedThrough', schema: 'RecordHistoryResponse' },
  },
  getEntry: { summary: 'An entry\'s canonical bytes, optionally with an inclusion proof', query: 'EntryQuery', success: { status: 200, description: 'Entry', schema: 'EntryResponse' } },
  getConsistencyProof: { summary: 'Consistency proof between two tree sizes', query: 'ConsistencyQuery', success: { status: 200, description: 'Proof', schema: 'ConsistencyResponse' } },
  getCommitment: { summary: 'Whether a request committed, where and when, with an inclusion proof', success: { status: 200, description: 'Commitment proof' } },
  getCheckpoint: { summary: 'The latest signed checkpoint (C2SP signed note)', success: { status: 200, description: 'Signed note', mediaType: 'text/plain' } },
  getTile: { summary: 'A C2SP tlog-tiles tile, byte for byte', success: { status: 200, description: 'Tile', mediaType: 'application/octet-stream' } },
  getLogKey: { summary: 'The tenant\'s checkpoint verifier key (C2SP note vkey)', success: { status: 200, description: 'Verifier key', mediaType: 'text/plain' } },
  rotateKeys: { summary: 'Add a KEK version for the tenant (admin); history is not re-encrypted; appends a SYSTEM entry', body: 'RotateKeysBody', success: { status: 201, description: 'New KEK version and the SYSTEM entry' } },
  shredTenant: { summary: 'Crypto-shred the tenant (admin; 409 under a legal hold); entries still verify; appends a SYSTEM entry', body: 'ShredTenantBody', success: { status: 200, description: 'The shredding marker and the SYSTEM entry' } },
  getOpenApi: { summary: 'This document', success: { status: 200, description: 'OpenAPI 3.1 document' } },
  healthz: { summary: 'Liveness and each dependency\'s state', success: { status: 200, description: 'Healthy (503 with the same body when degraded)', schema: 'HealthResponse' } },
};

const HEADER_PARAMETERS: Readonly<Record<string, JsonObject>> = {
  'Idempotency-Key': { name: 'Idempotency-Key', in: 'header', required: true, schema: { $ref: '#/components/schemas/IdempotencyKey' } },
  'X-Correlation-Id': { name: 'X-Correlation-Id', in: 'header', required: false, schema: { $ref: '#/components/schemas/CorrelationId' } },
};

/** Problem types by status, from the one mapping. */
function problemTypesByStatus(): Map<number, string[]> {
  const byStatus = new Map<number, string[]>();
  for (const { status, type } of [...Object.values(PROBLEM_TYPES), INTERNAL_ERROR]) {
    const list = byStatus.get(status) ?? [];
    if (!list.includes(type)) list.push(type);
    byStatus.set(status, list);
  }
  return byStatus;
}

function errorStatuses(route: Route, doc: OperationDoc): number[] {
  if (!route.auth) return [500];
  const statuses = [400, 401, 403, 404, 500, 503];
  if (doc.body) statuses.push(409, 410, 413, 415, 422);
  else statuses.push(410);
  return statuses.sort((a, b) => a - b);
}

function componentSchemas(): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io: 'input', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` });
  const out: Record<string, JsonObject> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as JsonObject;
    out[id] = rest;
  }
  return out;
}

export interface OpenApiOptions {
  /** `servers[0].url` (default: relative, the host serving the document). */
  readonly serverUrl?: string;
  readonly version?: string;
}

/**
 * The OpenAPI 3.1 document for every route of `ROUTES`.
 *
 * @example
 * const doc = buildOpenApiDocument({ serverUrl: 'http://127.0.0.1:8787' });
 * Object.keys(doc.paths); // → ['/v1/tenants/{tenant}/records', …]
 */
export function buildOpenApiDocument(options: OpenApiOptions = {}): JsonObject & { paths: Record<string, Record<string, JsonObject>> } {
  const schemas = componentSchemas();
  const byStatus = problemTypesByStatus();
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of ROUTES as readonly Route[]) {
    const doc = OPERATIONS[route.operationId as OperationId];
    const pathParams = [...route.path.matchAll(/\{([A-Za-z0-9]+)\+?\}/g)].map(([, name]) => {
      const p = PATH_PARAMETERS[name!];
      if (!p) throw new Error(`openapi: path parameter ${name} of ${route.path} is undocumented`);
      return { name, in: 'path', required: true, description: p.description, schema: p.schema };
    });
    const query = doc.query ? (schemas[doc.query] as { properties?: Record<string, JsonObject>; required?: string[] }) : undefined;
    const queryParams = Object.entries(query?.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: query?.required?.includes(name) ?? false, schema }));
    const responses: Record<string, JsonObject> = {
      [doc.success.status]: {
        description: doc.success.description,
        content: doc.success.schema ? json(doc.success.schema) : { [doc.success.mediaType ?? 'application/json']: { schema: doc.success.mediaType ? { type: 'string' } : { type: 'object' } } },
      },
    };
    for (const status of errorStatuses(route, doc)) {
      responses[status] = {
        description: `Problem: ${(byStatus.get(status) ?? []).join(', ')}`,
        content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    paths[route.path.replace(/\{([A-Za-z0-9]+)\+\}/g, '{$1}')] ??= {};
    paths[route.path.replace(/\{([A-Za-z0-9]+)\+\}/g, '{$1}')]![route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: doc.summary,
      security: route.auth ? [{ bearer: [...route.scopes] }] : [],
      parameters: [...pathParams, ...queryParams, ...(doc.headers ?? []).map((h) => HEADER_PARAMETERS[h]!)],
      ...(doc.body ? { requestBody: { required: true, content: json(doc.body) } } : {}),
      responses,
    };
  }
  for (const id of QUERY_COMPONENTS) delete schemas[id];
  return {
    openapi: '3.1.0',
    info: { title: 'govledger HTTP API', version: options.version ?? '1.0.0', description: 'Tamper-evident ledger (DESIGN §3). Errors are RFC 9457 problem details.' },
    servers: [{ url: options.serverUrl ?? '/' }],
    paths,
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}
