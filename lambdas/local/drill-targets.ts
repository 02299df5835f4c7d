/**
 * The local drill's restore targets (DESIGN §6: "`drill` runs the
 * backup-restore drill ... with copies of the data directory's engines").
 * The backup is a file copy of an engine's directory taken while the server
 * runs: LevelDB's log and tables and s3rver's object files are written
 * append-only or whole, so a copy is a crash-consistent snapshot as of when it
 * began (what a power cut would leave). The restore starts scratch engines on
 * that copy, on ephemeral ports, and reads it through the production adapters.
 */
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLedgerStore } from '../adapters/aws/dynamo-ledger-store.js';
import type { RestoredCopy, RestoreTarget } from '../ports/restore-target.js';
import { startEngines, type Engines } from './engines.js';

/** The engine directories under the data directory that a drill can copy. */
export type EngineDir = 'dynamodb' | 's3';

export interface LocalCopyOptions {
  /** The directory to restore from; default the live `<dataDir>/<engine>`. A drill of an older backup names its own. */
  readonly source?: string;
  readonly clock?: () => Date;
}

/**
 * Restores one engine's directory into a scratch directory under
 * `<dataDir>/drills/` and hands the scratch engines to `open`.
 *
 * @example
 * const events = new LocalEngineCopy('event-archive', dataDir, 's3', async (engines, at) => ({ kind: 'copy', copy: archiveOn(engines), restoredTo: at }));
 */
export class LocalEngineCopy implements RestoreTarget {
  readonly name: string;
  readonly #dataDir: string;
  readonly #engine: EngineDir;
  readonly #open: (engines: Engines, restoredTo: Date) => Promise<RestoredCopy>;
  readonly #source: string;
  readonly #clock: () => Date;
  #scratch: string | undefined;
  #engines: Engines | undefined;

  constructor(name: string, dataDir: string, engine: EngineDir, open: (engines: Engines, restoredTo: Date) => Promise<RestoredCopy>, options: LocalCopyOptions = {}) {
    this.name = name;
    this.#dataDir = dataDir;
    this.#engine = engine;
    this.#open = open;
    this.#source = options.source ?? join(dataDir, engine);
    this.#clock = options.clock ?? (() => new Date());
  }

  async restore(): Promise<RestoredCopy> {
    const drills = join(this.#dataDir, 'drills');
    await mkdir(drills, { recursive: true, mode: 0o700 });
    this.#scratch = await mkdtemp(join(drills, `${this.name}-`));
    // Everything acknowledged before the copy begins must be in it.
    const restoredTo = this.#clock();
    await cp(this.#source, join(this.#scratch, this.#engine), { recursive: true, filter: (src) => !src.endsWith('/LOCK') });
    this.#engines = await startEngines(this.#scratch, { env: {} });
    return this.#open(this.#engines, restoredTo);
  }

  async teardown(): Promise<void> {
    const engines = this.#engines;
    this.#engines = undefined;
    await engines?.stop();
    if (this.#scratch !== undefined) await rm(this.#scratch, { recursive: true, force: true });
    this.#scratch = undefined;
  }
}

/**
 * The ledger table restored from a copy of `<dataDir>/dynamodb`.
 *
 * @example
 * const reports = await runDrill(deps, [new LocalLedgerCopy(dataDir, 'govledger-ledger')], tenants);
 */
export class LocalLedgerCopy extends LocalEngineCopy {
  constructor(dataDir: string, table: string, options: LocalCopyOptions = {}) {
    super('ledger', dataDir, 'dynamodb', async (engines, restoredTo) => ({
      kind: 'ledger',
      ledger: new DynamoLedgerStore({ client: DynamoDBDocumentClient.from(engines.dynamodb.client), tableName: table }),
      restoredTo,
    }), options);
  }
}
