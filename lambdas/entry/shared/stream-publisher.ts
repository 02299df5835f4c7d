/**
 * Publishing on AWS (DESIGN §1 "TRANSPARENCY"): the ledger table's stream
 * delivers each new batch item (filtered to INSERTs of `B#` items by the event
 * source mapping) and this handler publishes the tenants they belong to. The
 * event source's batching window coalesces bursts: one publish per tenant per
 * invocation, however many appends arrived. The function runs with reserved
 * concurrency 1, the single-concurrency consumer `LogPublisher` asks for.
 *
 * A tenant's publish is repeated until the checkpoint covers the newest batch
 * delivered (a large backlog publishes in steps of `maxEntries`). A tenant
 * that fails, or that time runs out for, is reported through
 * `ReportBatchItemFailures` with its first record, so the event source
 * retries from there; publishes are idempotent, so redelivering the other
 * tenants' records costs a no-op publish at most. A record that does not
 * decode is reported too: it ends in the DLQ after the retries.
 */
import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { originFor } from '../../core/checkpoint.js';
import { changesOfRecord } from '../../handlers/ledger-stream.js';
import type { PublishResult } from '../../services/log-publisher.js';

/** A batch item's tenant and the log size after it. */
export interface StreamedBatch {
  readonly tenant: string;
  readonly end: number;
}

/**
 * The batch a stream record announces (decoded by the change stream's own
 * `changesOfRecord`, so the item layout is known in one place), undefined for
 * any other record; throws for an insert that does not decode.
 *
 * @example
 * streamedBatch(record); // → { tenant: 'acme', end: 120 }
 */
export function streamedBatch(record: DynamoDBRecord): StreamedBatch | undefined {
  const changes = changesOfRecord(record);
  const last = changes?.at(-1);
  return last && { tenant: last.tenant, end: last.position + 1 };
}

/** The publisher, the signer preparation, and where logs and metrics go. */
export interface StreamPublisherDeps {
  readonly publisher: { publish(tenant: string): Promise<PublishResult> };
  /** Prepares the origin's signer before a publish (`KmsCheckpointSigners.ready`). */
  readonly prepare?: (origin: string) => Promise<unknown>;
  readonly logPrefix: string;
  readonly logger: Pick<PowertoolsLogger, 'info' | 'warn' | 'error'>;
  readonly metrics?: Pick<Metrics, 'addMetric'>;
  /** No publish starts with less than this left of the invocation, ms (default 20 000). */
  readonly reserveMs?: number;
}

/**
 * The stream handler (see the module doc).
 *
 * @example
 * export const handler = instrumented(publishOnStream({ publisher, prepare: (o) => signers.ready(o), logPrefix, logger }), tools);
 */
export function publishOnStream(deps: StreamPublisherDeps) {
  const reserveMs = deps.reserveMs ?? 20_000;
  return async function publishStream(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
    const tenants = new Map<string, { target: number; firstSequence: string }>();
    const failures: DynamoDBBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const sequence = record.dynamodb?.SequenceNumber ?? '';
      let batch: StreamedBatch | undefined;
      try {
        batch = streamedBatch(record);
      } catch (error) {
        deps.logger.error('stream record does not decode; reported for retry and the DLQ', { eventID: record.eventID, error: String(error) });
        failures.push({ itemIdentifier: sequence });
        continue;
      }
      if (batch === undefined) continue; // an index item or a modify: nothing to publish
      const seen = tenants.get(batch.tenant);
      if (seen) seen.target = Math.max(seen.target, batch.end);
      else tenants.set(batch.tenant, { target: batch.end, firstSequence: sequence });
    }
    for (const [tenant, { target, firstSequence }] of tenants) {
      const caughtUp = await publishUpTo(deps, tenant, target, () => context.getRemainingTimeInMillis() > reserveMs);
      if (!caughtUp) failures.push({ itemIdentifier: firstSequence });
    }
    return { batchItemFailures: failures };
  };
}

/** Publishes `tenant` until its checkpoint reaches `target`; false when it failed or time ran short. */
async function publishUpTo(deps: StreamPublisherDeps, tenant: string, target: number, timeLeft: () => boolean): Promise<boolean> {
  try {
    await deps.prepare?.(originFor(deps.logPrefix, tenant));
    for (let steps = 0; timeLeft(); steps += 1) {
      const result = await deps.publisher.publish(tenant);
      if (result.published) deps.metrics?.addMetric('CheckpointsPublished', MetricUnit.Count, 1);
      if (result.size >= target) {
        deps.logger.info('checkpoint covers the stream', { tenant, size: result.size, target, steps: steps + 1 });
        return true;
      }
      if (!result.published) {
        deps.logger.error('the ledger holds less than the stream announced', { tenant, size: result.size, target });
        break;
      }
    }
    if (!timeLeft()) deps.logger.warn('publish deferred: the invocation is running out of time', { tenant, target });
  } catch (error) {
    deps.logger.error('publish failed', { tenant, target, error: error instanceof Error ? { name: error.name, message: error.message } : String(error) });
  }
  deps.metrics?.addMetric('PublishFailures', MetricUnit.Count, 1);
  return false;
}
