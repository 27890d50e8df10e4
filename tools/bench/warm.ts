import { performance } from 'node:perf_hooks';
import type { SQSBatchResponse } from 'aws-lambda';
import { parseConfig } from '../../functions/reconciler/config';
import { isRunning, isStopping } from '../../functions/reconciler/core/task';
import { entryGroupId } from '../../functions/reconciler/delivery/group';
import { createWorkerHandler } from '../../functions/reconciler/wiring';
import { Cluster, type ServiceSpec } from '../sim/cluster';
import { CALM_KNOBS } from '../sim/knobs';
import { Rng } from '../sim/rng';
import { Scheduler } from '../sim/scheduler';
import type { EcsTaskEvent } from '../world/events';
import { MemoryRegistry, VirtualClock, World } from '../world/world';
import { type Summary, summarize } from './stats';

/** Warm handling time per event and burst throughput, with in-memory adapters. */
export interface WarmResult {
  services: number;
  /** ECS task events the cluster emitted over the run (the fan-out forwards only some). */
  ecsEvents: number;
  /** One work message per invocation, the world moving between them as it would. */
  perMessage: {
    messages: number;
    warmup: number;
    ms: Summary;
    statusMix: Record<string, number>;
    /** Messages handed back (deferred for Cloud Map lag): one look-up round each. */
    handedBack: number;
  };
  /** Work messages of a deployment of every service, in batches of 10 (several entries each), back to back. */
  burst: { messages: number; invocations: number; totalMs: number; messagesPerSecond: number };
}

export interface WarmOptions {
  services: number;
  seed: number;
  events: number;
  warmup: number;
}

const CLUSTER_ARN = 'arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster';
const NAMESPACE = 'mcp-gateway.local';
const REGISTRY_SERVICE = 'mcp-gateway-registry';

/**
 * The deployed reconciler handler (wiring.ts `createWorkerHandler`: the FIFO work queue's path)
 * with the simulation's cluster (tools/sim/cluster.ts: the ECS lifecycle and Cloud Map lag of its
 * calm settings) on the in-memory World, a MemoryRegistry and a silent logger: what is timed is
 * parsing, coalescing, reads through the ports, the decision and the record, not the network.
 * Each ECS event the fan-out forwards (RUNNING, or going away) becomes a work message in its
 * entry's message group and reaches the handler after the calm EventBridge latency, against the
 * world as it is then. Rolling deployments of every service, again and again, give the mix. Waits
 * take no time here.
 */
export async function measureWarm(options: WarmOptions): Promise<WarmResult> {
  const sched = new Scheduler(new VirtualClock(Date.parse('2026-03-02T00:00:00Z')));
  const rng = new Rng(options.seed, 'bench-warm');
  const specs: ServiceSpec[] = Array.from({ length: options.services }, (_, i) => ({
    ecsService: `mcp-gateway-svc-${i}`,
    cloudMapService: `svc-${i}-server`,
    port: 8000,
    target: { kind: 'server', path: `/svc-${i}/`, named: true },
  }));
  specs.push({ ecsService: REGISTRY_SERVICE, cloudMapService: 'registry', port: 80 });
  const world = new World({
    clusterArn: CLUSTER_ARN,
    namespace: NAMESPACE,
    clock: sched.clock,
    services: specs,
  });
  const inbox: { at: number; body: string; status: string; groupId: string }[] = [];
  const groupOf = new Map(
    specs.flatMap((s) => (s.target === undefined ? [] : [[s.ecsService, entryGroupId(s.target)] as const])),
  );
  let ecsEvents = 0;
  const latency = CALM_KNOBS.eventBridge.latencyMs;
  const deliveryRng = rng.fork('eventbridge');
  const cluster = new Cluster(
    sched,
    world,
    rng.fork('cluster'),
    specs,
    CALM_KNOBS.lifecycle,
    CALM_KNOBS.cloudMap,
    (event: EcsTaskEvent) => {
      ecsEvents++;
      const status = {
        lastStatus: String(event.detail.lastStatus),
        desiredStatus: String(event.detail.desiredStatus),
      };
      const groupId = groupOf.get(String(event.detail.group).replace(/^service:/, ''));
      if (groupId === undefined || (!isRunning(status) && !isStopping(status))) return;
      inbox.push({
        at: sched.now() + deliveryRng.ms(latency),
        body: JSON.stringify(event),
        status: `${status.lastStatus}/${status.desiredStatus}`,
        groupId,
      });
    },
    { changed: () => undefined, livenessChanged: () => undefined, running: () => undefined },
  );
  const registry = new MemoryRegistry(sched.clock);
  for (const s of specs) {
    const count = s.ecsService === REGISTRY_SERVICE ? 2 : rng.int(1, 4);
    let first: string | undefined;
    for (let i = 0; i < count; i++) {
      const task = cluster.seed(s.ecsService);
      first ??= task.ipv4;
    }
    if (s.target !== undefined)
      registry.seed({ kind: s.target.kind, path: s.target.path }, `http://${first}:${s.port}/`);
  }
  const config = parseConfig(
    {
      cluster: CLUSTER_ARN,
      namespace: NAMESPACE,
      registryService: REGISTRY_SERVICE,
      registry: { url: 'http://127.0.0.1:9', auth: { type: 'static', tokenEnv: 'BENCH_UNUSED_TOKEN' } },
      targets: specs.flatMap((s) =>
        s.target === undefined
          ? []
          : [
              {
                kind: s.target.kind,
                path: s.target.path,
                cloudMapService: s.cloudMapService,
                ecsService: s.ecsService,
              },
            ],
      ),
    },
    'bench warm fleet',
  );
  const noWait = async () => undefined;
  const { handler } = createWorkerHandler({
    config,
    cloudMap: world,
    ecs: world,
    registry,
    sleep: noWait,
    now: sched.now,
    queue: { changeVisibility: noWait, sendTrigger: noWait },
  });
  const context = { getRemainingTimeInMillis: () => 60_000 };
  const record = (m: { body: string; groupId: string }, i: number) => ({
    messageId: `m-${i}`,
    body: m.body,
    attributes: { ApproximateReceiveCount: '1', MessageGroupId: m.groupId },
    eventSource: 'aws:sqs',
  });
  /** Moves the world to `at` and hands over every event due by then, in delivery order. */
  const due = async (at: number) => {
    await sched.run(at);
    inbox.sort((a, b) => a.at - b.at);
    const n = inbox.findIndex((m) => m.at > at);
    return inbox.splice(0, n < 0 ? inbox.length : n);
  };
  const targets = specs.filter((s) => s.target !== undefined).map((s) => s.ecsService);

  const all: number[] = [];
  const statusMix: Record<string, number> = {};
  let handedBack = 0;
  let seen = 0;
  const wanted = options.warmup + options.events;
  while (seen < wanted) {
    for (const s of targets) cluster.deploy(s);
    const roundEnd = sched.now() + 10 * 60_000;
    while (sched.now() < roundEnd && seen < wanted) {
      for (const m of await due(sched.now() + 1_000)) {
        if (seen >= wanted) break;
        const started = performance.now();
        const answer = (await handler({ Records: [record(m, seen)] }, context)) as SQSBatchResponse;
        const ms = performance.now() - started;
        seen++;
        if (seen <= options.warmup) continue;
        statusMix[m.status] = (statusMix[m.status] ?? 0) + 1;
        all.push(ms);
        handedBack += answer.batchItemFailures.length;
      }
    }
  }
  // Whatever the last round left in flight settles before the burst's deployments start.
  await due(Number.POSITIVE_INFINITY);

  for (const s of targets) cluster.deploy(s);
  const burst = await due(sched.now() + 10 * 60_000);
  let invocations = 0;
  const started = performance.now();
  for (let i = 0; i < burst.length; i += 10) {
    await handler({ Records: burst.slice(i, i + 10).map((m, j) => record(m, i + j)) }, context);
    invocations++;
  }
  const totalMs = performance.now() - started;
  return {
    services: options.services,
    ecsEvents,
    perMessage: { messages: all.length, warmup: options.warmup, ms: summarize(all), statusMix, handedBack },
    burst: {
      messages: burst.length,
      invocations,
      totalMs,
      messagesPerSecond: burst.length / (totalMs / 1000),
    },
  };
}
