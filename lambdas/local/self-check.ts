/**
 * The core's self-check: builds an in-memory tenant log with encrypted
 * payloads, signs a C2SP checkpoint, serves an inclusion and a consistency
 * proof from tiles as a reader would, verifies everything, then tampers with
 * a stored entry and shows that verification names it. Returns true when each
 * step behaves as it must (including the tamper being caught).
 */
import { randomBytes } from 'node:crypto';
import { toHex } from '../core/bytes.js';
import { originFor, signCheckpoint } from '../core/checkpoint.js';
import { CompactRange, rangeNodes } from '../core/compact-range.js';
import { chainEntries, genesisTip, type EntryDraft } from '../core/ledger-entry.js';
import { verifyLog } from '../core/log-verifier.js';
import { ProofNodes, verifyConsistency, verifyInclusion } from '../core/merkle-proof.js';
import { openPayload, prepareDataKey, sealJson } from '../core/payload-envelope.js';
import { Ed25519NoteSigner, Ed25519NoteVerifier, generateSignerKeys } from '../core/signed-note.js';
import { TileBuilder } from '../core/tile-builder.js';
import { hashesFromTiles, tilePath, type TileRef } from '../core/tlog-tiles.js';

export interface SelfCheckOptions {
  readonly entries: number;
  readonly log: (line: string) => void;
}

export async function runSelfCheck({ entries: size, log }: SelfCheckOptions): Promise<boolean> {
  if (!Number.isSafeInteger(size) || size < 2) throw new Error('--entries must be an integer ≥ 2');
  const tenant = 'acme-corp';
  const origin = originFor('govledger.local', tenant);
  const keys = generateSignerKeys(origin);
  const signer = Ed25519NoteSigner.fromSignerKey(keys.signerKey);
  const verifier = new Ed25519NoteVerifier(keys.verifierKey);
  const dek = prepareDataKey({ id: `${tenant}/dek/2026-11`, version: 1, key: randomBytes(32) });
  let ok = true;
  const check = (label: string, pass: boolean): void => {
    ok &&= pass;
    log(`${pass ? 'ok  ' : 'FAIL'} ${label}`);
  };

  log(`govledger self-check: ${size} entries for tenant ${tenant} (origin ${origin})`);
  const drafts: EntryDraft[] = Array.from({ length: size }, (_, i) => {
    const recordId = `policy-${i % 50}`;
    const idempotencyKey = `req-${i}`;
    return {
      stream: 'policies',
      recordId,
      revision: Math.floor(i / 50) + 1,
      operation: i < 50 ? 'CREATE' : 'UPDATE',
      actor: 'user:compliance-officer',
      correlationId: `corr-${i}`,
      idempotencyKey,
      signatures: [],
      payload: sealJson({ title: `Policy ${i % 50}`, version: Math.floor(i / 50) + 1 }, dek, { tenant, recordId, idempotencyKey }),
    };
  });
  const { entries } = chainEntries(genesisTip(tenant), drafts, BigInt(Date.now()) * 1_000_000n);
  const range = CompactRange.empty();
  const tiles = new Map<string, Uint8Array>();
  const builder = new TileBuilder(0, tiles);
  for (const e of entries) range.append(e.leafHash, builder.visitor);
  for (const t of builder.changedTiles()) tiles.set(t.path, t.bytes);
  const checkpoint = await signCheckpoint({ origin, size, rootHash: range.root() }, signer);
  log(`verifier key: ${keys.verifierKey}`);
  log('signed checkpoint:');
  for (const line of checkpoint.trimEnd().split('\n')) log(`  ${line}`);

  const read = (ref: TileRef) => tiles.get(tilePath(ref));
  const index = Math.floor(size / 2);
  const inclusion = ProofNodes.inclusion(index, size);
  const proof = inclusion.rehash(hashesFromTiles(inclusion.ids, size, read));
  check(`inclusion proof for entry ${index} (${proof.length} hashes, ${inclusion.ids.length} read from tiles) verifies`, verifies(() => verifyInclusion(index, size, entries[index]!.leafHash, proof, range.root())));
  const size1 = Math.max(1, Math.floor(size * 0.6));
  const consistency = ProofNodes.consistency(size1, size);
  const cproof = consistency.rehash(hashesFromTiles(consistency.ids, size, read));
  const root1 = CompactRange.from(0, size1, hashesFromTiles(rangeNodes(0, size1), size, read)).root();
  check(`consistency proof ${size1} → ${size} verifies`, verifies(() => verifyConsistency(size1, size, cproof, root1, range.root())));
  const sample = entries[index]!;
  const plaintext = openPayload(sample.entry.payload, dek, { tenant, recordId: sample.entry.recordId, idempotencyKey: sample.entry.idempotencyKey });
  check(`entry ${index} decrypts: ${Buffer.from(plaintext).toString('utf8')}`, plaintext.length > 0);

  const stored = entries.map((e) => Buffer.from(e.bytes));
  const clean = verifyLog(stored, { tenant, origin, verifier, checkpoint });
  check(`full verification: root ${clean.root?.slice(0, 16)}… matches the signed checkpoint, no findings`, clean.ok && clean.root === toHex(range.root()));

  const victim = Math.floor(size / 3);
  const tampered = stored.map((b) => Buffer.from(b));
  const at = tampered[victim]!.indexOf('"ct":"') + 8;
  tampered[victim]![at] = tampered[victim]![at] === 0x41 ? 0x42 : 0x41;
  const report = verifyLog(tampered, { tenant, origin, verifier, checkpoint });
  for (const f of report.findings) log(`     finding ${f.kind}: ${f.message}`);
  check(`one byte changed in stored entry ${victim}: caught and located`, report.findings.some((f) => f.kind === 'MODIFIED_ENTRY' && f.position === victim));
  log(ok ? 'self-check passed' : 'self-check FAILED');
  return ok;
}

function verifies(run: () => void): boolean {
  try {
    run();
    return true;
  } catch {
    return false;
  }
}
