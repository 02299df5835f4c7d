/**
 * The change stream on AWS (DESIGN §1): DynamoDB Streams on the ledger table
 * (view type `NEW_IMAGE`) invokes this handler with a shard's records in
 * order; each new batch item becomes one `LedgerChange` per entry, handed to
 * every consumer (event archive, projection). Locally the tailer calls the
 * same consumers.
 *
 * Failures are reported per record (`ReportBatchItemFailures` on the event
 * source mapping): the first record that fails and every record after it, so
 * Lambda retries from there, bisects on error, and sends what keeps failing
 * to the on-failure destination (DLQ). Records before it are done. Consumers
 * are idempotent by `(tenant, position)`, so a retry re-applying a record
 * that some consumers already took is harmless.
 */
import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ledgerBatchOfItem } from '../adapters/aws/dynamo-ledger-store.js';
import type { ChangeConsumer, LedgerChange } from '../ports/change-stream.js';
import { changesOf } from '../services/change-tailer.js';
import type { Logger } from './http/logger.js';

/** Options of {@link ledgerStreamHandler}. */
export interface LedgerStreamOptions {
  /** Called for every batch item, concurrently; one that throws fails the record. */
  readonly consumers: readonly ChangeConsumer[];
  readonly logger: Logger;
}

/** The Lambda handler: a stream event in, the records to retry out. */
export type LedgerStreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

/**
 * Builds the stream handler over the given consumers (wired once per cold
 * start, in the Lambda entry file).
 *
 * - `INSERT` records of batch items (`B#…`) become changes: tenant from the
 *   key, positions `first..first+k-1`, entry bytes as stored, leaf hash
 *   SHA-256(0x00 ‖ bytes) computed here.
 * - Index items (heads `H#`, idempotency `I#`, and any other non-batch item),
 *   `MODIFY` and `REMOVE` records are skipped: a batch item is written once
 *   and never changed.
 * - A record without a new image (a stream view type without `NEW_IMAGE`) or
 *   whose image does not decode fails like a consumer error: it is logged,
 *   retried and ends in the DLQ, never skipped silently.
 *
 * @example
 * ```ts
 * // the Lambda entry file
 * const archive = new EventArchive(new S3ObjectStore({ client: s3, bucket }), new EventBridgePublisher({ client: events, eventBusName }));
 * export const handler = ledgerStreamHandler({ consumers: [archive, projection], logger: jsonLogger() });
 * ```
 */
export function ledgerStreamHandler(options: LedgerStreamOptions): LedgerStreamHandler {
  const { consumers, logger } = options;
  if (consumers.length === 0) throw new RangeError('ledgerStreamHandler needs at least one consumer');
  return async function ledgerStream(event) {
    const records = event.Records;
    for (const [index, record] of records.entries()) {
      const ok = await applyRecord(record, consumers, logger);
      if (ok) continue;
      const failures = records.slice(index).map((r) => r.dynamodb?.SequenceNumber);
      if (failures.some((id) => id === undefined)) throw new Error('a failed stream record has no SequenceNumber to report');
      return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier: itemIdentifier! })) };
    }
    return { batchItemFailures: [] };
  };
}

/**
 * The changes a stream record carries: undefined for records to skip (not an
 * insert, not a batch item). Throws when an insert has no new image or its
 * image is not a batch item the adapter can decode.
 *
 * @example
 * ```ts
 * const changes = changesOfRecord(record); // [{ tenant: 'acme', position: 42, entry, leafHash }, …]
 * ```
 */
export function changesOfRecord(record: DynamoDBRecord): LedgerChange[] | undefined {
  if (record.eventName !== 'INSERT') return undefined;
  const image = record.dynamodb?.NewImage;
  if (image === undefined) throw new Error(`stream record ${record.eventID ?? '?'} has no NewImage: the stream view type must include NEW_IMAGE`);
  const batch = ledgerBatchOfItem(unmarshall(nativeImage(image)));
  if (batch === undefined) return undefined;
  if (batch.entries.length === 0 || batch.entries.some((e) => e.length === 0)) throw new Error(`batch item ${batch.tenant}/${batch.firstPosition} has no entry bytes`);
  return changesOf(batch);
}

/** Applies one record to every consumer; false (after logging) when anything failed. */
async function applyRecord(record: DynamoDBRecord, consumers: readonly ChangeConsumer[], logger: Logger): Promise<boolean> {
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  let changes: LedgerChange[] | undefined;
  try {
    changes = changesOfRecord(record);
  } catch (error) {
    logger.error('stream record not decodable', { sequenceNumber, eventID: record.eventID, error: describe(error) });
    return false;
  }
  if (changes === undefined) return true;
  const results = await Promise.allSettled(consumers.map((consumer) => consumer.apply(changes)));
  const first = changes[0]!;
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    logger.error('change consumer failed', {
      consumer: consumers[i]!.name, tenant: first.tenant, from: first.position, count: changes.length, sequenceNumber, error: describe(result.reason),
    });
  });
  return results.every((r) => r.status === 'fulfilled');
}

/**
 * The stream's JSON wire image as the SDK's native `AttributeValue`s: Lambda
 * delivers binaries (`B`, `BS`) as base64 text, `unmarshall` expects bytes.
 */
function nativeImage(image: Record<string, AttributeValue>): Record<string, SdkAttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, nativeValue(value)]));
}

function nativeValue(value: AttributeValue): SdkAttributeValue {
  if (value.B !== undefined) return { B: base64Bytes(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64Bytes) };
  if (value.L !== undefined) return { L: value.L.map(nativeValue) };
  if (value.M !== undefined) return { M: nativeImage(value.M) };
  return value as SdkAttributeValue;
}

const base64Bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

function describe(error: unknown): Record<string, unknown> {
  const e = error instanceof Error ? (error as Error & { code?: unknown }) : undefined;
  return { name: e?.name, code: e?.code, message: e?.message ?? String(error) };
}
