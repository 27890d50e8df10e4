import { parseConfig, type TargetInput } from '../../functions/lib/config/config';
import { parseEvent } from '../../functions/lib/delivery/event';
import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import { MemoryRegistry, type RegistryWrite, World } from '../../functions/lib/inmemory/world';
import {
  type CallContext,
  type EntryRef,
  NO_COUNT,
  type RegistryEntry,
  type TaskState,
  type WriteOptions,
  type WriteResult,
} from '../../functions/lib/reconcile/ports';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { MetricName, type MetricNameValue, type MetricsSink } from '../../functions/lib/telemetry/telemetry';
import { createDeployedPath } from './pipeline';
import { Rng } from './rng';
import { Scheduler } from './scheduler';

/**
 * The trust simulation: the deployed path (EventBridge → the trigger queue → the fan-out → the
 * FIFO work queue, one message group per entry → the worker, over the simulation's in-memory
 * queues on a virtual clock) against a world where Cloud Map cannot be believed on its own. Over hours of rolling deployments, it keeps injecting:
 *
 * - instances re-registered with an IP that ECS does not give their task (Cloud Map and ECS disagree),
 * - instances of another ECS service's tasks listed under a target's Cloud Map service,
 * - instances for task ids ECS does not know,
 * - new tasks whose health check passes only after a while (UNKNOWN, then HEALTHY), and tasks that
 *   fail it (UNHEALTHY, then stopped and replaced by ECS),
 * - DescribeTasks answers with failures other than MISSING.
 *
 * Each registry write is checked against ECS the moment it lands.
 */

export interface TrustOptions {
  seed: number;
  services: number;
  /** Virtual duration, ms. */
  durationMs: number;
  /** Per step (10 s) and service: chance of a deployment starting. */
  deployRate: number;
  /** Per step: chances of a forged IP, an intruder instance, an unknown id, a DescribeTasks failure. */
  forgeRate: number;
  intruderRate: number;
  ghostRate: number;
  ecsFailureRate: number;
  /** Share of new tasks whose health check fails. */
  failingShare: number;
  /** How long a new task stays UNKNOWN before its check answers, [min, max] ms. */
  startPeriodMs: readonly [number, number];
  /** How long ECS takes to stop a service's UNHEALTHY task, [min, max] ms. */
  unhealthyStopMs: readonly [number, number];
}

export const TRUST_DEFAULTS: TrustOptions = {
  seed: 1,
  services: 8,
  durationMs: 6 * 60 * 60_000,
  deployRate: 0.004,
  forgeRate: 0.02,
  intruderRate: 0.02,
  ghostRate: 0.01,
  ecsFailureRate: 0.02,
  failingShare: 0.2,
  startPeriodMs: [20_000, 180_000],
  unhealthyStopMs: [30_000, 600_000],
};

export interface TrustResult {
  seed: number;
  invocations: number;
  decisions: number;
  writes: number;
  /** Writes of an address that ECS gives no live task. Must be 0. */
  untrustedWrites: number;
  /** Writes of another ECS service's live task, for targets that name their `ecsService`. Must be 0. */
  otherServiceWritesNamed: number;
  /**
   * The same for targets whose ECS service is found by the lookup: possible only while no event of
   * that service has been looked up since the container started (the group cannot be checked yet).
   */
  otherServiceWritesDiscovered: number;
  /** Writes to a task that was not HEALTHY while a HEALTHY one of the service was live. */
  writesToUnhealthyWhileHealthy: number;
  writesToUnknownWhileHealthy: number;
  /** Writes decided while a DescribeTasks failure was injected. Must be 0. */
  writesOnEcsFailure: number;
  forged: number;
  intruders: number;
  ghosts: number;
  ecsFailures: number;
  /** `UntrustedInstance` as the function counted it. */
  untrustedInstancesCounted: number;
  ecsFailedRecords: number;
  currentUnhealthyMoves: number;
  tasksStarted: number;
  tasksFailedHealthCheck: number;
  /** Time an entry pointed at a live task that was UNHEALTHY while a HEALTHY one was live, ms. */
  unhealthyPointerMs: number;
  /** Entries pointing at a live task of their service at the end (after the last resync). */
  liveAtEnd: string;
  /** … and at a HEALTHY one (an entry stays on a live UNKNOWN task: sticky). */
  healthyAtEnd: string;
}

const STEP_MS = 10_000;
const RESYNC_MS = 5 * 60_000;
const CLUSTER = 'sim-cluster';
const CLUSTER_ARN = `arn:aws:ecs:us-west-2:111122223333:cluster/${CLUSTER}`;
const NAMESPACE = 'mcp-gateway.local';

interface ModelTask {
  taskId: string;
  service: string;
  ipv4: string;
  /** When its health check first answers, and what it answers. */
  checkAt: number;
  fails: boolean;
  /** When ECS stops it, if it fails its check. */
  stopAt: number;
  stopping: boolean;
}

/** The in-memory registry, with a check of every write the moment it lands. */
class AuditedRegistry extends MemoryRegistry {
  onWrite: (write: RegistryWrite) => Promise<void> = async () => undefined;
  override async writeUrl(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    options?: WriteOptions,
  ): Promise<WriteResult> {
    const result = await super.writeUrl(entry, newUrl, ctx, options);
    const write = this.writes.at(-1);
    if (write !== undefined) await this.onWrite(write);
    return result;
  }
}

/** EventBridge → trigger queue latency, ms. */
const BUS_MS = 500;

class Tally implements MetricsSink {
  readonly counts = new Map<MetricNameValue, number>();
  count(name: MetricNameValue, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  milliseconds(): void {}
}

export async function runTrust(partial: Partial<TrustOptions> = {}): Promise<TrustResult> {
  const o = { ...TRUST_DEFAULTS, ...partial };
  const rng = new Rng(o.seed, 'trust');
  const services = Array.from({ length: o.services }, (_, i) => ({
    ecsService: `svc-${i}`,
    cloudMapService: `svc-${i}-server`,
    port: 8000,
  }));
  const sched = new Scheduler();
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services, clock: sched.clock });
  const registry = new AuditedRegistry(world.clock);
  const refs = new Map<string, EntryRef>();
  const named = new Set(services.filter((_, i) => i % 2 === 0).map((x) => x.ecsService));
  const targets: TargetInput[] = services.map((s) => {
    const ref: EntryRef = { kind: 'server', path: `/${s.ecsService}/` };
    refs.set(s.ecsService, ref);
    registry.seed(ref, `http://${s.cloudMapService}:8000/`, true, {
      mcp_endpoint: `http://${s.cloudMapService}.${NAMESPACE}:8000/mcp`,
    });
    // Half name their ECS service; the other half are found through the service lookup.
    return {
      kind: 'server',
      path: ref.path,
      cloudMapService: s.cloudMapService,
      ...(named.has(s.ecsService) ? { ecsService: s.ecsService } : {}),
    };
  });
  const config = parseConfig({
    cluster: CLUSTER,
    namespace: NAMESPACE,
    registry: { url: 'http://127.0.0.1:1', auth: { type: 'static', tokenEnv: 'SIM_TOKEN' } },
    targets,
    resyncFullCheckMinutes: 30,
  });
  const records: DecisionRecord[] = [];
  const metrics = new Tally();
  const path = createDeployedPath({
    config,
    cloudMap: world,
    ecs: world,
    registry,
    sched,
    rng,
    records,
    metrics,
    busMs: BUS_MS,
  });
  const put = path.put;
  const quiet = path.quiet;

  const tasks = new Map<string, ModelTask>();
  let ipSeq = 0;
  const nextIp = () => {
    ipSeq++;
    return `10.${1 + Math.floor(ipSeq / 60000)}.${Math.floor(ipSeq / 250) % 240}.${(ipSeq % 250) + 1}`;
  };
  const health = (t: ModelTask) =>
    world.clock.now() < t.checkAt ? 'UNKNOWN' : t.fails ? 'UNHEALTHY' : ('HEALTHY' as const);
  const r: TrustResult = {
    seed: o.seed,
    invocations: 0,
    decisions: 0,
    writes: 0,
    untrustedWrites: 0,
    otherServiceWritesNamed: 0,
    otherServiceWritesDiscovered: 0,
    writesToUnhealthyWhileHealthy: 0,
    writesToUnknownWhileHealthy: 0,
    writesOnEcsFailure: 0,
    forged: 0,
    intruders: 0,
    ghosts: 0,
    ecsFailures: 0,
    untrustedInstancesCounted: 0,
    ecsFailedRecords: 0,
    currentUnhealthyMoves: 0,
    tasksStarted: 0,
    tasksFailedHealthCheck: 0,
    unhealthyPointerMs: 0,
    liveAtEnd: '',
    healthyAtEnd: '',
  };
  let ecsFailing = false;

  const liveOf = (service: string): TaskState[] => world.liveTasks(service);
  const cloudMapOf = (service: string) => `${service}-server`;
  /** Live HEALTHY tasks of the service that Cloud Map lists truthfully: what a perfect choice would take. */
  const healthyChoices = async (service: string): Promise<TaskState[]> => {
    const listed = await world.discoverInstances(NAMESPACE, cloudMapOf(service), NO_COUNT);
    return liveOf(service).filter(
      (t) =>
        t.healthStatus === 'HEALTHY' && listed.some((i) => i.instanceId === t.taskId && i.ipv4 === t.ipv4),
    );
  };
  /** Checks a write against ECS as it is the moment it lands. */
  const audit = async (w: RegistryWrite) => {
    r.writes++;
    if (ecsFailing) r.writesOnEcsFailure++;
    const service = w.path.slice(1, -1);
    const host = new URL(w.to).hostname;
    const anyLive = services.flatMap((x) => liveOf(x.ecsService)).find((t) => t.ipv4 === host);
    if (anyLive === undefined) {
      r.untrustedWrites++;
      return;
    }
    if (anyLive.group !== `service:${service}`) {
      if (named.has(service)) r.otherServiceWritesNamed++;
      else r.otherServiceWritesDiscovered++;
      return;
    }
    const healthy = await healthyChoices(service);
    if (healthy.length > 0 && anyLive.healthStatus === 'UNHEALTHY') r.writesToUnhealthyWhileHealthy++;
    if (healthy.length > 0 && anyLive.healthStatus === 'UNKNOWN') r.writesToUnknownWhileHealthy++;
  };
  registry.onWrite = audit;
  const deliver = async (event: ReturnType<typeof taskEvent>) => {
    const intake = parseEvent(event);
    if (intake.kind === 'task') world.applyEvent(intake.event);
    put(event);
  };
  const ev = (t: ModelTask, lastStatus: string, desiredStatus: string, version: number) =>
    taskEvent({
      clusterArn: CLUSTER_ARN,
      taskId: t.taskId,
      service: t.service,
      lastStatus,
      desiredStatus,
      version,
      ipv4: t.ipv4,
      time: world.clock.iso(),
      startedAt: world.clock.iso(),
    });

  const start = async (service: string, healthy: boolean): Promise<ModelTask> => {
    const t: ModelTask = {
      taskId: rng.hex(32),
      service,
      ipv4: nextIp(),
      checkAt: healthy ? 0 : world.clock.now() + rng.ms(o.startPeriodMs),
      fails: !healthy && rng.chance(o.failingShare),
      stopAt: 0,
      stopping: false,
    };
    t.stopAt = t.checkAt + rng.ms(o.unhealthyStopMs);
    tasks.set(t.taskId, t);
    r.tasksStarted++;
    if (t.fails) r.tasksFailedHealthCheck++;
    if (healthy) {
      world.seedTask(service, {
        taskId: t.taskId,
        ipv4: t.ipv4,
        startedAt: world.clock.iso(),
        healthStatus: 'HEALTHY',
      });
      return t;
    }
    world.seedTask(service, {
      taskId: t.taskId,
      ipv4: t.ipv4,
      startedAt: world.clock.iso(),
      healthStatus: 'UNKNOWN',
    });
    await deliver(ev(t, 'RUNNING', 'RUNNING', 3));
    return t;
  };
  const stop = async (t: ModelTask) => {
    if (t.stopping) return;
    t.stopping = true;
    await deliver(ev(t, 'RUNNING', 'STOPPED', 5));
    await deliver(ev(t, 'STOPPED', 'STOPPED', 7));
    tasks.delete(t.taskId);
  };

  for (const s of services) for (let k = 0; k < 2; k++) await start(s.ecsService, true);
  put(scheduledEvent('resync-0', world.clock.iso()));

  /** Deployments in progress: the old tasks to stop once the new ones are HEALTHY. */
  const deploying = new Map<string, { old: ModelTask[]; fresh: ModelTask[] }>();
  let nextResync = world.clock.now() + RESYNC_MS;
  const end = world.clock.now() + o.durationMs;
  while (world.clock.now() < end) {
    await sched.run(sched.now() + STEP_MS);
    if (ecsFailing) world.failDescribeTasks(0);
    ecsFailing = false;
    // Health checks answer.
    for (const t of tasks.values()) world.setTaskHealth(t.taskId, health(t));
    // ECS stops a service's UNHEALTHY task and starts a replacement.
    for (const t of [...tasks.values()]) {
      if (!t.stopping && health(t) === 'UNHEALTHY' && world.clock.now() >= t.stopAt) {
        const d = deploying.get(t.service);
        await stop(t);
        const replacement = await start(t.service, false);
        if (d?.fresh.includes(t)) d.fresh = [...d.fresh.filter((f) => f !== t), replacement];
      }
    }
    // Rolling deployments: two new tasks, then the old ones stop once both new ones are HEALTHY.
    for (const s of services) {
      const d = deploying.get(s.ecsService);
      if (d === undefined) {
        if (!rng.chance(o.deployRate)) continue;
        const old = [...tasks.values()].filter((t) => t.service === s.ecsService && !t.stopping);
        const fresh = [await start(s.ecsService, false), await start(s.ecsService, false)];
        deploying.set(s.ecsService, { old, fresh });
      } else if (d.fresh.length >= 2 && d.fresh.every((t) => health(t) === 'HEALTHY')) {
        for (const t of d.old) await stop(t);
        deploying.delete(s.ecsService);
      }
    }
    // Cloud Map lies.
    for (const s of services) {
      const own = liveOf(s.ecsService);
      if (own.length > 0 && rng.chance(o.forgeRate)) {
        const victim = rng.pick(own);
        world.registerInstance(s.cloudMapService, { instanceId: victim.taskId, ipv4: nextIp(), port: 8000 });
        r.forged++;
      }
      if (rng.chance(o.intruderRate)) {
        const other = rng.pick(services.filter((x) => x !== s));
        const theirs = liveOf(other.ecsService);
        if (theirs.length > 0) {
          const t = rng.pick(theirs);
          world.registerInstance(s.cloudMapService, {
            instanceId: t.taskId,
            ipv4: t.ipv4 as string,
            port: 8000,
          });
          r.intruders++;
        }
      }
      if (rng.chance(o.ghostRate)) {
        world.registerInstance(s.cloudMapService, { instanceId: rng.hex(32), ipv4: nextIp(), port: 8000 });
        r.ghosts++;
      }
    }
    // Time an entry spends on an UNHEALTHY task while a HEALTHY one could be chosen.
    for (const s of services) {
      const url = registry.url(refs.get(s.ecsService) as EntryRef) ?? '';
      const pointed = liveOf(s.ecsService).find((t) => t.ipv4 === new URL(url).hostname);
      if (pointed?.healthStatus === 'UNHEALTHY' && (await healthyChoices(s.ecsService)).length > 0)
        r.unhealthyPointerMs += STEP_MS;
    }
    if (world.clock.now() >= nextResync) {
      nextResync += RESYNC_MS;
      // Every DescribeTasks of this resync answers a failure other than MISSING.
      ecsFailing = rng.chance(o.ecsFailureRate * 10);
      if (ecsFailing) {
        world.failDescribeTasks(1_000);
        r.ecsFailures++;
      }
      // The failure lasts one step (10 s), over the resync's shard check and the work it sends.
      put(scheduledEvent(`resync-${nextResync}`, world.clock.iso()));
    }
  }
  // Quiet, then one more resync.
  const limit = sched.now() + 6 * 60 * 60_000;
  await sched.run(sched.now() + STEP_MS);
  world.failDescribeTasks(0);
  ecsFailing = false;
  await sched.runUntil(quiet, limit);
  for (const t of tasks.values()) world.setTaskHealth(t.taskId, health(t));
  put(scheduledEvent('resync-final', world.clock.iso()));
  await sched.runUntil(quiet, limit);
  r.invocations = path.work.counts.invocations;
  let healthy = 0;
  let live = 0;
  for (const s of services) {
    const host = new URL(registry.url(refs.get(s.ecsService) as EntryRef) ?? '').hostname;
    const pointed = liveOf(s.ecsService).find((t) => t.ipv4 === host);
    if (pointed !== undefined) live++;
    if (pointed?.healthStatus === 'HEALTHY') healthy++;
  }
  r.liveAtEnd = `${live}/${services.length}`;
  r.healthyAtEnd = `${healthy}/${services.length}`;
  r.decisions = records.length;
  r.untrustedInstancesCounted = metrics.counts.get(MetricName.UntrustedInstance) ?? 0;
  r.ecsFailedRecords = records.filter((x) => x.reason === 'ecs-failed').length;
  r.currentUnhealthyMoves = records.filter((x) => x.reason === 'current-unhealthy').length;
  return r;
}
