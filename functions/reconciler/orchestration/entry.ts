import type { ReconcilerConfig } from '../config';
import { type Decision, decide, listedIpv4s, liveness } from '../core/decide';
import { needsListedIpv4s, ownership } from '../core/ownership';
import { type FailureStage, failedAt, isCloudMapLag } from '../core/reasons';
import { decideFromPointer, needsSecondLook, type Pointer, withSecondLook } from '../core/resync';
import { isRunning, serviceOfGroup } from '../core/task';
import type { TaskState } from '../core/types';
import { hostOf } from '../core/url';
import type { LagRetry } from '../defaults';
import { describeError, EntryNotFoundError, isRetryable, PolicyDeniedError } from '../errors';
import { adoptionOf } from '../follow/follower';
import { checkOwnership, type GateDeps, type GateResult } from '../follow/gate';
import type {
  CallContext,
  CloudMapInstance,
  CloudMapPort,
  EcsPort,
  RegistryEntry,
  RegistryPort,
} from '../ports';
import type { Plan } from './plan';
import type { PointerCheck } from './pointers';
import type { EntryOutcome } from './report';
import type { ServiceDirectory } from './services';

export interface EntryDeps {
  config: ReconcilerConfig;
  cloudMap: CloudMapPort;
  ecs: EcsPort;
  registry: RegistryPort;
  sleep: (ms: number) => Promise<void>;
  /** Deliveries of one trigger after which Cloud Map lag is no longer deferred. */
  maxDeferAttempts: number;
  /** Extra looks at Cloud Map within this reconcile while a RUNNING task is not listed yet. */
  lagRetry: LagRetry;
  /** Which targets an ECS service serves: tells whether a task's service runs the target. */
  services: Pick<ServiceDirectory, 'targetsFor'>;
  /** Follow mode's ownership gate, for adopted targets (follow/gate.ts). */
  ownership?: GateDeps;
}

/**
 * The ECS services that run the target, as far as ECS confirms: the configured `ecsService`; else
 * those the plan knows plus, for each other service a live task names in its `group`, whether the
 * service lookup (DescribeServices, cached) finds it publishing the target's Cloud Map service.
 */
async function servingServices(
  plan: Plan,
  tasks: ReadonlyMap<string, TaskState>,
  ctx: CallContext,
  deps: EntryDeps,
): Promise<string[]> {
  const { target } = plan;
  if (target.ecsService !== undefined) return [target.ecsService];
  const serving = [...plan.ecsServices];
  const asked = new Set(serving);
  for (const task of tasks.values()) {
    const service = serviceOfGroup(task.group);
    if (service === undefined || asked.has(service) || !isRunning(task)) continue;
    asked.add(service);
    const matches = await deps.services.targetsFor(service, ctx);
    if (matches.some((m) => m.target.kind === target.kind && m.target.path === target.path))
      serving.push(service);
  }
  return serving;
}

/**
 * One entry's reconcile, in a straight line: read the entry, load Cloud Map's instances and ECS's
 * view of them (looking again while a new task registers), decide, and write when the decision
 * says so. What an event says can only take a task out of the running, never put an address into
 * the registry. Never throws: a failure is reported with the step it hit.
 */
export async function reconcileEntry(
  plan: Plan,
  stopping: ReadonlySet<string>,
  check: PointerCheck | undefined,
  ctx: CallContext,
  deps: EntryDeps,
  lastLive?: Pointer,
): Promise<EntryOutcome> {
  const { config } = deps;
  const { target } = plan;
  const runningTriggers = new Set(
    plan.triggers.flatMap((t) => (t.type === 'task' && isRunning(t.event) ? [t.event.taskId] : [])),
  );
  const canDefer = plan.triggers.some(
    (t) => t.type === 'task' && isRunning(t.event) && t.attempt < deps.maxDeferAttempts,
  );
  let stage: FailureStage = 'registry-read';
  let entry: RegistryEntry | undefined;
  let decision: Decision | undefined;
  let gate: GateResult | undefined;
  try {
    entry = await deps.registry.readEntry({ kind: target.kind, path: target.path }, ctx);
    const adopted = adoptionOf(target);
    if (adopted !== undefined) {
      // An adopted entry is written only when the ownership table gives it to us (follow/gate.ts).
      stage = 'ownership';
      if (deps.ownership === undefined) throw new Error('follow mode without an ownership table');
      gate = await checkOwnership({ ...target, adopted }, entry, deps.ownership);
      if (gate.skip !== undefined) return { entry, decision: gate.skip, owner: gate.owner };
    }
    const host = hostOf(entry.url) ?? '';
    const owns = (listed: readonly string[]) =>
      ownership({
        host,
        cloudMapService: target.cloudMapService,
        namespace: config.namespace,
        listedIpv4s: listed,
      }).owned;
    // Names and private IPv4s are settled by their form; a public IPv4 is ours only if Cloud Map lists it.
    const mayOwn = owns([]) || needsListedIpv4s(host);
    const input = {
      target,
      namespace: config.namespace,
      currentUrl: entry.url,
      stoppingTaskIds: stopping,
      runningTriggerTaskIds: runningTriggers,
      canDefer,
    };
    const fromPointer =
      mayOwn && check !== undefined
        ? decideFromPointer({
            currentUrl: entry.url,
            pointer: check.pointer,
            tasks: check.tasks,
            stoppingTaskIds: stopping,
            fullCheckMinutes: config.resyncFullCheckMinutes,
          })
        : undefined;
    if (fromPointer !== undefined)
      return { entry, decision: fromPointer, pointerVerified: true, ...ownerOf(gate) };
    let instances: CloudMapInstance[] = [];
    let tasks: ReadonlyMap<string, TaskState> = new Map();
    let ecsServices: string[] | undefined;
    if (!mayOwn) {
      decision = decide({ ...input, instances, tasks });
    } else {
      for (let look = 0; ; look++) {
        stage = 'cloudmap';
        instances = await deps.cloudMap.discoverInstances(config.namespace, target.cloudMapService, ctx);
        if (!owns(listedIpv4s(instances))) {
          // A public IPv4 Cloud Map does not list: foreign, and ECS need not be asked.
          decision = decide({ ...input, instances, tasks: new Map() });
          break;
        }
        // The task the entry was last verified on is asked about too (same call): if Cloud Map no
        // longer lists it, this answer is the one a second look would confirm.
        const remembered = lastLive !== undefined && lastLive.url === entry.url ? [lastLive.taskId] : [];
        const ids = [...new Set([...instances.map((i) => i.instanceId), ...runningTriggers, ...remembered])];
        stage = 'ecs';
        tasks = ids.length === 0 ? new Map() : await deps.ecs.describeTasks(config.cluster, ids, ctx);
        ecsServices = await servingServices(plan, tasks, ctx, deps);
        decision = decide({ ...input, instances, tasks, ecsServices });
        if (!isCloudMapLag(decision.reason) || look >= deps.lagRetry.attempts) break;
        await deps.sleep(deps.lagRetry.delayMs);
      }
      // One answer saying the task the entry was just verified on is gone is not enough to move it:
      // one more read of that task, only then (a second answer, or an event, already suffices).
      if (
        lastLive !== undefined &&
        needsSecondLook({
          decision,
          currentUrl: entry.url,
          pointer: lastLive,
          tasks,
          stoppingTaskIds: stopping,
          earlier: check?.pointer.taskId === lastLive.taskId ? check.tasks : undefined,
        })
      ) {
        const first = liveness(lastLive.taskId, tasks, stopping);
        stage = 'ecs';
        const second = await deps.ecs.describeTasks(config.cluster, [lastLive.taskId], ctx);
        tasks = withSecondLook(tasks, lastLive.taskId, second);
        const again = decide({ ...input, instances, tasks, ecsServices });
        const now = liveness(lastLive.taskId, tasks, stopping);
        decision = {
          ...again,
          detail:
            now === 'live'
              ? `${again.detail} (ECS first answered task ${lastLive.taskId} ${first}; a second DescribeTasks found it live)`
              : `${again.detail} (task ${lastLive.taskId} ${first}, confirmed ${now} by a second DescribeTasks)`,
        };
      }
    }
    if (decision.action !== 'update' || decision.desiredUrl === undefined)
      return { entry, decision, ...ownerOf(gate) };
    if (config.dryRun) {
      // The write this run would make: name what it may reset that no read shows (plan says it first).
      const mayReset = deps.registry.fieldsMayReset?.(entry) ?? [];
      return { entry, decision, ...(mayReset.length === 0 ? {} : { mayReset }), ...ownerOf(gate) };
    }
    if (gate !== undefined) {
      stage = 'ownership';
      await gate.commit(decision.desiredUrl);
      gate.owner = 'recorded';
    }
    stage = 'registry-write';
    const hostForms = {
      entryHost: hostOf(entry.url) ?? '',
      cloudMapService: target.cloudMapService,
      namespace: config.namespace,
    };
    // A compare-and-swap conflict (412) means someone changed the entry after our read: decide
    // again on what the registry holds now, with the same Cloud Map and ECS view.
    let again: { entry: RegistryEntry; decision: Decision } | undefined;
    const redecide = (current: RegistryEntry): string | undefined => {
      const fresh = decide({ ...input, currentUrl: current.url, instances, tasks, ecsServices });
      again = { entry: current, decision: fresh };
      // An adopted entry is written only with the address its ownership row records.
      if (gate !== undefined && fresh.desiredUrl !== decision?.desiredUrl) return undefined;
      return fresh.action === 'update' ? fresh.desiredUrl : undefined;
    };
    const result = await deps.registry.writeUrl(entry, decision.desiredUrl, ctx, { redecide, hostForms });
    if (again !== undefined) ({ entry, decision } = again);
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
    if (result.superseded === true || result.confirmed)
      return { entry, decision, write, ...mayReset, ...ownerOf(gate) };
    return {
      entry,
      decision,
      write,
      ...ownerOf(gate),
      ...mayReset,
      failure: {
        reason: 'write-not-confirmed',
        detail: `wrote ${decision.desiredUrl} but read back ${result.url}`,
        retryable: true,
      },
    };
  } catch (error) {
    const notFound = error instanceof EntryNotFoundError;
    return {
      ...(entry === undefined ? {} : { entry }),
      ...(decision === undefined ? {} : { decision }),
      ...ownerOf(gate),
      failure: {
        reason: notFound
          ? 'entry-missing'
          : error instanceof PolicyDeniedError
            ? 'policy-denied'
            : failedAt(stage),
        detail: describeError(error),
        retryable: !notFound && isRetryable(error),
      },
    };
  }
}

/** The owner row's state for the record, when the entry is adopted. */
function ownerOf(gate: GateResult | undefined): { owner?: GateResult['owner'] } {
  return gate === undefined ? {} : { owner: gate.owner };
}
