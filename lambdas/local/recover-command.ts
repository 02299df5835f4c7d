/**
 * `govledger recover` on the embedded default (DESIGN §5 "Recovery audit
 * trail"): after a restore left a tenant's ledger behind its published
 * checkpoint, record the fork (one `recovery` SYSTEM entry with the next
 * generation and the exact discarded range, proven against the old
 * checkpoint) and publish the new generation. Attaches to a running
 * server's engines or starts them, as `verify` does. Exit code 0 when the
 * recovery is recorded (or already was), 1 when it is refused.
 */
import { LogPublisher } from '../services/log-publisher.js';
import { LogReader } from '../services/log-reader.js';
import { ServiceError } from '../services/errors.js';
import { RecoveryService, type RecoveryOutcome } from '../services/recovery.js';
import { withServices } from './operator-commands.js';

export interface RecoverOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly tenant: string;
  /** Why, recorded in the entry. */
  readonly reason: string;
  /** Who, recorded in the entry. */
  readonly actor: string;
  readonly out: (line: string) => void;
}

/**
 * Records the tenant's recovery and publishes the new generation.
 *
 * @example
 * process.exitCode = await recoverCommand({ env: process.env, tenant: 'acme', reason: 'PITR restore', actor: 'user:ops', out: console.log });
 */
export async function recoverCommand(options: RecoverOptions): Promise<number> {
  return withServices(options.env, async (services) => {
    const { ledgerStore, objects, ledger, reports, verifierFor, logPrefix, signing } = services;
    const recovery = new RecoveryService({
      ledger: ledgerStore,
      log: new LogReader(ledgerStore, objects),
      reports,
      appendRecovery: (tenant, details, actor) => ledger.appendRecovery(tenant, details, actor),
      verifierFor,
      logPrefix,
    });
    let outcome: RecoveryOutcome;
    try {
      outcome = await recovery.recordRecovery(options.tenant, { reason: options.reason, actor: options.actor });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      options.out(`recover: refused (${error.code}): ${error.message}`);
      return 1;
    }
    options.out(recoveryLine(outcome));
    const published = await new LogPublisher(ledgerStore, objects, signing, { logPrefix }).publish(options.tenant);
    options.out(`  published generation ${outcome.generation}: checkpoint at size ${published.size}, root ${published.root}`);
    return 0;
  });
}

function recoveryLine(r: RecoveryOutcome): string {
  const { first, count } = r.discarded;
  const what = r.replayed ? 'already recorded' : 'recorded';
  return `${r.tenant}: recovery ${what} at position ${r.position}, generation ${r.generation}: positions ${first}..${first + count - 1} of checkpoint ${r.previousCheckpoint.size} (root ${r.previousCheckpoint.root}) discarded`;
}
