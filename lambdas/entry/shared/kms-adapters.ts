/** The KMS side of cold-start wiring: the master key and the Ed25519 checkpoint signers on one traced client. */
import { KMSClient } from '@aws-sdk/client-kms';
import { KmsMasterKey } from '../../adapters/aws/kms-master-key.js';
import { KmsNoteSigner } from '../../adapters/aws/kms-note-signer.js';
import { originFor } from '../../core/checkpoint.js';
import type { NoteSigner } from '../../core/signed-note.js';
import type { CheckpointSigners } from '../../services/log-publisher.js';
import { awsClient } from './aws-clients.js';
import type { EntryConfig } from './env.js';
import type { Powertools } from './powertools.js';

const kms = (tools: Powertools): KMSClient => awsClient('kms', tools, () => new KMSClient({}));

/** @example const master = kmsMasterKey(readEnv(['masterKey']), powertools()); */
export const kmsMasterKey = (config: EntryConfig<'masterKey'>, tools: Powertools): KmsMasterKey => new KmsMasterKey(kms(tools), config.masterKeyArn);

/**
 * Checkpoint signers on the KMS Ed25519 key, one per origin. `KmsNoteSigner`
 * reads the public key once (`GetPublicKey`) when created, so signers are
 * made ahead with `ready(origin)` (cached for the life of the process) and
 * `signerFor` hands them to the publisher synchronously.
 *
 * @example
 * const signers = new KmsCheckpointSigners(readEnv(['signingKey']), powertools());
 * await signers.ready(originFor(prefix, 'acme'));
 * await publisher.publish('acme');
 */
export class KmsCheckpointSigners implements CheckpointSigners {
  readonly #signers = new Map<string, Promise<KmsNoteSigner>>();
  readonly #made = new Map<string, KmsNoteSigner>();
  readonly #create: (origin: string) => Promise<KmsNoteSigner>;

  constructor(private readonly config: EntryConfig<'signingKey'>, tools: Powertools, create?: (origin: string) => Promise<KmsNoteSigner>) {
    this.#create = create ?? ((origin) => KmsNoteSigner.create(kms(tools), config.signingKeyArn, origin));
  }

  /** The signer of `origin`, created (one `GetPublicKey`) on first use; a failed creation is retried next time. */
  ready(origin: string): Promise<KmsNoteSigner> {
    let signer = this.#signers.get(origin);
    if (signer === undefined) {
      signer = this.#create(origin);
      this.#signers.set(origin, signer);
      signer.then((s) => this.#made.set(origin, s), () => this.#signers.delete(origin));
    }
    return signer;
  }

  signerFor(origin: string): NoteSigner {
    const signer = this.#made.get(origin);
    if (signer === undefined) throw new Error(`KmsCheckpointSigners: call ready(${JSON.stringify(origin)}) before publishing`);
    return signer;
  }

  /** The tenant's C2SP verifier key (`GET …/log-key`). */
  async verifierKeyFor(tenant: string): Promise<string> {
    return (await this.ready(originFor(this.config.logPrefix, tenant))).verifierKey;
  }
}
