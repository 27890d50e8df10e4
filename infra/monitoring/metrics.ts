/**
 * Every metric the alarms and the dashboard read, defined once. Each method returns the metric at
 * the default period (5 minutes) and its natural statistic; alarms change the period and
 * dashboards add a label with `.with()`, so both read the very same metric.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { METRICS_NAMESPACE } from '../../functions/lib/telemetry/telemetry';

/** The period of every metric unless an alarm needs another. */
export const DEFAULT_PERIOD = Duration.minutes(5);

/**
 * The metrics of one reconciler: what the functions publish, the functions' own (the reconciler's
 * unless another function is given), its queues'.
 */
export class ReconcilerMetrics {
  constructor(
    /** The `service` dimension Powertools sets (`POWERTOOLS_SERVICE_NAME`). */
    readonly serviceName: string,
    private readonly fn: lambda.IFunction,
  ) {}

  /** A metric the function publishes (namespace and `service` dimension as Powertools sets them). */
  published(metricName: string, statistic = 'Sum'): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      statistic,
      period: DEFAULT_PERIOD,
    });
  }

  /** Invocations that failed as a whole (Lambda `Errors`, sum). */
  functionErrors(fn: lambda.IFunction = this.fn): cloudwatch.Metric {
    return fn.metricErrors({ period: DEFAULT_PERIOD, statistic: 'Sum' });
  }

  /** Throttled invocations (sum). */
  functionThrottles(fn: lambda.IFunction = this.fn): cloudwatch.Metric {
    return fn.metricThrottles({ period: DEFAULT_PERIOD, statistic: 'Sum' });
  }

  /** Invocations (sum). */
  functionInvocations(fn: lambda.IFunction = this.fn): cloudwatch.Metric {
    return fn.metricInvocations({ period: DEFAULT_PERIOD });
  }

  /** The longest invocation (ms). */
  functionMaxDuration(fn: lambda.IFunction = this.fn): cloudwatch.Metric {
    return fn.metricDuration({ period: DEFAULT_PERIOD, statistic: 'Maximum' });
  }

  /** Messages waiting in a queue (maximum): a DLQ's depth, a queue's backlog. */
  messagesVisible(queue: sqs.IQueue): cloudwatch.Metric {
    return queue.metricApproximateNumberOfMessagesVisible({ period: DEFAULT_PERIOD, statistic: 'Maximum' });
  }

  /** Messages received and not yet deleted (maximum). */
  messagesInFlight(queue: sqs.IQueue): cloudwatch.Metric {
    return queue.metricApproximateNumberOfMessagesNotVisible({ period: DEFAULT_PERIOD });
  }

  /** Messages sent with a delay that is not over yet (maximum). */
  messagesDelayed(queue: sqs.IQueue): cloudwatch.Metric {
    return queue.metricApproximateNumberOfMessagesDelayed({ period: DEFAULT_PERIOD, statistic: 'Maximum' });
  }

  /** Age of the oldest message (seconds, maximum). */
  oldestMessageAge(queue: sqs.IQueue): cloudwatch.Metric {
    return queue.metricApproximateAgeOfOldestMessage({ period: DEFAULT_PERIOD, statistic: 'Maximum' });
  }
}
