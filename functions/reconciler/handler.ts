import { Logger } from '@aws-lambda-powertools/logger';
import { createAwsAdapters } from './aws/clients';
import { createFollowAwsIfBundled } from './aws/follow-bundled';
import { workQueueFromEnv } from './aws/work-queue';
import { loadConfigFromEnv } from './config';
import { EmfMetrics } from './emf';
import { createRegistryClient } from './registry/client';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE } from './telemetry';
import { createWorkerHandler } from './wiring';

/**
 * The deployed Lambda: batches of the FIFO work queue (one message group per entry); anything
 * else is refused with a message saying what to send instead (worker.ts). Everything is built
 * once per container, at cold start (the registry client, the AWS clients, follow mode's table,
 * and in the worker one Reconciler): a bad configuration stops the function here, with a message
 * that names the bad field. The path from here to the registry write: docs/design.md, "From the
 * work queue to the registry write".
 */
const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? DEFAULT_SERVICE_NAME });
const metrics = new EmfMetrics({
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

const registry = createRegistryClient(config.registry, { logger });
// Follow mode: the ownership table and the adopter (functions/reconciler/follow), when bundled.
const follow = createFollowAwsIfBundled(config);

export const { handler } = createWorkerHandler({
  queue: workQueueFromEnv(logger),
  config,
  ...createAwsAdapters(),
  registry,
  ...(follow === undefined ? {} : { follow: { ...follow, pages: registry.pages() } }),
  logger,
  metrics,
  flush: () => metrics.flush(),
  correlate: (id) => logger.setCorrelationId(id),
});
