import { Logger } from '@aws-lambda-powertools/logger';
import { EmfMetrics } from '../../../functions/lib/telemetry/emf';
import { MetricName } from '../../../functions/lib/telemetry/telemetry';

/** A/B: the Logger-only baseline plus the hand-written EMF writer, built at module scope as the handlers do. */
const logger = new Logger({ serviceName: 'bench-ab' });
const metrics = new EmfMetrics({ namespace: 'RegistryReconciler', serviceName: 'bench-ab' });

export const handler = async (): Promise<Record<string, never>> => {
  metrics.count(MetricName.EventsReceived);
  metrics.flush();
  logger.debug('invoked');
  return {};
};
