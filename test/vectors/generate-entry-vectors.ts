/**
 * FROZEN. Generated `test/vectors/entry-v1.json` once; kept so the vectors' origin is
 * reviewable. The ledger entry format is stable (DESIGN §2): outside verifiers read it.
 * `test/core/entry-vectors.test.ts` checks that today's code reproduces every byte.
 *
 * Never regenerate to make that test pass. A change to the stable format is a deliberate,
 * reviewed act: new format version, new vector file (entry-v2.json), this one left as is.
 * The script therefore refuses to overwrite an existing file unless passed `--force`.
 *
 *   npx tsx test/vectors/generate-entry-vectors.ts [--force]
 *
 * Inputs are all fixed: the checkpoint key is the RFC 8032 §7.1 TEST 1 seed, the
 * approver key TEST 2, the DEK and IVs are literal bytes (sealPayloadWithIv), and each
 * batch is chained with chainEntries at a fixed clock (batch 2's clock is behind batch
 * 1's last timestamp, so max(now, previous + 1 ns) applies). Approver signatures are
 * opaque to the entry model: the Ed25519 ones sign the UTF-8 line built by
 * `approvalMessage`, the WebAuthn one is a fixed placeholder.
 */
import { createPrivateKey, createHash, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import canonicalize from 'canonicalize';
import { toBase64, toHex } from '../../lambdas/core/bytes.js';
import { signCheckpoint } from '../../lambdas/core/checkpoint.js';
import { CompactRange } from '../../lambdas/core/compact-range.js';
import { EntryBundleBuilder } from '../../lambdas/core/entry-bundle.js';
import { chainEntries, genesisTip, parseTimestamp, type EntryDraft, type Signature } from '../../lambdas/core/ledger-entry.js';
import { prepareDataKey, sealPayloadWithIv } from '../../lambdas/core/payload-envelope.js';
import { Ed25519NoteSigner, encodeSignerKey } from '../../lambdas/core/signed-note.js';
import { TileBuilder } from '../../lambdas/core/tile-builder.js';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'entry-v1.json');

const TENANT = 'acme-corp';
const ORIGIN = `govledger.test/${TENANT}`;
/** RFC 8032 §7.1 TEST 1 secret key: a published test key, never a real one. */
const CHECKPOINT_SEED_HEX = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
/** RFC 8032 §7.1 TEST 2 secret key, for approvers' detached signatures. */
const APPROVER_SEED_HEX = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb';
const DATA_KEY = { id: 'acme-corp/dek/2026-01', version: 1, keyHex: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' };

/** A draft as stored in the vectors: a sealed payload is given as its JSON value and IV. */
type SealedInput = { sealJson: unknown; ivHex: string };
type DraftInput = Omit<EntryDraft, 'payload'> & { payload: SealedInput | { system: { kind: string; details: Record<string, unknown> } } };

const approverKey = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(APPROVER_SEED_HEX, 'hex')]),
  format: 'der',
  type: 'pkcs8',
});
const approvalMessage = (recordId: string, revision: number) => `govledger-vectors approval ${TENANT}/${recordId} revision ${revision}`;
const approval = (recordId: string, revision: number): Signature => ({
  signer: 'user:dana.okafor@acme.example',
  keyId: 'approver-key-2026',
  alg: 'Ed25519',
  sig: toBase64(sign(null, Buffer.from(approvalMessage(recordId, revision), 'utf8'), approverKey)),
});
const webauthn: Signature = {
  signer: 'user:li.wei@acme.example',
  keyId: 'passkey-7',
  alg: 'WebAuthn',
  sig: toBase64(createHash('sha512').update('govledger-vectors webauthn placeholder signature').digest()),
  authenticatorData: toBase64(Buffer.concat([createHash('sha256').update('approvals.acme.example').digest(), Buffer.from([0x05, 0, 0, 0, 42])])),
  clientDataJSON: toBase64(Buffer.from('{"type":"webauthn.get","challenge":"Z292bGVkZ2Vy","origin":"https://approvals.acme.example"}', 'utf8')),
};
const common = { correlationId: 'corr-2026-0115-a', actor: 'user:alice@acme.example' };

const batches: { now: string; drafts: DraftInput[] }[] = [
  {
    now: '2026-01-15T09:30:00.123456789Z',
    drafts: [
      {
        ...common, stream: 'system', recordId: 'log', revision: 1, operation: 'SYSTEM', actor: 'system:govledger',
        idempotencyKey: 'sys-log-created', signatures: [],
        payload: {
          system: {
            kind: 'log-created',
            details: {
              displayName: 'ACME Corp — Zürich 東京 🚀',
              escapes: 'tab\there\nnewline \u0007bell \u007fdel "quoted" back\\slash </script> \u2028',
              numbers: [0, -1, 0.5, 1e21, 1e-7, 333333333.3333333, 9007199254740991],
              labels: { b: 1, a: 2, 'é': 3, '😀': 4, '\ufb33': 5, '10': 6, '2': 7, '': 8 },
              flags: { enabled: true, archived: false, parent: null },
            },
          },
        },
      },
      {
        ...common, stream: 'policies', recordId: 'pol-0001', revision: 1, operation: 'CREATE',
        idempotencyKey: 'idem-pol-0001-r1', signatures: [],
        payload: {
          sealJson: { title: 'Política de protección de datos', owner: 'Zoë Ångström', tags: ['gdpr', 'dsgvo', 'プライバシー'], effective: '2026-02-01' },
          ivHex: '101112131415161718191a1b',
        },
      },
      {
        ...common, stream: 'policies', recordId: 'pol-0001', revision: 2, operation: 'UPDATE',
        idempotencyKey: 'idem-pol-0001-r2', signatures: [approval('pol-0001', 2)],
        payload: {
          sealJson: { title: 'Política de protección de datos', owner: 'Zoë Ångström', retentionDays: 3650, change: 'Aufbewahrung ergänzt' },
          ivHex: '202122232425262728292a2b',
        },
      },
    ],
  },
  {
    // The clock is behind the last timestamp of the previous batch.
    now: '2026-01-15T09:29:59.999999999Z',
    drafts: [
      {
        ...common, stream: 'decisions', recordId: 'dec-2026-0001', revision: 1, operation: 'CREATE', correlationId: 'corr-2026-0115-b',
        idempotencyKey: 'idem-dec-2026-0001', signatures: [approval('dec-2026-0001', 1), webauthn],
        payload: {
          sealJson: { decision: 'approve', subject: 'pol-0001', '理由': 'Konform mit Art. 5 DSGVO ✓', votes: { for: 5, against: 0 } },
          ivHex: '303132333435363738393a3b',
        },
      },
    ],
  },
  {
    now: '2026-02-01T12:00:00.000000001Z',
    drafts: [
      {
        ...common, stream: 'policies', recordId: 'pol-0001', revision: 3, operation: 'DELETE', correlationId: 'corr-2026-0201-a',
        idempotencyKey: 'idem-pol-0001-r3', signatures: [],
        payload: { sealJson: { reason: 'superseded by pol-0002 — ersetzt', by: 'Zoë Ångström' }, ivHex: '404142434445464748494a4b' },
      },
      {
        ...common, stream: 'system', recordId: 'keys', revision: 1, operation: 'SYSTEM', actor: 'system:govledger', correlationId: 'corr-2026-0201-b',
        idempotencyKey: 'sys-dek-rotated-2026-02', signatures: [],
        payload: {
          system: {
            kind: 'dek-rotated',
            details: { from: { kid: 'acme-corp/dek/2026-01', kv: 1 }, to: { kid: 'acme-corp/dek/2026-02', kv: 1 }, reason: 'scheduled' },
          },
        },
      },
    ],
  },
];

async function main(): Promise<void> {
  const force = process.argv.includes('--force');
  const dek = prepareDataKey({ id: DATA_KEY.id, version: DATA_KEY.version, key: Buffer.from(DATA_KEY.keyHex, 'hex') });
  const toDraft = (d: DraftInput): EntryDraft => {
    if (!('sealJson' in d.payload)) return d as EntryDraft;
    const plaintext = Buffer.from(canonicalize(d.payload.sealJson)!, 'utf8');
    const payload = sealPayloadWithIv(plaintext, dek, { tenant: TENANT, recordId: d.recordId, idempotencyKey: d.idempotencyKey }, Buffer.from(d.payload.ivHex, 'hex'));
    return { ...d, payload };
  };

  let tip = genesisTip(TENANT);
  const encoded = [];
  for (const batch of batches) {
    const result = chainEntries(tip, batch.drafts.map(toDraft), parseTimestamp(batch.now)!);
    encoded.push(...result.entries);
    tip = result.tip;
  }

  const range = CompactRange.empty();
  const tiles = new TileBuilder(0, new Map());
  const bundles = new EntryBundleBuilder(0);
  const roots = encoded.map((e, i) => {
    range.append(e.leafHash, tiles.visitor);
    bundles.add(e.bytes);
    return { size: i + 1, rootHex: toHex(range.root()) };
  });
  const [tile, ...moreTiles] = tiles.changedTiles();
  const [bundle, ...moreBundles] = bundles.changedBundles();
  if (!tile || !bundle || moreTiles.length > 0 || moreBundles.length > 0) throw new Error('expected one tile and one bundle');

  const seed = Buffer.from(CHECKPOINT_SEED_HEX, 'hex');
  const signer = Ed25519NoteSigner.fromSignerKey(encodeSignerKey(ORIGIN, seed));
  const rootHash = range.root();
  const note = await signCheckpoint({ origin: ORIGIN, size: encoded.length, rootHash }, signer);

  const vectors = {
    about: 'Frozen known answers for the govledger ledger entry format v1 (DESIGN §2). Generated once by test/vectors/generate-entry-vectors.ts, checked by test/core/entry-vectors.test.ts. Do not regenerate: a change here is a change to the stable format.',
    inputs: {
      tenant: TENANT,
      generation: 0,
      origin: ORIGIN,
      checkpointSignerSeedHex: CHECKPOINT_SEED_HEX,
      checkpointSignerSeedSource: 'RFC 8032 §7.1 TEST 1 secret key',
      dataKey: DATA_KEY,
      batches: batches.map((b) => ({ now: b.now, nowNanos: parseTimestamp(b.now)!.toString(), drafts: b.drafts })),
    },
    entries: encoded.map((e) => ({
      position: e.entry.position,
      entry: e.entry,
      canonicalUtf8: Buffer.from(e.bytes).toString('utf8'),
      canonicalBase64: toBase64(e.bytes),
      leafHashHex: toHex(e.leafHash),
    })),
    roots,
    checkpoint: { size: encoded.length, rootHex: toHex(rootHash), vkey: signer.verifierKey, note },
    tile: { path: tile.path, base64: toBase64(tile.bytes) },
    bundle: { path: bundle.path, base64: toBase64(bundle.bytes) },
  };

  try {
    writeFileSync(OUT, `${JSON.stringify(vectors, null, 2)}\n`, { flag: force ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    console.error(`${path.relative(process.cwd(), OUT)} exists and is frozen; pass --force only for a reviewed format change.`);
    process.exit(1);
  }
  console.log(`wrote ${path.relative(process.cwd(), OUT)}: ${encoded.length} entries, root ${vectors.checkpoint.rootHex}`);
}

await main();
