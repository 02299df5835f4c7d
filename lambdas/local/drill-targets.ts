/**
 * The local drill's restore targets (DESIGN §6: "`drill` runs the
 * backup-restore drill ... with copies of the data directory's engines").
 * The backup is a file copy of an engine's directory taken while the server
 * runs (LevelDB's log and tables are append-only files, so a copy is a
 * crash-consistent snapshot as of when it began: what a power cut would
 * leave); the restore starts a scratch engine on that copy, on ephemeral
 * ports, and reads it through the same adapters as production.
 */
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLedgerStore } from '../adapters/aws/dynamo-ledger-store.js';
import type { RestoredCopy, RestoreTarget } from '../ports/restore-target.js';
import { startEngines, type Engines } from './engines.js';

/**
 * Restores the ledger table from a copy of `<dataDir>/dynamodb` into a
 * scratch directory under `<dataDir>/drills/`.
 *
 * @example
 * const reports = await runDrill(deps, [new LocalLedgerCopy(dataDir, 'govledger-ledger')], tenants);
 */
export class LocalLedgerCopy implements RestoreTarget {
  readonly name = 'ledger';
  readonly #dataDir: string;
  readonly #table: string;
  readonly #source: string;
  readonly #clock: () => Date;
  #scratch: string | undefined;
  #engines: Engines | undefined;

  /** `source` defaults to the live `<dataDir>/dynamodb`; a drill of an older backup names its directory. */
  constructor(dataDir: string, table: string, options: { source?: string; clock?: () => Date } = {}) {
    this.#dataDir = dataDir;
    this.#table = table;
    this.#source = options.source ?? join(dataDir, 'dynamodb');
    this.#clock = options.clock ?? (() => new Date());
  }

  async restore(): Promise<RestoredCopy> {
    const drills = join(this.#dataDir, 'drills');
    await mkdir(drills, { recursive: true, mode: 0o700 });
    this.#scratch = await mkdtemp(join(drills, 'ledger-'));
    // Everything acknowledged before the copy begins must be in it.
    const restoredTo = this.#clock();
    await cp(this.#source, join(this.#scratch, 'dynamodb'), { recursive: true, filter: (src) => !src.endsWith('/LOCK') });
    this.#engines = await startEngines(this.#scratch, { env: {}, ledgerTable: this.#table });
    const ledger = new DynamoLedgerStore({ client: DynamoDBDocumentClient.from(this.#engines.dynamodb.client), tableName: this.#table });
    return { kind: 'ledger', ledger, restoredTo };
  }

  async teardown(): Promise<void> {
    const engines = this.#engines;
    this.#engines = undefined;
    await engines?.stop();
    if (this.#scratch !== undefined) await rm(this.#scratch, { recursive: true, force: true });
    this.#scratch = undefined;
  }
}
