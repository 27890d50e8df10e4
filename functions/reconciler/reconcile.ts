import type { ReconcilerConfig, TargetConfig } from './config';
import { type Decision, decide, isOwnedHost, liveness } from './decide';
import { describeError, EntryNotFoundError, isRetryable } from './errors';
import { isRunning, isStopping, type TaskEvent } from './event';
import type {
  ApiName,
  CallContext,
  CloudMapPort,
  EcsPort,
  RegistryEntry,
  RegistryPort,
  TaskState,
} from './ports';
import type { DecisionRecord, TargetMatch, TriggerInfo } from './record';
import { type LoggerLike, MetricName, type MetricsSink, NO_METRICS, SILENT_LOGGER } from './telemetry';
import { hostOf } from './url';

/** One thing that asks for a reconcile, with where it came from in the invocation. */
export type Trigger =
  | { type: 'task'; event: TaskEvent; source: number; attempt: number }
  | { type: 'schedule'; eventId: string; time?: string; source: number; attempt: number };

/** A trigger that was well-formed but asks for nothing (another cluster, a standalone task, …). */
export interface Ignored {
  source: number;
  eventId: string;
  taskId?: string;
  reason: IgnoreReason;
  detail: string;
  /** Only a failed service lookup can be retried; every other reason is final. */
  retryable: boolean;
}

export type IgnoreReason =
  | 'other-cluster'
  | 'standalone-task'
  | 'status-not-actionable'
  | 'no-task-ip'
  | 'registry-task-not-running'
  | 'unmanaged-service'
  | 'service-lookup-failed';

export interface ReconcileOutcome {
  records: DecisionRecord[];
  ignored: Ignored[];
  /** Sources (indexes into the invocation's events) whose reconcile should be retried by the platform. */
  retrySources: Set<number>;
}

export interface ReconcilerDeps {
  config: ReconcilerConfig;
  cloudMap: CloudMapPort;
  ecs: EcsPort;
  registry: RegistryPort;
  logger?: LoggerLike;
  metrics?: MetricsSink;
  /** Waits between looks at Cloud Map while a new task registers (virtual in the simulation). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** How many targets are reconciled at once within one invocation. @default 4 */
  parallelism?: number;
  /** How long an ECS service's discovery names are cached. @default 600000 (10 min) */
  serviceCacheTtlMs?: number;
  /** Deliveries of one trigger after which Cloud Map lag is no longer deferred. @default 3 */
  maxDeferAttempts?: number;
}

interface Plan {
  target: TargetConfig;
  match: TargetMatch;
  triggers: Trigger[];
  /** Calls made to find the target (DescribeServices, GetService), charged to its record. */
  lookupCalls: Partial<Record<ApiName, number>>;
}

/** The live task an entry was last seen pointing at. */
interface Pointer {
  taskId: string;
  /** The entry's address when it was checked. */
  url: string;
  /** When Cloud Map and ECS last confirmed it (virtual time in the simulation). */
  checkedAt: number;
}

interface PointerCheck {
  pointer: Pointer;
  /** ECS's view of the pointed tasks, from the batched check. */
  tasks: ReadonlyMap<string, TaskState>;
}

interface ServiceMatch {
  target: TargetConfig;
  match: TargetMatch;
}

/**
 * Turns triggers into decisions. Within one invocation every target is reconciled at most once,
 * however many events name it (bursts and duplicates coalesce), from fresh reads of Cloud Map,
 * ECS and the registry: what an event says can only take a task out of the running, never put an
 * address into the registry.
 */
export class Reconciler {
  private readonly config: ReconcilerConfig;
  private readonly logger: LoggerLike;
  private readonly metrics: MetricsSink;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly parallelism: number;
  private readonly serviceCacheTtlMs: number;
  private readonly maxDeferAttempts: number;
  private readonly serviceCache = new Map<string, { at: number; matches: ServiceMatch[] }>();
  /**
   * The live task each target's entry was last seen pointing at, from a full check (Cloud Map +
   * ECS) or our own confirmed write. The scheduled resync re-checks it with ECS alone.
   */
  private readonly pointers = new Map<string, Pointer>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.config = deps.config;
    this.logger = deps.logger ?? SILENT_LOGGER;
    this.metrics = deps.metrics ?? NO_METRICS;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = deps.now ?? Date.now;
    this.parallelism = deps.parallelism ?? 4;
    this.serviceCacheTtlMs = deps.serviceCacheTtlMs ?? 600_000;
    this.maxDeferAttempts = deps.maxDeferAttempts ?? 3;
  }

  /** Reconciles every target the triggers ask for, once each. Never throws for one target's failure. */
  async reconcile(triggers: Trigger[]): Promise<ReconcileOutcome> {
    const ignored: Ignored[] = [];
    const plans = new Map<string, Plan>();
    const stopping = new Set<string>();
    const addPlan = (target: TargetConfig, match: TargetMatch, trigger: Trigger, calls?: CountingContext) => {
      const key = targetKey(target);
      let plan = plans.get(key);
      if (plan === undefined) {
        plan = { target, match, triggers: [], lookupCalls: {} };
        plans.set(key, plan);
      }
      plan.triggers.push(trigger);
      if (calls !== undefined) mergeCalls(plan.lookupCalls, calls.take());
    };

    for (const trigger of triggers) {
      // Only events of our cluster: an ignored event must change nothing (a STOPPED event of
      // another cluster that names one of our task ids used to take that task out of the running).
      if (trigger.type === 'task' && isStopping(trigger.event) && this.isOurCluster(trigger.event))
        stopping.add(trigger.event.taskId);
    }
    for (const trigger of triggers) {
      if (trigger.type === 'schedule') {
        for (const target of this.config.targets) addPlan(target, 'all-targets', trigger);
        continue;
      }
      const why = this.screen(trigger.event);
      if (why !== undefined) {
        ignored.push(this.ignore(trigger, why[0], why[1]));
        continue;
      }
      const service = trigger.event.service as string;
      if (service === this.config.registryService) {
        for (const target of this.config.targets) addPlan(target, 'all-targets', trigger);
        continue;
      }
      const calls = new CountingContext();
      let matches: ServiceMatch[];
      try {
        matches = await this.targetsForService(service, calls);
      } catch (error) {
        this.metrics.count(MetricName.Errors);
        ignored.push(
          this.ignore(
            trigger,
            'service-lookup-failed',
            `cannot look up ECS service ${service}: ${describeError(error)}`,
            isRetryable(error),
          ),
        );
        continue;
      }
      if (matches.length === 0) {
        ignored.push(
          this.ignore(trigger, 'unmanaged-service', `no target is served by ECS service ${service}`),
        );
        continue;
      }
      for (const m of matches) addPlan(m.target, m.match, trigger, calls);
    }

    const planned = [...plans.values()];
    const checks = await this.checkPointers(planned);
    const records = await mapLimit(planned, this.parallelism, (plan) =>
      this.reconcileTarget(plan, stopping, checks.get(plan)),
    );
    const retrySources = new Set<number>();
    records.forEach((record, i) => {
      if (record.retryable) for (const t of (planned[i] as Plan).triggers) retrySources.add(t.source);
    });
    for (const ig of ignored) if (ig.retryable) retrySources.add(ig.source);
    return { records, ignored, retrySources };
  }

  /** Why a well-formed task event asks for nothing, or undefined when it names a service to reconcile. */
  private screen(event: TaskEvent): [IgnoreReason, string] | undefined {
    if (!this.isOurCluster(event))
      return ['other-cluster', `cluster ${event.clusterName} is not ${this.config.clusterName}`];
    if (event.service === undefined) {
      return ['standalone-task', `group ${JSON.stringify(event.group ?? null)} is not a service`];
    }
    if (event.service === this.config.registryService && !isRunning(event) && !isRegistryHandover(event)) {
      return ['registry-task-not-running', `registry task is ${event.lastStatus}/${event.desiredStatus}`];
    }
    if (!isRunning(event) && !isStopping(event)) {
      return ['status-not-actionable', `task is ${event.lastStatus}/${event.desiredStatus}: not yet serving`];
    }
    // A registry task restarting re-applies every target whatever its own network mode.
    if (!event.hasTaskNetwork && event.service !== this.config.registryService) {
      return ['no-task-ip', 'the task has no ENI (EC2 bridge or host network mode): no task IP to point at'];
    }
    return undefined;
  }

  private isOurCluster(event: TaskEvent): boolean {
    return this.config.cluster.startsWith('arn:')
      ? event.clusterArn === this.config.cluster
      : event.clusterName === this.config.clusterName;
  }

  private ignore(
    trigger: Trigger & { type: 'task' },
    reason: IgnoreReason,
    detail: string,
    retryable = false,
  ): Ignored {
    if (reason !== 'service-lookup-failed') this.metrics.count(MetricName.EventsIgnored);
    this.logger.info(`ignored event: ${detail}`, {
      ignored: { eventId: trigger.event.eventId, taskId: trigger.event.taskId, reason },
    });
    return {
      source: trigger.source,
      eventId: trigger.event.eventId,
      taskId: trigger.event.taskId,
      reason,
      detail,
      retryable,
    };
  }

  /** The targets an ECS service serves: named in the config, or found through its Cloud Map discovery names. */
  private async targetsForService(service: string, ctx: CallContext): Promise<ServiceMatch[]> {
    const direct: ServiceMatch[] = this.config.targets
      .filter((t) => t.ecsService === service)
      .map((target) => ({ target, match: 'config' }));
    const unnamed = this.config.targets.filter((t) => t.ecsService === undefined);
    if (unnamed.length === 0) return direct;
    const cached = this.serviceCache.get(service);
    if (cached !== undefined && this.now() - cached.at < this.serviceCacheTtlMs)
      return [...direct, ...cached.matches];

    const found = await this.deps.ecs.describeService(this.config.cluster, service, ctx);
    const matches: ServiceMatch[] = [];
    if (found !== undefined) {
      const registryNames = new Set<string>();
      for (const arn of found.registryArns) {
        const name = await this.deps.cloudMap.serviceNameByArn(arn, ctx);
        if (name !== undefined) registryNames.add(name);
      }
      for (const target of unnamed) {
        if (found.discoveryNames.includes(target.cloudMapService))
          matches.push({ target, match: 'service-connect' });
        else if (registryNames.has(target.cloudMapService))
          matches.push({ target, match: 'service-registries' });
      }
    }
    // Bounded: events can name any service, and each unknown one would otherwise stay forever.
    if (this.serviceCache.size >= SERVICE_CACHE_MAX) {
      const oldest = this.serviceCache.keys().next().value;
      if (oldest !== undefined) this.serviceCache.delete(oldest);
    }
    this.serviceCache.delete(service);
    this.serviceCache.set(service, { at: this.now(), matches });
    return [...direct, ...matches];
  }

  private async reconcileTarget(
    plan: Plan,
    stopping: ReadonlySet<string>,
    check?: PointerCheck,
  ): Promise<DecisionRecord> {
    const started = this.now();
    const ctx = new CountingContext();
    const { target } = plan;
    const runningTriggers = new Set(
      plan.triggers.flatMap((t) => (t.type === 'task' && isRunning(t.event) ? [t.event.taskId] : [])),
    );
    const canDefer = plan.triggers.some(
      (t) => t.type === 'task' && isRunning(t.event) && t.attempt < this.maxDeferAttempts,
    );
    let stage = 'registry-read';
    let entry: RegistryEntry | undefined;
    let decision: Decision | undefined;
    try {
      entry = await this.deps.registry.readEntry({ kind: target.kind, path: target.path }, ctx);
      const owned = isOwnedHost(hostOf(entry.url) ?? '', target.cloudMapService, this.config.namespace);
      const input = {
        target,
        namespace: this.config.namespace,
        currentUrl: entry.url,
        stoppingTaskIds: stopping,
        runningTriggerTaskIds: runningTriggers,
        canDefer,
      };
      if (!owned) {
        decision = decide({ ...input, instances: [], tasks: new Map() });
      } else if (
        check !== undefined &&
        entry.url === check.pointer.url &&
        liveness(check.pointer.taskId, check.tasks, stopping) === 'live'
      ) {
        // The resync's cheap path: the entry still holds what we last verified and ECS says
        // that task still lives, so Cloud Map is not asked (see checkPointers).
        decision = {
          action: 'noop',
          reason: 'current-live',
          detail: `resync: ${hostOf(entry.url)} is still live task ${check.pointer.taskId} (ECS); Cloud Map is checked again within ${this.config.resyncFullCheckMinutes} min`,
          desiredUrl: entry.url,
          instances: [],
          chosen: check.pointer.taskId,
          retryable: false,
        };
        return this.finish(plan, ctx, started, { entry, decision, pointerVerified: true });
      } else {
        for (let look = 0; ; look++) {
          stage = 'cloudmap';
          const instances = await this.deps.cloudMap.discoverInstances(
            this.config.namespace,
            target.cloudMapService,
            ctx,
          );
          const ids = [...new Set([...instances.map((i) => i.instanceId), ...runningTriggers])];
          stage = 'ecs';
          const tasks: Map<string, TaskState> =
            ids.length === 0 ? new Map() : await this.deps.ecs.describeTasks(this.config.cluster, ids, ctx);
          decision = decide({ ...input, instances, tasks });
          const lagging =
            decision.reason === 'cloud-map-lag' || decision.reason === 'cloud-map-lag-exhausted';
          if (!lagging || look >= this.config.lagRetry.attempts) break;
          await this.sleep(this.config.lagRetry.delayMs);
        }
      }
      if (decision.action === 'update' && decision.desiredUrl !== undefined && !this.config.dryRun) {
        stage = 'registry-write';
        const result = await this.deps.registry.writeUrl(entry, decision.desiredUrl, ctx);
        const write = {
          confirmed: result.confirmed,
          disabledAfterWrite: result.disabledAfterWrite,
          reenabled: result.reenabled,
        };
        if (!result.confirmed) {
          return this.finish(plan, ctx, started, {
            entry,
            decision,
            action: 'error',
            reason: 'write-not-confirmed',
            detail: `wrote ${decision.desiredUrl} but read back ${result.url}`,
            retryable: true,
            write,
          });
        }
        return this.finish(plan, ctx, started, { entry, decision, write });
      }
      return this.finish(plan, ctx, started, { entry, decision });
    } catch (error) {
      const notFound = error instanceof EntryNotFoundError;
      return this.finish(plan, ctx, started, {
        ...(entry === undefined ? {} : { entry }),
        ...(decision === undefined ? {} : { decision }),
        action: 'error',
        reason: notFound ? 'entry-missing' : `${stage}-failed`,
        detail: describeError(error),
        retryable: !notFound && isRetryable(error),
      });
    }
  }

  /** Builds the record, logs it and counts it. */
  private finish(
    plan: Plan,
    ctx: CountingContext,
    started: number,
    outcome: {
      entry?: RegistryEntry;
      decision?: Decision;
      action?: 'error';
      reason?: string;
      detail?: string;
      retryable?: boolean;
      write?: DecisionRecord['write'];
      /** The decision came from the resync's ECS-only check (the pointer's age is kept). */
      pointerVerified?: boolean;
    },
  ): DecisionRecord {
    const { target } = plan;
    const { decision, entry } = outcome;
    const last = plan.triggers.at(-1) as Trigger;
    const calls = mergeCalls({ ...plan.lookupCalls }, ctx.take());
    const record: DecisionRecord = {
      trigger: triggerInfo(last, this.config.registryService),
      coalesced: plan.triggers.length,
      target: {
        kind: target.kind,
        path: target.path,
        cloudMapService: target.cloudMapService,
        ...(target.ecsService === undefined ? {} : { ecsService: target.ecsService }),
        match: plan.match,
      },
      instances: decision?.instances ?? [],
      ...(entry === undefined ? {} : { currentUrl: entry.url }),
      ...(decision?.desiredUrl === undefined ? {} : { desiredUrl: decision.desiredUrl }),
      action: outcome.action ?? decision?.action ?? 'error',
      reason: outcome.reason ?? decision?.reason ?? 'unknown',
      detail: outcome.detail ?? decision?.detail ?? '',
      dryRun: this.config.dryRun,
      ...(outcome.write === undefined ? {} : { write: outcome.write }),
      calls,
      retryable: outcome.retryable ?? decision?.retryable ?? false,
      durationMs: Math.max(0, this.now() - started),
    };
    this.report(record);
    this.remember(plan.target, record, decision?.chosen, outcome.pointerVerified === true);
    return record;
  }

  /**
   * Keeps the pointer of a target whose entry is known to hold a live, Cloud-Map-listed task:
   * after a full check that kept it, or after our own confirmed write. Anything else forgets it,
   * so the next resync of that target asks Cloud Map.
   */
  private remember(
    target: TargetConfig,
    record: DecisionRecord,
    chosen: string | undefined,
    verified: boolean,
  ): void {
    if (verified) return;
    const key = targetKey(target);
    const url =
      record.action === 'noop' && record.reason === 'current-live'
        ? record.currentUrl
        : record.action === 'update' && !record.dryRun && record.write?.confirmed
          ? record.desiredUrl
          : undefined;
    if (chosen === undefined || url === undefined) this.pointers.delete(key);
    else this.pointers.set(key, { taskId: chosen, url, checkedAt: this.now() });
  }

  /**
   * The scheduled resync exists to catch what events missed. For a target whose pointer was fully
   * checked less than `resyncFullCheckMinutes` ago, one batched DescribeTasks (100 tasks a call,
   * for every such target at once) tells whether the pointed task still lives; Cloud Map is asked
   * only when it does not, when the entry changed, or when the full check is due. Any task event
   * or registry restart still takes the full path.
   */
  private async checkPointers(plans: Plan[]): Promise<Map<Plan, PointerCheck>> {
    const ttlMs = this.config.resyncFullCheckMinutes * 60_000;
    const due = new Map<Plan, Pointer>();
    for (const plan of plans) {
      if (ttlMs === 0 || !plan.triggers.every((t) => t.type === 'schedule')) continue;
      const pointer = this.pointers.get(targetKey(plan.target));
      if (pointer !== undefined && this.now() - pointer.checkedAt < ttlMs) due.set(plan, pointer);
    }
    const checks = new Map<Plan, PointerCheck>();
    const first = due.keys().next().value;
    if (first === undefined) return checks;
    const calls = new CountingContext();
    let tasks: Map<string, TaskState>;
    try {
      const ids = [...new Set([...due.values()].map((p) => p.taskId))];
      tasks = await this.deps.ecs.describeTasks(this.config.cluster, ids, calls);
    } catch (error) {
      // The full path will ask again, and report the failure per target if it persists.
      this.logger.warn(`resync pointer check failed, checking every target in full: ${describeError(error)}`);
      return checks;
    } finally {
      mergeCalls(first.lookupCalls, calls.take());
    }
    for (const [plan, pointer] of due) checks.set(plan, { pointer, tasks });
    return checks;
  }

  private report(record: DecisionRecord): void {
    const m = this.metrics;
    m.count(ACTION_METRIC[record.action]);
    m.milliseconds(MetricName.ReconcileDuration, record.durationMs);
    if (record.reason === 'no-live-instance' || record.reason === 'cloud-map-lag-exhausted')
      m.count(MetricName.NoLiveInstance);
    if (record.reason === 'foreign') m.count(MetricName.ForeignEntry);
    if (record.action === 'error') m.count(MetricName.Errors);
    if (record.write?.disabledAfterWrite) m.count(MetricName.ServerDisabledAfterWrite);
    const message = `${record.action} ${record.target.kind} ${record.target.path}: ${record.reason}`;
    if (record.action === 'error' || record.write?.disabledAfterWrite)
      this.logger.error(message, { decision: record });
    else if (
      record.action === 'defer' ||
      record.reason === 'no-live-instance' ||
      record.reason === 'foreign'
    ) {
      this.logger.warn(message, { decision: record });
    } else this.logger.info(message, { decision: record });
  }
}

/**
 * An old registry task being told to stop (its first stop signal, or DEACTIVATING). A new registry
 * task resets the built-in entries when its app has booted, which is after ECS reports it RUNNING:
 * the re-apply on RUNNING usually comes first and the reset then wins until the next resync. ECS
 * stops the old task of a deployment only once the new one passes its health check, i.e. after
 * that boot, so re-applying here puts the built-in entries back within seconds.
 */
function isRegistryHandover(event: Pick<TaskEvent, 'lastStatus' | 'desiredStatus'>): boolean {
  return (
    event.desiredStatus === 'STOPPED' &&
    (event.lastStatus === 'RUNNING' || event.lastStatus === 'DEACTIVATING')
  );
}

/** Plans and pointers are kept per registry entry. */
function targetKey(target: Pick<TargetConfig, 'kind' | 'path'>): string {
  return `${target.kind} ${target.path}`;
}

/** ECS services whose discovery names are kept (oldest dropped first). */
const SERVICE_CACHE_MAX = 256;

const ACTION_METRIC = {
  noop: MetricName.DecisionNoop,
  update: MetricName.DecisionUpdate,
  defer: MetricName.DecisionDefer,
  skip: MetricName.DecisionSkip,
  error: MetricName.DecisionError,
} as const;

function triggerInfo(trigger: Trigger, registryService: string | undefined): TriggerInfo {
  if (trigger.type === 'schedule') return { type: 'schedule', eventId: trigger.eventId };
  const e = trigger.event;
  return {
    type: e.service !== undefined && e.service === registryService ? 'registry-restart' : 'task',
    eventId: e.eventId,
    taskId: e.taskId,
    lastStatus: e.lastStatus,
    desiredStatus: e.desiredStatus,
    version: e.version,
    ...(e.service === undefined ? {} : { service: e.service }),
  };
}

/** Counts calls by API; `take` hands over the counts and starts again. */
export class CountingContext implements CallContext {
  private counts: Partial<Record<ApiName, number>> = {};

  count(api: ApiName): void {
    this.counts[api] = (this.counts[api] ?? 0) + 1;
  }

  take(): Partial<Record<ApiName, number>> {
    const taken = this.counts;
    this.counts = {};
    return taken;
  }
}

function mergeCalls(
  into: Partial<Record<ApiName, number>>,
  from: Partial<Record<ApiName, number>>,
): Partial<Record<ApiName, number>> {
  for (const [api, n] of Object.entries(from) as [ApiName, number][]) into[api] = (into[api] ?? 0) + n;
  return into;
}

/** Maps with at most `limit` calls in flight, keeping the input order in the output. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
