import { parseEvent, type TaskEvent } from '../../functions/lib/delivery/event';
import { type EcsTaskEvent, taskEvent } from '../../functions/lib/inmemory/events';
import type { World } from '../../functions/lib/inmemory/world';
import type { TargetKind } from '../../functions/lib/reconcile/ports';
import type { Rng } from './rng';
import type { Scheduler } from './scheduler';

/**
 * The ECS control plane of the simulation: services with 1–4 tasks, each task walking the real
 * lifecycle (PROVISIONING → PENDING → ACTIVATING → RUNNING → [desiredStatus STOPPED] →
 * DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED) with a per-task `version` that grows on every
 * change and sometimes skips. Every change is applied to the `World` (ECS's and Cloud Map's view,
 * which the reconciler reads) and emitted as a real-shaped EventBridge event. Cloud Map registers a
 * task while it is ACTIVATING and lists it after a lag; it drops a stopping task after another lag.
 */

/** Durations of the lifecycle, as [min, max] milliseconds. */
export interface LifecycleTimings {
  /** PROVISIONING → PENDING (ENI attached). */
  provision: readonly [number, number];
  /** PENDING → ACTIVATING (image pull, container start). */
  pending: readonly [number, number];
  /** ACTIVATING → RUNNING. */
  activating: readonly [number, number];
  /** RUNNING → healthy enough for a deployment to stop an old task (health-check grace). */
  healthy: readonly [number, number];
  /** desiredStatus STOPPED → DEACTIVATING. */
  deactivate: readonly [number, number];
  /** DEACTIVATING → STOPPING (connection draining). */
  drain: readonly [number, number];
  /** STOPPING → DEPROVISIONING (SIGTERM, stop timeout). */
  stop: readonly [number, number];
  /** DEPROVISIONING → STOPPED (ENI detached). */
  deprovision: readonly [number, number];
  /** A crash (essential container exited) → the service scheduler launches a replacement. */
  replace: readonly [number, number];
  /** Stagger between the new tasks of one deployment. */
  stagger: readonly [number, number];
}

export const DEFAULT_TIMINGS: LifecycleTimings = {
  provision: [3_000, 12_000],
  pending: [8_000, 40_000],
  activating: [1_000, 6_000],
  healthy: [2_000, 15_000],
  deactivate: [300, 2_000],
  drain: [5_000, 30_000],
  stop: [1_000, 30_000],
  deprovision: [5_000, 20_000],
  replace: [5_000, 30_000],
  stagger: [0, 5_000],
};

export interface CloudMapTimings {
  /** ACTIVATING (ECS registers the instance) → DiscoverInstances lists it. */
  registrationLag: readonly [number, number];
  /** The first stop signal (ECS deregisters) → DiscoverInstances no longer lists it. */
  deregistrationLag: readonly [number, number];
}

export interface ServiceSpec {
  ecsService: string;
  cloudMapService: string;
  port: number;
  /** The registry entry it backs, if any (the registry's own service backs none). */
  target?: {
    kind: TargetKind;
    path: string;
    builtIn?: string;
    portFrom?: 'url' | 'instance';
    named: boolean;
  };
  /** Extra time after RUNNING before the task is healthy (the registry boots before its ALB check passes). */
  bootMs?: readonly [number, number];
}

export type StopKind = 'deployment' | 'scale-in' | 'crash';

export interface SimTask {
  taskId: string;
  service: string;
  ipv4: string;
  version: number;
  lastStatus: string;
  desiredStatus: string;
  createdAt: string;
  startedAt?: string;
  /** Deployment generation: a rolling deployment replaces every task of an older generation. */
  generation: number;
  stopKind?: StopKind;
}

export interface ClusterHooks {
  /** Something about a service changed (a task's state, or Cloud Map's listing). */
  changed(service: string): void;
  /** A task of the service became live or stopped being live. */
  livenessChanged(service: string): void;
  /** A task reached RUNNING; its application finishes booting `bootMs` later (the registry resets built-ins then). */
  running(task: SimTask, bootMs: number): void;
}

export class Cluster {
  private readonly tasks = new Map<string, SimTask>();
  private readonly byService = new Map<string, SimTask[]>();
  private readonly byIp = new Map<string, SimTask>();
  private readonly generations = new Map<string, number>();
  private ipCounter = 0x0a010001;
  /** Lifecycle steps still scheduled (the world is quiet when this is 0). */
  pending = 0;
  readonly counts = {
    events: 0,
    tasksStarted: 0,
    deployments: 0,
    crashes: 0,
    scaleOuts: 0,
    scaleIns: 0,
  };

  constructor(
    private readonly sched: Scheduler,
    readonly world: World,
    private readonly rng: Rng,
    readonly services: ServiceSpec[],
    private readonly timings: LifecycleTimings,
    private readonly cloudMap: CloudMapTimings,
    private readonly emit: (event: EcsTaskEvent) => void,
    private readonly hooks: ClusterHooks,
  ) {
    for (const s of services) this.byService.set(s.ecsService, []);
  }

  spec(ecsService: string): ServiceSpec {
    const s = this.services.find((x) => x.ecsService === ecsService);
    if (s === undefined) throw new Error(`no service ${ecsService}`);
    return s;
  }

  /** A task started long before the simulation (RUNNING, listed in Cloud Map, no events). */
  seed(ecsService: string): SimTask {
    const task = this.newTask(ecsService);
    task.lastStatus = 'RUNNING';
    task.desiredStatus = 'RUNNING';
    task.version = 3;
    task.startedAt = new Date(this.sched.now() - this.rng.int(3_600_000, 86_400_000)).toISOString();
    task.createdAt = task.startedAt;
    this.world.seedTask(ecsService, { taskId: task.taskId, ipv4: task.ipv4, startedAt: task.startedAt });
    return task;
  }

  task(taskId: string): SimTask | undefined {
    return this.tasks.get(taskId);
  }

  taskByIp(ipv4: string): SimTask | undefined {
    return this.byIp.get(ipv4);
  }

  tasksOf(ecsService: string): SimTask[] {
    return this.byService.get(ecsService) ?? [];
  }

  /** Tasks that are RUNNING and meant to stay so. */
  live(ecsService: string): SimTask[] {
    return this.tasksOf(ecsService).filter(isLive);
  }

  /** Tasks that count towards the desired count (not yet told to stop). */
  active(ecsService: string): SimTask[] {
    return this.tasksOf(ecsService).filter((t) => t.desiredStatus === 'RUNNING');
  }

  /** The service scheduler starts a task; `onHealthy` runs once it is RUNNING and healthy. */
  launch(ecsService: string, onHealthy?: (task: SimTask) => void, generation?: number): SimTask {
    const task = this.newTask(ecsService, generation);
    this.counts.tasksStarted++;
    const t = this.timings;
    this.change(task, 'PROVISIONING', 'RUNNING');
    let at = 0;
    at += this.rng.ms(t.provision);
    this.step(at, task, () => this.change(task, 'PENDING', 'RUNNING'));
    at += this.rng.ms(t.pending);
    this.step(at, task, () => {
      this.change(task, 'ACTIVATING', 'RUNNING');
      const lag = this.rng.ms(this.cloudMap.registrationLag);
      this.world.register(task.taskId, lag);
      this.sched.after(lag, () => this.hooks.changed(ecsService));
    });
    at += this.rng.ms(t.activating);
    const spec = this.spec(ecsService);
    const bootMs = spec.bootMs === undefined ? 0 : this.rng.ms(spec.bootMs);
    this.step(at, task, () => {
      task.startedAt = this.sched.clock.iso();
      this.change(task, 'RUNNING', 'RUNNING');
      this.hooks.running(task, bootMs);
    });
    // A deployment stops an old task only once the new one passes its health check, which for
    // an application behind a load balancer means after it has booted.
    at += bootMs + this.rng.ms(t.healthy);
    this.step(at, task, () => onHealthy?.(task));
    return task;
  }

  /** A graceful stop: `desiredStatus` STOPPED first, then the task winds down. */
  stop(task: SimTask, kind: Exclude<StopKind, 'crash'>): void {
    if (task.desiredStatus === 'STOPPED') return;
    task.stopKind = kind;
    const code = 'ServiceSchedulerInitiated';
    const t = this.timings;
    this.deregisterLater(task);
    this.change(task, task.lastStatus, 'STOPPED', code);
    let at = this.rng.ms(t.deactivate);
    this.step(at, undefined, () => this.change(task, 'DEACTIVATING', 'STOPPED', code));
    at += this.rng.ms(t.drain);
    this.step(at, undefined, () => this.change(task, 'STOPPING', 'STOPPED', code));
    at += this.rng.ms(t.stop);
    this.step(at, undefined, () => this.change(task, 'DEPROVISIONING', 'STOPPED', code));
    at += this.rng.ms(t.deprovision);
    this.step(at, undefined, () => this.change(task, 'STOPPED', 'STOPPED', code));
  }

  /**
   * The essential container exits: no graceful `desiredStatus`-first signal, the task is already
   * stopping in its first event. The service scheduler then starts a replacement.
   */
  crash(task: SimTask): void {
    if (task.desiredStatus === 'STOPPED') return;
    this.counts.crashes++;
    task.stopKind = 'crash';
    const code = 'EssentialContainerExited';
    const t = this.timings;
    this.deregisterLater(task);
    this.change(task, 'STOPPING', 'STOPPED', code);
    let at = this.rng.ms(t.stop);
    this.step(at, undefined, () => this.change(task, 'DEPROVISIONING', 'STOPPED', code));
    at += this.rng.ms(t.deprovision);
    this.step(at, undefined, () => this.change(task, 'STOPPED', 'STOPPED', code));
    this.step(this.rng.ms(t.replace), undefined, () => this.launch(task.service, undefined, task.generation));
  }

  /**
   * A rolling deployment (minimum healthy 100%, maximum 200%): as many new tasks as there are
   * active ones start; each one that becomes healthy lets the scheduler stop one old task.
   */
  deploy(ecsService: string): void {
    this.counts.deployments++;
    const generation = (this.generations.get(ecsService) ?? 0) + 1;
    this.generations.set(ecsService, generation);
    const n = Math.max(1, this.active(ecsService).length);
    let at = 0;
    for (let i = 0; i < n; i++) {
      this.step(at, undefined, () =>
        this.launch(
          ecsService,
          () => {
            const old = this.active(ecsService)
              .filter((x) => x.generation < generation)
              .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))[0];
            if (old !== undefined) this.stop(old, 'deployment');
          },
          generation,
        ),
      );
      at += this.rng.ms(this.timings.stagger);
    }
  }

  scaleOut(ecsService: string, count: number): void {
    this.counts.scaleOuts++;
    for (let i = 0; i < count; i++) this.launch(ecsService, undefined, this.generations.get(ecsService));
  }

  /** Stops `count` active tasks, always leaving one. */
  scaleIn(ecsService: string, count: number): void {
    const active = this.active(ecsService);
    const n = Math.min(count, active.length - 1);
    if (n <= 0) return;
    this.counts.scaleIns++;
    for (const task of this.rng.shuffle(active).slice(0, n)) this.stop(task, 'scale-in');
  }

  /** Crashes one random live task of the service, if there is one. */
  crashOne(ecsService: string): SimTask | undefined {
    const live = this.live(ecsService);
    if (live.length === 0) return undefined;
    const task = this.rng.pick(live);
    this.crash(task);
    return task;
  }

  private newTask(ecsService: string, generation?: number): SimTask {
    const task: SimTask = {
      taskId: this.rng.hex(32),
      service: ecsService,
      ipv4: this.nextIp(),
      version: 0,
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      createdAt: this.sched.clock.iso(),
      generation: generation ?? this.generations.get(ecsService) ?? 0,
    };
    this.tasks.set(task.taskId, task);
    this.byIp.set(task.ipv4, task);
    (this.byService.get(ecsService) as SimTask[]).push(task);
    return task;
  }

  private nextIp(): string {
    const n = this.ipCounter++;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }

  /** ECS deregisters the instance at the first stop signal; Cloud Map stops listing it after a lag. */
  private deregisterLater(task: SimTask): void {
    const lag = this.rng.ms(this.cloudMap.deregistrationLag);
    this.world.deregistrationLagMs = lag;
    this.sched.after(lag, () => this.hooks.changed(task.service));
  }

  /** Schedules a lifecycle step; a start-up step (`startOf`) is dropped once its task was told to stop. */
  private step(afterMs: number, startOf: SimTask | undefined, fn: () => void): void {
    this.pending++;
    this.sched.after(afterMs, () => {
      this.pending--;
      if (startOf !== undefined && startOf.desiredStatus !== 'RUNNING') return;
      fn();
    });
  }

  /** One state change: a new version, applied to ECS and Cloud Map, and emitted as an event. */
  private change(task: SimTask, lastStatus: string, desiredStatus: string, stopCode?: string): void {
    const wasLive = isLive(task);
    // `version` grows on every change; container-level changes in between make it skip.
    task.version += 1 + (this.rng.chance(0.3) ? this.rng.int(1, 2) : 0);
    task.lastStatus = lastStatus;
    task.desiredStatus = desiredStatus;
    const raw = taskEvent({
      clusterArn: this.world.clusterArn,
      taskId: task.taskId,
      service: task.service,
      lastStatus,
      desiredStatus,
      version: task.version,
      ipv4: task.ipv4,
      time: this.sched.clock.iso(),
      ...(task.startedAt === undefined ? {} : { startedAt: task.startedAt }),
      ...(stopCode === undefined ? {} : { stopCode }),
      id: `${task.taskId.slice(0, 8)}-${task.taskId.slice(8, 12)}-4${task.taskId.slice(13, 16)}-8${task.taskId.slice(17, 20)}-${String(task.version).padStart(12, '0')}`,
    });
    this.world.applyEvent(toTaskEvent(raw));
    this.counts.events++;
    this.hooks.changed(task.service);
    if (wasLive !== isLive(task)) this.hooks.livenessChanged(task.service);
    this.emit(raw);
  }
}

export function isLive(task: Pick<SimTask, 'lastStatus' | 'desiredStatus'>): boolean {
  return task.lastStatus === 'RUNNING' && task.desiredStatus === 'RUNNING';
}

/** The reconciler's own parse of an event (the world is driven by exactly what the handler sees). */
export function toTaskEvent(raw: unknown): TaskEvent {
  const intake = parseEvent(raw);
  if (intake.kind !== 'task') throw new Error(`simulation built a bad event: ${JSON.stringify(intake)}`);
  return intake.event;
}
