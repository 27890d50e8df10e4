import type { ReconcilerConfig, TargetConfig } from '../config/config';
import { type IgnoreReason, isOurCluster, isRegistryEvent, screen } from '../core/screen';
import { isStopping } from '../core/task';
import type { TargetMatch, TaskEvent } from '../core/types';
import { describeError, isRetryable } from '../errors';
import type { Follower, FollowPages } from '../follow/follower';
import { type CallCounts, CountingContext, mergeCalls } from './calls';
import type { ReconcileOutcome, Reconciler } from './reconcile';
import type { Reporter } from './report';
import type { ServiceDirectory, ServiceMatch } from './services';
import { targetKey } from './target-key';

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

/** The work for one registry entry: its target and every trigger that asks for it. */
export interface Plan {
  target: TargetConfig;
  match: TargetMatch;
  triggers: Trigger[];
  /** Calls made to find the target (DescribeServices, GetService), charged to its record. */
  lookupCalls: CallCounts;
  /**
   * The ECS services known to run the target: the configured one, else those the service lookup
   * found serving it. Empty when none is known; the decision then cannot check a task's `group`.
   */
  ecsServices: string[];
}

export interface Planned {
  plans: Plan[];
  ignored: Ignored[];
  /** Tasks of our cluster that a trigger shows going away. */
  stopping: Set<string>;
}

export interface PlanDeps {
  config: ReconcilerConfig;
  services: ServiceDirectory;
  reporter: Reporter;
  /** Follow mode: the entries adopted at run time besides the configured targets. */
  follow?: PlanFollow;
}

/** The adopted targets a plan may add (functions/lib/follow/follower.ts). */
export interface PlanFollow {
  /** Every adopted target: a schedule or a registry restart asks for them all. */
  every: readonly TargetConfig[];
  /** The adopted targets an ECS service backs (its ownership rows). */
  forService(service: string): Promise<TargetConfig[]>;
}

/**
 * Turns triggers into one plan per registry entry: however many events name a target, it is
 * reconciled once (bursts and duplicates coalesce). A schedule or a registry task's event asks
 * for every target; a task event asks for the targets its ECS service serves.
 */
export async function planTriggers(triggers: Trigger[], deps: PlanDeps): Promise<Planned> {
  const { config, services, reporter } = deps;
  const ignored: Ignored[] = [];
  const plans = new Map<string, Plan>();
  const stopping = new Set<string>();
  const addPlan = (
    target: TargetConfig,
    match: TargetMatch,
    trigger: Trigger,
    calls?: CountingContext,
    servedBy?: string,
  ) => {
    const key = targetKey(target);
    let plan = plans.get(key);
    if (plan === undefined) {
      const known = target.ecsService === undefined ? services.servicesOf(target) : [target.ecsService];
      plan = { target, match, triggers: [], lookupCalls: {}, ecsServices: [...known] };
      plans.set(key, plan);
    }
    if (target.ecsService === undefined && servedBy !== undefined && !plan.ecsServices.includes(servedBy))
      plan.ecsServices.push(servedBy);
    plan.triggers.push(trigger);
    if (calls !== undefined) mergeCalls(plan.lookupCalls, calls.take());
  };
  const ignore = (
    trigger: Trigger & { type: 'task' },
    reason: IgnoreReason,
    detail: string,
    retryable = false,
  ) => {
    const ig: Ignored = {
      source: trigger.source,
      eventId: trigger.event.eventId,
      taskId: trigger.event.taskId,
      reason,
      detail,
      retryable,
    };
    reporter.ignored(ig);
    ignored.push(ig);
  };

  for (const trigger of triggers) {
    // Only events of our cluster: an ignored event must change nothing.
    if (trigger.type === 'task' && isStopping(trigger.event) && isOurCluster(trigger.event, config))
      stopping.add(trigger.event.taskId);
  }
  for (const trigger of triggers) {
    const every = deps.follow === undefined ? config.targets : [...config.targets, ...deps.follow.every];
    if (trigger.type === 'schedule') {
      for (const target of every) addPlan(target, 'all-targets', trigger);
      continue;
    }
    const why = screen(trigger.event, config);
    if (why !== undefined) {
      ignore(trigger, why[0], why[1]);
      continue;
    }
    if (isRegistryEvent(trigger.event, config)) {
      for (const target of every) addPlan(target, 'all-targets', trigger);
      continue;
    }
    const service = trigger.event.service as string;
    const calls = new CountingContext();
    let matches: ServiceMatch[];
    try {
      matches = await services.targetsFor(service, calls);
      for (const target of (await deps.follow?.forService(service)) ?? [])
        matches.push({ target, match: 'config' });
    } catch (error) {
      reporter.lookupFailed();
      ignore(
        trigger,
        'service-lookup-failed',
        `cannot look up ECS service ${service}: ${describeError(error)}`,
        isRetryable(error),
      );
      continue;
    }
    if (matches.length === 0) {
      ignore(trigger, 'unmanaged-service', `no target is served by ECS service ${service}`);
      continue;
    }
    for (const m of matches) addPlan(m.target, m.match, trigger, calls, service);
  }
  return { plans: [...plans.values()], ignored, stopping };
}

/**
 * Follow mode for `reconcileTriggers` given the adopter and the registry's list pages:
 * a schedule or a registry restart adopts every entry the shared rule matches or the table holds;
 * a task event, the entries the table ties to its service. A failed listing is reported as the
 * trigger's retryable lookup failure, never guessed around. (The deployed functions do not take
 * this path: the fan-out's shard check adopts a page's entries itself, and the worker is handed
 * its entry by the message group.)
 */
export async function adoptFollowed(
  triggers: Trigger[],
  deps: { config: ReconcilerConfig; reporter: Reporter; follower?: Follower; pages?: FollowPages },
): Promise<{ follow?: PlanFollow; ignored: Ignored[] }> {
  const { config, follower, pages, reporter } = deps;
  if (follower === undefined || !config.follow.enabled) return { ignored: [] };
  const ignored: Ignored[] = [];
  const failed = (wide: Trigger[], error: unknown) => {
    for (const t of wide) {
      const ig: Ignored = {
        source: t.source,
        eventId: t.type === 'schedule' ? t.eventId : t.event.eventId,
        ...(t.type === 'task' ? { taskId: t.event.taskId } : {}),
        reason: 'service-lookup-failed',
        detail: `follow mode cannot find the adopted entries: ${describeError(error)}`,
        retryable: isRetryable(error),
      };
      reporter.ignored(ig);
      ignored.push(ig);
    }
  };
  const wide = triggers.filter((t) => t.type === 'schedule' || isRegistryEvent(t.event, config));
  let every: TargetConfig[] = [];
  if (wide.length > 0 && pages !== undefined) {
    try {
      const found = await follower.everyTarget(pages, new CountingContext());
      every = found.targets;
      for (const p of found.problems) failed(wide, p);
    } catch (error) {
      failed(wide, error);
    }
  }
  return { follow: { every, forService: (service) => follower.forService(service) }, ignored };
}

/**
 * The fan-out's entry into a reconciler (a resync shard's read-only check, and the tests): plans
 * the triggers into one piece of work per entry (adopted ones included), then runs the batch with
 * the resync's ECS-only pointer check. The worker never plans: its message group names its entry.
 */
export async function reconcileTriggers(
  reconciler: Reconciler,
  triggers: Trigger[],
): Promise<ReconcileOutcome> {
  const deps = reconciler.planning();
  const adoption = await adoptFollowed(triggers, deps);
  const { plans, ignored, stopping } = await planTriggers(triggers, {
    config: deps.config,
    services: deps.services,
    reporter: deps.reporter,
    ...(adoption.follow === undefined ? {} : { follow: adoption.follow }),
  });
  ignored.push(...adoption.ignored);
  const results = await reconciler.run(plans, stopping, { pointerCheck: true });
  const records = results.map((r) => r.record);
  const retrySources = new Set<number>();
  records.forEach((record, i) => {
    if (record.retryable) for (const t of (plans[i] as Plan).triggers) retrySources.add(t.source);
  });
  for (const ig of ignored) if (ig.retryable) retrySources.add(ig.source);
  return { records, ignored, retrySources };
}
