import { DELIVERY } from '../../functions/lib/delivery/settings';
import { type CloudMapTimings, DEFAULT_TIMINGS, type LifecycleTimings } from './cluster';

/** Every chaos knob of the simulation. Each one is off (or realistic-and-small) by default. */
export interface ChaosKnobs {
  eventBridge: {
    /** EventBridge → SQS latency for every event, [min, max] ms. */
    latencyMs: readonly [number, number];
    /** Extra random delay on every event, up to this many ms: reorders events that are close together. */
    reorderJitterMs: number;
    /** Share of events held back much longer (a slow retry inside EventBridge). */
    delayRate: number;
    /** How long a held-back event can be late, ms. */
    delayMaxMs: number;
    /** Share of events delivered twice. */
    duplicateRate: number;
    /**
     * Share of duplicates that are byte-identical (an EventBridge retry: a FIFO queue's
     * content-based deduplication drops it within 5 minutes); the rest are ECS re-emitting the
     * change under a new event id (same `version`), which no deduplication catches.
     */
    identicalDuplicateShare: number;
    /** Share of ECS events lost for good (never delivered). */
    lossRate: number;
  };
  lambda: {
    batchSize: number;
    visibilityTimeoutMs: number;
    maxReceiveCount: number;
    /** The function's timeout: an invocation still running then is killed and its whole batch returns. */
    timeoutMs: number;
    /** Time from messages being available to the invocation starting (event source mapping poll). */
    pollMs: readonly [number, number];
    /** How often the scheduled resync fires. */
    resyncMs: number;
    /**
     * Follow mode's names sweep (its own schedule rule, with follow on): how often it fires, ms;
     * 0 leaves the rule out (the design before it, for comparison: `--no-names-sweep`).
     */
    namesSweepMs: number;
    /** The work queue's event source mapping maximum concurrency. */
    maxConcurrency: number;
    /** The fan-out's event source mapping maximum concurrency. */
    fanoutConcurrency: number;
    /** A new execution environment's cold start. */
    coldStartMs: readonly [number, number];
    /** Entries per resync shard (the registry page size). */
    pageSize: number;
    /** The share of each published API rate a resync may use. */
    resyncRateShare: number;
    /** Re-checks after a registry task reaches RUNNING. */
    recheckEverySeconds: number;
    recheckWindowSeconds: number;
  };
  registry: {
    /** Share of registry calls answered 5xx (transient). */
    errorRate: number;
    /** Share of registry calls that time out; a timed-out write may still land later. */
    timeoutRate: number;
    /** Share of timed-out writes that the registry still applies, late. */
    lateLandRate: number;
    /** The registry's security scan disables a server after every write. */
    disableAfterWrite: boolean;
    /** Latency of a read, and of a write (re-index, nginx reload, scan), [min, max] ms. */
    readMs: readonly [number, number];
    writeMs: readonly [number, number];
    /** The client's per-call deadline and attempts (as in functions/lib/registry/http.ts). */
    clientTimeoutMs: number;
    maxAttempts: number;
    /** Time from a registry task reaching RUNNING to its app resetting the built-in entries. */
    bootMs: readonly [number, number];
  };
  aws: {
    /** Model the published rate limits (tools/sim/limits.ts) as token buckets. */
    publishedLimits: boolean;
    /** Bursts of throttling per simulated hour, on Cloud Map DiscoverInstances and ECS DescribeTasks. */
    throttleBurstsPerHour: number;
    /** Calls each burst throttles. */
    throttleBurstSize: readonly [number, number];
    /** Latency of DiscoverInstances / DescribeTasks / DescribeServices, [min, max] ms. */
    latencyMs: readonly [number, number];
  };
  cloudMap: CloudMapTimings;
  lifecycle: LifecycleTimings;
}

export const CALM_KNOBS: ChaosKnobs = {
  eventBridge: {
    latencyMs: [200, 1_200],
    reorderJitterMs: 0,
    delayRate: 0,
    delayMaxMs: 0,
    duplicateRate: 0,
    identicalDuplicateShare: 0.5,
    lossRate: 0,
  },
  // Delivery as deployed (functions/lib/delivery/settings.ts): EventBridge → the standard
  // trigger queue → the fan-out → the FIFO work queue, one message group per registry entry → the
  // reconciler (tools/sim/groups.ts). A 60 s function timeout (one entry's worst case, read +
  // write + read-back with every retry, fits: delivery/budget.ts), the work queue's visibility
  // timeout 6 × that for a crashed invocation (a handed-back message sets its own, shorter
  // visibility), 10 receives before the DLQ, at most 20 concurrent invocations; a retry is a
  // redelivery of that message alone.
  lambda: {
    batchSize: DELIVERY.workBatchSize,
    visibilityTimeoutMs: DELIVERY.workVisibilitySeconds * 1_000,
    maxReceiveCount: DELIVERY.workMaxReceiveCount,
    timeoutMs: DELIVERY.workerTimeoutSeconds * 1_000,
    pollMs: [20, 200],
    // The configuration's default `resyncMinutes` (functions/lib/config/config.ts).
    resyncMs: 5 * 60_000,
    namesSweepMs: DELIVERY.namesSweepSeconds * 1_000,
    maxConcurrency: DELIVERY.workMaxConcurrency,
    fanoutConcurrency: DELIVERY.fanoutMaxConcurrency,
    coldStartMs: [300, 900],
    pageSize: DELIVERY.pageSize,
    resyncRateShare: DELIVERY.resyncRateShare,
    recheckEverySeconds: DELIVERY.recheckEverySeconds,
    recheckWindowSeconds: DELIVERY.recheckWindowSeconds,
  },
  registry: {
    errorRate: 0,
    timeoutRate: 0,
    lateLandRate: 0,
    disableAfterWrite: false,
    readMs: [30, 150],
    writeMs: [300, 1_500],
    clientTimeoutMs: 5_000,
    maxAttempts: 3,
    bootMs: [5_000, 40_000],
  },
  aws: { publishedLimits: true, throttleBurstsPerHour: 0, throttleBurstSize: [1, 3], latencyMs: [20, 120] },
  cloudMap: { registrationLag: [500, 8_000], deregistrationLag: [0, 5_000] },
  lifecycle: DEFAULT_TIMINGS,
};

/** A partial override of the knobs, one level deep. */
export type KnobOverrides = { [K in keyof ChaosKnobs]?: Partial<ChaosKnobs[K]> };

export function withKnobs(base: ChaosKnobs, over: KnobOverrides = {}): ChaosKnobs {
  return {
    eventBridge: { ...base.eventBridge, ...over.eventBridge },
    lambda: { ...base.lambda, ...over.lambda },
    registry: { ...base.registry, ...over.registry },
    aws: { ...base.aws, ...over.aws },
    cloudMap: { ...base.cloudMap, ...over.cloudMap },
    lifecycle: { ...base.lifecycle, ...over.lifecycle },
  };
}
