/** The EventBridge side of cold-start wiring: the event archive's publisher on one traced client. */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../../adapters/aws/eventbridge-publisher.js';
import { awsClient } from './aws-clients.js';
import type { EntryConfig } from './env.js';
import type { Powertools } from './powertools.js';

/** @example const events = eventPublisher(readEnv(['eventBus']), powertools()); */
export const eventPublisher = (config: EntryConfig<'eventBus'>, tools: Powertools): EventBridgePublisher =>
  new EventBridgePublisher({ client: awsClient('events', tools, () => new EventBridgeClient({})), eventBusName: config.eventBusName });
