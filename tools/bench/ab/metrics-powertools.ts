import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** A/B: the Logger-only baseline plus Powertools Metrics, built at module scope. */
const logger = new Logger({ serviceName: 'bench-ab' });
const metrics = new Metrics({ namespace: 'RegistryReconciler', serviceName: 'bench-ab' });

export const handler = async (): Promise<Record<string, never>> => {
  metrics.addMetric('EventsReceived', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  logger.debug('invoked');
  return {};
};
