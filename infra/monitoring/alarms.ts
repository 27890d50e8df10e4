/**
 * The alarms: what each watches, its threshold, and what its description tells the operator
 * (README, "Operate > Alarms", is the runbook). Names are `<stack>-<construct id>-<name>`.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { MetricName } from '../../functions/reconciler/telemetry';
import { MAX_RECEIVE_COUNT, type ReconcilerQueues } from '../delivery';
import type { ReconcilerAlarmProps } from '../props';
import { DEFAULT_PERIOD, type ReconcilerMetrics } from './metrics';

/** The alarms the construct creates, by name. */
export interface ReconcilerAlarms {
  readonly functionErrors: cloudwatch.Alarm;
  readonly reconcileErrors: cloudwatch.Alarm;
  readonly throttles: cloudwatch.Alarm;
  readonly queueDeadLetters: cloudwatch.Alarm;
  readonly deliveryDeadLetters: cloudwatch.Alarm;
  readonly oldestMessageAge: cloudwatch.Alarm;
  readonly noLiveInstance: cloudwatch.Alarm;
  readonly serverDisabledAfterWrite: cloudwatch.Alarm;
  readonly policyDenied: cloudwatch.Alarm;
  readonly serverSecurityPending: cloudwatch.Alarm;
  readonly untrustedInstance: cloudwatch.Alarm;
}

/** Threshold defaults (README, "Deploy > Parameters"). */
const DEFAULT_THRESHOLDS = {
  functionErrors: 1,
  reconcileErrors: 5,
  throttles: 1,
  noLiveInstanceFor: Duration.minutes(15),
  oldestMessageAge: Duration.minutes(15),
} as const;

/** What the alarms watch besides the metrics. */
export interface AlarmSettings {
  readonly thresholds: ReconcilerAlarmProps;
  readonly queues: ReconcilerQueues;
  /** The resync interval: the no-live-instance alarm's periods are never shorter. */
  readonly resyncInterval: Duration;
}

/** Creates the alarms in `scope`, all treating missing data as OK and comparing with ≥. */
export function buildAlarms(
  scope: Construct,
  metrics: ReconcilerMetrics,
  settings: AlarmSettings,
): ReconcilerAlarms {
  const { thresholds, queues } = settings;
  const prefix = `${Stack.of(scope).stackName}-${scope.node.id}`;
  const alarm = (id: string, props: Omit<cloudwatch.AlarmProps, 'treatMissingData' | 'comparisonOperator'>) =>
    new cloudwatch.Alarm(scope, id, {
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...props,
      alarmName: `${prefix}-${props.alarmName}`,
    });

  // A target without an instance is counted once per reconcile; the resync reconciles every target
  // once per interval, so a period shorter than the interval would have gaps and never alarm.
  const noLivePeriod = Duration.seconds(
    Math.max(DEFAULT_PERIOD.toSeconds(), settings.resyncInterval.toSeconds()),
  );
  const noLiveFor = thresholds.noLiveInstanceFor ?? DEFAULT_THRESHOLDS.noLiveInstanceFor;
  const noLivePeriods = Math.max(1, Math.ceil(noLiveFor.toSeconds() / noLivePeriod.toSeconds()));
  const oldestAge = thresholds.oldestMessageAge ?? DEFAULT_THRESHOLDS.oldestMessageAge;

  return {
    functionErrors: alarm('FunctionErrorsAlarm', {
      alarmName: 'function-errors',
      alarmDescription:
        'Invocations failed as a whole (crash, timeout, bad configuration): their messages return to the queue and block it. See the function log.',
      metric: metrics.functionErrors(),
      threshold: thresholds.functionErrors ?? DEFAULT_THRESHOLDS.functionErrors,
      evaluationPeriods: 1,
    }),
    reconcileErrors: alarm('ReconcileErrorsAlarm', {
      alarmName: 'reconcile-errors',
      alarmDescription:
        'Reconciles keep failing (registry, Keycloak, ECS or Cloud Map unreachable or refusing). Query the decision records with action "error".',
      metric: metrics.published(MetricName.Errors).with({ period: Duration.minutes(15) }),
      threshold: thresholds.reconcileErrors ?? DEFAULT_THRESHOLDS.reconcileErrors,
      evaluationPeriods: 1,
    }),
    throttles: alarm('ThrottlesAlarm', {
      alarmName: 'throttles',
      alarmDescription:
        'The function is being throttled (account concurrency exhausted): events wait in the queue and may reach the DLQ.',
      metric: metrics.functionThrottles(),
      threshold: thresholds.throttles ?? DEFAULT_THRESHOLDS.throttles,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    }),
    queueDeadLetters: alarm('QueueDeadLettersAlarm', {
      alarmName: 'queue-dlq-not-empty',
      alarmDescription: `Messages the function failed ${MAX_RECEIVE_COUNT} times are in the FIFO DLQ. Fix the cause, then redrive or purge it.`,
      metric: metrics.messagesVisible(queues.deadLetterQueue),
      threshold: 1,
      evaluationPeriods: 1,
    }),
    deliveryDeadLetters: alarm('DeliveryDeadLettersAlarm', {
      alarmName: 'delivery-dlq-not-empty',
      alarmDescription:
        'EventBridge could not deliver events to the FIFO queue (queue policy, deleted queue, SQS outage). Read the error attributes of the messages.',
      metric: metrics.messagesVisible(queues.deliveryDeadLetterQueue),
      threshold: 1,
      evaluationPeriods: 1,
    }),
    oldestMessageAge: alarm('OldestMessageAgeAlarm', {
      alarmName: 'queue-stuck',
      alarmDescription:
        'The oldest message in the FIFO queue is too old: the single message group is blocked by a failing message or the function is not consuming.',
      metric: metrics.oldestMessageAge(queues.queue),
      threshold: oldestAge.toSeconds(),
      evaluationPeriods: 1,
    }),
    noLiveInstance: alarm('NoLiveInstanceAlarm', {
      alarmName: 'no-live-instance',
      alarmDescription: `Some target has had no live Cloud Map instance for ${noLiveFor.toHumanString()}: its entry keeps a stale address. Check the ECS service's running tasks.`,
      metric: metrics.published(MetricName.NoLiveInstance).with({ period: noLivePeriod }),
      threshold: 1,
      evaluationPeriods: noLivePeriods,
      datapointsToAlarm: noLivePeriods,
    }),
    serverDisabledAfterWrite: alarm('ServerDisabledAfterWriteAlarm', {
      alarmName: 'server-disabled-after-write',
      alarmDescription:
        'The registry disabled a server right after the reconciler rewrote its address (security scan). Review the scan, then re-enable it in the registry.',
      metric: metrics.published(MetricName.ServerDisabledAfterWrite),
      threshold: 1,
      evaluationPeriods: 1,
    }),
    policyDenied: alarm('PolicyDeniedAlarm', {
      alarmName: 'registry-url-policy-denied',
      alarmDescription:
        "The registry's URL security policy (1.26+) refused a task address: add the tasks' subnets to the registry's SSRF_ALLOWED_CIDRS (README, Deploy > Registry URL policy). The decision record names the address.",
      metric: metrics.published(MetricName.PolicyDenied),
      threshold: 1,
      evaluationPeriods: 1,
    }),
    serverSecurityPending: alarm('ServerSecurityPendingAlarm', {
      alarmName: 'server-security-pending',
      alarmDescription:
        'A managed server is disabled and tagged security-pending (the registry security scan failed). Review the scan result in the registry, then re-enable the server there.',
      metric: metrics.published(MetricName.ServerSecurityPending).with({ period: Duration.minutes(15) }),
      threshold: 1,
      evaluationPeriods: 1,
    }),
    untrustedInstance: alarm('UntrustedInstanceAlarm', {
      alarmName: 'untrusted-instance',
      alarmDescription:
        'Cloud Map lists an instance ECS does not vouch for (its IP is not the one ECS gives the task, or the task is of another ECS service); never written. Logs Insights: filter ispresent(untrusted.target.path). Check with aws servicediscovery list-instances and aws ecs describe-tasks; deregister the instance and review who holds servicediscovery:RegisterInstance in the namespace.',
      metric: metrics.published(MetricName.UntrustedInstance),
      threshold: 1,
      evaluationPeriods: 1,
    }),
  };
}
