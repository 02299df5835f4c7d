/**
 * The buckets (DESIGN §1, §5): the transparency log (tiles, bundles,
 * checkpoints), the event store and the verification reports (evidence), all
 * versioned with S3 Object Lock in compliance mode (no one, not even the
 * account root, deletes or overwrites a locked version before its retention
 * ends), TLS only, encrypted with the storage key, public access blocked,
 * server access logs to a separate bucket. Retained when the stack goes.
 * Noncurrent versions (old checkpoints, partial tiles, old last-run pointers)
 * expire once their lock has run out.
 *
 * Scratch objects of the verification workflow (segment outcomes, events a
 * drill replays) live in a bucket of their own without Object Lock: a bucket's
 * default retention applies to every object put in it and cannot be limited
 * to a prefix, so scratch objects in a locked bucket would stay (as locked
 * noncurrent versions) for the whole retention period. The scratch bucket is
 * unversioned, so its lifecycle rule really deletes them after
 * {@link SCRATCH_EXPIRY_DAYS} days.
 */
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectLockRetention, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** The buckets with fixed names: the three locked ones and the scratch bucket. */
export type LedgerBucketKind = 'log' | 'events' | 'reports' | 'scratch';

/** Scratch objects (segment outcomes, replayed events) are deleted this many days after they were written. */
export const SCRATCH_EXPIRY_DAYS = 7;

/**
 * A locked bucket's name, `govledger-<env>-<kind>-<account>-<region>`: fixed,
 * so the stateless stack names the bucket (and cdk-nag its object ARN) without
 * a cross-stack export, and unique per account and region.
 *
 * @example
 * ledgerBucketName(stack, 'dev', 'log'); // 'govledger-dev-log-123456789012-eu-west-1'
 */
export function ledgerBucketName(scope: Construct, envName: string, kind: LedgerBucketKind): string {
  const stack = Stack.of(scope);
  return `govledger-${envName}-${kind}-${stack.account}-${stack.region}`;
}

/**
 * How cdk-nag prints a bucket's object ARN (`Resource::…/<objects>` findings),
 * pseudo parameters as `<AWS::…>`; `objects` is the key pattern granted.
 */
export function ledgerBucketObjectsFinding(scope: Construct, envName: string, kind: LedgerBucketKind, objects = '*'): string {
  const stack = Stack.of(scope);
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  return `Resource::arn:<AWS::Partition>:s3:::govledger-${envName}-${kind}-${account}-${region}/${objects}`;
}

/** Names, the storage key and the retention periods. */
export interface LedgerBucketsProps {
  readonly envName: string;
  readonly encryptionKey: IKey;
  /** Object Lock default retention (compliance mode), days. */
  readonly objectLockDays: number;
  /** How long server access logs are kept, days. */
  readonly accessLogDays: number;
}

/**
 * @example
 * const buckets = new LedgerBuckets(this, 'Buckets', { envName: 'dev', encryptionKey: keys.dataKey, objectLockDays: 365, accessLogDays: 365 });
 */
export class LedgerBuckets extends Construct {
  /** Tiles, entry bundles and checkpoints: `<tenant>/tile/…`, `<tenant>/checkpoint`. */
  readonly log: Bucket;
  /** The readable copy of the event archive: `events/<tenant>/…`. */
  readonly events: Bucket;
  /** Verification and drill reports, `<tenant>/<runId>.json` and `.txt`, and `<tenant>/last-run.json`. */
  readonly reports: Bucket;
  /** Scratch objects, unlocked and expiring: `runs/<tenant>/<runId>/…` (segment outcomes), `drills/<runId>/…` (replayed events). */
  readonly scratch: Bucket;
  /** Server access logs of the others. */
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: LedgerBucketsProps) {
    super(scope, id);
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED, // S3 server access logging cannot deliver to SSE-KMS buckets
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(props.accessLogDays), noncurrentVersionExpiration: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log bucket of the log, event, reports and scratch buckets; logging it to itself would loop',
    });
    /** What every named bucket shares: its name, the storage key, private, TLS only, access logs, retained. */
    const named = (kind: LedgerBucketKind, logPrefix: string) => ({
      bucketName: ledgerBucketName(this, props.envName, kind),
      encryption: BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: logPrefix,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const locked = (bucketId: string, kind: LedgerBucketKind, logPrefix: string) =>
      new Bucket(this, bucketId, {
        ...named(kind, logPrefix),
        versioned: true,
        objectLockEnabled: true,
        objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(props.objectLockDays)),
        lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(props.objectLockDays + 1), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
      });
    this.log = locked('LogBucket', 'log', 'log-bucket/');
    this.events = locked('EventBucket', 'events', 'event-bucket/');
    this.reports = locked('ReportsBucket', 'reports', 'reports-bucket/');
    this.scratch = new Bucket(this, 'ScratchBucket', {
      ...named('scratch', 'scratch-bucket/'),
      lifecycleRules: [{ expiration: Duration.days(SCRATCH_EXPIRY_DAYS), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
  }
}
