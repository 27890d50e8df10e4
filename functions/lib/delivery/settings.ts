/**
 * The numbers of the per-entry delivery, in one place: the CDK construct sizes the queues and
 * functions from them, the handlers apply them, and the simulation (tools/sim/knobs.ts) runs
 * with them. Pure constants: importing this file pulls in nothing else.
 *
 * The construct reads: worker/fan-out timeouts, both queues' visibility and maxReceiveCount, both
 * event source mappings' batch size and maximum concurrency. The handlers read the rest. (The
 * resync period is configuration: `resyncMinutes`, read by the schedule rule and the fan-out.)
 */

/** The variables through which both functions find the queues they send to: the construct sets them. */
export const WORK_QUEUE_URL_ENV = 'WORK_QUEUE_URL';
export const TRIGGER_QUEUE_URL_ENV = 'TRIGGER_QUEUE_URL';

export const DELIVERY = {
  /** Reconciler (worker) function timeout, seconds: one worst-case entry must fit (delivery/budget.ts). */
  workerTimeoutSeconds: 60,
  /** Work queue visibility timeout = 6 × the worker timeout (only a crashed invocation waits it out). */
  workVisibilitySeconds: 360,
  /** Receives of one work message before the work DLQ. */
  workMaxReceiveCount: 10,
  /** Reconciler event source mapping: batch size and maximum concurrency. */
  workBatchSize: 10,
  workMaxConcurrency: 20,
  /** Fan-out function timeout, seconds, and its event source mapping. */
  fanoutTimeoutSeconds: 30,
  fanoutBatchSize: 10,
  fanoutMaxConcurrency: 5,
  /** The fan-out starts a message only with this much time left (a shard check took ≤ 8.5 s at 10,000 entries), ms. */
  fanoutReserveMs: 15_000,
  /** Trigger queue: visibility = 6 × the fan-out timeout; receives before the trigger DLQ. */
  triggerVisibilitySeconds: 180,
  triggerMaxReceiveCount: 5,
  /** Registry list page size: one resync shard per page. */
  pageSize: 500,
  /** After a registry task reaches RUNNING: a re-check every `recheckEverySeconds` for `recheckWindowSeconds`. */
  recheckEverySeconds: 4,
  recheckWindowSeconds: 120,
  /** Visibility of a message deferred for Cloud Map lag: 2 s, 4 s after the fourth delivery. */
  lagVisibilitySeconds: 2,
  /** Deliveries that defer for Cloud Map lag; the next one decides (stays under workMaxReceiveCount). */
  maxDeferAttempts: 8,
  /**
   * How long the fan-out's DescribeTasks wrapper (fanout/ecs-batcher.ts) waits for other calls, ms:
   * none, since the reconcile sends one round per batch of entries itself (reconcile.ts).
   */
  ecsBatchWindowMs: 0,
  /**
   * Follow mode's names sweep: the period of its schedule (a rule the construct creates only with
   * follow on), seconds. Each sweep reads every registry page and sends work only for entries that
   * hold a Cloud Map name (fanout/shard.ts, mode `names`): a name registered at run time is at a live
   * task about a minute after its registration, not a resync period.
   */
  namesSweepSeconds: 60,
  /** Share of the published API rates a resync may use. */
  resyncRateShare: 0.25,
  /** SQS's largest DelaySeconds. */
  maxDelaySeconds: 900,
} as const;
