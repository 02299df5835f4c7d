import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir, openDataDir, resolveDataDir } from '../../lambdas/local/data-dir.js';

let root: string;
beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'govledger-datadir-')); });
afterEach(() => { rmSync(root, { recursive: true, force: true }); });

/** A PID that just exited: its process is certainly gone (reuse this soon is vanishingly rare). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid ?? 999_999_999;
}

describe('resolveDataDir', () => {
  it('defaults to .govledger under the working directory', () => {
    // Act
    const dir = resolveDataDir({}, '/srv/app');
    // Assess
    expect(dir).toBe('/srv/app/.govledger');
  });

  it('takes GOVLEDGER_DATA_DIR, resolved to an absolute path, and ignores an empty value', () => {
    // Act
    const relative = resolveDataDir({ GOVLEDGER_DATA_DIR: 'state/gl' }, '/srv/app');
    const absolute = resolveDataDir({ GOVLEDGER_DATA_DIR: '/var/lib/gl' }, '/srv/app');
    const empty = resolveDataDir({ GOVLEDGER_DATA_DIR: '  ' }, '/srv/app');
    // Assess
    expect([relative, absolute, empty]).toEqual(['/srv/app/state/gl', '/var/lib/gl', '/srv/app/.govledger']);
  });
});

describe('openDataDir', () => {
  it('creates the directory with mode 0700 and a lock file holding our PID', async () => {
    // Prepare
    const dir = join(root, 'nested', 'data');
    // Act
    const lock = await openDataDir({ GOVLEDGER_DATA_DIR: dir });
    // Assess
    expect(lock.dataDir).toBe(dir);
    if (process.platform !== 'win32') expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });
});

describe('lockDataDir', () => {
  it('refuses a second lock while the first is held, naming the holder', async () => {
    // Prepare
    const first = await lockDataDir(root);
    // Act
    const second = lockDataDir(root);
    // Assess
    await expect(second).rejects.toThrow(DataDirLockedError);
    await expect(second).rejects.toThrow(`another govledger is running with this data directory (pid ${process.pid}); stop it or set GOVLEDGER_DATA_DIR`);
    await first.release();
  });

  it('refuses a lock held by another live process', async () => {
    // Prepare: our parent process is alive for the whole test
    writeFileSync(join(root, 'lock'), `${process.ppid}\n`);
    // Act
    const attempt = lockDataDir(root);
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED', pid: process.ppid, lockPath: join(root, 'lock') });
    expect(readFileSync(join(root, 'lock'), 'utf8')).toBe(`${process.ppid}\n`);
  });

  it.each([
    ['a dead PID', () => `${deadPid()}\n`],
    ['garbage', () => 'not a pid'],
    ['our own PID left by an earlier run (PID reuse in a container)', () => `${process.pid}\n`],
  ])('takes over a stale lock holding %s', async (_label, content) => {
    // Prepare
    writeFileSync(join(root, 'lock'), content());
    // Act
    const lock = await lockDataDir(root);
    // Assess
    expect(readFileSync(join(root, 'lock'), 'utf8')).toBe(`${process.pid}\n`);
    expect(existsSync(join(root, 'lock.takeover'))).toBe(false);
    await lock.release();
  });

  it('lets exactly one of several concurrent takeovers of a stale lock win', async () => {
    // Prepare
    writeFileSync(join(root, 'lock'), `${deadPid()}\n`);
    // Act
    const results = await Promise.allSettled([lockDataDir(root), lockDataDir(root), lockDataDir(root)]);
    // Assess
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const reasons = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
    expect(reasons.every((e) => e instanceof DataDirLockedError)).toBe(true);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockDataDir>>>).value.release();
  });

  it('removes the lock file on release, twice without error, and can be taken again', async () => {
    // Prepare
    const lock = await lockDataDir(root);
    // Act
    await lock.release();
    await lock.release();
    const again = await lockDataDir(root);
    // Assess
    expect(readFileSync(join(root, 'lock'), 'utf8')).toBe(`${process.pid}\n`);
    await again.release();
    expect(existsSync(join(root, 'lock'))).toBe(false);
  });

  it('leaves a lock that another process took over when released', async () => {
    // Prepare
    const lock = await lockDataDir(root);
    writeFileSync(join(root, 'lock'), `${process.ppid}\n`);
    // Act
    await lock.release();
    // Assess
    expect(readFileSync(join(root, 'lock'), 'utf8')).toBe(`${process.ppid}\n`);
  });
});
