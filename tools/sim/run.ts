import { parseConfig, type ReconcilerConfig } from '../../functions/reconciler/config';
import { parseEventText } from '../../functions/reconciler/event';
import type { ApiName, EntryRef } from '../../functions/reconciler/ports';
import type { DecisionRecord } from '../../functions/reconciler/record';
import { createReconcilerHandler } from '../../functions/reconciler/wiring';
import { scheduledEvent } from '../world/events';
import { MemoryRegistry, VirtualClock, World } from '../world/world';
import { SimAws, SimRegistry } from './adapters';
import { Cluster, type ServiceSpec } from './cluster';
import { EventBus, LambdaQueue } from './delivery';
import { type KnobOverrides, withKnobs } from './knobs';
import { Observer, type StaleCause, type Violation } from './measures';
import { Rng } from './rng';
import { SCENARIOS, type ScenarioSpec } from './scenarios';
import { Scheduler } from './scheduler';

/**
 * Runs one scenario end to end: the real `createHandler` + `Reconciler` against the simulated
 * cluster, Cloud Map, EventBridge, SQS and registry, until the world is quiet and one more
 * scheduled resync has been processed. Deterministic: the same scenario, seed and knobs always
 * give the same figures (only `runtimeMs` is wall-clock).
 */

export interface RunOptions {
  seed?: number;
  /** Knob overrides on top of the scenario's own. */
  knobs?: KnobOverrides;
  /** Keep every decision record in the result (large). */
  keepRecords?: boolean;
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
    queue: 'fifo' | 'standard';
    concurrency: number;
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
  };
  /** Stale-pointer episodes: an entry names a task that is not live while a live one exists. */
  stale: Distribution & {
    /** Of that time, the part after the handler had processed the pointed task's stop signal while Cloud Map listed another live task. */
    afterSignalMs: number;
    /** The known edge: stale time after a stop signal that came before the replacement was listed, until a later event or the resync moved the pointer. */
    awaitingReplacementMs: number;
    byCause: Partial<Record<StaleCause, Distribution>>;
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
  for (let i = 1; i < n; i++) {
    const id = String(i).padStart(2, '0');
    const agent = i % 5 === 0;
    services.push({
      ecsService: `mcp-gateway-svc${id}`,
      cloudMapService: agent ? `svc${id}-agent` : `svc${id}-server`,
      port: agent ? 9000 : 8000,
      target: agent
        ? { kind: 'agent', path: `/svc${id}-agent`, portFrom: 'instance', named: i % 3 !== 0 }
        : { kind: 'server', path: `/svc${id}/`, named: i % 3 !== 0 },
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
  const config: ReconcilerConfig = parseConfig({
    cluster: CLUSTER_ARN,
    namespace: NAMESPACE,
    registryService: REGISTRY_SERVICE,
    registry: { url: 'http://registry.sim.local', auth: { type: 'static', tokenEnv: 'SIM_REGISTRY_TOKEN' } },
    targets: targetServices.map((s) => {
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
            memory.set({ kind: s.target.kind, path: s.target.path }, s.target.builtIn);
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
  // A converged start: each entry names its service's most recently started task.
  for (const s of targetServices) {
    const t = s.target as NonNullable<ServiceSpec['target']>;
    const newest = [...cluster.live(s.ecsService)].sort((a, b) =>
      (a.startedAt ?? '') < (b.startedAt ?? '') ? 1 : -1,
    )[0];
    const host = newest?.ipv4 ?? s.cloudMapService;
    memory.seed({ kind: t.kind, path: t.path }, `http://${host}:${s.port}/`, true, {
      ...(t.kind === 'server' ? { mcp_endpoint: `http://${host}:${s.port}/mcp` } : {}),
    });
  }
  const obs = new Observer(
    sched.now,
    cluster,
    memory,
    targetServices.map((s) => ({
      ref: {
        kind: (s.target as NonNullable<ServiceSpec['target']>).kind,
        path: (s.target as NonNullable<ServiceSpec['target']>).path,
      } as EntryRef,
      ecsService: s.ecsService,
      cloudMapService: s.cloudMapService,
    })),
  );
  observer = obs;
  sched.onStep = () => obs.step();

  const aws = new SimAws(world, sched, root.fork('aws'), knobs.aws);
  const registry = new SimRegistry(memory, sched, root.fork('registry'), knobs.registry, {
    decided: (a) => obs.writeDecided(a),
    landed: (a) => obs.writeLanded(a),
  });
  const records: DecisionRecord[] = [];
  const concurrency = knobs.lambda.queue === 'fifo' ? 1 : knobs.lambda.concurrency;
  // One reconciler per warm execution environment (each has its own service cache).
  const handlers = Array.from(
    { length: concurrency },
    () =>
      createReconcilerHandler({
        config,
        cloudMap: aws,
        ecs: aws,
        registry,
        sleep: sched.sleep,
        now: sched.now,
        onRecord: (record) => records.push(record),
        retry: { delaysMs: knobs.lambda.retryDelaysMs },
      }).handler,
  );
  const queue = new LambdaQueue(sched, root.fork('queue'), knobs.lambda, handlers);
  const eventBus = new EventBus(sched, root.fork('eventbridge'), knobs.eventBridge, (body) =>
    queue.send(body),
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
    for (const [taskId, hadAlternative] of signals ?? []) obs.signalProcessed(taskId, hadAlternative);
    for (const m of report.messages) if (parseEventText(m.body).kind === 'schedule') resyncsProcessed++;
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
    queue.inFlight === 0;
  const limit = t0 + spec.activityMs + 6 * 3_600_000;
  let wasQuiet = await sched.runUntil(quiet, limit);
  const before = resyncsProcessed;
  wasQuiet = (await sched.runUntil(() => resyncsProcessed > before && quiet(), limit)) && wasQuiet;
  resyncOn = false;
  obs.stop();

  // ---- figures ----
  const bad = obs.badTargets().map((t) => t.ref.path);
  const withoutLive = obs.targets.filter((t) => cluster.live(t.ecsService).length === 0).length;
  const episodes = obs.episodes.map((e) => ({ ...e, ms: (e.end ?? sched.now()) - e.start }));
  const byCause: Partial<Record<StaleCause, Distribution>> = {};
  for (const cause of new Set(episodes.map((e) => e.cause))) {
    byCause[cause] = distribution(episodes.filter((e) => e.cause === cause).map((e) => e.ms));
  }
  const perEntry = obs.targets
    .map((t) => {
      const mine = episodes.filter((e) => e.path === t.ref.path).map((e) => e.ms);
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
      queue: knobs.lambda.queue,
      concurrency,
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
    },
    stale: {
      ...distribution(episodes.map((e) => e.ms)),
      afterSignalMs: obs.afterSignalMs,
      awaitingReplacementMs: obs.awaitingReplacementMs,
      byCause,
      perEntry,
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
      targets: obs.targets.length,
      pointingAtLive: obs.targets.length - bad.length - withoutLive,
      withoutLiveTask: withoutLive,
      bad,
      quiet: wasQuiet,
    },
    ...(options.keepRecords ? { records } : {}),
  };
  // Entries that no write or reset may ever remove.
  for (const t of obs.targets) {
    const url = memory.url(t.ref);
    if (url === undefined || url.trim() === '') result.violations.blankWrites++;
  }
  return result;
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
