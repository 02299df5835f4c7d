/**
 * Commitment proofs (DESIGN §3, dispute resolution): did the request with
 * this Idempotency-Key commit, at which positions and times, with which leaf
 * hashes, and, once a checkpoint covers them, inclusion proofs against it.
 *
 * The answer comes from the request's idempotency record. The tail batch is
 * consulted too, since its index items may lag a crashed writer. The proofs
 * come from the `LogReader`, built from tiles only.
 */
import type { LedgerStore } from '../ports/ledger-store.js';
import type { AppendedRecord } from './ledger-service.js';
import { CommitmentNotFoundError, LogError } from './log-errors.js';
import type { EntryWithProof, LogReader } from './log-reader.js';

export interface Commitment {
  readonly idempotencyKey: string;
  readonly committed: true;
  /** SHA-256 hex of the request body that committed. */
  readonly requestHash: string;
  readonly records: readonly AppendedRecord[];
  /** Size of the checkpoint the proofs are against; undefined while not yet published. */
  readonly treeSize: number | undefined;
  /** One per record once published: leaf hash and inclusion proof at treeSize. */
  readonly proofs: ReadonlyArray<Pick<EntryWithProof, 'position' | 'leafHash' | 'inclusionProof'>>;
}

export class CommitmentReader {
  constructor(
    private readonly ledger: LedgerStore,
    private readonly reader: Pick<LogReader, 'checkpointSize' | 'entry'>,
  ) {}

  /**
   * @example
   * const { records, proofs, treeSize } = await commitments.commitment('acme', 'req-1');
   */
  async commitment(tenant: string, idempotencyKey: string): Promise<Commitment> {
    const record =
      (await this.ledger.getIdempotency(tenant, idempotencyKey)) ??
      (await this.ledger.readTail(tenant))?.idempotency.find((r) => r.key === idempotencyKey);
    if (!record) throw new CommitmentNotFoundError(idempotencyKey);
    const records = JSON.parse(record.response) as AppendedRecord[];
    let treeSize: number | undefined;
    try {
      treeSize = await this.reader.checkpointSize(tenant);
    } catch (error) {
      if (!(error instanceof LogError && error.code === 'CHECKPOINT_NOT_FOUND')) throw error;
    }
    const published = treeSize !== undefined && record.firstPosition + record.count <= treeSize;
    const proofs = published
      ? await Promise.all(records.map(async (r) => {
          const { position, leafHash, inclusionProof } = await this.reader.entry(tenant, r.position, treeSize);
          return { position, leafHash, inclusionProof };
        }))
      : [];
    return { idempotencyKey, committed: true, requestHash: record.requestHash, records, treeSize: published ? treeSize : undefined, proofs };
  }
}
