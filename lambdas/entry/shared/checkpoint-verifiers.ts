/**
 * Checkpoint verifiers from the KMS signing key's public key (DESIGN §2: one
 * key signs for every tenant, each origin is its own verifier key). The
 * verification services ask for a verifier synchronously, so an entry
 * `prepare`s the origins of its task first: one `GetPublicKey` per origin
 * and process, cached with the signers.
 */
import { Ed25519NoteVerifier, type NoteVerifier } from '../../core/signed-note.js';
import type { EntryConfig } from './env.js';
import { KmsCheckpointSigners } from './kms-adapters.js';
import type { Powertools } from './powertools.js';

/** Verifiers by origin, prepared ahead. */
export interface CheckpointVerifiers {
  prepare(origins: Iterable<string>): Promise<void>;
  /** The prepared verifier of `origin`; throws for one not prepared. */
  verifierFor(origin: string): NoteVerifier;
}

/**
 * @example
 * const verifiers = kmsCheckpointVerifiers(readEnv(['signingKey']), powertools());
 * await verifiers.prepare([plan.origin]);
 * finishRun({ verifierFor: (o) => verifiers.verifierFor(o), … }, plan, outcomes);
 */
export function kmsCheckpointVerifiers(config: EntryConfig<'signingKey'>, tools: Powertools, signers = new KmsCheckpointSigners(config, tools)): CheckpointVerifiers {
  const verifiers = new Map<string, NoteVerifier>();
  return {
    async prepare(origins) {
      for (const origin of origins) if (!verifiers.has(origin)) verifiers.set(origin, new Ed25519NoteVerifier((await signers.ready(origin)).verifierKey));
    },
    verifierFor(origin) {
      const verifier = verifiers.get(origin);
      if (verifier === undefined) throw new Error(`no checkpoint verifier prepared for ${JSON.stringify(origin)}`);
      return verifier;
    },
  };
}
