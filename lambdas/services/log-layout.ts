/**
 * Where a tenant's published log lives in the object store, shared by the
 * publisher and the reader: `<tenant>/checkpoint` (the C2SP signed note) and
 * `<tenant>/tile/...` (tlog-tiles paths, as `tilePath` / `entryBundlePath`
 * name them), so a bucket prefix per tenant is a complete C2SP log root.
 */
import { parseCheckpoint, type Checkpoint } from '../core/checkpoint.js';
import { tenantIdSchema } from '../core/ledger-entry.js';
import { tilePath, type TileRef } from '../core/tlog-tiles.js';
import { unverifiedNoteText } from '../core/signed-note.js';
import type { ObjectStore } from '../ports/object-store.js';
import { CheckpointInvalidError, InvalidTenantError, LogIncompleteError } from './log-errors.js';

export const CHECKPOINT_CONTENT_TYPE = 'text/plain; charset=utf-8';
export const TILE_CONTENT_TYPE = 'application/octet-stream';


/** Refuses what is not a tenant id (InvalidTenantError): a '/' or '..' would escape its prefix. */
export function checkTenant(tenant: string): void {
  if (!tenantIdSchema.safeParse(tenant).success) throw new InvalidTenantError(tenant);
}

/** `<tenant>/checkpoint`. */
export const checkpointKey = (tenant: string): string => `${tenant}/checkpoint`;

/** `<tenant>/<tile or bundle path>`. */
export const tileKey = (tenant: string, path: string): string => `${tenant}/${path}`;

/** The stored checkpoint note, byte for byte, and its parsed body. */
export interface PublishedCheckpoint {
  readonly note: Uint8Array;
  readonly checkpoint: Checkpoint;
}

/**
 * Reads and parses the tenant's checkpoint, or undefined before the first
 * publish. The signature is not checked: this is our own object, read to know
 * the published size and root; clients verify it. The body is the note text up
 * to its last blank line (C2SP signed-note). Throws CheckpointInvalidError.
 *
 * @example
 * const size = (await readPublishedCheckpoint(objects, 'acme'))?.checkpoint.size ?? 0;
 */
export async function readPublishedCheckpoint(objects: ObjectStore, tenant: string): Promise<PublishedCheckpoint | undefined> {
  const note = await objects.get(checkpointKey(tenant));
  return note === undefined ? undefined : parsePublishedCheckpoint(tenant, note);
}

/**
 * Parses a stored checkpoint note as `readPublishedCheckpoint` does (for a
 * caller that read it itself, e.g. with its version tag). Throws CheckpointInvalidError.
 *
 * @example
 * const stored = await objects.getVersioned(checkpointKey('acme'));
 * const size = stored && parsePublishedCheckpoint('acme', stored.bytes).checkpoint.size;
 */
export function parsePublishedCheckpoint(tenant: string, note: Uint8Array): PublishedCheckpoint {
  try {
    return { note, checkpoint: parseCheckpoint(unverifiedNoteText(note)) };
  } catch (cause) {
    throw new CheckpointInvalidError(`stored checkpoint of ${tenant} is unreadable: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Fetches tiles in parallel, keyed by `tilePath(ref)`; a missing one is
 * LogIncompleteError (a checkpoint implies its tiles were written first).
 *
 * @example
 * const partials = await readTiles(objects, 'acme', partialTilesForSize(size));
 */
export async function readTiles(objects: ObjectStore, tenant: string, refs: readonly TileRef[]): Promise<Map<string, Uint8Array>> {
  const entries = await Promise.all(
    refs.map(async (ref) => {
      const path = tilePath(ref);
      const bytes = await objects.get(tileKey(tenant, path));
      if (bytes === undefined) throw new LogIncompleteError(`tile ${path} of ${tenant} is missing`);
      return [path, bytes] as const;
    }),
  );
  return new Map(entries);
}
