import { Logger } from '@aws-lambda-powertools/logger';
import { EmfMetrics } from '../../../functions/reconciler/emf';
import { MetricName } from '../../../functions/reconciler/telemetry';

/** A/B: the Logger-only baseline plus the hand-written EMF writer, built at module scope as the handlers do. */
const logger = new Logger({ serviceName: 'bench-ab' });
const metrics = new EmfMetrics({ namespace: 'RegistryReconciler', serviceName: 'bench-ab' });

export const handler = async (): Promise<Record<string, never>> => {
  metrics.count(MetricName.EventsReceived);
  metrics.flush();
  logger.debug('invoked');
  return {};
};
