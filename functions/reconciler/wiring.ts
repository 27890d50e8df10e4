import { DEFAULTS, realSleep } from './defaults';
import { createHandler, type HandlerDeps, type InvocationRetry } from './invocation';
import { Reconciler, type ReconcilerDeps } from './reconcile';
import { type LoggerLike, type MetricsSink, NO_METRICS, SILENT_LOGGER } from './telemetry';

/**
 * The one place that assembles the reconciler and the handler around it, with the deployed
 * defaults (defaults.ts). The Lambda passes the real adapters (handler.ts); the simulation, the
 * benchmarks, the replay and the tests pass their own ports and collect what happened through
 * `onRecord` / `onIgnored` / `onMalformed`.
 */
export interface WiringOptions
  extends ReconcilerDeps,
    Pick<HandlerDeps, 'flush' | 'correlate' | 'onMalformed'> {
  logger?: LoggerLike;
  metrics?: MetricsSink;
  /**
   * The in-invocation retry. Waits `DEFAULTS.retryDelaysMs` with `sleep` unless given;
   * `{ delaysMs: [] }` turns it off.
   */
  retry?: Partial<InvocationRetry>;
}

export type ReconcilerHandler = ReturnType<typeof createHandler>;

/** A reconciler with the deployed defaults for whatever `options` leaves out. */
export function createReconciler(options: ReconcilerDeps): Reconciler {
  return new Reconciler({
    ...options,
    sleep: options.sleep ?? realSleep,
    now: options.now ?? Date.now,
    parallelism: options.parallelism ?? DEFAULTS.parallelism,
    serviceCacheTtlMs: options.serviceCacheTtlMs ?? DEFAULTS.serviceCacheTtlMs,
    maxDeferAttempts: options.maxDeferAttempts ?? DEFAULTS.maxDeferAttempts,
  });
}

/** The deployed handler over the given ports, and the reconciler inside it. */
export function createReconcilerHandler(options: WiringOptions): {
  handler: ReconcilerHandler;
  reconciler: Reconciler;
} {
  const { flush, correlate, onMalformed, retry, ...deps } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const metrics = options.metrics ?? NO_METRICS;
  const reconciler = createReconciler({ ...deps, logger, metrics });
  const handler = createHandler({
    reconciler,
    logger,
    metrics,
    ...(flush === undefined ? {} : { flush }),
    ...(correlate === undefined ? {} : { correlate }),
    ...(onMalformed === undefined ? {} : { onMalformed }),
    retry: {
      delaysMs: retry?.delaysMs ?? DEFAULTS.retryDelaysMs,
      sleep: retry?.sleep ?? options.sleep ?? realSleep,
      ...(retry?.minRemainingMs === undefined ? {} : { minRemainingMs: retry.minRemainingMs }),
    },
  });
  return { handler, reconciler };
}
