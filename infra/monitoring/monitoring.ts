/**
 * What the reconciler is watched by, as a table of contents: the metrics (defined once, in
 * metrics.ts), the alarms and where they notify, and the dashboard. Everything is created in the
 * reconciler's own scope, so the resources keep the logical IDs and paths they always had.
 */
import type { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { ReconcilerQueues } from '../delivery';
import type { ReconcilerAlarmProps } from '../props';
import { buildAlarms, type ReconcilerAlarms } from './alarms';
import { buildDashboard } from './dashboard';
import { ReconcilerMetrics } from './metrics';

/** What monitoring watches. */
export interface MonitoringSettings {
  readonly props: { alarms: ReconcilerAlarmProps; alarmTopic?: sns.ITopic; alarmEmail?: string };
  readonly serviceName: string;
  readonly resyncInterval: Duration;
  readonly clusterName: string;
  readonly namespace: string;
  /** The reconciler. */
  readonly fn: lambda.IFunction;
  readonly fanout: lambda.IFunction;
  readonly queues: ReconcilerQueues;
}

/** The monitoring of one reconciler. */
export interface ReconcilerMonitoring {
  readonly metrics: ReconcilerMetrics;
  readonly alarms: ReconcilerAlarms;
  readonly dashboard: cloudwatch.Dashboard;
  /** The topic alarms notify, when there is one. */
  readonly topic: sns.ITopic | undefined;
}

/** Builds the alarm topic (when asked), the alarms with their ALARM and OK actions, and the dashboard. */
export function buildMonitoring(scope: Construct, settings: MonitoringSettings): ReconcilerMonitoring {
  const { props } = settings;
  const metrics = new ReconcilerMetrics(settings.serviceName, settings.fn);
  const topic =
    props.alarmTopic ?? (props.alarmEmail === undefined ? undefined : buildTopic(scope, props.alarmEmail));
  const alarms = buildAlarms(scope, metrics, {
    thresholds: props.alarms,
    queues: settings.queues,
    fanout: settings.fanout,
    resyncInterval: settings.resyncInterval,
  });
  if (topic !== undefined) {
    const action = new cloudwatchActions.SnsAction(topic);
    for (const alarm of Object.values(alarms) as cloudwatch.Alarm[]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
  const dashboard = buildDashboard(scope, metrics, {
    clusterName: settings.clusterName,
    namespace: settings.namespace,
    queues: settings.queues,
    fanout: settings.fanout,
    alarms,
  });
  return { metrics, alarms, dashboard, topic };
}

function buildTopic(scope: Construct, email: string): sns.Topic {
  const topic = new sns.Topic(scope, 'AlarmTopic', {
    displayName: 'Registry reconciler alarms',
    enforceSSL: true,
  });
  topic.addSubscription(new subscriptions.EmailSubscription(email));
  return topic;
}
