/**
 * What pages a human (DESIGN §5: findings go to SNS): function errors and
 * throttles, stream consumers falling behind (iterator age), records that
 * ended in a dead-letter queue, API 5xx, verification findings and failed
 * runs (the metrics the verification and drill functions publish), and state
 * machine executions that failed, timed out or were aborted. Every alarm
 * notifies one SNS topic; an e-mail address from the context is subscribed
 * to it.
 */
import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Alarm, ComparisonOperator, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { VERIFICATION_METRICS } from '../../lambdas/entry/shared/env.js';

/** Powertools metrics namespace of every function (`POWERTOOLS_METRICS_NAMESPACE`). */
export const METRICS_NAMESPACE = 'Govledger';
/** The `service` dimension Powertools adds to every metric (`POWERTOOLS_SERVICE_NAME`): an alarm without it would watch another metric. */
export const METRICS_SERVICE = 'govledger';
/** The metric the verification workflow publishes: findings of a run (issue 8). */
export const FINDINGS_METRIC = VERIFICATION_METRICS.findings;
/** The metric of runs that failed (a task's error path, issue 8). */
export const FAILURES_METRIC = VERIFICATION_METRICS.failures;
/** A stream consumer this far behind pages someone. */
export const MAX_ITERATOR_AGE = Duration.minutes(5);

/** The environment name (alarm names) and who gets the notifications. */
export interface LedgerAlarmsProps {
  readonly envName: string;
  readonly alarmEmail?: string;
}

/**
 * @example
 * const alarms = new LedgerAlarms(this, 'Alarms', { envName: 'dev', alarmEmail: 'ops@example.com' });
 * alarms.watchFunction('append-records', fn);
 */
export class LedgerAlarms extends Construct {
  readonly topic: Topic;
  /** Sum of verification findings per 5 minutes; any finding alarms. */
  readonly findings: Metric;
  /** Verification and drill runs that failed, per 5 minutes; any alarms. */
  readonly failures: Metric;
  readonly #envName: string;

  constructor(scope: Construct, id: string, props: LedgerAlarmsProps) {
    super(scope, id);
    this.#envName = props.envName;
    this.topic = new Topic(this, 'Topic', { topicName: `govledger-${props.envName}-alarms`, displayName: `govledger ${props.envName} alarms`, enforceSSL: true });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const metric = (metricName: string) => new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: METRICS_SERVICE }, statistic: 'Sum', period: Duration.minutes(5) });
    this.findings = metric(FINDINGS_METRIC);
    this.failures = metric(FAILURES_METRIC);
    this.#alarm('verification-findings', this.findings, 1, 'The nightly verification or the drill reported findings (DESIGN §5): read its report');
    this.#alarm('verification-failures', this.failures, 1, 'A verification or drill run failed before it could finish: read its failure report and the execution\'s history');
  }

  /** Executions of a state machine that failed, timed out or were aborted. */
  watchStateMachine(name: string, machine: IStateMachine): void {
    const period = { period: Duration.minutes(5), statistic: 'Sum' };
    this.#alarm(`${name}-failed`, machine.metricFailed(period), 1, `a ${name} execution failed`);
    this.#alarm(`${name}-timed-out`, machine.metricTimedOut(period), 1, `a ${name} execution timed out`);
    this.#alarm(`${name}-aborted`, machine.metricAborted(period), 1, `a ${name} execution was aborted`);
  }

  /** Errors and throttles of a function, each ≥ 1 in 5 minutes. */
  watchFunction(name: string, fn: IFunction): void {
    this.#alarm(`${name}-errors`, fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 1, `${name} failed invocations`);
    this.#alarm(`${name}-throttles`, fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }), 1, `${name} was throttled`);
  }

  /** A stream consumer's oldest unprocessed record. */
  watchStream(name: string, fn: IFunction): void {
    const age = fn.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' });
    this.#alarm(`${name}-iterator-age`, age, MAX_ITERATOR_AGE.toMilliseconds(), `${name} is more than ${MAX_ITERATOR_AGE.toMinutes()} minutes behind the ledger stream`, 5);
  }

  /** Any message in a dead-letter queue. */
  watchQueue(name: string, queue: IQueue): void {
    this.#alarm(`${name}-dlq`, queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }), 1, `stream records of ${name} gave up and wait in its DLQ`);
  }

  /** 5xx answers of the API. */
  watchApi(api: RestApi): void {
    this.#alarm('api-5xx', api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }), 5, 'the API answered 5xx at least 5 times in 5 minutes');
  }

  #alarm(name: string, metric: IMetric, threshold: number, description: string, evaluationPeriods = 1): Alarm {
    const alarm = new Alarm(this, name, {
      alarmName: `govledger-${this.#envName}-${name}`,
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    return alarm;
  }
}
