import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { createAwsAdapters } from './aws/clients';
import { workQueueFromEnv } from './aws/work-queue';
import { loadConfigFromEnv } from './config';
import { createRegistryClient } from './registry/client';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE, type MetricsSink } from './telemetry';
import { createWorkerHandler } from './wiring';

/**
 * The deployed Lambda: batches of the FIFO work queue (one message group per entry) and direct
 * EventBridge invocations. Everything is built once per container, at cold start: a bad
 * configuration stops the function here, with a message that names the bad field.
 */
const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? DEFAULT_SERVICE_NAME });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? DEFAULT_SERVICE_NAME,
});

const config = (() => {
  try {
    return loadConfigFromEnv();
  } catch (error) {
    logger.error('reconciler cannot start: invalid configuration', error as Error);
    throw error;
  }
})();

const sink: MetricsSink = {
  count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
  milliseconds: (name, value) => metrics.addMetric(name, MetricUnit.Milliseconds, value),
};

export const { handler } = createWorkerHandler({
  queue: workQueueFromEnv(logger),
  config,
  ...createAwsAdapters(),
  registry: createRegistryClient(config.registry, { logger }),
  logger,
  metrics: sink,
  flush: () => metrics.publishStoredMetrics(),
  correlate: (id) => logger.setCorrelationId(id),
});
