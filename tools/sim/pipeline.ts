import type { ReconcilerConfig } from '../../functions/lib/config/config';
import { budgetRule } from '../../functions/lib/delivery/budget';
import type { MemoryRegistry } from '../../functions/lib/inmemory/world';
import type { CloudMapPort, EcsPort } from '../../functions/lib/reconcile/ports';
import { maxBackoffMs } from '../../functions/lib/registry/http';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import type { MetricsSink } from '../../functions/lib/telemetry/telemetry';
import { createFanoutEnvironment, newFanoutFigures } from './fanout';
import { FifoGroupQueue, StandardQueue } from './groups';
import { CALM_KNOBS } from './knobs';
import { PUBLISHED_LIMITS } from './limits';
import type { Rng } from './rng';
import { recordingLogger } from './run';
import type { Scheduler } from './scheduler';
import { createWorkerEnvironment, newWorkerCounts } from './worker';

/**
 * The deployed path over in-memory queues, for the trust simulation and the tests: EventBridge →
 * the standard trigger queue → the fan-out (functions/fanout) → the FIFO work queue, one message
 * group per entry → the worker (functions/reconciler/worker.ts), with the delivery numbers as
 * deployed (tools/sim/knobs.ts), on the scheduler's virtual clock. `put` hands an event to
 * EventBridge; `drain` runs until every queue is empty and nothing is in flight (the write
 * verifications and re-checks the functions send included).
 */
export interface DeployedPath {
  put(event: unknown): void;
  /** Runs the scheduler until the path is quiet (or `limitMs` of virtual time passed). */
  drain(limitMs?: number): Promise<boolean>;
  quiet(): boolean;
  readonly work: FifoGroupQueue;
  readonly triggers: StandardQueue;
}

export interface DeployedPathDeps {
  config: ReconcilerConfig;
  cloudMap: CloudMapPort;
  ecs: EcsPort;
  registry: MemoryRegistry;
  sched: Scheduler;
  rng: Rng;
  records: DecisionRecord[];
  metrics?: MetricsSink;
  /** EventBridge → trigger queue latency, ms. */
  busMs?: number;
}

export function createDeployedPath(deps: DeployedPathDeps): DeployedPath {
  const { sched, config, registry } = deps;
  const logger = recordingLogger(deps.records);
  const metrics = deps.metrics ?? { count: () => undefined, milliseconds: () => undefined };
  const lambda = CALM_KNOBS.lambda;
  const settings = {
    batchSize: lambda.batchSize,
    visibilityTimeoutMs: lambda.visibilityTimeoutMs,
    maxReceiveCount: lambda.maxReceiveCount,
    timeoutMs: lambda.timeoutMs,
    pollMs: lambda.pollMs,
    maxConcurrency: lambda.maxConcurrency,
    coldStartMs: lambda.coldStartMs,
  };
  const reg = CALM_KNOBS.registry;
  const budget = budgetRule(
    {
      timeoutMs: reg.clientTimeoutMs,
      maxAttempts: reg.maxAttempts,
      maxBackoffMs: maxBackoffMs(reg.maxAttempts),
    },
    3_000,
  );
  let toTriggers: (body: string, delaySeconds: number) => void = () => undefined;
  const work = new FifoGroupQueue(sched, deps.rng.fork('work'), settings, () =>
    createWorkerEnvironment({
      config,
      cloudMap: deps.cloudMap,
      ecs: deps.ecs,
      registry,
      logger,
      metrics,
      sched,
      budget,
      parallelism: 10,
      counts: newWorkerCounts(),
      sendTrigger: (body, delay) => toTriggers(body, delay),
    }),
  );
  const fanoutRng = deps.rng.fork('fanout');
  const triggers: StandardQueue = new StandardQueue(
    sched,
    deps.rng.fork('triggers'),
    { ...settings, timeoutMs: 30_000, visibilityTimeoutMs: 180_000, maxReceiveCount: 5, maxConcurrency: 5 },
    () =>
      createFanoutEnvironment({
        config,
        cloudMap: deps.cloudMap,
        ecs: deps.ecs,
        memory: registry,
        registry,
        scanDisabled: new Set(),
        logger,
        metrics,
        sched,
        rng: fanoutRng,
        registryReadMs: [0, 0],
        pageSize: lambda.pageSize,
        rates: {
          discoverInstancesPerSecond: PUBLISHED_LIMITS['cloudmap.DiscoverInstances'].rate,
          describeTasksPerSecond: PUBLISHED_LIMITS['ecs.DescribeTasks'].rate,
        },
        rateShare: lambda.resyncRateShare,
        periodSeconds: lambda.resyncMs / 1000,
        recheck: { everySeconds: lambda.recheckEverySeconds, windowSeconds: lambda.recheckWindowSeconds },
        shardParallelism: 25,
        sendTrigger: (body, delay) => triggers.send(body, delay),
        sendWork: (g, d, body) => work.send(g, d, body),
        figures: newFanoutFigures(),
      }),
  );
  toTriggers = (body, delay) => triggers.send(body, delay);
  let onBus = 0;
  const quiet = () =>
    onBus === 0 && work.depth === 0 && work.inFlight === 0 && triggers.depth === 0 && triggers.inFlight === 0;
  return {
    work,
    triggers,
    quiet,
    put: (event) => {
      onBus++;
      sched.after(deps.busMs ?? 500, () => {
        onBus--;
        triggers.send(JSON.stringify(event));
      });
    },
    drain: (limitMs = 6 * 3_600_000) => sched.runUntil(quiet, sched.now() + limitMs),
  };
}
