import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLedgerStore } from '../../lambdas/adapters/fake/memory-ledger-store.js';
import { PostgresChangeCursors } from '../../lambdas/adapters/postgres/postgres-change-cursors.js';
import { PostgresProjectionReader, PostgresProjectionWriter } from '../../lambdas/adapters/postgres/postgres-projection-store.js';
import { toHex } from '../../lambdas/core/bytes.js';
import { decodeEntry } from '../../lambdas/core/ledger-entry.js';
import { openJson } from '../../lambdas/core/payload-envelope.js';
import type { ChangeConsumer, LedgerChange } from '../../lambdas/ports/change-stream.js';
import { LedgerUnavailableError } from '../../lambdas/ports/errors.js';
import type { ChangeCursorStore } from '../../lambdas/ports/projection-store.js';
import { ChangeTailer, type ChangeTailerOptions } from '../../lambdas/services/change-tailer.js';
import { Projector } from '../../lambdas/services/projector.js';
import { LedgerLog } from '../support/ledger-log.js';
import { startPostgres, type PostgresHandle, type TestDatabase } from '../support/postgres.js';
import { keyedLedger, type KeyedLedger } from './projector-fixtures.js';

let pg: PostgresHandle;
let fx: KeyedLedger;

beforeAll(async () => {
  pg = await startPostgres();
  fx = await keyedLedger();
  for (let i = 0; i < 12; i++) await fx.append('acme', [{ stream: 'decisions', recordId: `d-${i % 4}`, payload: { i } }, { stream: 'audit', payload: { i } }]);
  await fx.append('globex', [{ stream: 'decisions', recordId: 'g-1', payload: 'other tenant' }]);
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  await fx?.cleanup();
});

/** A consumer that records every position it was handed, per call. */
class Recorder implements ChangeConsumer {
  readonly calls: number[][] = [];
  constructor(readonly name = 'recorder') {}
  async apply(changes: readonly LedgerChange[]): Promise<void> {
    this.calls.push(changes.map((c) => c.position));
  }
  positions(): number[] {
    return this.calls.flat();
  }
}

interface Rig {
  readonly db: TestDatabase;
  readonly projector: Projector;
  readonly reader: PostgresProjectionReader;
  readonly cursors: PostgresChangeCursors;
  tailer(consumers: readonly ChangeConsumer[], options?: ChangeTailerOptions & { cursors?: ChangeCursorStore; ledger?: MemoryLedgerStore }): ChangeTailer;
}

const errors: Array<[string, unknown]> = [];
const quiet = { onError: (tenant: string, error: unknown) => void errors.push([tenant, error]) };

async function rig(): Promise<Rig> {
  const db = await pg.database();
  const cursors = new PostgresChangeCursors(db.projector);
  return {
    db,
    projector: new Projector(new PostgresProjectionWriter(db.projector), fx.keys),
    reader: new PostgresProjectionReader(db.reader),
    cursors,
    tailer: (consumers, options = {}) => new ChangeTailer(options.ledger ?? fx.store, consumers, options.cursors ?? cursors, { ...quiet, ...options }),
  };
}

const rowsOf = (db: TestDatabase) => db.admin.selectFrom('govledger.entries').selectAll().orderBy('tenant').orderBy('position').execute();

describe('ChangeTailer', () => {
  it('finds every tenant at start and delivers each one\'s ledger to every consumer, in order, maxChanges at a time', async () => {
    // Prepare
    const { projector, reader, cursors, tailer } = await rig();
    const recorder = new Recorder();
    const t = tailer([projector, recorder], { maxChanges: 10 });
    // Act
    await t.start();
    await t.catchUp('acme');
    await t.catchUp('globex');
    await t.stop();
    // Assess
    expect([await reader.projectedThrough('acme'), await reader.projectedThrough('globex')]).toEqual([23, 0]);
    expect(recorder.calls.filter((c) => c.length > 1).map((c) => c.length)).toEqual([10, 10, 4]);
    expect([...(await cursors.get('acme', ['projection', 'recorder'])).values()]).toEqual([24, 24]);
  });

  it('makes an append queryable within a second after notify, and by polling alone', async () => {
    // Prepare
    const own = await keyedLedger();
    const { db } = await rig();
    const reader = new PostgresProjectionReader(db.reader, { pollMs: 10 });
    const t = new ChangeTailer(own.store, [new Projector(new PostgresProjectionWriter(db.projector), own.keys)], new PostgresChangeCursors(db.projector), { ...quiet, pollMs: 500 });
    await t.start();
    // Act
    const [notified] = await own.append('acme', [{ stream: 'decisions', payload: 1 }]);
    const started = Date.now();
    t.notify('acme');
    await reader.waitFor('acme', notified!.position, 1000);
    const notifyLag = Date.now() - started;
    const [polled] = await own.append('acme', [{ stream: 'decisions', payload: 2 }]);
    await reader.waitFor('acme', polled!.position, 1000);
    await t.stop();
    // Assess
    expect(notifyLag).toBeLessThan(1000);
    await own.cleanup();
  });

  it('after a crash between a consumer\'s apply and its cursor write, redelivers on restart: no gap, no row twice', async () => {
    // Prepare
    const { db, projector, reader, cursors, tailer } = await rig();
    let dead = false;
    const crashing: ChangeCursorStore = {
      get: (tenant, names) => cursors.get(tenant, names),
      put: async (consumer, tenant, next) => {
        dead ||= next > 10; // the process dies once the second chunk is applied, before any of its cursor writes
        if (dead) throw new Error('process killed after the apply, before the cursor write');
        await cursors.put(consumer, tenant, next);
      },
    };
    const recorder = new Recorder();
    const first = tailer([projector, recorder], { maxChanges: 10, cursors: crashing });
    await first.catchUp('acme').catch(() => undefined);
    await first.stop();
    const stuck = [...(await cursors.get('acme', ['projection', 'recorder'])).values()];
    // Act
    const second = tailer([projector, recorder], { maxChanges: 10 });
    await second.catchUp('acme');
    await second.stop();
    // Assess
    expect(stuck).toEqual([10, 10]); // the crashed writes never landed
    const rows = await rowsOf(db);
    expect(rows.map((r) => r.position)).toEqual([...Array(24).keys()]);
    expect(await reader.projectedThrough('acme')).toBe(23);
    expect(new Set(recorder.positions())).toEqual(new Set([...Array(24).keys()])); // at least once…
    expect(recorder.positions().length).toBeGreaterThan(24); // …with the crashed chunk delivered twice
    expect([...(await cursors.get('acme', ['projection', 'recorder'])).values()]).toEqual([24, 24]);
  });

  it('delivers nothing twice across a clean restart, and only what was appended meanwhile', async () => {
    // Prepare
    const own = await keyedLedger();
    await own.append('acme', [{ stream: 'decisions', payload: 1 }]);
    const { cursors } = await rig();
    const recorder = new Recorder();
    const first = new ChangeTailer(own.store, [recorder], cursors, quiet);
    await first.catchUp('acme');
    await first.stop();
    await own.append('acme', [{ stream: 'decisions', payload: 2 }, { stream: 'decisions', payload: 3 }]);
    // Act
    const second = new ChangeTailer(own.store, [recorder], cursors, quiet);
    await second.start();
    await second.catchUp('acme');
    await second.stop();
    // Assess
    expect(recorder.calls).toEqual([[0], [1, 2]]);
    await own.cleanup();
  });

  it('keeps delivering to healthy consumers when one fails, and retries the failing one', async () => {
    // Prepare
    const { reader, projector, cursors, tailer } = await rig();
    let failures = 2;
    const flaky: ChangeConsumer = {
      name: 'flaky',
      apply: async () => {
        if (failures-- > 0) throw new LedgerUnavailableError('downstream unavailable');
      },
    };
    errors.length = 0;
    const t = tailer([projector, flaky], { retryMs: 50, pollMs: 20 });
    // Act
    await t.catchUp('acme').catch(() => undefined);
    const projectedFirst = await reader.projectedThrough('acme');
    await t.start(); // polls, retrying the failed consumer after retryMs
    for (let i = 0; i < 100 && (await cursors.get('acme', ['flaky'])).get('flaky') !== 24; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await t.stop();
    // Assess
    expect(projectedFirst).toBe(23);
    expect(errors.filter(([tenant]) => tenant === 'acme').map(([, e]) => (e as Error).message)).toEqual(['downstream unavailable', 'downstream unavailable']);
    expect((await cursors.get('acme', ['flaky'])).get('flaky')).toBe(24);
  });

  it('never lists tenants twice at once, however long a listing takes (a full table scan at scale)', async () => {
    // Prepare: a listing that takes 60 ms, polled every 5 ms with a 10 ms discovery interval
    const { tailer } = await rig();
    let running = 0;
    let most = 0;
    let listings = 0;
    const slow = new Proxy(fx.store, {
      get: (target, property, receiver) =>
        property === 'tenants'
          ? async function* () {
              listings++;
              most = Math.max(most, ++running);
              await new Promise((resolve) => setTimeout(resolve, 60));
              try {
                yield* target.tenants();
              } finally {
                running--;
              }
            }
          : Reflect.get(target, property, receiver),
    });
    const t = tailer([new Recorder()], { ledger: slow, pollMs: 5, discoverMs: 10 });
    // Act
    await t.start();
    await new Promise((resolve) => setTimeout(resolve, 400));
    await t.stop();
    // Assess
    expect(listings).toBeGreaterThanOrEqual(3);
    expect(most).toBe(1);
    expect(running).toBe(0);
  });

  it('stops before a gap in the ledger and reports it, delivering everything before it', async () => {
    // Prepare
    const damaged = new MemoryLedgerStore();
    const log = new LedgerLog('acme');
    const batches = log.grow(9, 3); // [0,3) [3,6) [6,9)
    await damaged.appendBatch(batches[0]!);
    await damaged.appendBatch(batches[2]!); // [3,6) missing
    const { tailer } = await rig();
    const recorder = new Recorder();
    // Act
    const error = await tailer([recorder], { ledger: damaged }).catchUp('acme').then(() => undefined, (e: unknown) => e);
    // Assess
    expect(recorder.positions()).toEqual([0, 1, 2]);
    expect(error).toMatchObject({ code: 'INVALID_RANGE', message: expect.stringContaining('jumps from position 3 to 6') });
  });

  it('rebuilds the projection from scratch into an empty database, row for row what the ledger says', async () => {
    // Prepare
    const original = await rig();
    const t1 = original.tailer([original.projector]);
    await t1.start();
    for (const tenant of ['acme', 'globex']) await t1.catchUp(tenant);
    await t1.stop();
    const rebuilt = await rig();
    // Act
    const t2 = rebuilt.tailer([rebuilt.projector]);
    await t2.start();
    for (const tenant of ['acme', 'globex']) await t2.catchUp(tenant);
    await t2.stop();
    // Assess
    const strip = (rows: Awaited<ReturnType<typeof rowsOf>>) => rows.map(({ projected_at: _at, ...rest }) => rest);
    const rows = strip(await rowsOf(rebuilt.db));
    expect(rows).toEqual(strip(await rowsOf(original.db)));
    const ledger = [...(await fx.changes('acme')), ...(await fx.changes('globex'))];
    expect(rows).toHaveLength(ledger.length);
    for (const [i, change] of ledger.entries()) {
      const { entry, leafHash } = decodeEntry(change.entry);
      const row = rows[i]!;
      expect([row.tenant, row.position, row.record_id, row.revision, row.operation, row.stream, row.entry_timestamp]).toEqual([entry.tenant, entry.position, entry.recordId, entry.revision, entry.operation, entry.stream, entry.timestamp]);
      expect(toHex(row.leaf_hash)).toBe(toHex(leafHash));
      expect(Buffer.from(row.entry).equals(Buffer.from(change.entry))).toBe(true);
      if (!('system' in entry.payload)) {
        expect(JSON.parse(row.payload!)).toEqual(openJson(entry.payload, await fx.keys.dataKeyForRead(entry.tenant, entry.payload.kid, entry.payload.kv), entry));
      }
    }
  });
});
