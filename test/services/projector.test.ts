import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresProjectionReader, PostgresProjectionWriter } from '../../lambdas/adapters/postgres/postgres-projection-store.js';
import { openPostgres } from '../../lambdas/adapters/postgres/postgres-database.js';
import { toHex } from '../../lambdas/core/bytes.js';
import { decodeEntry } from '../../lambdas/core/ledger-entry.js';
import { openJson } from '../../lambdas/core/payload-envelope.js';
import type { LedgerChange } from '../../lambdas/ports/change-stream.js';
import { ChangeConflictError } from '../../lambdas/ports/errors.js';
import { Projector } from '../../lambdas/services/projector.js';
import { startPostgres, type PostgresHandle, type TestDatabase } from '../support/postgres.js';
import { keyedLedger, type KeyedLedger } from './projector-fixtures.js';

let pg: PostgresHandle;
let fx: KeyedLedger;
let changes: LedgerChange[];

beforeAll(async () => {
  pg = await startPostgres();
  fx = await keyedLedger();
  await fx.append('acme', [{ stream: 'decisions', recordId: 'd-1', payload: { decision: 'approve', amount: 1e21 } }]);
  await fx.append('acme', [{ stream: 'decisions', recordId: 'd-1', payload: { decision: 'reject', note: 'ünïcode ✓' } }, { stream: 'policies', recordId: 'p-1', payload: [1, 'two'] }]);
  await fx.ledger.appendSystem('acme', { kind: 'key-rotation', details: { kekVersion: 2 } }, 'user:dpo');
  await fx.append('acme', [{ stream: 'decisions', recordId: 'd-1', operation: 'DELETE', payload: null }]);
  for (let i = 0; i < 5; i++) await fx.append('acme', [{ stream: 'audit', recordId: `a-${i}`, payload: { i } }]);
  changes = await fx.changes('acme'); // 10 entries
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  await fx?.cleanup();
});

async function fresh(): Promise<{ db: TestDatabase; projector: Projector; reader: PostgresProjectionReader }> {
  const db = await pg.database();
  return { db, projector: new Projector(new PostgresProjectionWriter(db.projector), fx.keys), reader: new PostgresProjectionReader(db.reader) };
}

/** Every stored row of the tenant, as the superuser sees it. */
const dump = (db: TestDatabase, tenant = 'acme') => db.admin.selectFrom('govledger.entries').selectAll().where('tenant', '=', tenant).orderBy('position').execute();

/** Runs a statement with triggers off (superuser): what an attacker with the database would do. */
const tamper = (db: TestDatabase, statement: ReturnType<typeof sql>) =>
  db.admin.transaction().execute(async (tx) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(tx);
    await statement.execute(tx);
  });

describe('Projector.apply', () => {
  it('stores each entry once, with the fields of its bytes and its payload decrypted (SYSTEM payloads in clear)', async () => {
    // Prepare
    const { db, projector, reader } = await fresh();
    // Act
    await projector.apply(changes);
    // Assess
    const rows = await dump(db);
    expect(rows.map((r) => r.position)).toEqual(changes.map((c) => c.position));
    for (const [i, row] of rows.entries()) {
      const { entry, leafHash } = decodeEntry(changes[i]!.entry);
      expect(row).toMatchObject({ record_id: entry.recordId, revision: entry.revision, operation: entry.operation, stream: entry.stream, actor: entry.actor, entry_timestamp: entry.timestamp });
      expect(toHex(row.leaf_hash)).toBe(toHex(leafHash));
      expect(Buffer.from(row.entry).equals(Buffer.from(changes[i]!.entry))).toBe(true);
      if ('system' in entry.payload) expect([row.payload_state, JSON.parse(row.payload!)]).toEqual(['clear', entry.payload]);
      else expect([row.payload_state, JSON.parse(row.payload!)]).toEqual(['decrypted', openJson(entry.payload, await fx.keys.dataKeyForRead('acme', entry.payload.kid, entry.payload.kv), entry)]);
    }
    expect(JSON.parse(rows[1]!.payload!)).toEqual({ decision: 'reject', note: 'ünïcode ✓' });
    expect(await reader.projectedThrough('acme')).toBe(9);
  });

  it('is idempotent: redelivering every change, and overlapping slices, changes nothing', async () => {
    // Prepare
    const { db, projector, reader } = await fresh();
    await projector.apply(changes);
    const before = await dump(db);
    // Act
    await projector.apply(changes);
    await projector.apply(changes.slice(3, 7));
    await projector.apply([changes[2]!, changes[2]!, changes[3]!]);
    // Assess
    expect(await dump(db)).toEqual(before);
    expect(await reader.projectedThrough('acme')).toBe(9);
  });

  it('accepts reordered delivery: projectedThrough stops at the first gap and moves over it once filled', async () => {
    // Prepare
    const { projector, reader } = await fresh();
    const seen: number[] = [];
    // Act
    for (const slice of [[7, 10], [1, 3], [5, 7], [0, 1], [3, 5]] as const) {
      await projector.apply(changes.slice(...slice));
      seen.push(await reader.projectedThrough('acme'));
    }
    // Assess
    expect(seen).toEqual([-1, -1, -1, 2, 9]);
  });

  it('converges when two projectors deliver interleaved changes concurrently', async () => {
    // Prepare
    const { db, projector, reader } = await fresh();
    const other = new Projector(new PostgresProjectionWriter(openPostgres(db.logins.projector)), fx.keys);
    const odd = changes.filter((c) => c.position % 2 === 1);
    const even = changes.filter((c) => c.position % 2 === 0);
    // Act
    await Promise.all([...odd.map((c) => projector.apply([c])), ...even.map((c) => other.apply([c]))]);
    // Assess
    expect(await reader.projectedThrough('acme')).toBe(9);
    expect((await dump(db)).length).toBe(10);
  });

  it('refuses other bytes for a stored position with ChangeConflictError and keeps the stored row', async () => {
    // Prepare
    const { db, projector } = await fresh();
    await projector.apply(changes);
    const before = await dump(db);
    const forkFx = await keyedLedger();
    await forkFx.append('acme', [{ stream: 'decisions', recordId: 'd-1', payload: { decision: 'forged' } }]);
    const [fork] = await forkFx.changes('acme');
    const forked = new Projector(new PostgresProjectionWriter(db.projector), forkFx.keys);
    // Act
    const error = await forked.apply([fork!]).then(() => undefined, (e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(ChangeConflictError);
    expect(error).toMatchObject({ code: 'CHANGE_CONFLICT', consumer: 'projection', tenant: 'acme', position: 0 });
    expect(await dump(db)).toEqual(before);
    await forkFx.cleanup();
  });

  it('refuses a change whose bytes are not the entry of its tenant, position and leaf hash, storing nothing', async () => {
    // Prepare
    const { db, projector } = await fresh();
    const c = changes[4]!;
    // Act
    const results = await Promise.all(
      [{ ...c, position: 5 }, { ...c, tenant: 'globex' }, { ...c, leafHash: changes[5]!.leafHash }, { ...c, entry: Buffer.from(' ' + Buffer.from(c.entry).toString()) }].map((bad) =>
        projector.apply([bad]).then(() => undefined, (e: { code?: string }) => e.code),
      ),
    );
    // Assess
    expect(results).toEqual(['INVALID_ENTRY', 'INVALID_ENTRY', 'INVALID_ENTRY', 'INVALID_ENTRY']);
    expect(await db.admin.selectFrom('govledger.entries').select('position').execute()).toEqual([]);
  });
});

describe('Projector with a crypto-shredded tenant', () => {
  it('stores the payloads of a shredded tenant as null, keeps SYSTEM payloads, and still verifies every row', async () => {
    // Prepare
    const own = await keyedLedger();
    await own.append('acme', [{ stream: 'decisions', recordId: 'd-1', payload: { secret: 'gone soon' } }]);
    await own.keys.shred('acme', { actor: 'user:dpo', reason: 'contract ended' });
    await own.ledger.appendSystem('acme', { kind: 'crypto-shred', details: { reason: 'contract ended' } }, 'user:dpo');
    const { db } = await fresh();
    const projector = new Projector(new PostgresProjectionWriter(db.projector), own.keys);
    const shreddedChanges = await own.changes('acme');
    // Act
    await projector.apply(shreddedChanges);
    const hashes = await projector.leafHashes('acme', 0, Number.MAX_SAFE_INTEGER);
    // Assess
    expect((await dump(db)).map((r) => [r.payload_state, r.payload === null])).toEqual([['shredded', true], ['clear', false]]);
    expect([...hashes.values()]).toEqual(shreddedChanges.map((c) => c.leafHash));
    await own.cleanup();
  });
});

describe('Projector.leafHashes', () => {
  it('answers the ledger\'s leaf hashes for an intact copy, only for positions it holds, within [from, to)', async () => {
    // Prepare
    const { projector } = await fresh();
    await projector.apply([...changes.slice(0, 4), ...changes.slice(6)]);
    // Act
    const hashes = await projector.leafHashes('acme', 2, 9);
    // Assess
    expect([...hashes.entries()]).toEqual([2, 3, 6, 7, 8].map((p) => [p, changes[p]!.leafHash]));
    expect((await projector.leafHashes('globex', 0, 100)).size).toBe(0);
  });

  it.each([
    ['a served column', sql`UPDATE govledger.entries SET stream = 'forged' WHERE position = 1`, 1],
    ['a revision', sql`UPDATE govledger.entries SET revision = 7 WHERE position = 2`, 2],
    ['a decrypted payload', sql`UPDATE govledger.entries SET payload = '{"decision":"approve","amount":2e21}' WHERE position = 0`, 0],
    ['a clear SYSTEM payload', sql`UPDATE govledger.entries SET payload = '{"system":{"kind":"forged","details":{}}}' WHERE position = 3`, 3],
    ['the entry bytes', sql`UPDATE govledger.entries SET entry = entry || '\\x20'::bytea WHERE position = 5`, 5],
    ['the stored leaf hash', sql`UPDATE govledger.entries SET leaf_hash = sha256('x') WHERE position = 6`, 6],
    ['payload withheld as if shredded', sql`UPDATE govledger.entries SET payload = NULL, payload_state = 'shredded' WHERE position = 7`, 7],
    ['envelope', sql`UPDATE govledger.entries SET envelope = '{}' WHERE position = 8`, 8],
  ])('answers another hash for a row with %s altered in the database', async (_what, statement, position) => {
    // Prepare
    const { db, projector } = await fresh();
    await projector.apply(changes);
    // Act
    await tamper(db, statement);
    const hashes = await projector.leafHashes('acme', 0, Number.MAX_SAFE_INTEGER);
    // Assess
    const differ = [...hashes].filter(([p, h]) => h !== changes[p]!.leafHash).map(([p]) => p);
    expect(differ).toEqual([position]);
    expect(hashes.size).toBe(10);
  });

  it('verifies purged rows once the keys are shredded, and flags them while the keys could still open them', async () => {
    // Prepare
    const own = await keyedLedger();
    await own.append('acme', [{ stream: 'decisions', recordId: 'd-1', payload: { a: 1 } }, { stream: 'decisions', recordId: 'd-2', payload: { b: 2 } }]);
    await own.ledger.appendSystem('acme', { kind: 'note', details: {} }, 'user:dpo');
    const ownChanges = await own.changes('acme');
    const { db } = await fresh();
    const projector = new Projector(new PostgresProjectionWriter(db.projector), own.keys);
    await projector.apply(ownChanges);
    // Act
    const purged = await new PostgresProjectionWriter(db.purger).purgePayloads('acme');
    const early = await projector.leafHashes('acme', 0, Number.MAX_SAFE_INTEGER);
    await own.keys.shred('acme', { actor: 'user:dpo', reason: 'erasure' });
    const after = await projector.leafHashes('acme', 0, Number.MAX_SAFE_INTEGER);
    // Assess
    expect(purged).toBe(2); // every entry but the SYSTEM one
    expect([...early.values()].map((h, p) => h === ownChanges[p]!.leafHash)).toEqual([false, false, true]);
    expect([...after.values()]).toEqual(ownChanges.map((c) => c.leafHash));
    await own.cleanup();
  });
});
