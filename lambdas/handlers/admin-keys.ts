/**
 * Admin key routes (scope `admin`): KEK rotation and crypto-shredding of a
 * tenant (DESIGN §4). Each appends a SYSTEM entry recording what was done, by
 * whom and why, so the ledger itself carries the key history. Thin: parse,
 * call the services, answer; a legal hold is a 409 problem. A shred also
 * purges the projection's plaintext copies (DESIGN §4), on every call, so
 * repeating a shred finishes a purge that failed.
 */
import type { ProjectionWriter } from '../ports/projection-store.js';
import type { KeyService } from '../services/key-service.js';
import type { LedgerService } from '../services/ledger-service.js';
import { httpHandler, type HttpHandler } from './http/http-handler.js';
import type { Logger } from './http/logger.js';
import type { TokenVerifier } from './http/token-verifier.js';
import { routeById } from './routes.js';
import { parseOrThrow, rotateKeysBodySchema, shredTenantBodySchema } from './schemas.js';

export interface AdminKeysDeps {
  readonly keys: Pick<KeyService, 'rotate' | 'shred' | 'shredMarker'>;
  readonly ledger: Pick<LedgerService, 'appendSystem'>;
  /** Nulls the tenant's decrypted payloads in the projection (`ProjectionWriter.purgePayloads`, purge role). */
  readonly projection: Pick<ProjectionWriter, 'purgePayloads'>;
  readonly verify: TokenVerifier;
  readonly logger: Logger;
}

/**
 * @example
 * const { rotateKeys, shredTenant } = adminKeysHandlers({ keys, ledger, projection, verify, logger });
 */
export function adminKeysHandlers(deps: AdminKeysDeps): Record<'rotateKeys' | 'shredTenant', HttpHandler> {
  const base = { logger: deps.logger, verify: deps.verify, body: { maxBytes: 4096 } };
  return {
    rotateKeys: httpHandler({ ...base, route: routeById('rotateKeys') }, async (event) => {
      const body = parseOrThrow(rotateKeysBodySchema, event.parsedBody, '/body');
      const tenant = event.pathParameters!.tenant!;
      const actor = event.principal!.subject;
      const { version } = await deps.keys.rotate(tenant);
      const entry = await deps.ledger.appendSystem(tenant, { kind: 'key-rotation', details: { kekVersion: version, reason: body.reason ?? null } }, actor);
      return { statusCode: 201, body: { kekVersion: version, entry } };
    }),
    shredTenant: httpHandler({ ...base, route: routeById('shredTenant') }, async (event) => {
      const { reason } = parseOrThrow(shredTenantBodySchema, event.parsedBody, '/body');
      const tenant = event.pathParameters!.tenant!;
      const actor = event.principal!.subject;
      const before = await deps.keys.shredMarker(tenant);
      const marker = await deps.keys.shred(tenant, { actor, reason });
      const entry = before
        ? null
        : await deps.ledger.appendSystem(
            tenant,
            { kind: 'crypto-shred', details: { kekVersions: [...marker.kekVersions], reason, shreddedAt: marker.shreddedAt } },
            actor,
          );
      const purgedPayloads = await deps.projection.purgePayloads(tenant);
      return { statusCode: 200, body: { shredded: marker, entry, purgedPayloads } };
    }),
  };
}
