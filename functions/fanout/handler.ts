import { Logger } from '@aws-lambda-powertools/logger';
import { createFollowAwsIfBundled } from '../lib/aws/follow-bundled';
import { loadConfigFromEnv } from '../lib/config/config';
import { EmfMetrics } from '../lib/telemetry/emf';
import { METRICS_NAMESPACE } from '../lib/telemetry/telemetry';
import { createFanoutAdapters } from './adapters';
import { createFanoutHandler } from './wiring';

/**
 * The deployed fan-out Lambda (trigger queue → work queue). Built once per container: a bad
 * configuration or a missing queue URL stops it here, with a message that names it.
 */
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'registry-reconciler-fanout';
const logger = new Logger({ serviceName });
const metrics = new EmfMetrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName,
});

const built = (() => {
  try {
    const config = loadConfigFromEnv();
    const follow = createFollowAwsIfBundled(config);
    return {
      config,
      adapters: createFanoutAdapters(config, logger),
      ...(follow === undefined ? {} : { follow }),
    };
  } catch (error) {
    logger.error('fan-out cannot start', error as Error);
    throw error;
  }
})();

const { handler: inner } = createFanoutHandler({
  config: built.config,
  ...built.adapters,
  ...(built.follow === undefined ? {} : { follow: built.follow }),
  logger,
  metrics,
});

export async function handler(event: unknown) {
  try {
    return await inner(event);
  } finally {
    metrics.flush();
  }
}
