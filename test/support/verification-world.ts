import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryKeyStore } from '../../lambdas/adapters/fake/memory-key-store.js';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { FileMasterKey } from '../../lambdas/adapters/local/file-master-key.js';
import { FileReportSink } from '../../lambdas/adapters/local/file-report-sink.js';
import { hashLeafHex } from '../../lambdas/core/rfc9162-hasher.js';
import { KeyService } from '../../lambdas/services/key-service.js';
import { LedgerService } from '../../lambdas/services/ledger-service.js';
import { LogPublisher } from '../../lambdas/services/log-publisher.js';
import type { VerificationDeps } from '../../lambdas/services/verification/run-verification.js';
import { LedgerLog, TestSigners } from './ledger-log.js';
import { MemoryCopy } from './memory-copy.js';

export const VERIFY_PREFIX = 'verify.example';
const signers = new TestSigners();

/** A scratch directory for reports and the master key; `cleanup` removes it. */
export async function verificationDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'govledger-verify-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Tenant `acme`'s log of `size` entries in a memory ledger, published with a
 * signed checkpoint, and copied in full into each named `MemoryCopy`: what a
 * verification run reads. `deps` wires the run as the CLI does.
 */
export async function verificationWorld(dir: string, size: number, options: { copies?: string[] } = {}) {
  const store = new MemoryLedgerStore();
  const objects = new MemoryObjectStore();
  const log = new LedgerLog('acme');
  await log.appendTo(store, size);
  const publisher = new LogPublisher(store, objects, signers, { logPrefix: VERIFY_PREFIX });
  await publisher.publish('acme');
  const copies = (options.copies ?? ['event-archive', 'projection']).map((n) => new MemoryCopy(n));
  for (const copy of copies) for (const b of log.batches) await copy.apply(b.entries.map((entry, i) => ({ tenant: 'acme', position: b.firstPosition + i, entry, leafHash: hashLeafHex(entry) })));
  const master = await FileMasterKey.open(join(dir, 'keys'), { create: true });
  const ledgerService = new LedgerService(store, new KeyService(new MemoryKeyStore(), master));
  const reports = new FileReportSink(await mkdtemp(join(dir, 'reports-')));
  const deps: VerificationDeps = {
    ledger: store,
    objects,
    reports,
    logPrefix: VERIFY_PREFIX,
    copies,
    verifierFor: (origin) => signers.verifierFor(origin),
    appendSystem: (tenant, system, actor) => ledgerService.appendSystem(tenant, system, actor),
  };
  return { store, objects, log, publisher, copies, deps, reports };
}
