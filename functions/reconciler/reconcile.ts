import type { ReconcilerConfig } from './config';
import { isRegistryEvent } from './core/screen';
import { DEFAULTS, type LagRetry, NO_LAG_RETRY, realSleep } from './defaults';
import { type Seats, seatsOf } from './delivery/ecs-batcher';
import { DELIVERY } from './delivery/settings';
import { describeError, isRetryable } from './errors';
import type { Follower, FollowPages } from './follow/follower';
import type { OwnershipPort } from './follow/ownership';
import { CountingContext, mergeCalls } from './orchestration/calls';
import { type EntryDeps, reconcileEntry } from './orchestration/entry';
import { type Ignored, type Plan, planTriggers, type Trigger } from './orchestration/plan';
import { type PointerCheck, PointerMemory } from './orchestration/pointers';
import { buildRecord, Reporter } from './orchestration/report';
import { ServiceDirectory } from './orchestration/services';
import type { CloudMapPort, EcsPort, RegistryPort } from './ports';
import type { DecisionRecord } from './record';
import { type LoggerLike, type MetricsSink, NO_METRICS, SILENT_LOGGER } from './telemetry';

export type { IgnoreReason } from './core/screen';
export type { Ignored, Trigger } from './orchestration/plan';

export interface ReconcileOutcome {
  records: DecisionRecord[];
  ignored: Ignored[];
  /** Sources (indexes into the invocation's events) whose reconcile should be retried by the platform. */
  retrySources: Set<number>;
}

/** What a reconciler is built from; wiring.ts fills it for the handler, the tools and the tests. */
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
  /** @default DEFAULTS.parallelism */
  parallelism?: number;
  /** @default DEFAULTS.serviceCacheTtlMs */
  serviceCacheTtlMs?: number;
  /** @default DELIVERY.maxDeferAttempts */
  maxDeferAttempts?: number;
  /** Extra looks at Cloud Map while a RUNNING task is not listed yet. @default NO_LAG_RETRY (one look a delivery) */
  lagRetry?: LagRetry;
  /** Receives every decision record. */
  onRecord?: (record: DecisionRecord) => void;
  /** Receives every ignored trigger. */
  onIgnored?: (ignored: Ignored) => void;
  /**
   * Follow mode (config.follow.enabled): the ownership table, the adopter and, for a schedule on
   * the direct path, the registry's list pages. Without `follower`, only the targets given are
   * reconciled (the queue path hands each Reconciler its one entry), but adopted ones still pass
   * the ownership gate.
   */
  follow?: { ownership: OwnershipPort; follower?: Follower; pages?: FollowPages };
}

/**
 * Turns triggers into decisions: plans them into one piece of work per registry entry, lets the
 * resync re-check known pointers with ECS alone, runs each entry's read → decide → write line
 * (a few at once), and reports a record for each. Never throws for one target's failure.
 */
export class Reconciler {
  private readonly config: ReconcilerConfig;
  private readonly now: () => number;
  private readonly parallelism: number;
  private readonly reporter: Reporter;
  private readonly services: ServiceDirectory;
  private readonly pointers: PointerMemory;
  private readonly entry: EntryDeps;
  private readonly seats: Seats;
  private readonly follow: ReconcilerDeps['follow'];

  constructor(deps: ReconcilerDeps) {
    this.follow = deps.follow;
    this.config = deps.config;
    this.seats = seatsOf(deps.ecs);
    this.now = deps.now ?? Date.now;
    this.parallelism = deps.parallelism ?? DEFAULTS.parallelism;
    this.reporter = new Reporter({
      logger: deps.logger ?? SILENT_LOGGER,
      metrics: deps.metrics ?? NO_METRICS,
      onRecord: deps.onRecord,
      onIgnored: deps.onIgnored,
    });
    this.services = new ServiceDirectory({
      config: deps.config,
      ecs: deps.ecs,
      cloudMap: deps.cloudMap,
      now: this.now,
      ttlMs: deps.serviceCacheTtlMs ?? DEFAULTS.serviceCacheTtlMs,
    });
    this.pointers = new PointerMemory({
      config: deps.config,
      ecs: deps.ecs,
      reporter: this.reporter,
      now: this.now,
    });
    this.entry = {
      config: deps.config,
      cloudMap: deps.cloudMap,
      ecs: deps.ecs,
      registry: deps.registry,
      sleep: deps.sleep ?? realSleep,
      maxDeferAttempts: deps.maxDeferAttempts ?? DELIVERY.maxDeferAttempts,
      lagRetry: deps.lagRetry ?? NO_LAG_RETRY,
      services: this.services,
      ...(deps.follow === undefined
        ? {}
        : {
            ownership: {
              ownership: deps.follow.ownership,
              namespace: deps.config.namespace,
              now: this.now,
              dryRun: deps.config.dryRun,
              onRowChange: (service: string) => deps.follow?.follower?.forget(service),
            },
          }),
    };
  }

  /** Reconciles every target the triggers ask for, once each. */
  async reconcile(triggers: Trigger[]): Promise<ReconcileOutcome> {
    // A batching ECS port sends the DescribeTasks of the entries in flight as soon as all have asked.
    return this.seats.withSeat(() => this.reconcileAll(triggers));
  }

  private async reconcileAll(triggers: Trigger[]): Promise<ReconcileOutcome> {
    const adoption = await this.adopted(triggers);
    const { plans, ignored, stopping } = await planTriggers(triggers, {
      config: this.config,
      services: this.services,
      reporter: this.reporter,
      ...(adoption.follow === undefined ? {} : { follow: adoption.follow }),
    });
    ignored.push(...adoption.ignored);
    const checks = await this.pointers.check(plans);
    const records = await mapLimit(
      plans,
      this.parallelism,
      (plan) => this.reconcileTarget(plan, stopping, checks.get(plan)),
      this.seats,
    );
    const retrySources = new Set<number>();
    records.forEach((record, i) => {
      if (record.retryable) for (const t of (plans[i] as Plan).triggers) retrySources.add(t.source);
    });
    for (const ig of ignored) if (ig.retryable) retrySources.add(ig.source);
    return { records, ignored, retrySources };
  }

  /**
   * Follow mode on the direct path: a schedule or a registry restart adopts every entry the shared
   * rule matches or the table holds; a task event, the entries the table ties to its service. A
   * failed listing is reported as the trigger's retryable lookup failure, never guessed around.
   */
  private async adopted(
    triggers: Trigger[],
  ): Promise<{ follow?: import('./orchestration/plan').PlanFollow; ignored: Ignored[] }> {
    const follower = this.follow?.follower;
    if (follower === undefined || !this.config.follow.enabled) return { ignored: [] };
    const ignored: Ignored[] = [];
    const wide = triggers.filter((t) => t.type === 'schedule' || isRegistryEvent(t.event, this.config));
    let every: import('./config').TargetConfig[] = [];
    if (wide.length > 0 && this.follow?.pages !== undefined) {
      const ctx = new CountingContext();
      try {
        const found = await follower.everyTarget(this.follow.pages, ctx);
        every = found.targets;
        for (const p of found.problems) this.reportFollowFailure(wide, p, ignored);
      } catch (error) {
        this.reportFollowFailure(wide, error, ignored);
      }
    }
    return { follow: { every, forService: (service) => follower.forService(service) }, ignored };
  }

  private reportFollowFailure(triggers: Trigger[], error: unknown, ignored: Ignored[]): void {
    for (const t of triggers) {
      const ig: Ignored = {
        source: t.source,
        eventId: t.type === 'schedule' ? t.eventId : t.event.eventId,
        ...(t.type === 'task' ? { taskId: t.event.taskId } : {}),
        reason: 'service-lookup-failed',
        detail: `follow mode cannot find the adopted entries: ${describeError(error)}`,
        retryable: isRetryable(error),
      };
      this.reporter.ignored(ig);
      ignored.push(ig);
    }
  }

  private async reconcileTarget(
    plan: Plan,
    stopping: ReadonlySet<string>,
    check: PointerCheck | undefined,
  ): Promise<DecisionRecord> {
    const started = this.now();
    const ctx = new CountingContext();
    const outcome = await reconcileEntry(
      plan,
      stopping,
      check,
      ctx,
      this.entry,
      this.pointers.recall(plan.target),
    );
    const record = buildRecord(plan, outcome, {
      calls: mergeCalls({ ...plan.lookupCalls }, ctx.take()),
      durationMs: Math.max(0, this.now() - started),
      dryRun: this.config.dryRun,
      registryService: this.config.registryService,
      follow: this.config.follow.enabled,
    });
    this.reporter.record(record);
    this.pointers.remember(plan.target, record, outcome.decision?.chosen, outcome.pointerVerified === true);
    return record;
  }
}

/**
 * Maps with at most `limit` calls in flight, keeping the input order in the output. Each lane
 * holds a seat while it has items left, so a batched call waits for the lanes still working only.
 */
async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  seats: Seats,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => seats.withSeat(worker)));
  return results;
}
