import type { SQSBatchResponse } from 'aws-lambda';
import { parseConfig, type ReconcilerConfig } from '../../functions/reconciler/config';
import { hostOf } from '../../functions/reconciler/core/url';
import { parseEvent } from '../../functions/reconciler/event';
import type {
  ApiName,
  CallContext,
  EntryRef,
  RegistryEntry,
  RegistryPort,
  WriteResult,
} from '../../functions/reconciler/ports';
import type { DecisionRecord } from '../../functions/reconciler/record';
import type { TokenProvider } from '../../functions/reconciler/registry/auth';
import { createReconcilerHandler } from '../../functions/reconciler/wiring';
import { DEPLOYED } from '../../infra/deployed-defaults';
import { scheduledEvent, taskEvent } from '../world/events';
import { Timeline } from '../world/timeline';
import { MemoryRegistry, VirtualClock, World } from '../world/world';
import { SeededRandom } from './stats';

/**
 * A simulated fleet for the benchmarks: N services of 1–4 tasks in the in-memory `World`, a
 * `MemoryRegistry` with one entry per service, and the deployed handler (wiring.ts, over a real
 * `Reconciler`) fed through a model of the deployed queue: one SQS FIFO message group, batches of
 * at most 10, one invocation at a time, failed messages (and everything behind them) redelivered
 * after the visibility timeout. ECS lifecycles, Cloud Map (de)registration and the registry's reset
 * of its built-in entry happen as the world file describes; time is virtual.
 */

export const CLUSTER_ARN = 'arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster';
export const NAMESPACE = 'mcp-gateway.local';
export const REGISTRY_SERVICE = 'mcp-gateway-registry';

/** Timing assumptions of the model. Each is printed with the figures it shapes. */
export interface FleetTiming {
  /** ECS → EventBridge → SQS → Lambda poller, per event. */
  deliveryDelayMs: number;
  /** Before a message reported failed is delivered again (the queue's visibility timeout). */
  visibilityTimeoutMs: number;
  /** Cloud Map listing a task after it reaches RUNNING (ECS registers it while ACTIVATING). */
  registrationLagMs: number;
  /** Virtual time each remote call takes: decides how long an invocation holds the queue. */
  callLatencyMs: Partial<Record<ApiName, number>>;
  /** Fixed cost of an invocation (runtime, parsing) on top of its calls. */
  invocationOverheadMs: number;
  /** ECS lifecycle: PROVISIONING → PENDING → RUNNING, and desired STOPPED → DEPROVISIONING → STOPPED. */
  pendingAfterMs: number;
  runningAfterMs: number;
  deprovisioningAfterMs: number;
  stoppedAfterMs: number;
  /** Rolling deployment: old tasks get desired STOPPED this long after the new ones were started. */
  deploymentStopOldAfterMs: number;
  /** A crashed task is replaced by the scheduler after this long. */
  crashReplaceAfterMs: number;
}

export const DEFAULT_TIMING: FleetTiming = {
  deliveryDelayMs: 1_000,
  // As deployed (infra/deployed-defaults.ts).
  visibilityTimeoutMs: DEPLOYED.functionTimeoutSeconds * DEPLOYED.visibilityFactor * 1_000,
  registrationLagMs: 0,
  callLatencyMs: {
    'cloudmap.DiscoverInstances': 20,
    'cloudmap.GetService': 20,
    'ecs.DescribeTasks': 40,
    'ecs.DescribeServices': 40,
    'registry.token': 100,
    'secrets.GetSecretValue': 30,
    'registry.read': 50,
    'registry.write': 500,
    'registry.readBack': 50,
    'registry.toggle': 200,
  },
  invocationOverheadMs: 5,
  pendingAfterMs: 5_000,
  runningAfterMs: 25_000,
  deprovisioningAfterMs: 30_000,
  stoppedAfterMs: 40_000,
  deploymentStopOldAfterMs: 60_000,
  crashReplaceAfterMs: 15_000,
};

export interface FleetOptions {
  services: number;
  seed: number;
  /** Tasks of the registry's own service (it scales 1–4). @default 2 */
  registryTasks?: number;
  /** Scheduled resync period; 0 turns it off. @default 300000 */
  resyncEveryMs?: number;
  /** Whether service 0 is a built-in entry that the registry resets on every start. @default true */
  builtIn?: boolean;
  timing?: Partial<FleetTiming>;
  /** Builds the registry's bearer-token provider on the fleet's clock (none when absent). */
  tokens?: (now: () => number) => TokenProvider;
  /** Receives every decision record (the default aggregates them into `calls`). */
  onRecord?: (record: DecisionRecord) => void;
  /** Leave the queue to the caller (`takeQueued`, `handler`): `runUntil` only moves the world. */
  manualDelivery?: boolean;
}

interface FleetService {
  index: number;
  ecsService: string;
  cloudMapService: string;
  ref: EntryRef;
  /** Live (RUNNING, desired RUNNING) tasks: id → IPv4. */
  live: Map<string, string>;
  staleSince?: number;
}

interface TaskMeta {
  service: string;
  ipv4: string;
  version: number;
  startedAt?: string;
  /** Told to stop (desired STOPPED): it never comes back to RUNNING. */
  stopping?: boolean;
}

interface Message {
  id: string;
  body: string;
  availableAt: number;
  receiveCount: number;
}

/** Remote calls, decisions and events over a run, aggregated from the decision records. */
export interface CallTally {
  /** Decision records: one per target per invocation that reconciled it. */
  records: number;
  recordsByTrigger: Record<string, number>;
  actions: Record<string, number>;
  reasons: Record<string, number>;
  /** Calls by API, in total. */
  calls: Partial<Record<ApiName, number>>;
  /** Calls by trigger type (`task`, `registry-restart`, `schedule`), then by API. */
  callsByTrigger: Record<string, Partial<Record<ApiName, number>>>;
  /** The most calls of each API any single record made. */
  maxPerRecord: Partial<Record<ApiName, number>>;
  /** Records that made more than one call of the API (Cloud Map lag re-looks, DescribeTasks pages). */
  recordsOverOne: Partial<Record<ApiName, number>>;
  /** Writes whose address equalled the one already stored (must stay 0). */
  writesWithoutChange: number;
  /** Trigger events folded into records (≥ records when bursts coalesce). */
  coalescedTriggers: number;
}

/** Run-wide counters. */
export interface FleetCounters {
  /** ECS task events emitted by the world (what EventBridge would deliver). */
  taskEvents: number;
  taskEventsByStatus: Record<string, number>;
  /** Scheduled resync events. */
  scheduleEvents: number;
  /** Messages handed to the function, redeliveries included. */
  deliveries: number;
  redeliveries: number;
  invocations: number;
  /** Registry restarts (each a rolling deployment of the registry service). */
  registryRestarts: number;
  /** Registry writes accepted. */
  writes: number;
  /** Times the registry reset its built-in entry. */
  builtInResets: number;
  /** The longest invocation in virtual time (it holds the FIFO queue that long). */
  maxInvocationMs: number;
}

/** Stale-pointer episodes: an entry pointing at a task that is not live while a live one exists. */
export interface StaleTally {
  /** Episodes that ended (each needed exactly one write to end). */
  durationsMs: number[];
  /** Episodes still open at the end of the run. */
  open: number;
}

export class Fleet {
  readonly clock = new VirtualClock();
  readonly world: World;
  readonly registry = new MemoryRegistry(this.clock);
  readonly config: ReconcilerConfig;
  readonly services: FleetService[] = [];
  readonly timing: FleetTiming;
  readonly counters: FleetCounters = {
    taskEvents: 0,
    taskEventsByStatus: {},
    scheduleEvents: 0,
    deliveries: 0,
    redeliveries: 0,
    invocations: 0,
    registryRestarts: 0,
    writes: 0,
    builtInResets: 0,
    maxInvocationMs: 0,
  };
  readonly tally: CallTally = {
    records: 0,
    recordsByTrigger: {},
    actions: {},
    reasons: {},
    calls: {},
    callsByTrigger: {},
    maxPerRecord: {},
    recordsOverOne: {},
    writesWithoutChange: 0,
    coalescedTriggers: 0,
  };
  readonly stale: StaleTally = { durationsMs: [], open: 0 };
  readonly handler: (event: unknown) => Promise<unknown>;
  /** Virtual times of registry calls (kept only with a token provider: the token minimum needs them). */
  readonly registryCallTimes: number[] = [];

  private readonly rng: SeededRandom;
  private readonly byEcsService = new Map<string, FleetService>();
  private readonly tasks = new Map<string, TaskMeta>();
  private readonly registryLive = new Set<string>();
  private readonly timeline = new Timeline<() => void>();
  private readonly queue: Message[] = [];
  private readonly invocationRecords: DecisionRecord[] = [];
  private readonly builtInRef: EntryRef | undefined;
  private readonly builtInUrl: string | undefined;
  private nextIp = 10;
  private nextMessage = 0;
  private busyUntil = 0;

  constructor(readonly options: FleetOptions) {
    this.rng = new SeededRandom(options.seed);
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
    const names = Array.from({ length: options.services }, (_, i) => ({
      ecsService: `mcp-gateway-svc-${i}`,
      cloudMapService: `svc-${i}-server`,
    }));
    this.world = new World({
      clusterArn: CLUSTER_ARN,
      namespace: NAMESPACE,
      clock: this.clock,
      registrationLagMs: this.timing.registrationLagMs,
      services: [
        ...names.map((n) => ({ ...n, port: 8000 })),
        { ecsService: REGISTRY_SERVICE, cloudMapService: 'registry', port: 80 },
      ],
    });
    this.config = parseConfig(
      {
        cluster: 'mcp-gateway-ecs-cluster',
        namespace: NAMESPACE,
        registryService: REGISTRY_SERVICE,
        registry: { url: 'http://127.0.0.1:9', auth: { type: 'static', tokenEnv: 'BENCH_UNUSED_TOKEN' } },
        targets: names.map((n, i) => ({
          kind: 'server',
          path: `/svc-${i}/`,
          cloudMapService: n.cloudMapService,
          ecsService: n.ecsService,
        })),
      },
      'bench fleet',
    );
    for (const [i, n] of names.entries()) {
      const service: FleetService = {
        index: i,
        ...n,
        ref: { kind: 'server', path: `/svc-${i}/` },
        live: new Map(),
      };
      this.services.push(service);
      this.byEcsService.set(n.ecsService, service);
      const count = this.rng.int(1, 4);
      for (let t = 0; t < count; t++) {
        const taskId = this.newTaskId();
        const ipv4 = this.newIp();
        this.world.seedTask(n.ecsService, { taskId, ipv4 });
        this.tasks.set(taskId, { service: n.ecsService, ipv4, version: 3, startedAt: this.clock.iso() });
        service.live.set(taskId, ipv4);
      }
      const first = [...service.live.values()][0] as string;
      this.registry.seed(service.ref, `http://${first}:8000/`, true, { path: service.ref.path });
    }
    for (let t = 0; t < (options.registryTasks ?? 2); t++) {
      const taskId = this.newTaskId();
      const ipv4 = this.newIp();
      this.world.seedTask(REGISTRY_SERVICE, { taskId, ipv4 });
      this.tasks.set(taskId, { service: REGISTRY_SERVICE, ipv4, version: 3, startedAt: this.clock.iso() });
      this.registryLive.add(taskId);
    }
    if ((options.builtIn ?? true) && this.services[0] !== undefined) {
      this.builtInRef = this.services[0].ref;
      this.builtInUrl = `http://${this.services[0].cloudMapService}:8000/`;
    }

    const capture = (record: DecisionRecord) => {
      this.count(record);
      if (!options.manualDelivery) this.invocationRecords.push(record);
    };
    // The deployed handler, in-invocation retry delays included, on the virtual clock.
    this.handler = createReconcilerHandler({
      config: this.config,
      cloudMap: this.world,
      ecs: this.world,
      registry:
        options.tokens === undefined
          ? this.registry
          : withTokens(this.registry, options.tokens(this.clock.now), () =>
              this.registryCallTimes.push(this.clock.now()),
            ),
      sleep: this.clock.sleep,
      now: this.clock.now,
      onRecord: capture,
    }).handler;
    const resync = options.resyncEveryMs ?? 300_000;
    if (resync > 0) this.scheduleResync(resync);
  }

  /** Schedules `run` at virtual time `at` (never before now). */
  at(at: number, run: () => void): void {
    this.timeline.add(Math.max(at, this.clock.now()), run);
  }

  /** Runs the world and the function until virtual time `end`. */
  async runUntil(end: number): Promise<void> {
    for (;;) {
      const action = this.timeline.peek();
      const head = this.options.manualDelivery ? undefined : this.queue[0];
      const delivery =
        head === undefined ? Number.POSITIVE_INFINITY : Math.max(head.availableAt, this.busyUntil);
      const next = Math.min(action?.at ?? Number.POSITIVE_INFINITY, delivery);
      if (next > end) break;
      this.clock.advance(next - this.clock.now());
      if (action !== undefined && action.at <= delivery) {
        this.timeline.pop();
        action.item();
      } else await this.invoke();
    }
    this.clock.advance(end - this.clock.now());
  }

  /**
   * With `manualDelivery`, hands over the queued messages as SQS records (at most `limit`), for a
   * caller that invokes `handler` itself (the warm timing).
   */
  takeQueued(
    limit = Number.POSITIVE_INFINITY,
  ): { messageId: string; body: string; attributes: { ApproximateReceiveCount: string } }[] {
    return this.queue
      .splice(0, Math.min(limit, this.queue.length))
      .map((m) => ({ messageId: m.id, body: m.body, attributes: { ApproximateReceiveCount: '1' } }));
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Closes the stale-pointer episodes still open: they are counted as open, not as durations. */
  finish(): void {
    for (const s of this.services) if (s.staleSince !== undefined) this.stale.open++;
  }

  // ---- the world's happenings ----

  /** A rolling deployment (minimum healthy 100 %, maximum 200 %): new tasks first, then the old ones stop. */
  deploy(service: FleetService): void {
    const old = [...service.live.keys()];
    for (let i = 0; i < Math.max(1, old.length); i++) this.startTask(service.ecsService);
    this.at(this.clock.now() + this.timing.deploymentStopOldAfterMs, () => {
      for (const taskId of old) this.stopTask(taskId, 'ServiceSchedulerInitiated');
    });
  }

  /** An essential container exits; the scheduler starts a replacement a little later. */
  crash(service: FleetService): void {
    const victim = this.pick([...service.live.keys()]);
    if (victim === undefined) return;
    this.stopTask(victim, 'EssentialContainerExited');
    this.at(this.clock.now() + this.timing.crashReplaceAfterMs, () => this.startTask(service.ecsService));
  }

  scaleOut(service: FleetService): void {
    if (service.live.size < 4) this.startTask(service.ecsService);
  }

  scaleIn(service: FleetService): void {
    if (service.live.size > 1) {
      const victim = this.pick([...service.live.keys()]);
      if (victim !== undefined) this.stopTask(victim, 'ServiceSchedulerInitiated');
    }
  }

  /** A rolling deployment of the registry itself: each new registry task resets the built-in entry. */
  restartRegistry(): void {
    this.counters.registryRestarts++;
    const old = [...this.registryLive];
    for (let i = 0; i < Math.max(1, old.length); i++) this.startTask(REGISTRY_SERVICE);
    this.at(this.clock.now() + this.timing.deploymentStopOldAfterMs, () => {
      for (const taskId of old) this.stopTask(taskId, 'ServiceSchedulerInitiated');
    });
  }

  /** Starts a task: PROVISIONING now, PENDING and RUNNING later. */
  startTask(ecsService: string): string {
    const taskId = this.newTaskId();
    this.tasks.set(taskId, { service: ecsService, ipv4: this.newIp(), version: 0 });
    this.emit(taskId, 'PROVISIONING', 'RUNNING');
    this.at(this.clock.now() + this.timing.pendingAfterMs, () => this.emit(taskId, 'PENDING', 'RUNNING'));
    this.at(this.clock.now() + this.timing.runningAfterMs, () => {
      if (this.tasks.get(taskId)?.stopping !== true) this.emit(taskId, 'RUNNING', 'RUNNING');
    });
    return taskId;
  }

  /** Stops a task: desired STOPPED now (the first sign), DEPROVISIONING and STOPPED later. */
  stopTask(taskId: string, stopCode: string): void {
    const meta = this.tasks.get(taskId);
    if (meta === undefined || meta.stopping === true) return;
    meta.stopping = true;
    this.emit(taskId, 'RUNNING', 'STOPPED', stopCode);
    this.at(this.clock.now() + this.timing.deprovisioningAfterMs, () =>
      this.emit(taskId, 'DEPROVISIONING', 'STOPPED', stopCode),
    );
    this.at(this.clock.now() + this.timing.stoppedAfterMs, () =>
      this.emit(taskId, 'STOPPED', 'STOPPED', stopCode),
    );
  }

  /** Emits one ECS task event: the world applies it now, the function gets it after the delivery delay. */
  private emit(taskId: string, lastStatus: string, desiredStatus: string, stopCode?: string): void {
    const meta = this.tasks.get(taskId) as TaskMeta;
    meta.version++;
    if (lastStatus === 'RUNNING' && desiredStatus === 'RUNNING') meta.startedAt = this.clock.iso();
    const event = taskEvent({
      clusterArn: CLUSTER_ARN,
      taskId,
      service: meta.service,
      lastStatus,
      desiredStatus,
      version: meta.version,
      ipv4: meta.ipv4,
      time: this.clock.iso(),
      ...(meta.startedAt === undefined ? {} : { startedAt: meta.startedAt }),
      ...(stopCode === undefined ? {} : { stopCode }),
    });
    const parsed = parseEvent(event);
    if (parsed.kind !== 'task') throw new Error(`bench built a malformed event: ${JSON.stringify(parsed)}`);
    this.world.applyEvent(parsed.event);
    this.counters.taskEvents++;
    const key = `${lastStatus}/${desiredStatus}`;
    this.counters.taskEventsByStatus[key] = (this.counters.taskEventsByStatus[key] ?? 0) + 1;
    this.enqueue(JSON.stringify(event));

    const running = lastStatus === 'RUNNING' && desiredStatus === 'RUNNING';
    if (meta.service === REGISTRY_SERVICE) {
      if (running) {
        this.registryLive.add(taskId);
        if (this.builtInRef !== undefined && this.builtInUrl !== undefined) {
          this.registry.set(this.builtInRef, this.builtInUrl);
          this.counters.builtInResets++;
          this.checkStale(this.services[0] as FleetService, this.clock.now());
        }
      } else this.registryLive.delete(taskId);
      return;
    }
    const service = this.byEcsService.get(meta.service) as FleetService;
    if (running) service.live.set(taskId, meta.ipv4);
    else service.live.delete(taskId);
    this.checkStale(service, this.clock.now());
  }

  private scheduleResync(every: number): void {
    let n = 0;
    const tick = () => {
      n++;
      this.counters.scheduleEvents++;
      this.enqueue(JSON.stringify(scheduledEvent(`resync-${n}`, this.clock.iso())));
      this.at(this.clock.now() + every, tick);
    };
    this.at(this.clock.now() + every, tick);
  }

  private enqueue(body: string): void {
    this.queue.push({
      id: `m-${++this.nextMessage}`,
      body,
      availableAt: this.clock.now() + this.timing.deliveryDelayMs,
      receiveCount: 0,
    });
  }

  /** One invocation: the FIFO head's available prefix, at most 10 messages. */
  private async invoke(): Promise<void> {
    const now = this.clock.now();
    const batch: Message[] = [];
    while (batch.length < 10 && (this.queue[0]?.availableAt ?? Number.POSITIVE_INFINITY) <= now) {
      batch.push(this.queue.shift() as Message);
    }
    for (const m of batch) {
      m.receiveCount++;
      this.counters.deliveries++;
      if (m.receiveCount > 1) this.counters.redeliveries++;
    }
    this.counters.invocations++;
    this.invocationRecords.length = 0;
    const writesBefore = this.registry.writes.length;
    const response = (await this.handler({
      Records: batch.map((m) => ({
        messageId: m.id,
        body: m.body,
        attributes: { ApproximateReceiveCount: String(m.receiveCount) },
        eventSource: 'aws:sqs',
      })),
    })) as SQSBatchResponse;
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const retry = batch.filter((m) => failed.has(m.id));
    for (const m of retry) m.availableAt = this.clock.now() + this.timing.visibilityTimeoutMs;
    this.queue.unshift(...retry);

    const records = [...this.invocationRecords];
    const costs = records.map((r) => this.costOf(r.calls));
    const total = costs.reduce((s, c) => s + c, 0);
    const duration = this.timing.invocationOverheadMs + Math.max(Math.max(0, ...costs), total / 4);
    this.busyUntil = this.clock.now() + duration;
    this.counters.maxInvocationMs = Math.max(this.counters.maxInvocationMs, this.busyUntil - now);
    this.counters.writes += this.registry.writes.length - writesBefore;
    const touched = new Set(records.map((r) => r.target.path));
    for (const s of this.services) if (touched.has(s.ref.path)) this.checkStale(s, this.busyUntil);
  }

  private costOf(calls: Partial<Record<ApiName, number>>): number {
    let ms = 0;
    for (const [api, n] of Object.entries(calls) as [ApiName, number][])
      ms += (this.timing.callLatencyMs[api] ?? 0) * n;
    return ms;
  }

  private count(r: DecisionRecord): void {
    const t = this.tally;
    t.records++;
    t.coalescedTriggers += r.coalesced;
    t.recordsByTrigger[r.trigger.type] = (t.recordsByTrigger[r.trigger.type] ?? 0) + 1;
    t.actions[r.action] = (t.actions[r.action] ?? 0) + 1;
    t.reasons[r.reason] = (t.reasons[r.reason] ?? 0) + 1;
    const byTrigger = t.callsByTrigger[r.trigger.type] ?? {};
    t.callsByTrigger[r.trigger.type] = byTrigger;
    for (const [api, n] of Object.entries(r.calls) as [ApiName, number][]) {
      t.calls[api] = (t.calls[api] ?? 0) + n;
      byTrigger[api] = (byTrigger[api] ?? 0) + n;
      t.maxPerRecord[api] = Math.max(t.maxPerRecord[api] ?? 0, n);
      if (n > 1) t.recordsOverOne[api] = (t.recordsOverOne[api] ?? 0) + 1;
    }
    if ((r.calls['registry.write'] ?? 0) > 0 && r.currentUrl === r.desiredUrl) t.writesWithoutChange++;
    this.options.onRecord?.(r);
  }

  /** Opens or closes a stale-pointer episode for a service, as of time `at`. */
  private checkStale(service: FleetService, at: number): void {
    const host = hostOf(this.registry.url(service.ref) ?? '');
    let pointsAtLive = false;
    for (const ip of service.live.values()) if (ip === host) pointsAtLive = true;
    const stale = service.live.size > 0 && !pointsAtLive;
    if (stale && service.staleSince === undefined) service.staleSince = at;
    else if (!stale && service.staleSince !== undefined) {
      this.stale.durationsMs.push(Math.max(0, at - service.staleSince));
      service.staleSince = undefined;
    }
  }

  private pick<T>(items: T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.rng.int(0, items.length - 1)];
  }

  private newTaskId(): string {
    let id = '';
    for (let i = 0; i < 4; i++)
      id += Math.floor(this.rng.next() * 2 ** 32)
        .toString(16)
        .padStart(8, '0');
    return id;
  }

  private newIp(): string {
    const n = this.nextIp++;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  }
}

/** The registry behind a token provider, as the real client calls it: a token before every request. */
function withTokens(registry: RegistryPort, tokens: TokenProvider, onCall: () => void): RegistryPort {
  return {
    async readEntry(ref: EntryRef, ctx: CallContext): Promise<RegistryEntry> {
      onCall();
      await tokens.getToken(ctx);
      return registry.readEntry(ref, ctx);
    },
    async writeUrl(entry: RegistryEntry, newUrl: string, ctx: CallContext): Promise<WriteResult> {
      onCall();
      await tokens.getToken(ctx);
      return registry.writeUrl(entry, newUrl, ctx);
    },
  };
}
