import { DEFAULTS } from '../lib/config/defaults';
import { type BudgetRule, budgetRule } from '../lib/delivery/budget';
import { DELIVERY } from '../lib/delivery/settings';
import type { ReconcilerDeps } from '../lib/reconcile/reconcile';
import { maxBackoffMs } from '../lib/registry/http';
import { type LoggerLike, type MetricsSink, NO_METRICS, SILENT_LOGGER } from '../lib/telemetry/telemetry';
import {
  type HandlerDeps,
  type InvocationContext,
  Worker,
  type WorkerEvents,
  type WorkQueuePort,
} from './worker';

/**
 * The one place that assembles the worker around the reconciler, with the deployed defaults
 * (defaults.ts, delivery/settings.ts). The Lambda passes the real adapters (handler.ts); the
 * replay, plan and the tests pass their own ports (tools/replay/deployed.ts) and collect what
 * happened through `onRecord` / `onIgnored` / `onMalformed`.
 */
export interface WiringOptions extends ReconcilerDeps, HandlerDeps {
  logger?: LoggerLike;
  metrics?: MetricsSink;
}

/** What the queue path adds to the wiring: the SQS calls, and optionally its own settings. */
export interface WorkerWiringOptions extends WiringOptions {
  queue: WorkQueuePort;
  /** @default from config.registry and the AWS look-up worst case */
  budget?: BudgetRule;
  /**
   * Entries read, looked up and written at once. @default DEFAULTS.parallelism × 2, at least a
   * full batch (DELIVERY.workBatchSize)
   */
  groupParallelism?: number;
  /** @default DELIVERY.maxDeferAttempts */
  maxDeferAttempts?: number;
  events?: WorkerEvents;
}

/** Cloud Map and ECS, with the SDK's retries of throttling: the worst case the budget plans for. */
export const AWS_LOOKUP_WORST_MS = 9_000;

/** The time budget of the deployed queue path, from the registry client's limits. */
export function deployedBudget(registry: ReconcilerDeps['config']['registry']): BudgetRule {
  return budgetRule(
    {
      timeoutMs: registry.timeoutMs,
      maxAttempts: registry.maxAttempts,
      maxBackoffMs: maxBackoffMs(registry.maxAttempts),
    },
    AWS_LOOKUP_WORST_MS,
  );
}

export { DIRECT_INVOCATION_REFUSED } from './worker';

/**
 * The deployed reconciler handler: the worker (worker.ts) with the deployed defaults. SQS batches
 * of the FIFO work queue take the per-entry queue path; anything else is refused with
 * `DIRECT_INVOCATION_REFUSED`, which says what to send instead.
 */
export function createWorkerHandler(options: WorkerWiringOptions): {
  handler: (event: unknown, context?: InvocationContext) => Promise<unknown>;
  worker: Worker;
} {
  const { queue, budget, groupParallelism, maxDeferAttempts, events, ...rest } = options;
  const worker = new Worker({
    ...rest,
    now: rest.now ?? Date.now,
    logger: rest.logger ?? SILENT_LOGGER,
    metrics: rest.metrics ?? NO_METRICS,
    serviceCacheTtlMs: rest.serviceCacheTtlMs ?? DEFAULTS.serviceCacheTtlMs,
    queue,
    budget: budget ?? deployedBudget(rest.config.registry),
    groupParallelism: groupParallelism ?? Math.max(2 * DEFAULTS.parallelism, DELIVERY.workBatchSize),
    maxDeferAttempts: maxDeferAttempts ?? DELIVERY.maxDeferAttempts,
    ...(rest.onMalformed === undefined ? {} : { onMalformed: rest.onMalformed }),
    ...(events === undefined ? {} : { events }),
  });
  // The Lambda calls the worker itself: no frame of the wiring between the event and the write.
  return { handler: worker.handle.bind(worker), worker };
}
