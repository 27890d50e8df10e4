import { type Ownership, ownership } from './ownership';
import type { Reason } from './reasons';
import { isRunning, isStopping } from './task';
import type {
  Action,
  CloudMapHealth,
  CloudMapInstance,
  InstanceView,
  PortSource,
  TaskHealth,
  TaskLiveness,
  TaskState,
} from './types';
import { isIPv4, normalizeHost, splitUrl, swapHost } from './url';

/**
 * The decision, as a pure function of plain data: which address a registry entry should hold,
 * given the target's Cloud Map instances, ECS's view of their tasks, and what the triggering
 * events said. No I/O, no clock: the same input always gives the same decision.
 */

/** Everything one decision looks at. */
export interface DecisionInput {
  target: { cloudMapService: string; port: PortSource };
  namespace: string;
  /**
   * The ECS services known to run the target (configured, or found by the service lookup): only
   * tasks whose `group` is `service:<one of them>` are eligible (none, when the list is empty).
   * Undefined: the service is not known and the group is not checked.
   */
  ecsServices?: readonly string[];
  /** The entry's current address (`proxy_pass_url` or `url`). */
  currentUrl: string;
  /**
   * Whether the entry is ours, when a stronger rule already settled it (a record of the entries
   * the reconciler wrote). Absent: the ownership rule (ownership.ts) decides from the host.
   */
  owner?: Ownership;
  /** Cloud Map's instances of the target's service (any health). */
  instances: CloudMapInstance[];
  /** ECS's view of the tasks (by task id); a task ECS does not know is absent. */
  tasks: ReadonlyMap<string, TaskState>;
  /** Tasks that a triggering event shows going away: never eligible, whatever Cloud Map still says. */
  stoppingTaskIds: ReadonlySet<string>;
  /** Tasks that a triggering event shows RUNNING (used to tell Cloud Map lag from an empty service). */
  runningTriggerTaskIds: ReadonlySet<string>;
  /**
   * Tasks whose stop signal is one of this entry's own triggers. When the entry points at one of
   * them and Cloud Map lists no other live task yet, the decision is to look again later
   * (`awaiting-replacement`) rather than keep the stopping address until some later event.
   * @default none
   */
  stopTriggerTaskIds?: ReadonlySet<string>;
  /**
   * Whether deferring is still allowed: the retry budget of the triggering RUNNING event (Cloud Map
   * lag) or stop signal (awaiting a replacement) is not spent.
   */
  canDefer: boolean;
}

export interface Decision {
  action: Exclude<Action, 'error'>;
  /** Stable reason code; see `REASONS` (reasons.ts). */
  reason: Reason;
  detail: string;
  desiredUrl?: string;
  instances: InstanceView[];
  /** The chosen instance, when the decision names one. */
  chosen?: string;
  retryable: boolean;
}

const HEALTH_RANK: Record<CloudMapHealth | TaskHealth, number> = { HEALTHY: 0, UNKNOWN: 1, UNHEALTHY: 2 };

/** ECS's view of a task, folded with what the triggering events said. */
export function liveness(
  taskId: string,
  tasks: ReadonlyMap<string, TaskState>,
  stopping: ReadonlySet<string>,
): TaskLiveness {
  const task = tasks.get(taskId);
  if (task === undefined) return 'missing';
  if (task.lastStatus === 'STOPPED' || task.lastStatus === 'DELETED') return 'stopped';
  if (stopping.has(taskId) || isStopping(task)) return 'stopping';
  if (isRunning(task)) return 'live';
  return 'pending';
}

/** The IPv4 addresses Cloud Map lists now among `instances` (what the ownership rule reads). */
export function listedIpv4s(instances: readonly CloudMapInstance[]): string[] {
  return instances.flatMap((i) => (i.ipv4 === undefined ? [] : [i.ipv4]));
}

/** Decides what address the entry should hold. */
export function decide(input: DecisionInput): Decision {
  const parts = splitUrl(input.currentUrl);
  if (parts === undefined) {
    return {
      action: 'skip',
      reason: 'unparsable-url',
      detail: `current address ${JSON.stringify(input.currentUrl)} has no host`,
      instances: [],
      retryable: false,
    };
  }
  const host = normalizeHost(parts.host);
  const owner =
    input.owner ??
    ownership({
      host,
      cloudMapService: input.target.cloudMapService,
      namespace: input.namespace,
      listedIpv4s: listedIpv4s(input.instances),
    });
  if (!owner.owned) {
    return { action: 'skip', reason: 'foreign', detail: owner.detail, instances: [], retryable: false };
  }

  const views = viewInstances(input);
  const eligible = views.filter((v) => v.eligible);
  const byId = new Map(input.instances.map((i) => [i.instanceId, i]));
  const urlFor = (v: InstanceView): string =>
    swapHost(
      input.currentUrl,
      v.ipv4 ?? '',
      input.target.port === 'instance' ? byId.get(v.instanceId)?.port : undefined,
    );

  const current = isIPv4(host) ? eligible.find((v) => v.ipv4 === host) : undefined;
  if (current !== undefined) {
    const desiredUrl = urlFor(current);
    const better = pick(eligible, input.tasks);
    if (current.taskHealth === 'UNHEALTHY' && better !== undefined && better.taskHealth === 'HEALTHY') {
      return {
        action: 'update',
        reason: 'current-unhealthy',
        detail: `task ${current.instanceId} is live but its containers are UNHEALTHY; chose HEALTHY task ${better.instanceId}`,
        desiredUrl: urlFor(better),
        instances: views,
        chosen: better.instanceId,
        retryable: false,
      };
    }
    // The host as written may differ in spelling only (`10.0.1.11.`): that is still this task.
    if (desiredUrl === swapHost(input.currentUrl, current.ipv4 ?? '')) {
      return {
        action: 'noop',
        reason: 'current-live',
        detail: `${host} is live task ${current.instanceId}`,
        desiredUrl: input.currentUrl,
        instances: views,
        chosen: current.instanceId,
        retryable: false,
      };
    }
    return {
      action: 'update',
      reason: 'port-changed',
      detail: `task ${current.instanceId} is live; its instance port differs from the address`,
      desiredUrl,
      instances: views,
      chosen: current.instanceId,
      retryable: false,
    };
  }

  const chosen = pick(eligible, input.tasks);
  if (chosen !== undefined) {
    const wasName = !isIPv4(host);
    const previous = views.find((v) => v.ipv4 === host);
    return {
      action: 'update',
      reason: wasName ? 'resolve-name' : 'current-not-live',
      detail: wasName
        ? `${host} does not resolve on Service Connect; chose live task ${chosen.instanceId}`
        : `${host} is ${previous ? `task ${previous.instanceId}, ${previous.task}` : 'not a Cloud Map instance'}; chose live task ${chosen.instanceId}`,
      desiredUrl: urlFor(chosen),
      instances: views,
      chosen: chosen.instanceId,
      retryable: false,
    };
  }

  const listed = new Set(input.instances.map((i) => i.instanceId));
  const lagging = [...input.runningTriggerTaskIds].filter(
    (id) => !listed.has(id) && liveness(id, input.tasks, input.stoppingTaskIds) === 'live',
  );
  if (lagging.length > 0) {
    return input.canDefer
      ? {
          action: 'defer',
          reason: 'cloud-map-lag',
          detail: `RUNNING task ${lagging.join(', ')} is not in Cloud Map yet; no other live instance`,
          instances: views,
          retryable: true,
        }
      : {
          action: 'noop',
          reason: 'cloud-map-lag-exhausted',
          detail: `RUNNING task ${lagging.join(', ')} never appeared in Cloud Map; address kept`,
          instances: views,
          retryable: false,
        };
  }
  const signalled = signalledPointer(input, host, views);
  if (signalled !== undefined) {
    return input.canDefer
      ? {
          action: 'defer',
          reason: 'awaiting-replacement',
          detail: `its task ${signalled} is stopping; Cloud Map lists no other live task yet`,
          instances: views,
          retryable: true,
        }
      : {
          action: 'noop',
          reason: 'no-live-instance',
          detail: `${noneChosen(views)}; its task ${signalled} is stopping, none listed within the retry budget; address kept`,
          instances: views,
          retryable: false,
        };
  }
  return {
    action: 'noop',
    reason: 'no-live-instance',
    detail: `${noneChosen(views)}; address kept`,
    instances: views,
    retryable: false,
  };
}

/**
 * The task the entry points at, when one of the entry's own triggers is that task's stop signal
 * and Cloud Map lists no live task at all (a replacement may be listed shortly: Cloud Map lists a
 * new task some seconds after ECS starts it). The address is the task's by ECS's view of it or by
 * Cloud Map's instance. Undefined otherwise, and when some listed task is live but not eligible
 * (looking again would not change that).
 */
function signalledPointer(
  input: DecisionInput,
  host: string,
  views: readonly InstanceView[],
): string | undefined {
  if (!isIPv4(host) || views.some((v) => v.task === 'live')) return undefined;
  for (const id of input.stopTriggerTaskIds ?? []) {
    const ecsIpv4 = input.tasks.get(id)?.ipv4;
    const listed = views.find((v) => v.instanceId === id)?.ipv4;
    if ((ecsIpv4 !== undefined && normalizeHost(ecsIpv4) === host) || listed === host) return id;
  }
  return undefined;
}

/**
 * Why no instance was chosen, exactly: none has a live task, or some have and each is ineligible
 * for the reason counted (`3 of 5 Cloud Map instance(s) have live tasks, none eligible: 2
 * ip-mismatch, 1 other-service`).
 */
function noneChosen(views: readonly InstanceView[]): string {
  const live = views.filter((v) => v.task === 'live');
  if (live.length === 0) return `no live task among ${views.length} Cloud Map instance(s)`;
  const counts = new Map<string, number>();
  for (const v of live) {
    const why = v.ineligible ?? 'not-eligible';
    counts.set(why, (counts.get(why) ?? 0) + 1);
  }
  const reasons = [...counts]
    .sort(([a, m], [b, n]) => n - m || a.localeCompare(b))
    .map(([why, n]) => `${n} ${why}`)
    .join(', ');
  const verb = live.length === 1 ? 'has a live task' : 'have live tasks';
  return `${live.length} of ${views.length} Cloud Map instance(s) ${verb}, none eligible: ${reasons}`;
}

/**
 * Each Cloud Map instance with ECS's view of its task. Eligible: the instance has an IPv4, its task
 * is live, ECS gives that task the same IPv4 and, when the target's ECS service is known, the task
 * belongs to it. Cloud Map lists what anyone allowed to register in the namespace put there; ECS
 * says what runs. Instances Cloud Map marks UNHEALTHY are eligible only when no other live one is.
 */
function viewInstances(input: DecisionInput): InstanceView[] {
  const seen = new Set<string>();
  const views: InstanceView[] = [];
  const groups =
    input.ecsServices === undefined ? undefined : new Set(input.ecsServices.map((s) => `service:${s}`));
  for (const i of input.instances) {
    if (seen.has(i.instanceId)) continue; // Cloud Map can list an id twice; one view each
    seen.add(i.instanceId);
    const task = liveness(i.instanceId, input.tasks, input.stoppingTaskIds);
    const ipv4 = i.ipv4 !== undefined && isIPv4(normalizeHost(i.ipv4)) ? normalizeHost(i.ipv4) : undefined;
    const state = input.tasks.get(i.instanceId);
    const ecsIpv4 = state?.ipv4 === undefined ? undefined : normalizeHost(state.ipv4);
    const ineligible =
      ipv4 === undefined
        ? 'no-ipv4'
        : task !== 'live'
          ? 'not-live'
          : groups !== undefined && !groups.has(state?.group ?? '')
            ? 'other-service'
            : ecsIpv4 !== ipv4
              ? 'ip-mismatch'
              : undefined;
    views.push({
      instanceId: i.instanceId,
      ...(ipv4 === undefined ? {} : { ipv4 }),
      ...(i.port === undefined ? {} : { port: i.port }),
      health: i.health,
      task,
      ...(state?.healthStatus === undefined ? {} : { taskHealth: state.healthStatus }),
      ...(ineligible === 'ip-mismatch' && ecsIpv4 !== undefined ? { ecsIpv4 } : {}),
      eligible: ineligible === undefined,
      ...(ineligible === undefined ? {} : { ineligible }),
    });
  }
  if (views.some((v) => v.eligible && v.health !== 'UNHEALTHY')) {
    for (const v of views) {
      if (v.eligible && v.health === 'UNHEALTHY') {
        v.eligible = false;
        v.ineligible = 'cloud-map-unhealthy';
      }
    }
  }
  return views;
}

/** Instances that Cloud Map lists but ECS does not vouch for: never written, always reported. */
export function untrustedInstances(views: readonly InstanceView[]): InstanceView[] {
  return views.filter((v) => v.ineligible === 'ip-mismatch' || v.ineligible === 'other-service');
}

/**
 * Deterministic choice among eligible instances: the best ECS container health (HEALTHY, then
 * UNKNOWN, then UNHEALTHY: a task failing its health check only when nothing else is live), then
 * the best Cloud Map health, then the most recently started task (during a rolling deployment
 * that is a task of the new revision, so the pointer moves once instead of hopping across old
 * tasks), then the smallest instance id.
 */
function pick(eligible: InstanceView[], tasks: ReadonlyMap<string, TaskState>): InstanceView | undefined {
  // Compared as instants, not text: ECS writes 0–3 fractional digits ("…:00Z" sorts after "…:00.5Z").
  // A task without a readable startedAt counts as the oldest.
  const started = (v: InstanceView): number => {
    const ms = Date.parse(tasks.get(v.instanceId)?.startedAt ?? '');
    return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
  };
  return [...eligible].sort(
    (a, b) =>
      HEALTH_RANK[a.taskHealth ?? 'UNKNOWN'] - HEALTH_RANK[b.taskHealth ?? 'UNKNOWN'] ||
      HEALTH_RANK[a.health] - HEALTH_RANK[b.health] ||
      compare(started(b), started(a)) ||
      compare(a.instanceId, b.instanceId),
  )[0];
}

function compare<T extends string | number>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
