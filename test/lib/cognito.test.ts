import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { cognitoTokenVerifier, gatewayVerifiedTokens, preTokenClaims, SCOPES, TENANTS_ATTRIBUTE } from '../../lambdas/entry/shared/cognito.js';
import { UnauthorizedError } from '../../lambdas/handlers/http/http-errors.js';
import { jwksTokenVerifier } from '../../lambdas/handlers/http/token-verifier.js';

const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123';
const CLIENT = 'app1client';
const config = { tokenIssuer: ISSUER, tokenClientId: CLIENT };

/** A V2 trigger event for a user with these attributes and groups. */
function trigger(attributes: Record<string, string>, groups: string[]): PreTokenGenerationV2TriggerEvent {
  return {
    version: '2', triggerSource: 'TokenGeneration_Authentication', region: 'eu-west-1', userPoolId: 'eu-west-1_AbCdEf123', userName: 'alice',
    callerContext: { awsSdkVersion: 'aws-sdk-js-3', clientId: CLIENT },
    request: { userAttributes: attributes, groupConfiguration: { groupsToOverride: groups, iamRolesToOverride: [], preferredRole: undefined }, scopes: ['aws.cognito.signin.user.admin'] },
    response: { claimsAndScopeOverrideDetails: {} },
  } as PreTokenGenerationV2TriggerEvent;
}

/** Cognito-like RS256 access tokens and the JWKS that verifies them. */
let kit: { mint: (claims: Record<string, unknown>) => Promise<string>; fetch: () => Promise<Response> };
beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  kit = {
    fetch: async () => new Response(JSON.stringify({ keys: [jwk] }), { headers: { 'content-type': 'application/json' } }),
    mint: (claims) => new SignJWT({ token_use: 'access', client_id: CLIENT, ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setSubject('alice').setExpirationTime('5m').sign(privateKey),
  };
});

describe('preTokenClaims', () => {
  it('puts the user\'s tenants (custom:tenants) and the scopes of its groups into the access token', () => {
    // Act
    const { response, ignored } = preTokenClaims(trigger({ [TENANTS_ATTRIBUTE]: 'acme, beta,acme', email: 'a@example.com' }, ['records:read', 'proofs:read', 'auditors']));
    // Assess
    expect(response).toEqual({ claimsAndScopeOverrideDetails: { accessTokenGeneration: { claimsToAddOrOverride: { tenants: ['acme', 'beta'] }, scopesToAdd: ['govledger/records:read', 'govledger/proofs:read'] } } });
    expect(ignored).toEqual([]);
  });

  it('leaves out listed values that are not tenant ids, and reports them', () => {
    // Act
    const { response, ignored } = preTokenClaims(trigger({ [TENANTS_ATTRIBUTE]: 'acme,Evil/../x,-bad' }, []));
    // Assess
    expect(response.claimsAndScopeOverrideDetails.accessTokenGeneration).toEqual({ claimsToAddOrOverride: { tenants: ['acme'] }, scopesToAdd: [] });
    expect(ignored).toEqual(['Evil/../x', '-bad']);
  });

  it('grants nothing to a user without the attribute or groups', () => {
    // Act
    const { response } = preTokenClaims(trigger({}, []));
    // Assess
    expect(response.claimsAndScopeOverrideDetails.accessTokenGeneration).toEqual({ claimsToAddOrOverride: { tenants: [] }, scopesToAdd: [] });
    expect(SCOPES).toHaveLength(4);
  });
});

describe('cognitoTokenVerifier', () => {
  it('verifies against the pool\'s JWKS and maps govledger/<scope> to the route table\'s scope names, dropping others', async () => {
    // Prepare
    const verify = cognitoTokenVerifier(config, jwksTokenVerifier(`${ISSUER}/.well-known/jwks.json`, { issuer: ISSUER, clientId: CLIENT, fetch: kit.fetch }));
    // Act
    const principal = await verify(await kit.mint({ tenants: ['acme'], scope: 'aws.cognito.signin.user.admin govledger/records:read govledger/admin records:write' }));
    // Assess
    expect(principal).toEqual({ subject: 'alice', tenants: ['acme'], scopes: ['records:read', 'admin'] });
  });

  it('refuses a token of another app client', async () => {
    // Prepare
    const verify = cognitoTokenVerifier(config, jwksTokenVerifier(`${ISSUER}/.well-known/jwks.json`, { issuer: ISSUER, clientId: CLIENT, fetch: kit.fetch }));
    // Act
    const result = verify(await kit.mint({ client_id: 'other' }));
    // Assess
    await expect(result).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe('gatewayVerifiedTokens', () => {
  const now = () => Date.now();
  const unsigned = (claims: Record<string, unknown>) =>
    new UnsecuredJWT({ iss: ISSUER, client_id: CLIENT, token_use: 'access', sub: 'bob', tenants: ['acme'], scope: 'govledger/records:read openid', exp: Math.floor(Date.now() / 1000) + 300, ...claims }).encode();

  it('maps the claims of a token API Gateway already verified, like cognitoTokenVerifier', async () => {
    // Act
    const principal = await gatewayVerifiedTokens(config, now)(await kit.mint({ tenants: ['acme'], scope: 'govledger/records:read openid' }));
    // Assess
    expect(principal).toEqual({ subject: 'alice', tenants: ['acme'], scopes: ['records:read'] });
  });

  it.each([
    ['another issuer', { iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other' }, 'issued to another client'],
    ['another app client', { client_id: 'other' }, 'issued to another client'],
    ['an ID token', { token_use: 'id' }, 'invalid'],
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 1 }, 'expired'],
    ['claims of the wrong type', { tenants: 'acme' }, 'invalid'],
  ])('refuses %s with UnauthorizedError', async (_, claims, message) => {
    // Act
    const result = gatewayVerifiedTokens(config, now)(unsigned(claims));
    // Assess
    await expect(result).rejects.toThrow(UnauthorizedError);
    await expect(result).rejects.toThrow(message);
  });

  it('refuses text that is not a JWT', async () => {
    // Act
    const result = gatewayVerifiedTokens(config, now)('not-a-jwt');
    // Assess
    await expect(result).rejects.toBeInstanceOf(UnauthorizedError);
  });
});
