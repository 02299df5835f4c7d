/**
 * Request and response schemas of HTTP API v1 (zod), shared by the handlers
 * (validation) and `openapi.ts` (documentation), so the document cannot
 * drift from what is enforced. Objects are strict: unknown fields are
 * rejected, not ignored. Field formats reuse the ledger entry's schemas.
 */
import * as z from 'zod';
import { entrySchema, operationSchema, signatureSchema, tenantIdSchema } from '../core/ledger-entry.js';
import { MAX_BATCH_ENTRIES } from '../ports/ledger-store.js';
import { ValidationError, type ValidationIssue } from './http/http-errors.js';

const entry = entrySchema.shape;
const HEX64 = /^[0-9a-f]{64}$/;
/** Printable ASCII, no leading or trailing space (the entry's text fields). */
const TEXT = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** A non-negative safe integer written in decimal (path and query parameters). */
export const uintStringSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, 'a non-negative integer in decimal')
  .transform(Number)
  .pipe(z.number().max(Number.MAX_SAFE_INTEGER, 'at most 2^53-1'));

export const tenantParamSchema = tenantIdSchema;
export const recordIdSchema = entry.recordId;
export const streamSchema = entry.stream;
export const positionParamSchema = uintStringSchema;

/** `Idempotency-Key` header: 1..255 printable ASCII characters. */
export const idempotencyKeySchema = z.string().min(1).max(255).regex(TEXT, 'printable ASCII, no leading or trailing space');
/** `X-Correlation-Id` header (optional; a UUID is generated otherwise). */
export const correlationIdSchema = z.string().min(1).max(255).regex(TEXT, 'printable ASCII, no leading or trailing space');

/** One record to append. */
export const recordInputSchema = z.strictObject({
  stream: streamSchema,
  recordId: recordIdSchema.optional(),
  operation: operationSchema.exclude(['SYSTEM']).optional(),
  expectedRevision: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  payload: z.json({ error: 'required: any JSON value' }),
  signatures: z.array(signatureSchema).max(16).optional(),
});

/** A batch: 1..100 records appended atomically. */
export const batchInputSchema = z.strictObject({
  records: z.array(recordInputSchema).min(1).max(MAX_BATCH_ENTRIES),
});

/** POST /records body: one record or a batch. */
export const appendBodySchema = z.union([recordInputSchema, batchInputSchema]);

export const appendedRecordSchema = z.strictObject({
  position: z.number().int().min(0),
  leafHash: z.string().regex(HEX64),
  timestamp: entry.timestamp,
  recordId: recordIdSchema,
  revision: z.number().int().min(1),
});

/** 201 body: the record, or the list for a batch. */
export const appendResponseSchema = z.union([appendedRecordSchema, z.array(appendedRecordSchema)]);

/** Read-your-writes: how long to wait for `waitFor` to be projected, ms (≤ 10000, default 2000). */
export const waitTimeoutSchema = uintStringSchema.pipe(z.number().max(10_000, 'at most 10000 ms'));
/** An opaque cursor from the previous page's `nextCursor`. */
export const pageCursorSchema = z.string().min(1).max(2048).regex(/^[A-Za-z0-9_-]+$/, 'a cursor from a previous answer');
/** Page size, 1..1000 (default 100). */
export const pageLimitSchema = uintStringSchema.pipe(z.number().min(1, 'at least 1').max(1000, 'at most 1000'));
const waitQuery = { waitFor: uintStringSchema.optional(), timeout: waitTimeoutSchema.optional() };
const pageQuery = { cursor: pageCursorSchema.optional(), limit: pageLimitSchema.optional() };
export const listRecordsQuerySchema = z.strictObject({
  asOf: z.union([uintStringSchema, z.iso.datetime({ offset: true })]).optional(),
  stream: streamSchema.optional(),
  ...pageQuery,
  ...waitQuery,
});
export const getRecordQuerySchema = z.strictObject({ proof: z.enum(['true', 'false']).optional(), ...waitQuery });
export const recordHistoryQuerySchema = z.strictObject({ ...pageQuery, ...waitQuery });

/** A record revision as the query routes serve it (payload decrypted). */
export const recordViewSchema = z.strictObject({
  recordId: recordIdSchema,
  stream: streamSchema,
  revision: z.number().int().min(1),
  position: z.number().int().min(0),
  operation: operationSchema,
  timestamp: entry.timestamp,
  actor: z.string(),
  correlationId: z.string(),
  leafHash: z.string().regex(HEX64),
  payload: recordInputSchema.shape.payload,
});
/** Every query answer says through which ledger position the projection was complete (−1: none yet). */
export const projectedThroughSchema = z.number().int().min(-1);
/** The cursor of the next page, null on the last one. */
export const nextCursorSchema = z.string().nullable();
const projectedThrough = projectedThroughSchema;
const nextCursor = nextCursorSchema;
export const recordResponseSchema = z.strictObject({
  projectedThrough,
  record: recordViewSchema,
  proof: z.strictObject({ entry: z.base64(), leafHash: z.string().regex(HEX64), treeSize: z.number().int().min(1), inclusionProof: z.array(z.string().regex(HEX64)) }).optional(),
});
export const recordHistoryResponseSchema = z.strictObject({ projectedThrough, recordId: recordIdSchema, revisions: z.array(recordViewSchema), nextCursor });
export const recordListResponseSchema = z.strictObject({ projectedThrough, asOf: z.number().int().min(-1), records: z.array(recordViewSchema), nextCursor });
export const entryQuerySchema = z.strictObject({ treeSize: uintStringSchema.optional() });
export const consistencyQuerySchema = z.strictObject({ from: uintStringSchema, to: uintStringSchema });

const hexList = z.array(z.string().regex(HEX64));
export const entryResponseSchema = z.strictObject({
  position: z.number().int().min(0),
  entry: z.base64(),
  leafHash: z.string().regex(HEX64),
  treeSize: z.number().int().min(1).optional(),
  inclusionProof: hexList.optional(),
});
export const consistencyResponseSchema = z.strictObject({ from: z.number().int().min(0), to: z.number().int().min(0), proof: hexList });

export const healthResponseSchema = z.strictObject({
  status: z.enum(['ok', 'degraded']),
  dependencies: z.record(z.string(), z.enum(['ok', 'unavailable'])),
});

/** RFC 9457 problem details as this API writes them. */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  requestId: z.string().optional(),
  errors: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
});

/** Zod issues as `{ path, message }`, paths as JSON Pointers under `where`. */
export function toIssues(error: z.ZodError, where: string): ValidationIssue[] {
  const pointer = (path: readonly PropertyKey[]) => [where, ...path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1'))].join('/');
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: pointer([...issue.path, key]), message: 'unknown field' }))
      : [{ path: pointer(issue.path), message: issue.message }],
  );
}

/**
 * The parsed value, or a `ValidationError` listing every issue.
 *
 * @example
 * const { from, to } = parseOrThrow(consistencyQuerySchema, event.queryStringParameters ?? {}, '/query');
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(toIssues(result.error, where));
  return result.data;
}

/**
 * The append body, validated against the branch it claims to be (a `records`
 * key means a batch), so issues name the real field instead of "no union member matched".
 *
 * @example
 * const records = parseAppendBody(event.parsedBody); // always a list
 */
export function parseAppendBody(body: unknown): { records: z.output<typeof recordInputSchema>[]; batch: boolean } {
  const batch = typeof body === 'object' && body !== null && !Array.isArray(body) && 'records' in body;
  if (batch) return { records: parseOrThrow(batchInputSchema, body, '/body').records, batch };
  return { records: [parseOrThrow(recordInputSchema, body, '/body')], batch };
}

/** POST …/admin/keys/rotate body: why (recorded in the SYSTEM entry). */
export const rotateKeysBodySchema = z.strictObject({ reason: z.string().min(1).max(500).optional() });
/** POST …/admin/shred body: why, recorded in the SYSTEM entry. */
export const shredTenantBodySchema = z.strictObject({ reason: z.string().min(1).max(500) });
