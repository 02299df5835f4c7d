/**
 * Payload encryption benchmark (issue: the key hierarchy).
 *
 *   npm run bench -- crypto
 *
 * Seals N 1 KiB JSON payloads the way a write does: DEK from the key service's
 * cache, AES-256-GCM under the DEK's derived key with the AAD, plus the
 * HMAC-SHA-256 commitment (`sealPayload`). Baseline in the same run: raw
 * node:crypto AES-256-GCM over the same bytes, the plain way (key bytes and a
 * `randomBytes(12)` nonce per call); also the floor with a pre-built KeyObject
 * and pre-drawn nonces. envelope_ratio = baseline time / envelope time
 * (target ≥ 0.5). Also the cold
 * path: one DEK fetch that misses the cache (a key-store read and an AES-GCM
 * unwrap, with the KEK already cached) and one that also unwraps the KEK
 * through the local master key, in µs.
 */
import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealPayload } from '../lambdas/core/payload-envelope.js';
import { MemoryKeyStore } from '../lambdas/adapters/fake/memory-key-store.js';
import { FileMasterKey } from '../lambdas/adapters/local/file-master-key.js';
import { KeyService, periodOf } from '../lambdas/services/key-service.js';
import { recordResults } from './results.js';

const N = Number(process.env.BENCH_CRYPTO_N ?? 200_000);
const ROUNDS = 5;

function best(run: () => void): number {
  let min = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    run();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return min;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'govledger-bench-'));
  try {
    const master = await FileMasterKey.open(dir, { create: true });
    const store = new MemoryKeyStore();
    const keys = new KeyService(store, master);
    const tenant = 'bench';
    const payload = Buffer.from(JSON.stringify({ text: 'x'.repeat(1000) }).slice(0, 1024));
    const contexts = Array.from({ length: 1024 }, (_, i) => ({ tenant, recordId: `rec-${i}`, idempotencyKey: `idem-${i}` }));
    await keys.dataKeyForWrite(tenant); // warm: KEK and DEK created and cached

    const ivs = randomBytes(12 * 1024);
    const rawKey = randomBytes(32);
    const rawKeyObject = createSecretKey(rawKey);
    const rawStrict = best(() => {
      for (let i = 0; i < N; i++) {
        const cipher = createCipheriv('aes-256-gcm', rawKeyObject, ivs.subarray((i % 1024) * 12, (i % 1024) * 12 + 12));
        cipher.setAAD(payload.subarray(0, 64));
        cipher.update(payload);
        cipher.final();
        cipher.getAuthTag();
      }
    });
    const raw = best(() => {
      for (let i = 0; i < N; i++) {
        const cipher = createCipheriv('aes-256-gcm', rawKey, randomBytes(12));
        cipher.setAAD(payload.subarray(0, 64));
        cipher.update(payload);
        cipher.final();
        cipher.getAuthTag();
      }
    });
    // The key lookup is async in the service; resolve it per payload as a write does.
    let envelopeMs = Number.POSITIVE_INFINITY;
    for (let r = 0; r < ROUNDS; r++) {
      const s = process.hrtime.bigint();
      for (let i = 0; i < N; i++) sealPayload(payload, await keys.dataKeyForWrite(tenant), contexts[i % contexts.length]!);
      envelopeMs = Math.min(envelopeMs, Number(process.hrtime.bigint() - s) / 1e6);
    }

    // Cold paths: DEKs of 240 other months, read by fresh services.
    let month = new Date(Date.UTC(2000, 0, 15));
    const writer = new KeyService(store, master, { clock: () => month });
    const periods: string[] = [];
    for (let i = 0; i < 240; i++) {
      month = new Date(Date.UTC(2000, i, 15));
      periods.push(periodOf(month));
      await writer.dataKeyForWrite(tenant);
    }
    const coldKek: number[] = [];
    const coldDek: number[] = [];
    for (let s = 0; s < 20; s++) {
      const reader = new KeyService(store, master);
      for (let i = 0; i < 12; i++) {
        const a = process.hrtime.bigint();
        await reader.dataKeyForRead(tenant, periods[s * 12 + i]!, 1);
        (i === 0 ? coldKek : coldDek).push(Number(process.hrtime.bigint() - a) / 1e3);
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const ratio = raw / envelopeMs;
    const lines = [
      `payloads: ${N} × ${payload.length} B, best of ${ROUNDS}`,
      `raw AES-256-GCM:        ${raw.toFixed(0)} ms  ${((N / raw) * 1000).toFixed(0)} payloads/s  (createCipheriv with the key bytes and randomBytes(12) per payload)`,
      `raw, pre-built key and nonces: ${rawStrict.toFixed(0)} ms  ${((N / rawStrict) * 1000).toFixed(0)} payloads/s  (the floor: no key parsing, no RNG call)`,
      `envelope (cached DEK):  ${envelopeMs.toFixed(0)} ms  ${((N / envelopeMs) * 1000).toFixed(0)} payloads/s  (${((envelopeMs * 1000) / N).toFixed(2)} µs each, commitment and AAD included)`,
      `cold DEK (KEK cached):  ${median(coldDek).toFixed(1)} µs median (key-store read + AES-GCM unwrap + HKDF)`,
      `cold DEK + KEK unwrap:  ${median(coldKek).toFixed(1)} µs median (local master key; KMS adds a network round trip)`,
      `envelope_ratio_vs_floor=${(rawStrict / envelopeMs).toFixed(2)}`,
      `envelope_ratio=${ratio.toFixed(2)}`,
    ];
    recordResults('crypto', 'npm run bench -- crypto', lines);
    console.log(lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
