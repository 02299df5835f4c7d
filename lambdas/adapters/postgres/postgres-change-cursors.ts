/**
 * The local change tailer's cursors in the projection database
 * (`govledger.change_cursors`, written by `govledger_projector`).
 *
 * Why here and not in a file of the data directory: the cursors then live
 * and die with the rows they describe. Deleting or restoring the database
 * takes its cursors along, so the tailer redelivers from where *that*
 * database stands (from 0 for a new one: a rebuild) and never skips rows a
 * file would claim were delivered. Writes are transactional and durable on
 * commit, with no temp-file-and-rename protocol of our own.
 */
import { sql } from 'kysely';
import type { ChangeCursorStore } from '../../ports/projection-store.js';
import { withPostgres, type ProjectionDb } from './postgres-database.js';

/**
 * @example
 * const cursors = new PostgresChangeCursors(openPostgres(projectorConfig));
 * await cursors.put('projection', 'acme', 120);
 * (await cursors.get('acme', ['projection'])).get('projection'); // → 120
 */
export class PostgresChangeCursors implements ChangeCursorStore {
  constructor(private readonly db: ProjectionDb) {}

  async get(tenant: string, consumers: readonly string[]): Promise<Map<string, number>> {
    const out = new Map(consumers.map((c) => [c, 0]));
    if (consumers.length === 0) return out;
    const rows = await withPostgres('change cursors', () =>
      this.db.selectFrom('govledger.change_cursors').select(['consumer', 'next_position']).where('tenant', '=', tenant).where('consumer', 'in', [...consumers]).execute(),
    );
    for (const row of rows) out.set(row.consumer, row.next_position);
    return out;
  }

  /** Upsert that keeps the greater position, so a late writer never moves a cursor back. */
  async put(consumer: string, tenant: string, next: number): Promise<void> {
    if (!Number.isSafeInteger(next) || next < 0) throw new RangeError(`cursor must be a whole number ≥ 0, got ${next}`);
    await withPostgres('change cursors', () =>
      this.db
        .insertInto('govledger.change_cursors')
        .values({ consumer, tenant, next_position: next })
        .onConflict((oc) =>
          oc.columns(['consumer', 'tenant']).doUpdateSet({
            next_position: sql<number>`GREATEST(govledger.change_cursors.next_position, excluded.next_position)`,
            updated_at: sql<Date>`clock_timestamp()`,
          }),
        )
        .execute(),
    );
  }
}
