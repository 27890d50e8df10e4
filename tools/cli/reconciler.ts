import { createAwsAdapters } from '../../functions/reconciler/aws/clients';
import { createFollowAws } from '../../functions/reconciler/aws/follow';
import type { ReconcilerConfig } from '../../functions/reconciler/config';
import type { RegistryPort } from '../../functions/reconciler/ports';
import type { Reconciler } from '../../functions/reconciler/reconcile';
import { createRegistryClient, type RegistryClient } from '../../functions/reconciler/registry/client';
import type { LoggerLike, MetricsSink } from '../../functions/reconciler/telemetry';
import { NO_METRICS } from '../../functions/reconciler/telemetry';
import { createReconciler } from '../../functions/reconciler/wiring';

/**
 * The live reconciler of the CLIs (`replay --live`, `plan`): real SDK clients and the configured
 * registry, built as the Lambda builds them. The only place the tools wire one.
 */
export function liveReconciler(options: {
  config: ReconcilerConfig;
  logger: LoggerLike;
  metrics?: MetricsSink;
  /** Wraps the registry port (plan puts a guard around it that refuses writes). */
  registry?: (client: RegistryClient) => RegistryPort;
}): { reconciler: Reconciler; client: RegistryClient } {
  const client = createRegistryClient(options.config.registry, { logger: options.logger });
  // Follow mode: the ownership table and the adopter; a schedule lists the registry's pages.
  const follow = createFollowAws(options.config, { maxAttempts: 2 });
  const reconciler = createReconciler({
    ...(follow === undefined ? {} : { follow: { ...follow, pages: client.pages() } }),
    config: options.config,
    ...createAwsAdapters(),
    registry: options.registry === undefined ? client : options.registry(client),
    logger: options.logger,
    metrics: options.metrics ?? NO_METRICS,
  });
  return { reconciler, client };
}
