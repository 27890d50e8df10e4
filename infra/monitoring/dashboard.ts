/**
 * The dashboard, top to bottom: what came in, what was decided, what failed, how long it took,
 * what needs attention, the DLQs, the queues, the functions, the alarms (docs/operate.md, "Dashboard").
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE, MetricName } from '../../functions/lib/telemetry/telemetry';
import type { ReconcilerQueues } from '../delivery';
import type { ReconcilerAlarms } from './alarms';
import type { ReconcilerMetrics } from './metrics';

/** What the dashboard shows besides the metrics. */
export interface DashboardSettings {
  readonly clusterName: string;
  readonly namespace: string;
  readonly queues: ReconcilerQueues;
  readonly fanout: lambda.IFunction;
  readonly alarms: ReconcilerAlarms;
}

export function buildDashboard(
  scope: Construct,
  metrics: ReconcilerMetrics,
  settings: DashboardSettings,
): cloudwatch.Dashboard {
  const { queues } = settings;
  const sum = (name: string, label: string) => metrics.published(name).with({ label });
  const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
    new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
  const duration = (statistic: string, label: string) =>
    metrics.published(MetricName.ReconcileDuration, statistic).with({ label });

  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', { defaultInterval: Duration.hours(6) });
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown: `# Registry reconciler\nCluster \`${settings.clusterName}\`, namespace \`${settings.namespace}\`, metrics \`${METRICS_NAMESPACE}\` / service \`${metrics.serviceName}\`. Triggers → fan-out → one FIFO message group per entry → reconciler: one invocation per entry at a time, entries in parallel.`,
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    graph('Events received', [
      sum(MetricName.EventsReceived, 'received'),
      sum(MetricName.EventsIgnored, 'ignored'),
      sum(MetricName.EventsMalformed, 'malformed'),
    ]),
    graph('Decisions by action', [
      sum(MetricName.DecisionNoop, 'noop'),
      sum(MetricName.DecisionUpdate, 'update'),
      sum(MetricName.DecisionDefer, 'defer'),
      sum(MetricName.DecisionSkip, 'skip'),
      sum(MetricName.DecisionError, 'error'),
    ]),
    graph('Errors', [
      sum(MetricName.Errors, 'reconcile errors'),
      metrics.functionErrors().with({ label: 'failed reconciler invocations' }),
      metrics.functionErrors(settings.fanout).with({ label: 'failed fan-out invocations' }),
    ]),
  );
  dashboard.addWidgets(
    graph('Reconcile duration (ms)', [
      duration('Average', 'avg'),
      duration('p99', 'p99'),
      duration('Maximum', 'max'),
    ]),
    graph('Needs attention', [
      sum(MetricName.DecisionDefer, 'deferred'),
      sum(MetricName.NoLiveInstance, 'no live instance'),
      sum(MetricName.ForeignEntry, 'foreign entry'),
      sum(MetricName.ServerDisabledAfterWrite, 'server disabled after write'),
      sum(MetricName.ServerSecurityPending, 'security-pending seen'),
      sum(MetricName.PolicyDenied, 'URL policy denied'),
      sum(MetricName.WriteMayReset, 'write may have reset fields'),
      sum(MetricName.UntrustedInstance, 'untrusted instance'),
    ]),
    graph('Follow mode (ownership)', [
      sum(MetricName.FollowAdopted, 'adopted'),
      sum(MetricName.FollowReleased, 'released'),
      sum(MetricName.FollowNotOwned, 'not owned (left alone)'),
      sum(MetricName.FollowOwned, 'owned entries reconciled'),
    ]),
    graph('Dead-letter queues (messages)', [
      metrics.messagesVisible(queues.workDeadLetterQueue).with({ label: 'work DLQ (an entry failed)' }),
      metrics.messagesVisible(queues.triggerDeadLetterQueue).with({ label: 'trigger DLQ (fan-out failed)' }),
      metrics.messagesVisible(queues.deliveryDeadLetterQueue).with({ label: 'delivery DLQ (EventBridge)' }),
    ]),
  );
  dashboard.addWidgets(
    graph(
      'Work queue (per entry)',
      [
        metrics.messagesVisible(queues.workQueue).with({ label: 'waiting' }),
        metrics.messagesInFlight(queues.workQueue).with({ label: 'in flight' }),
      ],
      [metrics.oldestMessageAge(queues.workQueue).with({ label: 'oldest age (s)' })],
    ),
    graph(
      'Trigger queue',
      [
        metrics.messagesVisible(queues.triggerQueue).with({ label: 'waiting' }),
        metrics.messagesInFlight(queues.triggerQueue).with({ label: 'in flight' }),
        metrics.messagesDelayed(queues.triggerQueue).with({ label: 'delayed (re-checks, shards)' }),
      ],
      [metrics.oldestMessageAge(queues.triggerQueue).with({ label: 'oldest age (s)' })],
    ),
  );
  dashboard.addWidgets(
    graph(
      'Reconciler function',
      [
        metrics.functionInvocations().with({ label: 'invocations' }),
        metrics.functionErrors().with({ label: 'errors' }),
        metrics.functionThrottles().with({ label: 'throttles' }),
      ],
      [metrics.functionMaxDuration().with({ label: 'max duration (ms)' })],
    ),
    graph(
      'Fan-out function',
      [
        metrics.functionInvocations(settings.fanout).with({ label: 'invocations' }),
        metrics.functionErrors(settings.fanout).with({ label: 'errors' }),
        metrics.functionThrottles(settings.fanout).with({ label: 'throttles' }),
      ],
      [metrics.functionMaxDuration(settings.fanout).with({ label: 'max duration (ms)' })],
    ),
    new cloudwatch.AlarmStatusWidget({
      title: 'Alarms',
      alarms: Object.values(settings.alarms) as cloudwatch.IAlarm[],
      width: 8,
      height: 6,
    }),
  );
  return dashboard;
}

/**
 * The optional webhook receiver's row (infra/webhook.ts), added only when it exists, so a stack
 * without it keeps its dashboard as it was: its invocations, failures and throttles, its Function
 * URL's answers (4xx: refused signatures, replays and bad bodies; 5xx: failed invocations), and its
 * alarm.
 */
export function addWebhookRow(
  dashboard: cloudwatch.Dashboard,
  metrics: ReconcilerMetrics,
  webhook: { function: lambda.IFunction; errorsAlarm: cloudwatch.IAlarm },
): void {
  const fn = webhook.function;
  const url = (name: string, label: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: name,
      dimensionsMap: { FunctionName: fn.functionName },
      statistic: 'Sum',
      period: Duration.minutes(5),
      label,
    });
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Webhook receiver',
      left: [
        metrics.functionInvocations(fn).with({ label: 'invocations' }),
        metrics.functionErrors(fn).with({ label: 'errors' }),
        metrics.functionThrottles(fn).with({ label: 'throttles' }),
      ],
      width: 8,
      height: 6,
    }),
    new cloudwatch.GraphWidget({
      title: 'Webhook answers',
      left: [
        url('UrlRequestCount', 'requests'),
        url('Url4xxCount', '4xx (refused signature, replay, bad body)'),
        url('Url5xxCount', '5xx (failed invocation)'),
      ],
      width: 8,
      height: 6,
    }),
    new cloudwatch.AlarmStatusWidget({
      title: 'Webhook alarm',
      alarms: [webhook.errorsAlarm],
      width: 8,
      height: 6,
    }),
  );
}
