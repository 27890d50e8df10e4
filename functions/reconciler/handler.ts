import { Logger } from '@aws-lambda-powertools/logger';
import { createAwsAdapters } from '../lib/aws/clients';
import { createFollowAwsIfBundled } from '../lib/aws/follow-bundled';
import { loadConfigFromEnv } from '../lib/config/config';
import { createRegistryClient } from '../lib/registry/client';
import { EmfMetrics } from '../lib/telemetry/emf';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE } from '../lib/telemetry/telemetry';
import { createWorkerHandler } from './wiring';
import { workQueueFromEnv } from './work-queue';

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
const aws = createAwsAdapters();
// Follow mode: the ownership table and the adopter (functions/lib/follow), when bundled.
const follow = createFollowAwsIfBundled(config, aws);

export const { handler } = createWorkerHandler({
  queue: workQueueFromEnv(logger),
  config,
  ...aws,
  registry,
  ...(follow === undefined ? {} : { follow: { ...follow, pages: registry.pages() } }),
  logger,
  metrics,
  flush: () => metrics.flush(),
  correlate: (id) => logger.setCorrelationId(id),
});
