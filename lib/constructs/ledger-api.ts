/**
 * The HTTP API on AWS: an API Gateway REST API built from the shared route
 * table (`ROUTES`), one method per route and one function per method, so the
 * deployed surface and the local server cannot disagree. A REST API rather
 * than an HTTP API because only REST API stages can be associated with an
 * AWS WAF web ACL (docs/deploy.md); the functions bridge its events to the
 * handlers' payload 2.0 shape (`lambdas/entry/shared/rest-api-event.ts`).
 *
 * Authentication happens twice: the Cognito authorizer lets through only
 * access tokens of the pool that carry at least one `govledger/*` scope, and
 * the handler then verifies the token itself and enforces the route's tenant
 * (404) and scopes (403) exactly as locally. Errors API Gateway answers on its
 * own (401, throttling, WAF, unknown path, oversize body, 5xx) are RFC 9457
 * problems with the same `type`s as the handlers' (`PROBLEM_TYPES`).
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  CognitoUserPoolsAuthorizer,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IUserPool } from 'aws-cdk-lib/aws-cognito';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { INTERNAL_ERROR, PROBLEM_MEDIA_TYPE, PROBLEM_TYPES, type ProblemType } from '../../lambdas/handlers/http/problem.js';
import { ROUTES, type OperationId } from '../../lambdas/handlers/routes.js';
import { oauthScope, SCOPES } from '../../lambdas/entry/shared/cognito.js';
import { LedgerWaf } from './ledger-waf.js';

/** The functions by route, the user pool, throttling and log retention. */
export interface LedgerApiProps {
  readonly envName: string;
  /** The function serving each route; every route of `ROUTES` needs one. */
  readonly functions: ReadonlyMap<OperationId, IFunction>;
  readonly userPool: IUserPool;
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: RetentionDays;
}

/** An RFC 9457 body as a gateway response template (`$context.requestId` filled in by API Gateway). */
function problemTemplate(kind: ProblemType, detail: string, withStatus = true): string {
  return JSON.stringify({ type: kind.type, title: kind.title, ...(withStatus ? { status: kind.status } : {}), detail, requestId: '$context.requestId' });
}

const PROBLEM_HEADERS = { 'Content-Type': `'${PROBLEM_MEDIA_TYPE}'`, 'Cache-Control': "'no-store'" };

/**
 * @example
 * const api = new LedgerApi(this, 'Api', { envName: 'dev', functions, userPool, rateLimit: 50, burstLimit: 100, logRetention });
 * api.api.url; // https://<id>.execute-api.<region>.amazonaws.com/live/
 */
export class LedgerApi extends Construct {
  readonly api: RestApi;
  readonly waf: LedgerWaf;

  constructor(scope: Construct, id: string, props: LedgerApiProps) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    this.api = new RestApi(this, 'Api', {
      restApiName: `govledger-${props.envName}`,
      description: 'govledger HTTP API v1 (routes from lambdas/handlers/routes.ts)',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      binaryMediaTypes: ['*/*'], // tiles are bytes; JSON bodies arrive base64-encoded, which jsonBody decodes
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: 'live',
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: true, httpMethod: true, ip: true, protocol: true, requestTime: true, resourcePath: true, responseLength: true, status: true, user: true,
        }),
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false, // bodies carry personal data: never logged
        metricsEnabled: true,
        tracingEnabled: true,
        throttlingRateLimit: props.rateLimit,
        throttlingBurstLimit: props.burstLimit,
      },
    });
    this.#routes(props);
    this.#gatewayResponses();
    this.waf = new LedgerWaf(this, 'Waf', { envName: props.envName, stage: this.api.deploymentStage, logRetention: props.logRetention });
    this.#acknowledge();
  }

  #routes(props: LedgerApiProps): void {
    const authorizer = new CognitoUserPoolsAuthorizer(this, 'Authorizer', {
      cognitoUserPools: [props.userPool],
      authorizerName: `govledger-${props.envName}`,
      resultsCacheTtl: Duration.minutes(5),
    });
    for (const route of ROUTES) {
      const fn = props.functions.get(route.operationId);
      if (fn === undefined) throw new Error(`route ${route.operationId} (${route.method} ${route.path}) has no function: add it to lib/functions.ts`);
      const method = this.api.root.resourceForPath(route.path).addMethod(route.method, new LambdaIntegration(fn, { proxy: true, allowTestInvoke: false }), {
        operationName: route.operationId,
        ...(route.auth
          ? { authorizer, authorizationType: AuthorizationType.COGNITO, authorizationScopes: SCOPES.map(oauthScope) }
          : { authorizationType: AuthorizationType.NONE }),
      });
      if (!route.auth) {
        const reason = `${route.method} ${route.path} is public by design (DESIGN §3: liveness and the API description need no token)`;
        Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason }, { id: 'AwsSolutions-COG4', reason });
      }
    }
  }

  /** API Gateway's own answers, as RFC 9457 problems of the same types the handlers use. */
  #gatewayResponses(): void {
    const respond = (id: string, type: ResponseType, kind: ProblemType, detail: string, headers: Record<string, string> = {}) =>
      this.api.addGatewayResponse(id, {
        type,
        statusCode: String(kind.status),
        responseHeaders: { ...PROBLEM_HEADERS, ...headers },
        templates: { 'application/json': problemTemplate(kind, detail) },
      });
    respond('Unauthorized', ResponseType.UNAUTHORIZED, PROBLEM_TYPES.UNAUTHORIZED, 'a valid bearer access token is required', { 'WWW-Authenticate': "'Bearer realm=\"govledger\"'" });
    respond('AccessDenied', ResponseType.ACCESS_DENIED, PROBLEM_TYPES.INSUFFICIENT_SCOPE, 'the bearer token carries no govledger scope');
    respond('MissingToken', ResponseType.MISSING_AUTHENTICATION_TOKEN, PROBLEM_TYPES.NOT_FOUND, 'no such resource'); // REST APIs answer unknown paths this way
    respond('NotFound', ResponseType.RESOURCE_NOT_FOUND, PROBLEM_TYPES.NOT_FOUND, 'no such resource');
    respond('TooLarge', ResponseType.REQUEST_TOO_LARGE, PROBLEM_TYPES.BODY_TOO_LARGE, 'the request body is larger than API Gateway accepts');
    respond('Throttled', ResponseType.THROTTLED, PROBLEM_TYPES.TOO_MANY_REQUESTS, 'the API\'s rate limit was exceeded; retry later', { 'Retry-After': "'1'" });
    respond('WafBlocked', ResponseType.WAF_FILTERED, PROBLEM_TYPES.REQUEST_BLOCKED, 'the request was blocked by the web application firewall');
    this.api.addGatewayResponse('Default5xx', {
      type: ResponseType.DEFAULT_5XX,
      responseHeaders: PROBLEM_HEADERS,
      templates: { 'application/json': problemTemplate(INTERNAL_ERROR, 'the server could not complete the request; the error was logged', false) },
    });
  }

  #acknowledge(): void {
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason: 'Requests are validated by the handlers (zod schemas shared with the OpenAPI document, size and nesting limits) so AWS and the local server refuse the same requests with the same RFC 9457 problem types; gateway validators would answer with other bodies',
    });
    const account = this.api.node.tryFindChild('CloudWatchRole');
    if (account) {
      Validations.of(account).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'API Gateway\'s account-wide logging role (execution and access logs) is AWS\'s managed policy for exactly this purpose',
      });
    }
  }
}
