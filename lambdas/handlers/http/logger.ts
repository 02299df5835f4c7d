/**
 * The one logging seam of the HTTP layer: injected, so tests capture lines
 * instead of printing them, and Lambda gets one JSON object per line.
 */
export interface Logger {
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/**
 * A logger writing one JSON line per call to stderr (CloudWatch parses it).
 *
 * @example
 * const logger = jsonLogger();
 * logger.error('unhandled error', { requestId });
 */
export function jsonLogger(write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Logger {
  const log = (level: string) => (message: string, fields: Readonly<Record<string, unknown>> = {}) =>
    write(JSON.stringify({ level, time: new Date().toISOString(), message, ...fields }));
  return { error: log('error'), warn: log('warn') };
}

/** Checks that `value` can serve as a Logger (factory option validation). */
export function isLogger(value: unknown): value is Logger {
  const l = value as Partial<Logger> | null;
  return typeof l === 'object' && l !== null && typeof l.error === 'function' && typeof l.warn === 'function';
}
