import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionProjection, startEmbeddedPostgres, type EmbeddedPostgres } from '../../lambdas/adapters/postgres/embedded-server.js';
import { openPostgres } from '../../lambdas/adapters/postgres/postgres-database.js';

let dir: string;
const started: EmbeddedPostgres[] = [];
const options = () => ({ dir: join(dir, 'cluster'), passwordFile: join(dir, 'password'), ephemeral: true });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'govledger-embedded-'));
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

async function start(port?: number): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres({ ...options(), ...(port ? { port } : {}) });
  started.push(server);
  return server;
}

describe('startEmbeddedPostgres', () => {
  it('initialises a cluster on first start, keeps its data across a restart, and stops twice without error', async () => {
    // Prepare
    const first = await start();
    const logins = await provisionProjection(first, 'govledger');
    const writer = openPostgres(logins.projector);
    await sql`INSERT INTO govledger.projection_cursors (tenant, projected_through) VALUES ('acme', 41)`.execute(writer);
    await writer.destroy();
    await first.stop();
    await first.stop();
    // Act
    const second = await start();
    const reader = openPostgres((await provisionProjection(second, 'govledger')).reader);
    const { rows } = await sql<{ n: number }>`SELECT projected_through AS n FROM govledger.projection_cursors`.execute(reader);
    await reader.destroy();
    // Assess
    expect(rows).toEqual([{ n: 41 }]);
    expect((await stat(join(dir, 'password'))).mode & 0o777).toBe(0o600);
    await second.stop();
  }, 60_000);

  it('takes over a postmaster left running by a crashed process (same directory), keeping the data', async () => {
    // Prepare: a start whose owner "crashes" (never calls stop)
    const orphaned = await start();
    await orphaned.ensureDatabase('survivor');
    // Act
    const next = await start();
    const db = openPostgres(next.admin('survivor'));
    const { rows } = await sql<{ ok: number }>`SELECT 1 AS ok`.execute(db);
    await db.destroy();
    // Assess
    expect(rows).toEqual([{ ok: 1 }]);
    await next.stop();
  }, 60_000);

  it('fails with PostgreSQL\'s own reason when its port is taken', async () => {
    // Prepare
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    // Act
    const error = await startEmbeddedPostgres({ ...options(), port }).then(() => undefined, (e: Error) => e);
    await new Promise((resolve) => blocker.close(resolve));
    // Assess
    expect(error?.message).toMatch(new RegExp(`failed to start on port ${port}[\\s\\S]*(could not bind|Address already in use)`));
  }, 60_000);
});
