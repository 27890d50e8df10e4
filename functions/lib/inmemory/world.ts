import { EcsFailureError } from '../aws/ecs';
import type { TaskHealth } from '../core/types';
import type { HostForms } from '../core/url';
import { isRunning, isStopping, type TaskEvent } from '../delivery/event';
import { EntryNotFoundError, RetryableError } from '../errors';
import type {
  CallContext,
  CloudMapInstance,
  CloudMapPort,
  EcsPort,
  EcsServiceDiscovery,
  EntryRef,
  RegistryEntry,
  RegistryPort,
  TaskState,
  WriteOptions,
  WriteResult,
} from '../reconcile/ports';
import { followedEndpoints } from '../registry/rewrite';

/**
 * An in-process stand-in for the parts of AWS the reconciler reads: ECS tasks and services, and
 * Cloud Map instances, on a clock the caller controls. Applying an ECS event changes it the way
 * AWS would (a task reaching RUNNING registers in Cloud Map, one going away deregisters), with an
 * optional registration lag. Used by the local replay, the simulation, the benchmarks and tests.
 */

/** A clock that moves only when told to. */
export class VirtualClock {
  constructor(private ms = Date.parse('2026-01-01T00:00:00Z')) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += Math.max(0, ms);
  }
  /** A `sleep` that advances virtual time instead of waiting. */
  sleep = async (ms: number): Promise<void> => {
    this.advance(ms);
  };
  iso(): string {
    return new Date(this.ms).toISOString();
  }
}

export interface WorldService {
  ecsService: string;
  cloudMapService: string;
  /** `AWS_INSTANCE_PORT` of its instances (Service Connect always sets it). */
  port?: number;
}

interface WorldTask extends TaskState {
  service?: string;
  clusterArn: string;
}

interface Registration {
  instance: CloudMapInstance;
  /** Virtual time from which DiscoverInstances lists it. */
  visibleAt: number;
  /** Virtual time from which it is gone (deregistration), if any. */
  goneAt?: number;
}

export interface WorldOptions {
  clusterArn: string;
  namespace: string;
  services: WorldService[];
  clock?: VirtualClock;
  /** Delay between a task reaching RUNNING and Cloud Map listing it. @default 0 */
  registrationLagMs?: number;
  /** Delay between a task starting to stop and Cloud Map dropping it. @default 0 */
  deregistrationLagMs?: number;
}

export class World implements CloudMapPort, EcsPort {
  readonly clock: VirtualClock;
  readonly clusterArn: string;
  readonly namespace: string;
  registrationLagMs: number;
  deregistrationLagMs: number;
  private readonly services = new Map<string, WorldService>();
  private readonly tasks = new Map<string, WorldTask>();
  private readonly registrations = new Map<string, Map<string, Registration>>();
  /** Calls served, by API, over the world's life. */
  readonly calls = new Map<string, number>();
  /** Injected failures: the next N calls to an API fail with a throttling error. */
  private readonly throttles = new Map<string, number>();
  private describeFailures = 0;
  private describeFailureReason = 'INTERNAL_ERROR';

  constructor(options: WorldOptions) {
    this.clock = options.clock ?? new VirtualClock();
    this.clusterArn = options.clusterArn;
    this.namespace = options.namespace;
    this.registrationLagMs = options.registrationLagMs ?? 0;
    this.deregistrationLagMs = options.deregistrationLagMs ?? 0;
    for (const s of options.services) {
      this.services.set(s.ecsService, s);
      this.registrations.set(s.cloudMapService, new Map());
    }
  }

  get clusterName(): string {
    return this.clusterArn.slice(this.clusterArn.indexOf('cluster/') + 'cluster/'.length);
  }

  /** Puts a task straight into RUNNING and registers it at once (for seeding a world). */
  seedTask(
    ecsService: string,
    task: { taskId: string; ipv4: string; startedAt?: string; healthStatus?: TaskHealth },
  ): void {
    this.setTask({
      ...(task.healthStatus === undefined ? {} : { healthStatus: task.healthStatus }),
      taskId: task.taskId,
      taskArn: this.taskArn(task.taskId),
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 3,
      startedAt: task.startedAt ?? this.clock.iso(),
      group: `service:${ecsService}`,
      ipv4: task.ipv4,
      service: ecsService,
      clusterArn: this.clusterArn,
    });
    this.register(task.taskId, 0);
  }

  /**
   * Applies what an ECS event reports, as AWS would have done it: never moving a task backwards
   * (an older version changes nothing), registering a task in Cloud Map when it runs and
   * deregistering it when it starts to go away. Events of other clusters only touch ECS.
   */
  applyEvent(event: TaskEvent): void {
    const known = this.tasks.get(event.taskId);
    if (known !== undefined && (known.version ?? -1) >= event.version) return;
    const service = event.service;
    this.setTask({
      taskId: event.taskId,
      taskArn: event.taskArn,
      lastStatus: event.lastStatus,
      desiredStatus: event.desiredStatus,
      version: event.version,
      ...(event.startedAt !== undefined
        ? { startedAt: event.startedAt }
        : known?.startedAt !== undefined
          ? { startedAt: known.startedAt }
          : {}),
      ...(event.group === undefined ? {} : { group: event.group }),
      ...((event.ipv4 ?? known?.ipv4) === undefined ? {} : { ipv4: (event.ipv4 ?? known?.ipv4) as string }),
      ...(service === undefined ? {} : { service }),
      // Events never carry healthStatus: ECS's container health stays what it was.
      ...(known?.healthStatus === undefined ? {} : { healthStatus: known.healthStatus }),
      clusterArn: event.clusterArn,
    });
    if (event.clusterArn !== this.clusterArn || !event.hasTaskNetwork) return;
    if (isStopping(event)) this.deregister(event.taskId, this.deregistrationLagMs);
    else if (isRunning(event)) this.register(event.taskId, this.registrationLagMs);
  }

  /** Registers a task's instance in its service's Cloud Map service, visible after `lagMs`. */
  register(taskId: string, lagMs = this.registrationLagMs): void {
    const task = this.tasks.get(taskId);
    const svc = task?.service === undefined ? undefined : this.services.get(task.service);
    if (task === undefined || svc === undefined || task.ipv4 === undefined) return;
    const regs = this.registrations.get(svc.cloudMapService) as Map<string, Registration>;
    if (regs.has(taskId) && regs.get(taskId)?.goneAt === undefined) return;
    regs.set(taskId, {
      instance: {
        instanceId: taskId,
        ipv4: task.ipv4,
        ...(svc.port === undefined ? {} : { port: svc.port }),
        health: 'UNKNOWN',
        attributes: {
          AWS_INSTANCE_IPV4: task.ipv4,
          ...(svc.port === undefined ? {} : { AWS_INSTANCE_PORT: String(svc.port) }),
          // What ECS writes on a Service Connect instance besides: the task set it belongs to.
          AvailabilityZone: `${this.clusterArn.split(':')[3] ?? 'us-west-2'}a`,
          DeploymentId: `${this.clusterArn.replace(':cluster/', ':task-set/')}/${svc.ecsService}/ecs-svc/1`,
        },
      },
      visibleAt: this.clock.now() + lagMs,
    });
  }

  /** Removes a task's instance from Cloud Map (ECS does this as a task stops). */
  deregister(taskId: string, lagMs = 0): void {
    for (const regs of this.registrations.values()) {
      const reg = regs.get(taskId);
      if (reg !== undefined && reg.goneAt === undefined) reg.goneAt = this.clock.now() + lagMs;
    }
  }

  /** Sets the container health ECS reports for a task (`healthStatus` in DescribeTasks). */
  setTaskHealth(taskId: string, healthStatus: TaskHealth | undefined): void {
    const task = this.tasks.get(taskId);
    if (task === undefined) return;
    if (healthStatus === undefined) delete task.healthStatus;
    else task.healthStatus = healthStatus;
  }

  /**
   * Registers an instance by hand, as anyone allowed to register in the namespace can: its id and
   * IPv4 need not be those of any task ECS runs. Replaces a registration with the same id.
   */
  registerInstance(
    cloudMapService: string,
    instance: { instanceId: string; ipv4: string; port?: number },
  ): void {
    const regs = this.registrations.get(cloudMapService);
    if (regs === undefined) throw new Error(`no Cloud Map service ${cloudMapService} in the world`);
    regs.set(instance.instanceId, {
      instance: {
        instanceId: instance.instanceId,
        ipv4: instance.ipv4,
        ...(instance.port === undefined ? {} : { port: instance.port }),
        health: 'UNKNOWN',
        attributes: {
          AWS_INSTANCE_IPV4: instance.ipv4,
          ...(instance.port === undefined ? {} : { AWS_INSTANCE_PORT: String(instance.port) }),
        },
      },
      visibleAt: this.clock.now(),
    });
  }

  /**
   * Makes the next `count` DescribeTasks calls answer with a failure other than MISSING for every
   * task asked about, as the ECS adapter reports it (a retryable `EcsFailureError`); 0 ends it.
   */
  failDescribeTasks(count: number, reason = 'INTERNAL_ERROR'): void {
    this.describeFailures = count;
    this.describeFailureReason = reason;
  }

  /** Makes the next `count` calls to `api` fail as throttled (a retryable error). */
  throttle(api: 'cloudmap.DiscoverInstances' | 'ecs.DescribeTasks', count: number): void {
    this.throttles.set(api, (this.throttles.get(api) ?? 0) + count);
  }

  /** The task ids Cloud Map lists now for a Cloud Map service. */
  listed(cloudMapService: string): string[] {
    return [...(this.registrations.get(cloudMapService)?.values() ?? [])]
      .filter((r) => this.isVisible(r))
      .map((r) => r.instance.instanceId);
  }

  /** ECS's view of one task. */
  task(taskId: string): TaskState | undefined {
    return this.tasks.get(taskId);
  }

  /** Live (RUNNING/RUNNING) tasks of an ECS service. */
  liveTasks(ecsService: string): TaskState[] {
    return [...this.tasks.values()].filter((t) => t.service === ecsService && isRunning(t));
  }

  service(ecsService: string): WorldService | undefined {
    return this.services.get(ecsService);
  }

  taskArn(taskId: string): string {
    return `${this.clusterArn.replace(':cluster/', ':task/')}/${taskId}`;
  }

  // ---- CloudMapPort ----

  async discoverInstances(namespace: string, service: string, ctx: CallContext): Promise<CloudMapInstance[]> {
    this.serve('cloudmap.DiscoverInstances', ctx);
    const regs = namespace === this.namespace ? this.registrations.get(service) : undefined;
    if (regs === undefined)
      throw Object.assign(new Error(`no service ${service}`), { name: 'ServiceNotFound' });
    return [...regs.values()].filter((r) => this.isVisible(r)).map((r) => structuredClone(r.instance));
  }

  async serviceNameByArn(arn: string, ctx: CallContext): Promise<string | undefined> {
    this.serve('cloudmap.GetService', ctx);
    return arn.slice(arn.lastIndexOf('/') + 1);
  }

  // ---- EcsPort ----

  async describeTasks(cluster: string, taskIds: string[], ctx: CallContext): Promise<Map<string, TaskState>> {
    const out = new Map<string, TaskState>();
    for (let at = 0; at < taskIds.length; at += 100) {
      this.serve('ecs.DescribeTasks', ctx);
      if (this.describeFailures > 0) {
        this.describeFailures--;
        throw new EcsFailureError(
          taskIds.slice(at, at + 100).map((id) => `${this.taskArn(id)}: ${this.describeFailureReason}`),
        );
      }
      for (const id of taskIds.slice(at, at + 100)) {
        const task = this.tasks.get(id.slice(id.lastIndexOf('/') + 1));
        if (task === undefined || !this.sameCluster(cluster, task.clusterArn)) continue;
        const { service: _s, clusterArn: _c, ...state } = task;
        out.set(task.taskId, { ...state });
      }
    }
    return out;
  }

  async describeService(
    cluster: string,
    serviceName: string,
    ctx: CallContext,
  ): Promise<EcsServiceDiscovery | undefined> {
    return (await this.describeServices(cluster, [serviceName], ctx))[0];
  }

  /** Up to ten services in one DescribeServices call, as the product's ECS adapter asks. */
  async describeServices(
    cluster: string,
    serviceNames: readonly string[],
    ctx: CallContext,
  ): Promise<EcsServiceDiscovery[]> {
    this.serve('ecs.DescribeServices', ctx);
    if (!this.sameCluster(cluster, this.clusterArn)) return [];
    return serviceNames.flatMap((serviceName) => {
      const svc = this.services.get(serviceName);
      return svc === undefined
        ? []
        : [{ serviceName, discoveryNames: [svc.cloudMapService], registryArns: [] }];
    });
  }

  private serve(
    api: 'cloudmap.DiscoverInstances' | 'cloudmap.GetService' | 'ecs.DescribeTasks' | 'ecs.DescribeServices',
    ctx: CallContext,
  ): void {
    ctx.count(api);
    this.calls.set(api, (this.calls.get(api) ?? 0) + 1);
    const left = this.throttles.get(api) ?? 0;
    if (left > 0) {
      this.throttles.set(api, left - 1);
      throw Object.assign(new Error(`${api}: Rate exceeded`), {
        name: 'ThrottlingException',
        $retryable: {},
      });
    }
  }

  private isVisible(r: Registration): boolean {
    const now = this.clock.now();
    return r.visibleAt <= now && (r.goneAt === undefined || r.goneAt > now);
  }

  private sameCluster(cluster: string, arn: string): boolean {
    return cluster === arn || arn.endsWith(`:cluster/${cluster}`);
  }

  private setTask(task: WorldTask): void {
    this.tasks.set(task.taskId, task);
  }
}

/** One write the registry accepted. */
export interface RegistryWrite {
  at: number;
  kind: 'server' | 'agent';
  path: string;
  from: string;
  to: string;
  /** The names of the entry's host the writer said endpoints may be on. */
  hostForms?: HostForms;
}

/**
 * An in-memory registry with the reconciler's view of the contract: entries keyed by kind and
 * path, rewrites that keep every other field, a read-back, and injectable faults. The HTTP-level
 * contract is exercised against the local registry server instead; this one is for speed.
 */
export class MemoryRegistry implements RegistryPort {
  private readonly entries = new Map<string, RegistryEntry>();
  readonly writes: RegistryWrite[] = [];
  /** Fail the next N calls with a retryable 503. */
  failNext = 0;
  /** Disable a server after each write (the registry's security scan). */
  disableAfterWrite = false;

  constructor(private readonly clock: { now(): number } = { now: Date.now }) {}

  seed(ref: EntryRef, url: string, enabled = true, record: Record<string, unknown> = {}): void {
    this.entries.set(key(ref), { ...ref, url, ...(ref.kind === 'server' ? { enabled } : {}), record });
  }

  /** The entry's current address. */
  url(ref: EntryRef): string | undefined {
    return this.entries.get(key(ref))?.url;
  }

  /** Every entry of a kind, as a registry list shows it (follow mode's pages). */
  list(kind: EntryRef['kind']): RegistryEntry[] {
    return [...this.entries.values()].filter((e) => e.kind === kind).map((e) => structuredClone(e));
  }

  /** Sets an address behind the reconciler's back (the registry's own reset on start, an operator). */
  set(ref: EntryRef, url: string): void {
    const entry = this.entries.get(key(ref));
    if (entry === undefined) throw new Error(`no entry ${key(ref)}`);
    entry.url = url;
  }

  async readEntry(ref: EntryRef, ctx: CallContext): Promise<RegistryEntry> {
    ctx.count('registry.read');
    this.fault(ref);
    const entry = this.entries.get(key(ref));
    if (entry === undefined) throw new EntryNotFoundError(ref.kind, ref.path);
    return structuredClone(entry);
  }

  async writeUrl(
    entry: RegistryEntry,
    newUrl: string,
    ctx: CallContext,
    options?: WriteOptions,
  ): Promise<WriteResult> {
    ctx.count('registry.write');
    this.fault(entry);
    const stored = this.entries.get(key(entry));
    if (stored === undefined) throw new EntryNotFoundError(entry.kind, entry.path);
    const wasEnabled = stored.enabled === true;
    for (const e of followedEndpoints(stored.record, stored.url, newUrl, options?.hostForms))
      stored.record[e.field] = e.after;
    this.writes.push({
      at: this.clock.now(),
      kind: entry.kind,
      path: entry.path,
      from: stored.url,
      to: newUrl,
      ...(options === undefined ? {} : { hostForms: options.hostForms }),
    });
    stored.url = newUrl;
    if (this.disableAfterWrite && stored.kind === 'server') stored.enabled = false;
    ctx.count('registry.readBack');
    return {
      url: stored.url,
      confirmed: stored.url === newUrl,
      disabledAfterWrite: wasEnabled && stored.enabled === false,
      reenabled: false,
    };
  }

  private fault(ref: EntryRef): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw new RetryableError(`registry answered 503 for ${ref.kind} ${ref.path}`);
    }
  }
}

function key(ref: EntryRef): string {
  return `${ref.kind} ${ref.path}`;
}
