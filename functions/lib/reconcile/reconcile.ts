import type { ReconcilerConfig, TargetConfig } from '../config/config';
import { DEFAULTS, type NO_LAG_RETRY } from '../config/defaults';
import { type Decision, decide, listedIpv4s, liveness } from '../core/decide';
import { needsListedIpv4s, ownership } from '../core/ownership';
import { type FailureStage, failedAt } from '../core/reasons';
import {
  decideFromPointer,
  isPointerFresh,
  needsSecondLook,
  type Pointer,
  withSecondLook,
} from '../core/resync';
import { isOurCluster } from '../core/screen';
import { isRunning, isStopping, serviceOfGroup } from '../core/task';
import type { TaskState } from '../core/types';
import { hostOf } from '../core/url';
import { type BudgetRule, canStartWrite } from '../delivery/budget';
import { DELIVERY } from '../delivery/settings';
import { describeError, EntryNotFoundError, isRetryable, PolicyDeniedError, RetryableError } from '../errors';
import { adoptionOf, type Follower, type FollowPages } from '../follow/follower';
import { checkOwnership, type GateDeps, type GateResult } from '../follow/gate';
import type { OwnershipPort } from '../follow/ownership';
import type { DecisionRecord } from '../telemetry/record';
import { type LoggerLike, type MetricsSink, NO_METRICS, SILENT_LOGGER } from '../telemetry/telemetry';
import { CountingContext, mergeCalls } from './calls';
import type { Ignored, Plan, PlanDeps } from './plan';
import { PointerMemory } from './pointers';
import type { CloudMapInstance, CloudMapPort, EcsPort, RegistryEntry, RegistryPort } from './ports';
import { buildRecord, type EntryOutcome, Reporter } from './report';
import { ServiceDirectory } from './services';

export type { IgnoreReason } from '../core/screen';
export type { Ignored, Plan, Trigger } from './plan';

export interface ReconcileOutcome {
  records: DecisionRecord[];
  ignored: Ignored[];
  /** Sources (indexes into the invocation's events) whose reconcile should be retried by the platform. */
  retrySources: Set<number>;
}

/** What a reconciler is built from; wiring.ts fills it for the worker, the fan-out's shard check and the tests. */
export interface ReconcilerDeps {
  config: ReconcilerConfig;
  cloudMap: CloudMapPort;
  ecs: EcsPort;
  registry: RegistryPort;
  logger?: LoggerLike;
  metrics?: MetricsSink;
  /**
   * Not used by the reconcile: it looks once per delivery and never waits (a Cloud Map lag is
   * re-checked by redelivery). Accepted because the callers' wiring passes its clock's sleep.
   */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Entries read, looked up and written at once. @default DEFAULTS.parallelism */
  parallelism?: number;
  /** @default DEFAULTS.serviceCacheTtlMs */
  serviceCacheTtlMs?: number;
  /** Deliveries that defer for Cloud Map lag; the next one decides. @default DELIVERY.maxDeferAttempts */
  maxDeferAttempts?: number;
  /** One look at Cloud Map per delivery: the only value (a lag is re-checked by redelivery). */
  lagRetry?: typeof NO_LAG_RETRY;
  /** Receives every decision record. */
  onRecord?: (record: DecisionRecord) => void;
  /** Receives every ignored trigger. */
  onIgnored?: (ignored: Ignored) => void;
  /** Called with a record's trigger event id just before the record is logged (log correlation). */
  correlate?: (eventId: string) => void;
  /**
   * Follow mode (config.follow.enabled): the ownership table (the gate of adopted entries) and,
   * for `reconcileTriggers` with a schedule (the fan-out), the adopter and the registry's list pages.
   */
  follow?: { ownership: OwnershipPort; follower?: Follower; pages?: FollowPages };
}

/** The time budget a write must fit in (the worker's invocation). */
export interface WriteBudget {
  remainingMs: () => number;
  rule: BudgetRule;
}

/** One entry's decision record, and whether its write was refused for lack of time. */
export interface EntryResult {
  record: DecisionRecord;
  writeRefused: boolean;
}

/**
 * One entry on its way through the batch: what was read and seen so far, its decision once made,
 * and its outcome once settled (a failure, or a decision that needs no write).
 */
interface Line {
  plan: Plan;
  ctx: CountingContext;
  stage: FailureStage;
  entry?: RegistryEntry;
  gate?: GateResult;
  /** Names and private IPv4s are settled by their form; a public IPv4 is ours only if Cloud Map lists it. */
  owns: (listed: readonly string[]) => boolean;
  mayOwn: boolean;
  instances: CloudMapInstance[];
  /** Task ids to ask ECS about; undefined once the decision needs no ECS answer. */
  ids?: string[];
  tasks: ReadonlyMap<string, TaskState>;
  ecsServices?: string[];
  /** The task the entry was last verified on (pointer memory). */
  lastLive?: Pointer;
  /** The resync's ECS-only answer about the pointer (fan-out's shard check only). */
  earlier?: ReadonlyMap<string, TaskState>;
  decision?: Decision;
  pointerVerified: boolean;
  writeRefused: boolean;
  done?: EntryOutcome;
}

/**
 * The reconcile of a batch of registry entries, in one straight line (`run`): read every entry →
 * one DiscoverInstances per entry → one DescribeTasks round for every task id of the batch (100
 * ids a call) → decide each (core/decide.ts) → write each, checking the time budget before each
 * write → one decision record each. One instance per container: the service directory and the
 * pointer memory live as long as it. Never throws for one entry's failure.
 */
export class Reconciler {
  private readonly config: ReconcilerConfig;
  private readonly now: () => number;
  private readonly parallelism: number;
  private readonly maxDeferAttempts: number;
  private readonly reporter: Reporter;
  private readonly services: ServiceDirectory;
  private readonly pointers: PointerMemory;
  private readonly gate: GateDeps | undefined;

  constructor(private readonly deps: ReconcilerDeps) {
    this.config = deps.config;
    this.now = deps.now ?? Date.now;
    this.parallelism = deps.parallelism ?? DEFAULTS.parallelism;
    this.maxDeferAttempts = deps.maxDeferAttempts ?? DELIVERY.maxDeferAttempts;
    this.reporter = new Reporter({
      logger: deps.logger ?? SILENT_LOGGER,
      metrics: deps.metrics ?? NO_METRICS,
      onRecord: deps.onRecord,
      onIgnored: deps.onIgnored,
      correlate: deps.correlate,
    });
    this.services = new ServiceDirectory({
      config: deps.config,
      ecs: deps.ecs,
      cloudMap: deps.cloudMap,
      now: this.now,
      ttlMs: deps.serviceCacheTtlMs ?? DEFAULTS.serviceCacheTtlMs,
    });
    this.pointers = new PointerMemory({ now: this.now });
    const follow = deps.follow;
    this.gate =
      follow === undefined
        ? undefined
        : {
            ownership: follow.ownership,
            namespace: deps.config.namespace,
            now: this.now,
            dryRun: deps.config.dryRun,
            onRowChange: (service: string) => follow.follower?.forget(service),
          };
  }

  /**
   * The worker's entry: the entries of one delivery, each named by its message group. No
   * ECS-only pointer check here: that is the fan-out's shard check, and a schedule's work reaches
   * the worker only for an entry that check found needing more than it.
   */
  async reconcileEntries(
    plans: Plan[],
    stopping: ReadonlySet<string>,
    budget?: WriteBudget,
  ): Promise<EntryResult[]> {
    return this.run(plans, stopping, { pointerCheck: false, budget });
  }

  /** Logs, counts and hands on a trigger that asks for nothing. */
  ignored(ig: Ignored): void {
    this.reporter.ignored(ig);
  }

  /** The ECS services found serving a target without `ecsService` (see ServiceDirectory). */
  servicesOf(target: TargetConfig): string[] {
    return this.services.servicesOf(target);
  }

  /**
   * What the fan-out's planning of triggers needs from this reconciler (`reconcileTriggers` in
   * reconcile/plan.ts): the configuration, the reporter, the service directory, the adopter.
   */
  planning(): PlanDeps & { follower?: Follower; pages?: FollowPages } {
    return {
      config: this.config,
      services: this.services,
      reporter: this.reporter,
      ...(this.deps.follow?.follower === undefined ? {} : { follower: this.deps.follow.follower }),
      ...(this.deps.follow?.pages === undefined ? {} : { pages: this.deps.follow.pages }),
    };
  }

  /** The straight line. Each step works on the entries still open; a step's failure settles that entry alone. */
  async run(
    plans: Plan[],
    stopping: ReadonlySet<string>,
    options: { pointerCheck: boolean; budget?: WriteBudget | undefined },
  ): Promise<EntryResult[]> {
    const started = this.now();
    const lines: Line[] = plans.map((plan) => ({
      plan,
      ctx: new CountingContext(),
      stage: 'registry-read',
      owns: () => false,
      mayOwn: false,
      instances: [],
      tasks: new Map(),
      pointerVerified: false,
      writeRefused: false,
    }));
    const open = () => lines.filter((l) => l.done === undefined);
    const undecided = () => open().filter((l) => l.decision === undefined);
    const each = (step: (l: Line) => Promise<void>, of: Line[]) =>
      mapLimit(of, this.parallelism, (l) => this.guarded(l, step));

    // 1. Read every entry (an adopted one passes the ownership gate).
    await each((l) => this.read(l, stopping), lines);
    // 2. The resync only: an entry still on the task last verified is checked with ECS alone.
    if (options.pointerCheck) await this.checkPointers(undecided(), stopping);
    // 3. One DiscoverInstances per entry.
    await each((l) => this.discover(l, stopping), undecided());
    // 4. One DescribeTasks round for every task id of the batch.
    await this.describeRound(
      undecided(),
      (l) => l.ids ?? [],
      (l, tasks) => {
        l.tasks = tasks;
      },
    );
    // 5. Decide each.
    await each((l) => this.decideLine(l, stopping), undecided());
    // 6. A move off the remembered live task that rests on one answer: one more round for those tasks.
    const doubted = open().filter((l) => this.needsSecondLook(l, stopping));
    await this.describeRound(
      doubted,
      (l) => [(l.lastLive as Pointer).taskId],
      (l, second) => this.secondLook(l, second, stopping),
    );
    // 7. Write each that needs it, while the time left covers the write.
    await each((l) => this.write(l, stopping, options.budget), open());
    // 8. One record each.
    return lines.map((l) => this.record(l, started));
  }

  private async guarded(l: Line, step: (l: Line) => Promise<void>): Promise<void> {
    try {
      await step(l);
    } catch (error) {
      l.done = this.failed(l, error);
    }
  }

  private decisionInput(l: Line, stopping: ReadonlySet<string>) {
    const { plan } = l;
    return {
      target: plan.target,
      namespace: this.config.namespace,
      currentUrl: (l.entry as RegistryEntry).url,
      stoppingTaskIds: stopping,
      runningTriggerTaskIds: runningTriggers(plan),
      stopTriggerTaskIds: stopTriggers(plan, this.config),
      // A RUNNING event (Cloud Map lag) or a stop signal (awaiting the replacement) may defer
      // while it has been delivered fewer times than the budget. The worker hands back only the
      // messages still within it: one that spent it is consumed, never pushed towards the
      // dead-letter queue by a newer event of the same entry delivered with it.
      canDefer: plan.triggers.some(
        (t) =>
          t.type === 'task' &&
          (isRunning(t.event) || isStopping(t.event)) &&
          t.attempt < this.maxDeferAttempts,
      ),
    };
  }

  private async read(l: Line, stopping: ReadonlySet<string>): Promise<void> {
    const { target } = l.plan;
    const entry = await this.deps.registry.readEntry({ kind: target.kind, path: target.path }, l.ctx);
    l.entry = entry;
    const adopted = adoptionOf(target);
    if (adopted !== undefined) {
      // An adopted entry is written only when the ownership table gives it to us (follow/gate.ts).
      l.stage = 'ownership';
      if (this.gate === undefined) throw new Error('follow mode without an ownership table');
      // A bundle built with follow mode off leaves the gate out (aws/follow-bundled.ts): there no
      // entry is adopted, so this line is never reached.
      l.gate =
        process.env.RECONCILER_FOLLOW_BUNDLED === 'false'
          ? followNotBundled()
          : await checkOwnership({ ...target, adopted }, entry, this.gate);
      if (l.gate.skip !== undefined) {
        l.done = { entry, decision: l.gate.skip, owner: l.gate.owner };
        return;
      }
    }
    const host = hostOf(entry.url) ?? '';
    l.owns = (listed) =>
      ownership({
        host,
        cloudMapService: target.cloudMapService,
        namespace: this.config.namespace,
        listedIpv4s: listed,
      }).owned;
    l.mayOwn = l.owns([]) || needsListedIpv4s(host);
    l.lastLive = this.pointers.recall(target);
    // Not ours by its form: decided without Cloud Map or ECS.
    if (!l.mayOwn)
      l.decision = decide({ ...this.decisionInput(l, stopping), instances: [], tasks: new Map() });
  }

  /**
   * The resync's cheap path: for the entries only the schedule asks about, that still hold the
   * address of the task last verified, and whose pointer is fresh, one DescribeTasks round (100
   * tasks a call) tells whether that task still lives; Cloud Map is then not asked.
   */
  private async checkPointers(lines: Line[], stopping: ReadonlySet<string>): Promise<void> {
    const minutes = this.config.resyncFullCheckMinutes;
    const due = lines.filter(
      (l) =>
        l.plan.triggers.every((t) => t.type === 'schedule') &&
        l.lastLive !== undefined &&
        l.lastLive.url === l.entry?.url &&
        isPointerFresh(l.lastLive, this.now(), minutes),
    );
    const first = due[0];
    if (first === undefined) return;
    let tasks: Map<string, TaskState>;
    try {
      const ids = [...new Set(due.map((l) => (l.lastLive as Pointer).taskId))];
      tasks = await describeAll(this.deps.ecs, this.config.cluster, ids, first.ctx);
    } catch (error) {
      // The full path will ask again, and report the failure per entry if it persists.
      this.reporter.warn(
        `resync pointer check failed, checking every target in full: ${describeError(error)}`,
      );
      return;
    }
    for (const l of due) {
      l.earlier = tasks;
      const fromPointer = decideFromPointer({
        currentUrl: (l.entry as RegistryEntry).url,
        pointer: l.lastLive as Pointer,
        tasks,
        stoppingTaskIds: stopping,
        fullCheckMinutes: minutes,
      });
      if (fromPointer !== undefined) {
        l.decision = fromPointer;
        l.pointerVerified = true;
      }
    }
  }

  private async discover(l: Line, stopping: ReadonlySet<string>): Promise<void> {
    l.stage = 'cloudmap';
    const { target } = l.plan;
    l.instances = await this.deps.cloudMap.discoverInstances(
      this.config.namespace,
      target.cloudMapService,
      l.ctx,
    );
    if (!l.owns(listedIpv4s(l.instances))) {
      // A public IPv4 Cloud Map does not list: foreign, and ECS need not be asked.
      l.decision = decide({ ...this.decisionInput(l, stopping), instances: l.instances, tasks: new Map() });
      return;
    }
    // The task the entry was last verified on is asked about too (same round): if Cloud Map no
    // longer lists it, this answer is the one a second look would confirm.
    const remembered = l.lastLive !== undefined && l.lastLive.url === l.entry?.url ? [l.lastLive.taskId] : [];
    // So are the tasks whose stop signal triggered this entry (same round): whether the entry
    // points at one of them decides between awaiting its replacement and keeping the address.
    l.ids = [
      ...new Set([
        ...l.instances.map((i) => i.instanceId),
        ...runningTriggers(l.plan),
        ...stopTriggers(l.plan, this.config),
        ...remembered,
      ]),
    ];
  }

  /**
   * One DescribeTasks round for the given entries: their ids packed into calls of at most 100
   * distinct ids (an entry's ids in one call when they fit), each call counted on its first
   * entry's record. A failed call fails the entries it asked for; the others go on.
   */
  private async describeRound(
    lines: Line[],
    idsOf: (l: Line) => string[],
    use: (l: Line, tasks: Map<string, TaskState>) => void,
  ): Promise<void> {
    const calls: Line[][] = [];
    let current: Line[] = [];
    let ids = new Set<string>();
    for (const l of lines) {
      const mine = idsOf(l);
      if (mine.length === 0) {
        use(l, new Map());
        continue;
      }
      const added = mine.filter((id) => !ids.has(id)).length;
      if (current.length > 0 && ids.size + added > DESCRIBE_TASKS_MAX) {
        calls.push(current);
        current = [];
        ids = new Set();
      }
      current.push(l);
      for (const id of mine) ids.add(id);
    }
    if (current.length > 0) calls.push(current);
    for (const call of calls) {
      for (const l of call) l.stage = 'ecs';
      const all = [...new Set(call.flatMap(idsOf))];
      try {
        const found = await describeAll(this.deps.ecs, this.config.cluster, all, (call[0] as Line).ctx);
        for (const l of call) {
          const mine = new Map<string, TaskState>();
          for (const id of idsOf(l)) {
            const t = found.get(id);
            if (t !== undefined) mine.set(id, t);
          }
          await this.guarded(l, async (line) => use(line, mine));
        }
      } catch (error) {
        for (const l of call) l.done = this.failed(l, error);
      }
    }
  }

  private async decideLine(l: Line, stopping: ReadonlySet<string>): Promise<void> {
    l.stage = 'ecs';
    l.ecsServices = await this.servingServices(l);
    l.decision = decide({
      ...this.decisionInput(l, stopping),
      instances: l.instances,
      tasks: l.tasks,
      ecsServices: l.ecsServices,
    });
  }

  /**
   * The ECS services that run the target, as far as ECS confirms: the configured `ecsService`; else
   * those the plan knows plus, for each other service a live task names in its `group`, whether the
   * service lookup (DescribeServices, cached) finds it publishing the target's Cloud Map service.
   */
  private async servingServices(l: Line): Promise<string[]> {
    const { target } = l.plan;
    if (target.ecsService !== undefined) return [target.ecsService];
    const serving = [...l.plan.ecsServices];
    const asked = new Set(serving);
    for (const task of l.tasks.values()) {
      const service = serviceOfGroup(task.group);
      if (service === undefined || asked.has(service) || !isRunning(task)) continue;
      asked.add(service);
      const matches = await this.services.targetsFor(service, l.ctx);
      if (matches.some((m) => m.target.kind === target.kind && m.target.path === target.path))
        serving.push(service);
    }
    return serving;
  }

  /** One answer saying the task the entry was just verified on is gone is not enough to move it. */
  private needsSecondLook(l: Line, stopping: ReadonlySet<string>): boolean {
    if (l.ids === undefined || l.decision === undefined || l.lastLive === undefined) return false;
    return needsSecondLook({
      decision: l.decision,
      currentUrl: (l.entry as RegistryEntry).url,
      pointer: l.lastLive,
      tasks: l.tasks,
      stoppingTaskIds: stopping,
      earlier: l.earlier,
    });
  }

  private secondLook(l: Line, second: Map<string, TaskState>, stopping: ReadonlySet<string>): void {
    const taskId = (l.lastLive as Pointer).taskId;
    const first = liveness(taskId, l.tasks, stopping);
    l.tasks = withSecondLook(l.tasks, taskId, second);
    const again = decide({
      ...this.decisionInput(l, stopping),
      instances: l.instances,
      tasks: l.tasks,
      ecsServices: l.ecsServices,
    });
    const now = liveness(taskId, l.tasks, stopping);
    l.decision = {
      ...again,
      detail:
        now === 'live'
          ? `${again.detail} (ECS first answered task ${taskId} ${first}; a second DescribeTasks found it live)`
          : `${again.detail} (task ${taskId} ${first}, confirmed ${now} by a second DescribeTasks)`,
    };
  }

  private async write(
    l: Line,
    stopping: ReadonlySet<string>,
    budget: WriteBudget | undefined,
  ): Promise<void> {
    let entry = l.entry as RegistryEntry;
    let decision = l.decision as Decision;
    const owner = ownerOf(l.gate);
    const desiredUrl = decision.desiredUrl;
    if (decision.action !== 'update' || desiredUrl === undefined) {
      l.done = { entry, decision, ...owner, ...(l.pointerVerified ? { pointerVerified: true } : {}) };
      return;
    }
    if (this.config.dryRun) {
      // The write this run would make: name what it may reset that no read shows (plan says it first).
      const mayReset = this.deps.registry.fieldsMayReset?.(entry) ?? [];
      l.done = { entry, decision, ...(mayReset.length === 0 ? {} : { mayReset }), ...owner };
      return;
    }
    l.stage = 'registry-write';
    const remaining = budget?.remainingMs();
    if (budget !== undefined && remaining !== undefined && !canStartWrite(remaining, budget.rule)) {
      // Never started: the entry goes back to the queue at once (a write cut off by the timeout
      // could land after a later one).
      l.writeRefused = true;
      throw new RetryableError(
        `not enough time left for a registry write of ${entry.kind} ${entry.path} (${remaining} ms); handed back unstarted`,
      );
    }
    const gate = l.gate;
    if (gate !== undefined) {
      l.stage = 'ownership';
      await gate.commit(desiredUrl);
      gate.owner = 'recorded';
      l.stage = 'registry-write';
    }
    const { target } = l.plan;
    const hostForms = {
      entryHost: hostOf(entry.url) ?? '',
      cloudMapService: target.cloudMapService,
      namespace: this.config.namespace,
    };
    // A compare-and-swap conflict (412) means someone changed the entry after our read: decide
    // again on what the registry holds now, with the same Cloud Map and ECS view.
    const input = this.decisionInput(l, stopping);
    let again: { entry: RegistryEntry; decision: Decision } | undefined;
    const redecide = (current: RegistryEntry): string | undefined => {
      const fresh = decide({
        ...input,
        currentUrl: current.url,
        instances: l.instances,
        tasks: l.tasks,
        ecsServices: l.ecsServices,
      });
      again = { entry: current, decision: fresh };
      // An adopted entry is written only with the address its ownership row records.
      if (gate !== undefined && fresh.desiredUrl !== desiredUrl) return undefined;
      return fresh.action === 'update' ? fresh.desiredUrl : undefined;
    };
    const result = await this.deps.registry.writeUrl(entry, desiredUrl, l.ctx, { redecide, hostForms });
    if (again !== undefined) ({ entry, decision } = again);
    l.entry = entry;
    l.decision = decision;
    const write = {
      confirmed: result.confirmed,
      disabledAfterWrite: result.disabledAfterWrite,
      reenabled: result.reenabled,
      ...(result.route === undefined ? {} : { route: result.route }),
      ...(result.resets === undefined || result.resets.length === 0 ? {} : { resets: result.resets }),
      ...(result.superseded === true ? { superseded: true } : {}),
    };
    const mayReset =
      result.mayReset === undefined || result.mayReset.length === 0 ? {} : { mayReset: result.mayReset };
    const written = { entry, decision, write, ...mayReset, ...ownerOf(gate) };
    l.done =
      result.superseded === true || result.confirmed
        ? written
        : {
            ...written,
            failure: {
              reason: 'write-not-confirmed',
              detail: `wrote ${decision.desiredUrl} but read back ${result.url}`,
              retryable: true,
            },
          };
  }

  private failed(l: Line, error: unknown): EntryOutcome {
    const notFound = error instanceof EntryNotFoundError;
    return {
      ...(l.entry === undefined ? {} : { entry: l.entry }),
      ...(l.decision === undefined ? {} : { decision: l.decision }),
      ...ownerOf(l.gate),
      failure: {
        reason: notFound
          ? 'entry-missing'
          : error instanceof PolicyDeniedError
            ? 'policy-denied'
            : failedAt(l.stage),
        detail: describeError(error),
        retryable: !notFound && isRetryable(error),
      },
    };
  }

  private record(l: Line, started: number): EntryResult {
    const outcome: EntryOutcome =
      l.done ?? this.failed(l, new Error('the reconcile ended without a decision'));
    const record = buildRecord(l.plan, outcome, {
      calls: mergeCalls({ ...l.plan.lookupCalls }, l.ctx.take()),
      durationMs: Math.max(0, this.now() - started),
      dryRun: this.config.dryRun,
      registryService: this.config.registryService,
      follow: this.config.follow.enabled,
    });
    this.reporter.record(record);
    this.pointers.remember(l.plan.target, record, outcome.decision?.chosen, outcome.pointerVerified === true);
    return { record, writeRefused: l.writeRefused };
  }
}

/** DescribeTasks takes at most this many task ids a call. */
const DESCRIBE_TASKS_MAX = 100;

/** DescribeTasks for any number of ids, 100 a call. */
async function describeAll(
  ecs: EcsPort,
  cluster: string,
  ids: string[],
  ctx: CountingContext,
): Promise<Map<string, TaskState>> {
  const found = new Map<string, TaskState>();
  for (let at = 0; at < ids.length; at += DESCRIBE_TASKS_MAX) {
    const part = await ecs.describeTasks(cluster, ids.slice(at, at + DESCRIBE_TASKS_MAX), ctx);
    for (const [id, t] of part) found.set(id, t);
  }
  return found;
}

/** The tasks the plan's own events report RUNNING. */
function runningTriggers(plan: Plan): Set<string> {
  return new Set(
    plan.triggers.flatMap((t) => (t.type === 'task' && isRunning(t.event) ? [t.event.taskId] : [])),
  );
}

/** The tasks of our cluster whose stop signal is one of the plan's own events. */
function stopTriggers(plan: Plan, config: ReconcilerConfig): Set<string> {
  return new Set(
    plan.triggers.flatMap((t) =>
      t.type === 'task' && isStopping(t.event) && isOurCluster(t.event, config) ? [t.event.taskId] : [],
    ),
  );
}

/** The owner row's state for the record, when the entry is adopted. */
function followNotBundled(): never {
  throw new Error('an adopted entry reached a reconciler bundled without follow mode');
}

function ownerOf(gate: GateResult | undefined): { owner?: GateResult['owner'] } {
  return gate === undefined ? {} : { owner: gate.owner };
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane));
}
