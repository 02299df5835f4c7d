/**
 * A way to satisfy a handler factory's dependencies that the one task or
 * route a function serves never touches (factories such as `logReadHandlers`
 * or `verificationStepHandlers` build several Lambda handlers from one set of
 * dependencies). Its own module, free of any SDK or route table, so every
 * entry can use it without bundling more.
 */

/** A dependency used by another task of the same handler factory, called here anyway: a wiring bug. */
export class NotWiredError extends Error {
  readonly code = 'NOT_WIRED';
  constructor(what: string, property: PropertyKey) {
    super(`${what}.${String(property)} is not wired in this function: its route does not use ${what}`);
    this.name = 'NotWiredError';
  }
}

/**
 * Stands in for a dependency this function never uses; any use throws
 * NotWiredError, so the function needs neither the resource's configuration
 * nor its permissions.
 *
 * @example
 * logReadHandlers({ reader: notWired('reader'), commitments: notWired('commitments'), verifierKeyFor, verify, logger }).getLogKey;
 * notWired<(tenant: string) => string>('verifierKeyFor')('acme'); // throws NotWiredError
 */
export function notWired<T extends object>(what: string): T {
  const refuse = (property: PropertyKey) => {
    throw new NotWiredError(what, property);
  };
  return new Proxy(function stub() {}, {
    get: (_target, property) => (property === 'then' ? undefined : refuse(property)), // not a thenable: awaiting it is harmless
    apply: () => refuse('call'),
  }) as unknown as T;
}
