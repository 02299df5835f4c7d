import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryKeyStore } from '../../lambdas/adapters/fake/memory-key-store.js';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { FileMasterKey } from '../../lambdas/adapters/local/file-master-key.js';
import type { LedgerChange } from '../../lambdas/ports/change-stream.js';
import { changesOf } from '../../lambdas/services/change-tailer.js';
import { KeyService } from '../../lambdas/services/key-service.js';
import { LedgerService, requestHash, type AppendedRecord, type RecordInput } from '../../lambdas/services/ledger-service.js';

/** A real ledger (in memory) with real encryption: what the projector consumes. */
export interface KeyedLedger {
  readonly store: MemoryLedgerStore;
  readonly keyStore: MemoryKeyStore;
  readonly keys: KeyService;
  readonly ledger: LedgerService;
  /** Appends the records as one request (a fresh Idempotency-Key unless given). */
  append(tenant: string, records: readonly RecordInput[], idempotencyKey?: string): Promise<AppendedRecord[]>;
  /** Every change of the tenant's ledger from `from`, as the change stream delivers them. */
  changes(tenant: string, from?: number): Promise<LedgerChange[]>;
  cleanup(): Promise<void>;
}

let requests = 0;

/**
 * `LedgerService` over `MemoryLedgerStore`, with a `KeyService` on a memory
 * key store and a real local master key file. `clock` fixes entry times.
 *
 * @example
 * const fx = await keyedLedger();
 * await fx.append('acme', [{ stream: 'decisions', recordId: 'd-1', payload: { ok: true } }]);
 * await projector.apply(await fx.changes('acme'));
 */
export async function keyedLedger(options: { clock?: () => bigint } = {}): Promise<KeyedLedger> {
  const dir = await mkdtemp(join(tmpdir(), 'govledger-projector-'));
  const master = await FileMasterKey.open(dir, { create: true });
  const store = new MemoryLedgerStore();
  const keyStore = new MemoryKeyStore();
  const keys = new KeyService(keyStore, master);
  const ledger = new LedgerService(store, keys, options.clock ? { clock: options.clock } : {});
  return {
    store,
    keyStore,
    keys,
    ledger,
    async append(tenant, records, idempotencyKey = `req-${++requests}`) {
      const body = JSON.stringify(records);
      const { records: appended } = await ledger.append({ tenant, idempotencyKey, requestHash: requestHash(body), actor: 'user:alice', correlationId: `c-${requests}`, records });
      return [...appended];
    },
    async changes(tenant, from = 0) {
      const out: LedgerChange[] = [];
      for await (const batch of store.readBatches(tenant, from)) out.push(...changesOf(batch, from));
      return out;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
