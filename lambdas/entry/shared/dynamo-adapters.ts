/** The DynamoDB side of cold-start wiring: the ledger and key stores on one traced document client. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoKeyStore } from '../../adapters/aws/dynamo-key-store.js';
import { DynamoLedgerStore } from '../../adapters/aws/dynamo-ledger-store.js';
import { awsClient } from './aws-clients.js';
import type { EntryConfig } from './env.js';
import type { Powertools } from './powertools.js';

const documents = (tools: Powertools): DynamoDBDocumentClient => DynamoDBDocumentClient.from(awsClient('dynamodb', tools, () => new DynamoDBClient({})));

/** @example const store = ledgerStore(readEnv(['ledgerTable']), powertools()); */
export const ledgerStore = (config: EntryConfig<'ledgerTable'>, tools: Powertools): DynamoLedgerStore =>
  new DynamoLedgerStore({ client: documents(tools), tableName: config.ledgerTable });

/** @example const keys = keyStore(readEnv(['keyTable']), powertools()); */
export const keyStore = (config: EntryConfig<'keyTable'>, tools: Powertools): DynamoKeyStore =>
  new DynamoKeyStore({ client: documents(tools), tableName: config.keyTable });
