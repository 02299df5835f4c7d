/**
 * How Cognito speaks our token claims (DESIGN §3: `tenants`, space-separated
 * `scope`). The user pool's resource server `govledger` names the scopes
 * `govledger/records:write` etc.; a user's scopes are the pool groups of the
 * same names (`records:write`, …) and their tenants the admin-only attribute
 * `custom:tenants` (comma-separated). The pre token generation trigger (V2)
 * copies both into the access token; the API's verifier maps the scopes back
 * to the bare names the route table uses.
 */
import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { tenantIdSchema } from '../../core/ledger-entry.js';
import { decodeJwt } from 'jose';
import * as z from 'zod';
import { UnauthorizedError } from '../../handlers/http/http-errors.js';
import type { Principal } from '../../handlers/http/http-types.js';
import { jwksTokenVerifier, type TokenVerifier } from '../../handlers/http/token-verifier.js';
import { ROUTES, type Scope } from '../../handlers/routes.js';
import type { EntryConfig } from './env.js';

/** The Cognito resource server identifier: scopes are `govledger/<scope>`. */
export const RESOURCE_SERVER_ID = 'govledger';
/** The user attribute listing a user's tenants, comma-separated. */
export const TENANTS_ATTRIBUTE = 'custom:tenants';
/** Every scope the route table uses, once. */
export const SCOPES: readonly Scope[] = [...new Set(ROUTES.flatMap((r) => r.scopes as readonly Scope[]))];

/** `records:write` → `govledger/records:write`. */
export const oauthScope = (scope: Scope): string => `${RESOURCE_SERVER_ID}/${scope}`;

/**
 * Verifies Cognito access tokens of the pool's app client against the pool's
 * JWKS and maps `govledger/<scope>` to `<scope>`; other scopes are dropped.
 *
 * @example
 * const verify = cognitoTokenVerifier(readEnv(['tokens']));
 */
export function cognitoTokenVerifier(config: EntryConfig<'tokens'>, verify?: TokenVerifier): TokenVerifier {
  const issuer = config.tokenIssuer;
  const inner = verify ?? jwksTokenVerifier(`${issuer}/.well-known/jwks.json`, { issuer, clientId: config.tokenClientId });
  const prefix = `${RESOURCE_SERVER_ID}/`;
  return async (token) => {
    const principal = await inner(token);
    return { ...principal, scopes: principal.scopes.filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length)) };
  };
}

const accessTokenClaims = z.object({
  iss: z.string(),
  client_id: z.string(),
  token_use: z.literal('access'),
  exp: z.number(),
  sub: z.string().min(1),
  tenants: z.array(z.string()).default([]),
  scope: z.string().default(''),
});

/**
 * For functions in the VPC, which have no route to the pool's JWKS (isolated
 * subnets, no NAT): API Gateway's Cognito authorizer verified the token's
 * signature, issuer and expiry before invoking the function, and only that
 * API may invoke it (the function's resource policy). This reads the same
 * token and checks its claims — issuer, app client, access token, not
 * expired — then maps them like `cognitoTokenVerifier`; it never checks the
 * signature itself, so it must never serve a function reachable another way.
 *
 * @example
 * const verify = gatewayVerifiedTokens(readEnv(['tokens']));
 */
export function gatewayVerifiedTokens(config: EntryConfig<'tokens'>, now: () => number = Date.now): TokenVerifier {
  const prefix = `${RESOURCE_SERVER_ID}/`;
  return async (token) => {
    let claims: z.infer<typeof accessTokenClaims>;
    try {
      claims = accessTokenClaims.parse(decodeJwt(token));
    } catch (cause) {
      throw new UnauthorizedError('the bearer token is invalid', { cause, invalidToken: true });
    }
    if (claims.iss !== config.tokenIssuer || claims.client_id !== config.tokenClientId) throw new UnauthorizedError('the bearer token was issued to another client', { invalidToken: true });
    if (claims.exp * 1000 <= now()) throw new UnauthorizedError('the bearer token has expired', { invalidToken: true });
    const scopes = claims.scope.split(' ').filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length));
    return { subject: claims.sub, tenants: claims.tenants, scopes } satisfies Principal;
  };
}

/** What the trigger answers (the `aws-lambda` types allow string claims only; V2 takes string arrays). */
export interface PreTokenResponse {
  readonly claimsAndScopeOverrideDetails: {
    readonly accessTokenGeneration: { readonly claimsToAddOrOverride: { readonly tenants: string[] }; readonly scopesToAdd: string[] };
  };
}

/**
 * The access-token customization for a user: `tenants` from `custom:tenants`
 * (ids that are not tenant ids are left out and reported in `ignored`), scopes
 * from the user's groups that name a scope.
 *
 * @example
 * preTokenClaims(event).response.claimsAndScopeOverrideDetails.accessTokenGeneration.scopesToAdd;
 * // → ['govledger/records:read'] for a user in group records:read
 */
export function preTokenClaims(event: Pick<PreTokenGenerationV2TriggerEvent, 'request'>): { response: PreTokenResponse; ignored: string[] } {
  const listed = (event.request.userAttributes[TENANTS_ATTRIBUTE] ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  const tenants = [...new Set(listed.filter((t) => tenantIdSchema.safeParse(t).success))];
  const ignored = listed.filter((t) => !tenantIdSchema.safeParse(t).success);
  const groups = new Set(event.request.groupConfiguration?.groupsToOverride ?? []);
  const scopesToAdd = SCOPES.filter((s) => groups.has(s)).map(oauthScope);
  return { response: { claimsAndScopeOverrideDetails: { accessTokenGeneration: { claimsToAddOrOverride: { tenants }, scopesToAdd } } }, ignored };
}
