/**
 * Atomic file replacement for the data directory: a reader sees the old file
 * or the new one, never a torn one, and a crash leaves no partial file.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

/**
 * Writes `data` to a temp file beside `path` (mode `mode`, fsynced) and
 * renames it over `path`.
 *
 * @example
 * await writeFileAtomic(join(dataDir, 'endpoints.json'), `${JSON.stringify(info)}\n`);
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}
