/**
 * A synthetic tenant log for benchmarks: N canonical ~1 KiB entries, chained,
 * written once to a file as consecutive tlog-tiles bundle records (16-bit
 * length + bytes), with the signed checkpoint and tiles' worth of node hashes
 * kept beside it. The bytes are built from a template in canonical key order
 * (much faster than validating a million entries); a sample is decoded with
 * the strict `decodeEntry` so the template cannot drift from the format.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { originFor, signCheckpoint } from '../lambdas/core/checkpoint.js';
import { CompactRange } from '../lambdas/core/compact-range.js';
import { decodeEntry, formatTimestamp, GENESIS_PREV_HASH } from '../lambdas/core/ledger-entry.js';
import { hashLeaf } from '../lambdas/core/rfc9162-hasher.js';
import { Ed25519NoteSigner, generateSignerKeys } from '../lambdas/core/signed-note.js';

export const TENANT = 'bench';
export const ORIGIN = originFor('govledger.bench', TENANT);

export interface SyntheticLog {
  readonly file: string;
  readonly size: number;
  readonly bytes: number;
  readonly checkpoint: string;
  readonly rootHex: string;
  readonly verifierKey: string;
  /** Byte offset of every SEGMENT_STRIDE-th entry, for splitting the file into segments. */
  readonly offsets: readonly number[];
}

export const SEGMENT_STRIDE = 4096;

function entryText(position: number, prevHash: string, timestamp: string, ct: string): string {
  return (
    `{"actor":"user:auditor-${position % 97}","correlationId":"corr-${position}","generation":0,` +
    `"idempotencyKey":"idem-${position}","operation":"CREATE","payload":{"alg":"A256GCM",` +
    `"cm":"${ct.slice(0, 42)}A=","ct":"${ct}","iv":"${ct.slice(0, 16)}","kid":"bench/dek/1","kv":1},` +
    `"position":${position},"prevHash":"${prevHash}","recordId":"rec-${position}","revision":1,"signatures":[],` +
    `"stream":"decisions","tenant":"${TENANT}","timestamp":"${timestamp}","v":1}`
  );
}

/** Creates (or reuses) the synthetic log of `size` entries under `file`. */
export async function syntheticLog(file: string, size: number): Promise<SyntheticLog> {
  const meta = `${file}.json`;
  if (existsSync(file) && existsSync(meta)) {
    const saved = JSON.parse(readFileSync(meta, 'utf8')) as SyntheticLog;
    if (saved.size === size && saved.offsets !== undefined) return saved;
  }
  mkdirSync(dirname(file), { recursive: true });
  const keys = generateSignerKeys(ORIGIN);
  const signer = Ed25519NoteSigner.fromSignerKey(keys.signerKey);
  const range = CompactRange.empty();
  const fd = openSync(`${file}.tmp`, 'w');
  const chunk = Buffer.allocUnsafe(8 << 20);
  let used = 0;
  let total = 0;
  let prev = GENESIS_PREV_HASH;
  const offsets: number[] = [];
  let written = 0;
  const start = 1_790_000_000_000_000_000n;
  const pool = randomBytes(1 << 16).toString('base64');
  for (let i = 0; i < size; i++) {
    const offset = (i * 7919) % (pool.length - 900);
    const ct = pool.slice(offset, offset + 720).replace(/=/g, 'A');
    const bytes = Buffer.from(entryText(i, prev, formatTimestamp(start + BigInt(i) * 1000n), ct), 'utf8');
    if (i % 50_000 === 0) decodeEntry(bytes); // the template is a valid canonical entry
    const leaf = hashLeaf(bytes);
    range.append(leaf);
    prev = leaf.toString('hex');
    if (i % SEGMENT_STRIDE === 0) offsets.push(written + used);
    if (used + bytes.length + 2 > chunk.length) {
      written += used;
      writeSync(fd, chunk, 0, used);
      used = 0;
    }
    chunk.writeUInt16BE(bytes.length, used);
    bytes.copy(chunk, used + 2);
    used += bytes.length + 2;
    total += bytes.length;
  }
  writeSync(fd, chunk, 0, used);
  closeSync(fd);
  renameSync(`${file}.tmp`, file);
  const root = range.root();
  const checkpoint = await signCheckpoint({ origin: ORIGIN, size, rootHash: root }, signer);
  const log: SyntheticLog = { file, size, bytes: total, checkpoint, rootHex: Buffer.from(root).toString('hex'), verifierKey: keys.verifierKey, offsets };
  writeFileSync(meta, JSON.stringify(log));
  return log;
}
