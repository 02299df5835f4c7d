/**
 * A file of consecutive entry records, each a 16-bit big-endian length and the
 * entry's canonical bytes: the tlog-tiles entry-bundle encoding, concatenated.
 * Used for local exports and benchmark logs. Reading is streaming, in 8 MiB
 * chunks, so memory does not grow with the file.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Yields the entries from byte `offset` on (at most `count` of them) as
 * zero-copy views into a reused buffer: a view is valid until the next one is
 * requested, so a consumer that keeps bytes must copy them. A caller reading
 * many ranges can pass its own `buffer` (at least 64 KiB + 2 bytes) instead of
 * a fresh 8 MiB one per call, whose page faults cost more than reading a short range.
 */
export function* readBundleFile(path: string, offset = 0, count = Number.POSITIVE_INFINITY, buffer = Buffer.allocUnsafe(8 << 20)): Generator<Buffer> {
  const fd = openSync(path, 'r');
  let position = offset;
  let filled = 0;
  let yielded = 0;
  try {
    while (yielded < count) {
      const read = readSync(fd, buffer, filled, buffer.length - filled, position);
      position += read;
      filled += read;
      let at = 0;
      while (at + 2 <= filled && yielded < count) {
        const length = buffer.readUInt16BE(at);
        if (at + 2 + length > filled) break;
        yielded++;
        yield buffer.subarray(at + 2, at + 2 + length);
        at += 2 + length;
      }
      buffer.copy(buffer, 0, at, filled);
      filled -= at;
      if (read === 0) {
        if (filled > 0) throw new Error(`${path}: ${filled} trailing bytes do not form an entry record`);
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
}
