import { parseConfig, type ReconcilerConfig } from '../../functions/lib/config/config';
import { budgetRule } from '../../functions/lib/delivery/budget';
import { parseEventText } from '../../functions/lib/delivery/event';
import { entryGroupId } from '../../functions/lib/delivery/group';
import { DELIVERY } from '../../functions/lib/delivery/settings';
import type { OwnershipPort } from '../../functions/lib/follow/ownership';
import { scheduledEvent } from '../../functions/lib/inmemory/events';
import { MemoryRegistry, VirtualClock, World } from '../../functions/lib/inmemory/world';
import type { ApiName, EntryRef } from '../../functions/lib/reconcile/ports';
import { maxBackoffMs } from '../../functions/lib/registry/http';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import type { LoggerLike, MetricsSink } from '../../functions/lib/telemetry/telemetry';
import { type ScanModel, SimAws, SimRegistry } from './adapters';
import { Cluster, type ServiceSpec } from './cluster';
import { EventBus } from './eventbridge';
import { createFanoutEnvironment, newFanoutFigures } from './fanout';
import {
  CountingOwnership,
  type FollowFigures,
  FollowHarness,
  followOf,
  MemoryOwnership,
  simFollowWorld,
  type TableCost,
  tableCost,
} from './follow';
import { FifoGroupQueue, StandardQueue } from './groups';
import { type KnobOverrides, withKnobs } from './knobs';
import { ApiLimits, type LimitedApi, PUBLISHED_LIMITS } from './limits';
import { Observer, type ScanFigures, type StaleCause, scanFigures, type Violation } from './measures';
import { Rng } from './rng';
import { SCENARIOS, type ScenarioSpec } from './scenarios';
import { Scheduler } from './scheduler';
import { createWorkerEnvironment, newWorkerCounts, targetsByGroup } from './worker';

/**
 * Runs one scenario end to end: the deployed path (the fan-out → the FIFO work queue, one message
 * group per entry → the worker) against the simulated cluster, Cloud Map, EventBridge, SQS and
 * registry, until the world is quiet and one more
 * scheduled resync has been processed. Deterministic: the same scenario, seed and knobs always
 * give the same figures (only `runtimeMs` is wall-clock).
 */

export interface RunOptions {
  seed?: number;
  /** Knob overrides on top of the scenario's own. */
  knobs?: KnobOverrides;
  /** Keep every decision record in the result (large). */
  keepRecords?: boolean;
  /** Model the registry's background security scan after each server write (off by default). */
  scan?: ScanModel;
  /**
   * Follow scenarios: replaces the ownership table the functions use (tests inject a defective one
   * to show the judge catches it). Receives the table the run would use, and the registry's
   * entries as they are now.
   */
  ownership?: (table: OwnershipPort, registry: Pick<MemoryRegistry, 'url'>) => OwnershipPort;
}

export interface Distribution {
  count: number;
  totalMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ScenarioResult {
  scenario: string;
  seed: number;
  description: string;
  services: number;
  targets: number;
  /** Virtual time simulated, ms. */
  simulatedMs: number;
  /** Wall-clock time the run took (not deterministic). */
  runtimeMs: number;
  world: {
    ecsEvents: number;
    tasksStarted: number;
    deployments: number;
    crashes: number;
    scaleOuts: number;
    scaleIns: number;
    registryResets: number;
  };
  delivery: {
    eventsLost: number;
    eventsDuplicated: number;
    eventsDelayed: number;
    deduplicatedByFifo: number;
    messagesSent: number;
    messagesReceived: number;
    redeliveries: number;
    deadLettered: number;
    invocations: number;
    lambdaTimeouts: number;
    /** Time from a message being sent to its first receive. */
    queueWait: Omit<Distribution, 'count' | 'totalMs'>;
    /** Invocation durations. */
    invocation: Omit<Distribution, 'count' | 'totalMs'>;
    /** FIFO message groups (one per entry in the per-entry design). */
    messageGroups: number;
    maxConcurrentInvocations: number;
    environments: number;
    /** Messages handed back unstarted by the time budget. */
    notStarted: number;
    /** Registry writes the time budget refused to start. */
    writesRefused: number;
    /** Deliveries deferred for Cloud Map lag (each one look-up round). */
    lagRedeliveries: number;
    functionTimeoutMs: number;
  };
  /** The fan-out Lambda. */
  fanout: {
    triggers: number;
    shards: number;
    workMessages: number;
    registryPageReads: number;
    invocations: number;
    timeouts: number;
    deadLettered: number;
    shardCheck: Omit<Distribution, 'count' | 'totalMs'>;
    calls: Partial<Record<ApiName, number>>;
    /** Write verifications: sent by the reconciler after a confirmed write, checked by the fan-out. */
    verifications: {
      sent: number;
      checked: number;
      disabledSecurityPending: number;
      addressWrittenBack: number;
      changedSince: number;
    };
  };
  /** The scheduled resync's load. */
  resync: {
    entries: number;
    resyncs: number;
    shardsPerResync: number;
    registryReadsPerResyncMax: number;
    registryWritesPerResyncMax: number;
  };
  /**
   * Follow mode's names sweep (its own schedule, every `DELIVERY.namesSweepSeconds`): sweeps run,
   * the registry page reads of one sweep (max) and per minute, and the work messages the sweeps sent.
   */
  sweep?: { sweeps: number; pageReadsMax: number; pageReadsPerMinute: number; work: number };
  /** Calls that reached each rate-limited API, and how many its token bucket throttled. */
  api: Record<LimitedApi, { calls: number; throttled: number }>;
  /** The stuck entry of `stuck-target`: its dead-lettered messages, and what the others saw. */
  stuck?: { path: string; deadLettered: number; othersDeadLettered: number; othersWorstStaleMs: number };
  /** Stale-pointer episodes: an entry names a task that is not live while a live one exists. */
  stale: Distribution & {
    /** Of that time, the part after the handler had processed the pointed task's stop signal while Cloud Map listed another live task. */
    afterSignalMs: number;
    /** The known edge: stale time after a stop signal that came before the replacement was listed, until a later event or the resync moved the pointer. */
    awaitingReplacementMs: number;
    byCause: Partial<Record<StaleCause, Distribution>>;
    /** Episodes over 10 s, by what bounded them (see `tailBound`). */
    tails: Partial<Record<TailBound, { count: number; maxMs: number }>>;
    perEntry: { path: string; episodes: number; totalMs: number; maxMs: number }[];
  };
  /** From the last change in the world to the last entry put right; null when not converged. */
  convergeMs: number | null;
  writes: {
    landed: number;
    decided: number;
    /** Stale episodes: each needed at least one pointer move. */
    movesNeeded: number;
    perMove: number;
    lostUpdates: number;
    /** Writes that landed naming a task no longer live while a live one existed. */
    staleLandings: number;
    disabledAfterWrite: number;
  };
  /** Remote calls from the decision records, in total and per ECS event emitted. */
  calls: { total: Partial<Record<ApiName, number>>; perEvent: Partial<Record<ApiName, number>> };
  decisions: Record<string, number>;
  reasons: Record<string, number>;
  violations: {
    blankWrites: number;
    unsafeWrites: number;
    sameValueWrites: number;
    needlessMoves: number;
    samples: Violation[];
  };
  /** After the world went quiet and one more scheduled resync ran. */
  final: { targets: number; pointingAtLive: number; withoutLiveTask: number; bad: string[]; quiet: boolean };
  records?: DecisionRecord[];
  /** With `RunOptions.scan`: what the scan did and whether the reconciler reported it. */
  scan?: ScanFigures;
  /** Follow scenarios: the entries, the judge of every write, the ownership table's load and cost. */
  follow?: FollowFigures & { cost: TableCost };
}

const CLUSTER_ARN = 'arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster';
const NAMESPACE = 'mcp-gateway.local';
const REGISTRY_SERVICE = 'mcp-gateway-registry';
const BUILT_IN = { path: '/airegistry-tools/', url: 'http://mcpgw-server:8003/' };

/** Runs a named scenario (or a spec) and returns its measures. */
export async function runScenario(
  scenario: string | ScenarioSpec,
  options: RunOptions = {},
): Promise<ScenarioResult> {
  const spec = typeof scenario === 'string' ? SCENARIOS[scenario] : scenario;
  if (spec === undefined) throw new Error(`unknown scenario ${String(scenario)}`);
  const started = performance.now();
  const seed = options.seed ?? 1;
  const knobs = withKnobs(spec.knobs, options.knobs);
  const root = new Rng(seed, spec.name);
  const sched = new Scheduler(new VirtualClock(Date.parse('2026-03-02T00:00:00Z')));
  const t0 = sched.now();

  // ---- the services and their registry entries ----
  const layoutRng = root.fork('layout');
  const n =
    typeof spec.services === 'number' ? spec.services : layoutRng.int(spec.services[0], spec.services[1]);
  const services: ServiceSpec[] = [
    {
      ecsService: 'mcp-gateway-mcpgw',
      cloudMapService: 'mcpgw-server',
      port: 8003,
      target: { kind: 'server', path: BUILT_IN.path, builtIn: BUILT_IN.url, named: true },
    },
  ];
  const allNamed = spec.namedTargets === 'all';
  for (let i = 1; i < n; i++) {
    const id = String(i).padStart(2, '0');
    const agent = i % 5 === 0;
    services.push({
      ecsService: `mcp-gateway-svc${id}`,
      cloudMapService: agent ? `svc${id}-agent` : `svc${id}-server`,
      port: agent ? 9000 : 8000,
      target: agent
        ? { kind: 'agent', path: `/svc${id}-agent`, portFrom: 'instance', named: allNamed || i % 3 !== 0 }
        : { kind: 'server', path: `/svc${id}/`, named: allNamed || i % 3 !== 0 },
    });
  }
  services.push({
    ecsService: REGISTRY_SERVICE,
    cloudMapService: 'registry',
    port: 80,
    bootMs: knobs.registry.bootMs,
  });
  const world = new World({
    clusterArn: CLUSTER_ARN,
    namespace: NAMESPACE,
    clock: sched.clock,
    services: services.map((s) => ({
      ecsService: s.ecsService,
      cloudMapService: s.cloudMapService,
      port: s.port,
    })),
  });
  const memory = new MemoryRegistry(sched.clock);
  const targetServices = services.filter((s) => s.target !== undefined);
  const followSpec = spec.follow;
  const config: ReconcilerConfig = parseConfig({
    cluster: CLUSTER_ARN,
    namespace: NAMESPACE,
    registryService: REGISTRY_SERVICE,
    registry: { url: 'http://registry.sim.local', auth: { type: 'static', tokenEnv: 'SIM_REGISTRY_TOKEN' } },
    // Follow mode: no target configured; every entry is found in the registry at run time.
    ...(followSpec === undefined
      ? {}
      : { follow: { enabled: true }, ownership: { table: 'registry-reconciler-ownership' } }),
    targets:
      followSpec !== undefined
        ? []
        : targetServices.map((s) => {
            const t = s.target as NonNullable<ServiceSpec['target']>;
            return {
              kind: t.kind,
              path: t.path,
              cloudMapService: s.cloudMapService,
              ...(t.named ? { ecsService: s.ecsService } : {}),
              ...(t.portFrom === undefined ? {} : { port: t.portFrom }),
            };
          }),
  });

  // ---- wiring: cluster → EventBridge → queue → Lambda (real handler) → ports ----
  let observer: Observer | undefined;
  let harness: FollowHarness | undefined;
  let bus: EventBus | undefined;
  let registryResets = 0;
  let pendingResets = 0;
  const cluster = new Cluster(
    sched,
    world,
    root.fork('cluster'),
    services,
    knobs.lifecycle,
    knobs.cloudMap,
    (event) => bus?.put(event),
    {
      changed: (svc) => observer?.serviceChanged(svc),
      livenessChanged: (svc) => observer?.livenessChanged(svc),
      running: (task, bootMs) => {
        if (task.service !== REGISTRY_SERVICE) return;
        // The registry app rewrites its built-in entries when it starts, after ECS says RUNNING.
        pendingResets++;
        sched.after(bootMs, () => {
          pendingResets--;
          if (cluster.task(task.taskId)?.desiredStatus !== 'RUNNING') return;
          registryResets++;
          for (const s of targetServices) {
            if (s.target?.builtIn === undefined) continue;
            // Follow mode: only an entry already registered is reset.
            if (memory.url({ kind: s.target.kind, path: s.target.path }) === undefined) continue;
            memory.set({ kind: s.target.kind, path: s.target.path }, s.target.builtIn);
            harness?.reset(s.target.path);
            observer?.registryReset(s.target.path);
          }
        });
      },
    },
  );
  const seedRng = root.fork('seed');
  for (const s of services) {
    const count =
      s.ecsService === REGISTRY_SERVICE
        ? seedRng.int(...spec.registryTasks)
        : seedRng.int(...spec.tasksPerService);
    for (let i = 0; i < count; i++) cluster.seed(s.ecsService);
  }
  // A converged start: each entry names its service's most recently started task. In follow
  // mode the registry starts with the entries registered before the start (by name), below.
  for (const s of followSpec === undefined ? targetServices : []) {
    const t = s.target as NonNullable<ServiceSpec['target']>;
    const newest = [...cluster.live(s.ecsService)].sort((a, b) =>
      (a.startedAt ?? '') < (b.startedAt ?? '') ? 1 : -1,
    )[0];
    const host = newest?.ipv4 ?? s.cloudMapService;
    memory.seed({ kind: t.kind, path: t.path }, `http://${host}:${s.port}/`, true, {
      ...(t.kind === 'server' ? { mcp_endpoint: `http://${host}:${s.port}/mcp` } : {}),
    });
  }
  const watched = targetServices.map((s) => ({
    ref: {
      kind: (s.target as NonNullable<ServiceSpec['target']>).kind,
      path: (s.target as NonNullable<ServiceSpec['target']>).path,
    } as EntryRef,
    ecsService: s.ecsService,
    cloudMapService: s.cloudMapService,
  }));
  // Follow mode: an entry is measured from its adoption until a person takes it over.
  const obs = new Observer(
    sched.now,
    cluster,
    memory,
    watched,
    new Set(followSpec === undefined ? [] : watched.map((t) => t.ref.path)),
  );
  observer = obs;
  if (followSpec !== undefined) {
    harness = new FollowHarness(
      {
        spec: followSpec,
        rng: root.fork('follow'),
        sched,
        memory,
        cluster,
        namespace: NAMESPACE,
        periodMs: knobs.lambda.resyncMs,
      },
      targetServices,
    );
    harness.observer = obs;
  }
  const follow = harness;
  sched.onStep = () => obs.step();

  const limits = new ApiLimits(sched.now);
  const aws = new SimAws(
    world,
    sched,
    root.fork('aws'),
    knobs.aws,
    knobs.aws.publishedLimits ? limits : undefined,
  );
  const stuck = spec.stuckPath === undefined ? new Set<string>() : new Set([spec.stuckPath]);
  const registry = new SimRegistry(
    memory,
    sched,
    root.fork('registry'),
    knobs.registry,
    {
      decided: (a) => {
        follow?.decided(a);
        obs.writeDecided(a);
      },
      landed: (a) => {
        obs.writeLanded(a);
        follow?.landed(a);
      },
      changed: (ref) => obs.entryChanged(ref.path),
    },
    stuck,
    options.scan,
  );
  // The fan-out's verification reads: the same registry (its entries and what its scan
  // disabled), its own random stream (a separate function's requests), so adding them leaves the
  // reconciler's draws as they were.
  const verifyRegistry = new SimRegistry(
    memory,
    sched,
    root.fork('fanout-registry'),
    knobs.registry,
    { decided: () => undefined, landed: () => undefined },
    stuck,
    undefined,
    registry.scanDisabled,
  );
  const records: DecisionRecord[] = [];
  const recordAt = new Map<DecisionRecord, number>();
  const logger = recordingLogger(records, (r) => recordAt.set(r, sched.now()));
  const metrics: MetricsSink = { count: () => undefined, milliseconds: () => undefined };
  const workerCounts = newWorkerCounts();
  const fanoutFigures = newFanoutFigures();
  const settings = {
    batchSize: knobs.lambda.batchSize,
    visibilityTimeoutMs: knobs.lambda.visibilityTimeoutMs,
    maxReceiveCount: knobs.lambda.maxReceiveCount,
    timeoutMs: knobs.lambda.timeoutMs,
    pollMs: knobs.lambda.pollMs,
    maxConcurrency: knobs.lambda.maxConcurrency,
    coldStartMs: knobs.lambda.coldStartMs,
  };
  // The trigger queue is built after the work queue: the worker's verifications reach it late-bound.
  let toTriggers: (body: string, delaySeconds: number) => void = () => undefined;
  const budget = budgetRule(
    {
      timeoutMs: knobs.registry.clientTimeoutMs,
      maxAttempts: knobs.registry.maxAttempts,
      maxBackoffMs: maxBackoffMs(knobs.registry.maxAttempts),
    },
    // Cloud Map + ECS with the SDK's throttling retries.
    3 * (knobs.aws.latencyMs[1] * 3 + 700),
  );
  // Follow mode: one ownership table for every container (the product's in-memory store, its
  // DynamoDB request units counted); each container its own Follower, as each Lambda has.
  const table =
    followSpec === undefined
      ? undefined
      : new CountingOwnership(
          new MemoryOwnership('registry-reconciler-ownership'),
          sched,
          root.fork('dynamodb'),
        );
  const gateTable = table === undefined ? undefined : (options.ownership?.(table, memory) ?? table);
  const worldCalls: Record<string, number> = {};
  // Each container its own adapter (its batching window), as each Lambda has.
  const followWorld = () =>
    followSpec === undefined
      ? undefined
      : simFollowWorld({
          aws,
          sleep: (ms) => sched.sleep(ms),
          clusterArn: CLUSTER_ARN,
          namespace: NAMESPACE,
          calls: worldCalls,
        });
  const followFor = () => {
    const world = followWorld();
    return gateTable === undefined || world === undefined
      ? {}
      : { follow: followOf(config, gateTable, world, sched.now) };
  };
  const workQueue = new FifoGroupQueue(sched, root.fork('queue'), settings, () =>
    createWorkerEnvironment({
      ...followFor(),
      config,
      cloudMap: aws,
      ecs: aws,
      registry,
      logger,
      metrics,
      sched,
      budget,
      parallelism: 10,
      counts: workerCounts,
      sendTrigger: (body, delay) => toTriggers(body, delay),
    }),
  );
  const fanoutRng = root.fork('fanout');
  const triggerQueue = new StandardQueue(
    sched,
    root.fork('triggers'),
    {
      ...settings,
      // The fan-out function and its trigger queue as deployed (delivery/settings.ts).
      timeoutMs: DELIVERY.fanoutTimeoutSeconds * 1_000,
      visibilityTimeoutMs: DELIVERY.triggerVisibilitySeconds * 1_000,
      maxReceiveCount: DELIVERY.triggerMaxReceiveCount,
      maxConcurrency: knobs.lambda.fanoutConcurrency,
    },
    () =>
      createFanoutEnvironment({
        ...followFor(),
        config,
        cloudMap: aws,
        ecs: aws,
        memory,
        registry: verifyRegistry,
        scanDisabled: registry.scanDisabled,
        logger,
        metrics,
        sched,
        rng: fanoutRng,
        registryReadMs: knobs.registry.readMs,
        pageSize: knobs.lambda.pageSize,
        rates: {
          discoverInstancesPerSecond: PUBLISHED_LIMITS['cloudmap.DiscoverInstances'].rate,
          describeTasksPerSecond: PUBLISHED_LIMITS['ecs.DescribeTasks'].rate,
        },
        rateShare: knobs.lambda.resyncRateShare,
        periodSeconds: knobs.lambda.resyncMs / 1000,
        recheck: {
          everySeconds: knobs.lambda.recheckEverySeconds,
          windowSeconds: knobs.lambda.recheckWindowSeconds,
        },
        shardParallelism: 25,
        sendTrigger: (body, delay) => triggerQueue.send(body, delay),
        sendWork: (g, d, body) => workQueue.send(g, d, body),
        figures: fanoutFigures,
      }),
  );
  toTriggers = (body, delay) => triggerQueue.send(body, delay);
  const queue = workQueue;
  const work = workQueue;
  const triggers = triggerQueue;
  const eventBus = new EventBus(sched, root.fork('eventbridge'), knobs.eventBridge, (body) =>
    triggerQueue.send(body),
  );
  bus = eventBus;
  let resyncsProcessed = 0;
  // Stop signals in a batch, with whether Cloud Map listed an alternative when the batch started.
  const signalsAtStart = new Map<number, Map<string, boolean>>();
  queue.onInvocationStart = (id, messages) => {
    const signals = new Map<string, boolean>();
    for (const m of messages) {
      const intake = parseEventText(m.body);
      if (intake.kind === 'task' && intake.event.desiredStatus === 'STOPPED')
        signals.set(intake.event.taskId, obs.hasListedAlternative(intake.event.taskId));
    }
    signalsAtStart.set(id, signals);
  };
  queue.onInvocation = (report) => {
    const signals = signalsAtStart.get(report.id);
    signalsAtStart.delete(report.id);
    if (report.timedOut) return;
    for (const [taskId, hadAlternative] of signals ?? []) {
      // A message handed back was not acted on: its signal counts when a later delivery succeeds.
      if (
        [...report.failed].some((id) =>
          report.messages.find((m) => m.messageId === id && m.body.includes(taskId)),
        )
      )
        continue;
      obs.signalProcessed(taskId, hadAlternative);
    }
  };
  triggers.onInvocation = (report) => {
    for (const m of report.messages)
      if (!report.failed.has(m.messageId) && parseEventText(m.body).kind === 'schedule') resyncsProcessed++;
  };

  // ---- the scheduled resync, throttling bursts, and the plan ----
  const resyncRng = root.fork('resync');
  let resyncs = 0;
  let resyncOn = true;
  const resync = () => {
    if (!resyncOn) return;
    resyncs++;
    eventBus.put(
      scheduledEvent(`resync-${String(resyncs).padStart(5, '0')}-${resyncRng.hex(8)}`, sched.clock.iso()),
      true,
    );
    sched.after(knobs.lambda.resyncMs, resync);
  };
  sched.after(resyncRng.int(0, knobs.lambda.resyncMs - 1), resync);
  // Follow mode's names sweep, as the construct deploys it (infra/delivery.ts): its own schedule
  // rule, every minute, whose target's input transformer puts `{"sweep": {"id", "time"}}` on the
  // trigger queue. Its own random stream: the other draws stay as they were.
  const sweepRng = root.fork('sweep');
  let sweeps = 0;
  const sweepMs = knobs.lambda.namesSweepMs;
  const sweep = () => {
    if (!resyncOn) return;
    sweeps++;
    const id = `${String(sweeps).padStart(5, '0')}-${sweepRng.hex(8)}`;
    eventBus.put({ sweep: { id, time: sched.clock.iso() } }, true);
    sched.after(sweepMs, sweep);
  };
  if (config.follow.enabled && sweepMs > 0) sched.after(sweepRng.int(0, sweepMs - 1), sweep);
  const throttleRng = root.fork('throttle');
  const hours = spec.activityMs / 3_600_000;
  const bursts = Math.round(knobs.aws.throttleBurstsPerHour * hours);
  for (let i = 0; i < bursts; i++) {
    sched.after(throttleRng.int(0, spec.activityMs), () => {
      world.throttle(
        throttleRng.chance(0.5) ? 'cloudmap.DiscoverInstances' : 'ecs.DescribeTasks',
        throttleRng.int(...knobs.aws.throttleBurstSize),
      );
    });
  }
  if (follow !== undefined && table !== undefined)
    follow.plan((ms, action) => sched.at(t0 + ms, action), table.store);
  const planRng = root.fork('plan');
  const targetEcs = targetServices.map((s) => s.ecsService);
  spec.plan({
    cluster,
    rng: planRng,
    services: targetEcs,
    registryService: REGISTRY_SERVICE,
    at: (ms, action) => sched.at(t0 + ms, action),
  });

  // ---- run: the activity, then until quiet, then one more scheduled resync ----
  await sched.run(t0 + spec.activityMs);
  const quiet = () =>
    cluster.pending === 0 &&
    pendingResets === 0 &&
    eventBus.pending === 0 &&
    queue.depth === 0 &&
    queue.inFlight === 0 &&
    triggers.depth === 0 &&
    triggers.inFlight === 0;
  const limit = t0 + spec.activityMs + 6 * 3_600_000;
  let wasQuiet = await sched.runUntil(quiet, limit);
  const before = resyncsProcessed;
  wasQuiet = (await sched.runUntil(() => resyncsProcessed > before && quiet(), limit)) && wasQuiet;
  resyncOn = false;
  obs.stop();

  // ---- figures ----
  const bad = obs.badTargets().map((t) => t.ref.path);
  const active = obs.activeTargets();
  const withoutLive = active.filter((t) => cluster.live(t.ecsService).length === 0).length;
  const episodes = obs.episodes.map((e) => ({ ...e, ms: (e.end ?? sched.now()) - e.start }));
  const byCause: Partial<Record<StaleCause, Distribution>> = {};
  for (const cause of new Set(episodes.map((e) => e.cause))) {
    byCause[cause] = distribution(episodes.filter((e) => e.cause === cause).map((e) => e.ms));
  }
  const episodesByPath = new Map<string, number[]>();
  for (const e of episodes) episodesByPath.set(e.path, [...(episodesByPath.get(e.path) ?? []), e.ms]);
  const entryStale = obs.targets
    .map((t) => {
      const mine = episodesByPath.get(t.ref.path) ?? [];
      return { path: t.ref.path, episodes: mine.length, totalMs: sum(mine), maxMs: Math.max(0, ...mine) };
    })
    .filter((e) => e.episodes > 0);
  const calls: Partial<Record<ApiName, number>> = {};
  const decisions: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  let disabledAfterWrite = 0;
  for (const r of records) {
    for (const [api, c] of Object.entries(r.calls) as [ApiName, number][]) calls[api] = (calls[api] ?? 0) + c;
    decisions[r.action] = (decisions[r.action] ?? 0) + 1;
    reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
    if (r.write?.disabledAfterWrite) disabledAfterWrite++;
  }
  // Registry requests per resync (per-entry design): the shards' page reads plus the reads and
  // writes of the work the resync emitted.
  const perResync = new Map<string, { reads: number; writes: number }>();
  for (const [id, f] of fanoutFigures.perResync)
    if (id.startsWith('resync-')) perResync.set(id, { reads: f.pages, writes: 0 });
  for (const r of records) {
    const id = (r.trigger as { eventId?: string }).eventId;
    const acc = id === undefined ? undefined : perResync.get(id);
    if (acc === undefined) continue;
    acc.reads += r.calls['registry.read'] ?? 0;
    acc.writes += (r.calls['registry.write'] ?? 0) + (r.calls['registry.readBack'] ?? 0);
  }
  const resyncLoads = [...perResync.values()];
  const ecsEvents = cluster.counts.events;
  const perEvent: Partial<Record<ApiName, number>> = {};
  for (const [api, c] of Object.entries(calls) as [ApiName, number][])
    perEvent[api] = round(c / Math.max(1, ecsEvents), 3);
  const movesNeeded = episodes.length;
  const v = obs.violations;
  const result: ScenarioResult = {
    scenario: spec.name,
    seed,
    description: spec.description,
    services: n,
    targets: obs.targets.length,
    simulatedMs: sched.now() - t0,
    runtimeMs: Math.round(performance.now() - started),
    world: { ...cluster.counts, ecsEvents, registryResets } as ScenarioResult['world'],
    delivery: {
      eventsLost: eventBus.counts.lost,
      eventsDuplicated: eventBus.counts.duplicated,
      eventsDelayed: eventBus.counts.delayed,
      deduplicatedByFifo: queue.counts.deduplicated,
      messagesSent: queue.counts.sent,
      messagesReceived: queue.counts.received,
      redeliveries: queue.counts.redelivered,
      deadLettered: queue.dlq.length,
      invocations: queue.counts.invocations,
      lambdaTimeouts: queue.counts.timeouts,
      queueWait: strip(distribution(queue.waits)),
      invocation: strip(distribution(queue.durations)),
      messageGroups: followSpec === undefined ? targetsByGroup(config).size : work.groupsSeen.size,
      maxConcurrentInvocations: work.maxInFlight,
      environments: work.environments,
      notStarted: workerCounts.notStarted,
      writesRefused: workerCounts.writesRefused,
      lagRedeliveries: workerCounts.lagDeferrals,
      functionTimeoutMs: knobs.lambda.timeoutMs,
    },
    fanout: {
      triggers: fanoutFigures.triggers,
      shards: fanoutFigures.shards,
      workMessages: fanoutFigures.workMessages,
      registryPageReads: fanoutFigures.registryPageReads,
      invocations: triggers.counts.invocations,
      timeouts: triggers.counts.timeouts,
      deadLettered: triggers.dlq.length,
      shardCheck: strip(distribution(fanoutFigures.shardDurations)),
      calls: fanoutFigures.calls,
      // Write verifications after the registry's background scan (issue #10 item 6).
      verifications: {
        sent: workerCounts.verificationsSent,
        checked: fanoutFigures.verifications.length,
        disabledSecurityPending: fanoutFigures.verifications.filter((v) => v.disabledSecurityPending).length,
        addressWrittenBack: fanoutFigures.verifications.filter((v) => v.addressWrittenBack).length,
        changedSince: fanoutFigures.verifications.filter((v) => v.changedSince).length,
      },
    },
    resync: {
      entries: obs.targets.length,
      resyncs: resyncLoads.length,
      shardsPerResync:
        followSpec !== undefined
          ? Math.max(
              0,
              ...[...fanoutFigures.perResync]
                .filter(([id]) => id.startsWith('resync-'))
                .map(([, f]) => f.pages),
            )
          : Math.ceil(config.targets.filter((t) => t.kind === 'server').length / knobs.lambda.pageSize) +
            Math.ceil(config.targets.filter((t) => t.kind === 'agent').length / knobs.lambda.pageSize),
      registryReadsPerResyncMax: Math.max(0, ...resyncLoads.map((l) => l.reads)),
      registryWritesPerResyncMax: Math.max(0, ...resyncLoads.map((l) => l.writes)),
    },
    ...(sweeps === 0 ? {} : { sweep: sweepFigures(fanoutFigures.perResync, sched.now() - t0) }),
    api: limits.figures(),
    ...(spec.stuckPath === undefined
      ? {}
      : {
          stuck: {
            path: spec.stuckPath,
            deadLettered: work.dlqByGroup.get(targetsGroupOf(spec.stuckPath, config)) ?? 0,
            othersDeadLettered:
              queue.dlq.length - (work.dlqByGroup.get(targetsGroupOf(spec.stuckPath, config)) ?? 0),
            othersWorstStaleMs: Math.max(
              0,
              ...entryStale.filter((e) => e.path !== spec.stuckPath).map((e) => e.maxMs),
            ),
          },
        }),
    stale: {
      ...distribution(episodes.map((e) => e.ms)),
      afterSignalMs: obs.afterSignalMs,
      awaitingReplacementMs: obs.awaitingReplacementMs,
      byCause,
      tails: tailsOf(episodes, {
        targets: obs.targets,
        intervals: obs.afterSignalIntervals,
        mishaps: eventBus.mishaps,
        updates: records
          .filter((r) => r.action === 'update')
          .map((r) => ({ path: r.target.path, at: recordAt.get(r) ?? 0, trigger: r.trigger.type })),
      }),
      perEntry: entryStale,
    },
    convergeMs: bad.length > 0 ? null : Math.max(0, obs.lastFixAt - obs.lastChangeAt),
    writes: {
      landed: obs.writes.landed,
      decided: obs.writes.decided,
      movesNeeded,
      perMove: movesNeeded === 0 ? 0 : round(obs.writes.landed / movesNeeded, 2),
      lostUpdates: obs.writes.lostUpdates,
      staleLandings: obs.writes.staleLandings,
      disabledAfterWrite,
    },
    calls: { total: calls, perEvent },
    decisions,
    reasons,
    violations: {
      blankWrites: v.filter((x) => x.kind === 'blank-write').length,
      unsafeWrites: v.filter((x) => x.kind === 'unsafe-write').length,
      sameValueWrites: v.filter((x) => x.kind === 'same-value-write').length,
      needlessMoves: v.filter((x) => x.kind === 'needless-move').length,
      samples: v.slice(0, 5),
    },
    final: {
      targets: active.length,
      pointingAtLive: active.length - bad.length - withoutLive,
      withoutLiveTask: withoutLive,
      bad,
      quiet: wasQuiet,
    },
    ...(options.keepRecords ? { records } : {}),
    ...(options.scan === undefined
      ? {}
      : {
          scan: scanFigures(
            registry.scans,
            records,
            (path) => memory.url({ kind: 'server', path }),
            bad,
            fanoutFigures.verifications,
            fanoutFigures.securityPendingReports,
          ),
        }),
  };
  // Entries that no write or reset may ever remove (follow mode: once registered).
  for (const t of obs.targets) {
    const url = memory.url(t.ref);
    const registered = follow === undefined || follow.entry(t.ref.path)?.registeredAt !== undefined;
    if (registered && (url === undefined || url.trim() === '')) result.violations.blankWrites++;
  }
  if (follow !== undefined && table !== undefined) {
    const figures = follow.figures(table, worldCalls);
    result.follow = { ...figures, cost: tableCost(figures.table, result.simulatedMs) };
  }
  return result;
}

/** The names sweeps' load, from the fan-out's per-trigger figures (their ids start `sweep-`). */
function sweepFigures(
  perTrigger: ReadonlyMap<string, { pages: number; work: number }>,
  simulatedMs: number,
): NonNullable<ScenarioResult['sweep']> {
  const sweeps = [...perTrigger].filter(([id]) => id.startsWith('sweep-')).map(([, f]) => f);
  const pages = sum(sweeps.map((f) => f.pages));
  return {
    sweeps: sweeps.length,
    pageReadsMax: Math.max(0, ...sweeps.map((f) => f.pages)),
    pageReadsPerMinute: round(pages / Math.max(1, simulatedMs / 60_000), 1),
    work: sum(sweeps.map((f) => f.work)),
  };
}

/** What bounded a stale episode over 10 s. */
export type TailBound =
  | 'registry reset, put back by a re-check'
  | 'lost event, healed by the resync'
  | 'lost event, healed by a later event'
  | 'late event'
  | 'stop signal before the replacement was listed (Cloud Map lag)'
  | 'healed by the resync'
  | 'registry errors and redeliveries'
  | 'ended without a write';

const TAIL_MS = 10_000;

/**
 * Classifies every stale episode over 10 s by what bounded it: which trigger's write ended it
 * (the last update of the entry within the episode), whether an event of the service was lost or
 * held back in it, and how much of it was spent awaiting a replacement that Cloud Map did not list
 * yet when the stop signal was processed.
 */
function tailsOf(
  episodes: { path: string; cause: StaleCause; start: number; ms: number }[],
  at: {
    targets: { ref: EntryRef; ecsService: string }[];
    intervals: { path: string; kind: string | undefined; start: number; end?: number }[];
    mishaps: { at: number; kind: 'lost' | 'late'; group: string | undefined }[];
    updates: { path: string; at: number; trigger: string }[];
  },
): Partial<Record<TailBound, { count: number; maxMs: number }>> {
  const out: Partial<Record<TailBound, { count: number; maxMs: number }>> = {};
  for (const e of episodes) {
    if (e.ms <= TAIL_MS) continue;
    const end = e.start + e.ms;
    const service = at.targets.find((t) => t.ref.path === e.path)?.ecsService;
    const mishap = (kind: 'lost' | 'late') =>
      at.mishaps.some(
        (m) => m.kind === kind && m.group === `service:${service}` && m.at >= e.start - 30_000 && m.at <= end,
      );
    const awaitingMs = at.intervals
      .filter((i) => i.path === e.path && i.kind === 'awaiting-replacement')
      .reduce((sum, i) => sum + Math.max(0, Math.min(i.end ?? end, end) - Math.max(i.start, e.start)), 0);
    const fix = at.updates.filter((u) => u.path === e.path && u.at >= e.start && u.at <= end).at(-1);
    const bound: TailBound =
      e.cause === 'registry-reset'
        ? 'registry reset, put back by a re-check'
        : fix === undefined
          ? 'ended without a write'
          : fix.trigger === 'schedule' && mishap('lost')
            ? 'lost event, healed by the resync'
            : awaitingMs > e.ms / 2
              ? 'stop signal before the replacement was listed (Cloud Map lag)'
              : mishap('lost')
                ? 'lost event, healed by a later event'
                : mishap('late')
                  ? 'late event'
                  : fix.trigger === 'schedule'
                    ? 'healed by the resync'
                    : 'registry errors and redeliveries';
    const o = out[bound] ?? { count: 0, maxMs: 0 };
    o.count++;
    o.maxMs = Math.max(o.maxMs, e.ms);
    out[bound] = o;
  }
  return out;
}

function targetsGroupOf(path: string, config: ReconcilerConfig): string {
  const t = config.targets.find((x) => x.path === path);
  return t === undefined ? '' : entryGroupId({ kind: t.kind, path: t.path });
}

/** A logger that keeps the decision records the handlers log. */
export function recordingLogger(
  records: DecisionRecord[],
  onRecord: (r: DecisionRecord) => void = () => undefined,
): LoggerLike {
  const take = (_m: string, ...extra: Record<string, unknown>[]) => {
    for (const e of extra)
      if (e.decision !== undefined) {
        records.push(e.decision as DecisionRecord);
        onRecord(e.decision as DecisionRecord);
      }
  };
  return { debug: () => undefined, info: take, warn: take, error: take };
}

function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) =>
    sorted.length === 0
      ? 0
      : (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number);
  return {
    count: sorted.length,
    totalMs: sum(sorted),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: sorted.at(-1) ?? 0,
  };
}

function strip(d: Distribution): Omit<Distribution, 'count' | 'totalMs'> {
  return { p50Ms: d.p50Ms, p99Ms: d.p99Ms, maxMs: d.maxMs };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
