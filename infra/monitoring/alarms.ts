/**
 * The alarms: what each watches, its threshold, and what its description tells the operator
 * (docs/operate.md, "Alarms", is the runbook). Names are `<stack>-<construct id>-<name>`.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { DELIVERY } from '../../functions/lib/delivery/settings';
import { MetricName } from '../../functions/lib/telemetry/telemetry';
import { type ReconcilerQueues, TRIGGER_MAX_RECEIVE_COUNT, WORK_MAX_RECEIVE_COUNT } from '../delivery';
import type { ReconcilerAlarmProps } from '../props';
import { DEFAULT_PERIOD, type ReconcilerMetrics } from './metrics';

/** The alarms the construct creates, by name. */
export interface ReconcilerAlarms {
  readonly functionErrors: cloudwatch.Alarm;
  readonly fanoutErrors: cloudwatch.Alarm;
  readonly reconcileErrors: cloudwatch.Alarm;
  readonly throttles: cloudwatch.Alarm;
  readonly workDeadLetters: cloudwatch.Alarm;
  readonly triggerDeadLetters: cloudwatch.Alarm;
  readonly deliveryDeadLetters: cloudwatch.Alarm;
  readonly workQueueAge: cloudwatch.Alarm;
  readonly triggerQueueAge: cloudwatch.Alarm;
  readonly noLiveInstance: cloudwatch.Alarm;
  readonly serverDisabledAfterWrite: cloudwatch.Alarm;
  readonly policyDenied: cloudwatch.Alarm;
  readonly serverSecurityPending: cloudwatch.Alarm;
  readonly untrustedInstance: cloudwatch.Alarm;
}

/** The longest DelaySeconds the fan-out gives its own re-checks and resync shards (the SQS maximum). */
const MAX_TRIGGER_DELAY = Duration.seconds(DELIVERY.maxDelaySeconds);
/** The work DLQ's runbook: the message group id names the entry. */
const WORK_DLQ_RUNBOOK =
  "Each message's MessageGroupId names its entry as <kind>:<path> (for example server:/currenttime/): aws sqs receive-message --queue-url <WorkDeadLetterQueueUrl output> --attribute-names MessageGroupId ApproximateReceiveCount --max-number-of-messages 10 --visibility-timeout 0. Find why that entry fails in the decision records (filter decision.target.path = the path), fix it, then purge the DLQ (the resync has caught up) or redrive it.";

/** What the alarms watch besides the metrics. */
export interface AlarmSettings {
  readonly thresholds: ReconcilerAlarmProps;
  readonly queues: ReconcilerQueues;
  /** The fan-out function (the metrics' default function is the reconciler). */
  readonly fanout: lambda.IFunction;
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
  const noLiveFor = thresholds.noLiveInstanceFor;
  const noLivePeriods = Math.max(1, Math.ceil(noLiveFor.toSeconds() / noLivePeriod.toSeconds()));
  const oldestAge = thresholds.oldestMessageAge;

  return {
    functionErrors: alarm('FunctionErrorsAlarm', {
      alarmName: 'function-errors',
      alarmDescription:
        'Reconciler invocations failed as a whole (crash, timeout, bad configuration): their work messages return after the work queue visibility timeout; only their entries wait. See the function log.',
      metric: metrics.functionErrors(),
      threshold: thresholds.functionErrors,
      evaluationPeriods: 1,
    }),
    fanoutErrors: alarm('FanoutErrorsAlarm', {
      alarmName: 'fanout-errors',
      alarmDescription:
        'Fan-out invocations failed as a whole (crash, timeout, bad configuration): their triggers return to the trigger queue and no work is sent for them meanwhile. See the fan-out log.',
      metric: metrics.functionErrors(settings.fanout),
      threshold: thresholds.functionErrors,
      evaluationPeriods: 1,
    }),
    reconcileErrors: alarm('ReconcileErrorsAlarm', {
      alarmName: 'reconcile-errors',
      alarmDescription:
        'Reconciles keep failing (registry, Keycloak, ECS or Cloud Map unreachable or refusing). Query the decision records with action "error".',
      metric: metrics.published(MetricName.Errors).with({ period: Duration.minutes(15) }),
      threshold: thresholds.reconcileErrors,
      evaluationPeriods: 1,
    }),
    throttles: alarm('ThrottlesAlarm', {
      alarmName: 'throttles',
      alarmDescription:
        'The functions are being throttled (account concurrency exhausted): triggers and work wait in their queues and may reach their DLQs.',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(reconciler, 0) + FILL(fanout, 0)',
        usingMetrics: {
          reconciler: metrics.functionThrottles(),
          fanout: metrics.functionThrottles(settings.fanout),
        },
        label: 'throttled invocations',
        period: metrics.functionThrottles().period,
      }),
      threshold: thresholds.throttles,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    }),
    workDeadLetters: alarm('WorkDeadLettersAlarm', {
      alarmName: 'work-dlq-not-empty',
      alarmDescription: `Work for some entry failed ${WORK_MAX_RECEIVE_COUNT} times (with backoff, about 12 min) and is in the work DLQ; other entries were not held back. ${WORK_DLQ_RUNBOOK}`,
      metric: metrics.messagesVisible(queues.workDeadLetterQueue),
      threshold: 1,
      evaluationPeriods: 1,
    }),
    triggerDeadLetters: alarm('TriggerDeadLettersAlarm', {
      alarmName: 'trigger-dlq-not-empty',
      alarmDescription: `The fan-out failed triggers ${TRIGGER_MAX_RECEIVE_COUNT} times (registry page reads, ECS or Cloud Map look-ups, sending work): they are in the trigger DLQ. See the fan-out log, fix the cause, then purge (the next resync covers them) or redrive.`,
      metric: metrics.messagesVisible(queues.triggerDeadLetterQueue),
      threshold: 1,
      evaluationPeriods: 1,
    }),
    deliveryDeadLetters: alarm('DeliveryDeadLettersAlarm', {
      alarmName: 'delivery-dlq-not-empty',
      alarmDescription:
        'EventBridge could not deliver events to the trigger queue (queue policy, deleted queue, SQS outage). Read the error attributes of the messages.',
      metric: metrics.messagesVisible(queues.deliveryDeadLetterQueue),
      threshold: 1,
      evaluationPeriods: 1,
    }),
    workQueueAge: alarm('WorkQueueAgeAlarm', {
      alarmName: 'work-queue-waiting',
      alarmDescription:
        'The oldest work message is too old: some entry keeps failing and its own messages wait out their backoff (see work-dlq-not-empty and reconcile-errors; other entries proceed), or the reconciler is not consuming (event source mapping disabled, throttles, function-errors).',
      metric: metrics.oldestMessageAge(queues.workQueue),
      threshold: oldestAge.toSeconds(),
      evaluationPeriods: 1,
    }),
    triggerQueueAge: alarm('TriggerQueueAgeAlarm', {
      alarmName: 'trigger-queue-stuck',
      alarmDescription: `The oldest trigger is older than the fan-out's longest delay (${MAX_TRIGGER_DELAY.toHumanString()}) plus ${oldestAge.toHumanString()}: the fan-out is not consuming (event source mapping disabled, throttles, fanout-errors). No work is sent meanwhile.`,
      metric: metrics.oldestMessageAge(queues.triggerQueue),
      threshold: MAX_TRIGGER_DELAY.toSeconds() + oldestAge.toSeconds(),
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
        "The registry's URL security policy (1.26+) refused a task address: add the tasks' subnets to the registry's SSRF_ALLOWED_CIDRS (docs/deploy.md, Registry URL policy). The decision record names the address.",
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
