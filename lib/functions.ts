/**
 * Every Lambda function of the stateless stack, declared once: its entry file
 * under `lambdas/entry/`, the API route it serves (operationId) or the stream
 * it consumes, the resources it uses with the access it needs, and whether it
 * runs in the VPC. The stack derives everything else from a spec: the
 * environment variables (the contract in `lambdas/entry/shared/env.ts`), the
 * IAM statements (`grants.ts`), the API integration and the event source.
 * A function can only touch what its spec names, so a read route cannot write.
 */
import type { OperationId } from '../lambdas/handlers/routes.js';
import type { Resource } from '../lambdas/entry/shared/env.js';

/** How a function may use each resource (see `grants.ts` for the exact IAM actions). */
export interface Access {
  /**
   * `list`: only the Scan that lists the tenants (verification and drill plans);
   * `verify`: `read` plus the index items' BatchGetItem (a verification plan looks recovery entries up by record id).
   */
  readonly ledgerTable?: 'read' | 'append' | 'list' | 'verify';
  readonly keyTable?: 'read' | 'write' | 'shred';
  /** `generate`: new KEKs; `unwrap`: decrypt KEKs; `wrap`: both. Only with encryption context purpose govledger/kek. */
  readonly masterKey?: 'generate' | 'unwrap' | 'wrap';
  readonly logBucket?: 'read' | 'publish';
  readonly signingKey?: 'publicKey' | 'sign';
  /** Verifies Cognito access tokens (no IAM: JWKS over HTTPS). */
  readonly tokens?: 'verify';
  /** `cloudhsm:DescribeClusters`, only when a CloudHSM key store is configured. */
  readonly cloudHsm?: 'describe';
  readonly eventBus?: 'put';
  readonly eventBucket?: 'read' | 'write';
  /** RDS Proxy IAM auth as the projection's writer, its reader, or the shredding purge role. */
  readonly database?: 'projector' | 'reader' | 'purger';
  /** The checkpoint origin prefix, without the signing key (no IAM). */
  readonly logOrigin?: 'read';
  /** Verification and drill reports; `write` also reads (a write-once put compares on conflict). */
  readonly reportsBucket?: 'read' | 'write';
  /** Scratch objects under `runs/` (segment outcomes) or `drills/` (replayed events); `drills-clear` lists and deletes them. */
  readonly scratchBucket?: 'runs-read' | 'runs-write' | 'drills-read' | 'drills-write' | 'drills-clear';
  /**
   * The backup-restore drill's scratch resources (`govledger-<env>-*-drill-*`):
   * restore, poll and delete them (`*-restore`), or read what was restored.
   */
  readonly drill?: 'ledger-restore' | 'ledger-read' | 'database-restore' | 'database-connect' | 'events-restore';
}

// Every Access key is a resource of the env contract, and vice versa.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const accessCoversResources: Same<keyof Access, Resource> = true;
void accessCoversResources;

/** A consumer of the ledger table's stream (batch item inserts only). */
export interface StreamTrigger {
  readonly batchSize: number;
  /** Coalesces bursts: records are gathered up to this long before an invocation. */
  readonly batchingWindowSeconds: number;
  readonly retryAttempts: number;
  readonly maxRecordAgeHours: number;
}

/** One Lambda function, declared (see the module doc). */
export interface FunctionSpec {
  /** Kebab-case; the function is `govledger-<env>-<name>`. */
  readonly name: string;
  /** File under `lambdas/entry/`. */
  readonly entry: string;
  readonly description: string;
  /** The API route it serves. */
  readonly route?: OperationId;
  readonly stream?: StreamTrigger;
  readonly uses: Access;
  /** In the VPC's isolated subnets with the database client security group. */
  readonly vpc?: boolean;
  readonly memorySize?: number;
  readonly timeoutSeconds?: number;
  readonly reservedConcurrency?: number;
  /**
   * Largest acceptable minified bundle, bytes (default {@link DEFAULT_BUNDLE_BUDGET}),
   * checked by test/lib/bundles.test.ts. Raise it only with the reason next to it.
   */
  readonly bundleBudget?: number;
}

/** 1 MB: what a function's minified bundle may weigh unless its spec says why it needs more. */
export const DEFAULT_BUNDLE_BUDGET = 1_000_000;

const read = { tokens: 'verify' } as const;

/** The functions, API routes first (one per operationId), then the stream consumers. */
export const FUNCTIONS: readonly FunctionSpec[] = [
  { name: 'append-records', entry: 'append-records.ts', route: 'appendRecords', description: 'POST records: append to the ledger', uses: { ...read, ledgerTable: 'append', keyTable: 'write', masterKey: 'wrap' }, memorySize: 1024 },
  { name: 'list-records', entry: 'list-records.ts', route: 'listRecords', description: 'GET records: state as of a point, from the projection', uses: { ...read, database: 'reader' }, vpc: true },
  {
    name: 'get-record',
    entry: 'get-record.ts',
    route: 'getRecord',
    description: 'GET a record from the projection; with ?proof=true its inclusion proof',
    uses: { ...read, database: 'reader', ledgerTable: 'read', logBucket: 'read', keyTable: 'read', masterKey: 'unwrap' },
    vpc: true,
  },
  { name: 'get-record-history', entry: 'get-record-history.ts', route: 'getRecordHistory', description: 'GET a record\'s history, from the projection', uses: { ...read, database: 'reader' }, vpc: true },
  { name: 'get-entry', entry: 'get-entry.ts', route: 'getEntry', description: 'GET an entry with its inclusion proof', uses: { ...read, ledgerTable: 'read', logBucket: 'read' } },
  { name: 'get-consistency-proof', entry: 'get-consistency-proof.ts', route: 'getConsistencyProof', description: 'GET a consistency proof', uses: { ...read, logBucket: 'read' } },
  { name: 'get-commitment', entry: 'get-commitment.ts', route: 'getCommitment', description: 'GET a commitment proof', uses: { ...read, ledgerTable: 'read', logBucket: 'read' } },
  { name: 'get-checkpoint', entry: 'get-checkpoint.ts', route: 'getCheckpoint', description: 'GET the signed checkpoint', uses: { ...read, logBucket: 'read' } },
  { name: 'get-tile', entry: 'get-tile.ts', route: 'getTile', description: 'GET a tile or entry bundle', uses: { ...read, logBucket: 'read' } },
  { name: 'get-log-key', entry: 'get-log-key.ts', route: 'getLogKey', description: 'GET the checkpoint verifier key', uses: { ...read, signingKey: 'publicKey' } },
  { name: 'rotate-keys', entry: 'rotate-keys.ts', route: 'rotateKeys', description: 'POST admin: rotate a tenant\'s KEK', uses: { ...read, ledgerTable: 'append', keyTable: 'write', masterKey: 'generate' } },
  {
    name: 'shred-tenant',
    entry: 'shred-tenant.ts',
    route: 'shredTenant',
    description: 'POST admin: crypto-shred a tenant and purge its projected plaintext',
    uses: { ...read, ledgerTable: 'append', keyTable: 'shred', database: 'purger' },
    vpc: true,
  },
  { name: 'get-open-api', entry: 'get-open-api.ts', route: 'getOpenApi', description: 'GET the OpenAPI document', uses: {}, memorySize: 256 },
  { name: 'healthz', entry: 'healthz.ts', route: 'healthz', description: 'GET /healthz: dependencies\' state', uses: { ledgerTable: 'read', keyTable: 'read', logBucket: 'read', cloudHsm: 'describe' }, memorySize: 256 },
  {
    name: 'log-publisher',
    entry: 'log-publisher.ts',
    description: 'Ledger stream → tiles, bundles, KMS-signed checkpoint',
    uses: { ledgerTable: 'read', logBucket: 'publish', signingKey: 'sign' },
    stream: { batchSize: 1000, batchingWindowSeconds: 1, retryAttempts: 20, maxRecordAgeHours: 24 },
    memorySize: 1024,
    timeoutSeconds: 300,
    reservedConcurrency: 1,
  },
  {
    name: 'ledger-stream',
    entry: 'ledger-stream.ts',
    description: 'Ledger stream → EventBridge archive, S3 event store, PostgreSQL projection',
    uses: { keyTable: 'read', masterKey: 'unwrap', eventBus: 'put', eventBucket: 'write', database: 'projector' },
    stream: { batchSize: 100, batchingWindowSeconds: 1, retryAttempts: 10, maxRecordAgeHours: 24 },
    vpc: true,
    memorySize: 1024,
    timeoutSeconds: 120,
  },
];

/** The spec serving an operation, if any. */
export const specForRoute = (operationId: OperationId): FunctionSpec | undefined => FUNCTIONS.find((f) => f.route === operationId);
