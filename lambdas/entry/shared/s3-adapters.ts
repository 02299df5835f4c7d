/** The S3 side of cold-start wiring: object stores on one traced client, with S3's native conditional writes. */
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store.js';
import { awsClient } from './aws-clients.js';
import type { EntryConfig } from './env.js';
import type { Powertools } from './powertools.js';

const s3 = (tools: Powertools): S3Client => awsClient('s3', tools, () => new S3Client({}));

/** The log bucket: tiles, bundles and checkpoints. @example const objects = logObjects(readEnv(['logBucket']), powertools()); */
export const logObjects = (config: EntryConfig<'logBucket'>, tools: Powertools): S3ObjectStore => new S3ObjectStore({ client: s3(tools), bucket: config.logBucket });

/** The event store bucket: `events/<tenant>/…` copies. @example const events = eventObjects(readEnv(['eventBucket']), powertools()); */
export const eventObjects = (config: EntryConfig<'eventBucket'>, tools: Powertools): S3ObjectStore => new S3ObjectStore({ client: s3(tools), bucket: config.eventBucket });
