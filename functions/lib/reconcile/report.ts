import { type Decision, untrustedInstances } from '../core/decide';
import { type ErrorReason, isNoLiveInstance } from '../core/reasons';
import { isRegistryEvent } from '../core/screen';
import { adoptionOf } from '../follow/follower';
import type { OwnerState } from '../follow/gate';
import type { DecisionRecord, TriggerInfo } from '../telemetry/record';
import { type LoggerLike, MetricName, type MetricsSink } from '../telemetry/telemetry';
import type { CallCounts } from './calls';
import type { Ignored, Plan, Trigger } from './plan';
import type { RegistryEntry } from './ports';

/** Why an entry's reconcile ended in an error. */
export interface Failure {
  reason: ErrorReason;
  detail: string;
  retryable: boolean;
}

/** How one entry's read → decide → write line ended: with a decision, or with a failure. */
export type EntryOutcome = {
  entry?: RegistryEntry;
  write?: DecisionRecord['write'];
  /** Fields the write may have reset (or would, in a dry run) that no read shows. */
  mayReset?: string[];
  /** The decision came from the resync's ECS-only check (the pointer's age is kept). */
  pointerVerified?: boolean;
  /** An adopted entry's owner row state (follow/gate.ts). */
  owner?: OwnerState;
} & ({ failure: Failure; decision?: Decision } | { failure?: undefined; decision: Decision });

/** Builds the decision record of one entry's reconcile. */
export function buildRecord(
  plan: Plan,
  outcome: EntryOutcome,
  options: {
    calls: CallCounts;
    durationMs: number;
    dryRun: boolean;
    registryService: string | undefined;
    /** Follow mode is on: every record says whether its entry is configured or adopted. */
    follow?: boolean;
  },
): DecisionRecord {
  const { target } = plan;
  const adopted = adoptionOf(target);
  const { decision, entry, failure } = outcome;
  const last = plan.triggers.at(-1) as Trigger;
  return {
    trigger: triggerInfo(last, options.registryService),
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
    action: failure === undefined ? outcome.decision.action : 'error',
    reason: failure === undefined ? outcome.decision.reason : failure.reason,
    detail: failure === undefined ? outcome.decision.detail : failure.detail,
    dryRun: options.dryRun,
    ...(outcome.write === undefined ? {} : { write: outcome.write }),
    ...(outcome.mayReset === undefined ? {} : { mayReset: outcome.mayReset }),
    ...(entry?.securityPending === true ? { securityPending: true as const } : {}),
    ...(adopted !== undefined
      ? { follow: { origin: 'adopted' as const, via: adopted.via, owner: outcome.owner ?? 'none' } }
      : options.follow === true
        ? { follow: { origin: 'configured' as const } }
        : {}),
    calls: options.calls,
    retryable: failure === undefined ? outcome.decision.retryable : failure.retryable,
    durationMs: options.durationMs,
  };
}

function triggerInfo(trigger: Trigger, registryService: string | undefined): TriggerInfo {
  if (trigger.type === 'schedule') return { type: 'schedule', eventId: trigger.eventId };
  const e = trigger.event;
  return {
    type: isRegistryEvent(e, { registryService }) ? 'registry-restart' : 'task',
    eventId: e.eventId,
    taskId: e.taskId,
    lastStatus: e.lastStatus,
    desiredStatus: e.desiredStatus,
    version: e.version,
    ...(e.service === undefined ? {} : { service: e.service }),
  };
}

const ACTION_METRIC = {
  noop: MetricName.DecisionNoop,
  update: MetricName.DecisionUpdate,
  defer: MetricName.DecisionDefer,
  skip: MetricName.DecisionSkip,
  error: MetricName.DecisionError,
} as const;

export interface ReporterDeps {
  logger: LoggerLike;
  metrics: MetricsSink;
  /** Receives every decision record, after it is logged and counted. */
  onRecord?: ((record: DecisionRecord) => void) | undefined;
  /** Receives every ignored trigger, after it is logged and counted. */
  onIgnored?: ((ignored: Ignored) => void) | undefined;
  /** Ties the log lines that follow to a trigger's event id (Powertools' correlation id). */
  correlate?: ((eventId: string) => void) | undefined;
}

/** Logs and counts what the reconcile did, and hands it to the sinks. */
export class Reporter {
  constructor(private readonly deps: ReporterDeps) {}

  record(record: DecisionRecord): void {
    const { metrics: m, logger } = this.deps;
    if (record.trigger.eventId !== undefined) this.deps.correlate?.(record.trigger.eventId);
    m.count(ACTION_METRIC[record.action]);
    m.milliseconds(MetricName.ReconcileDuration, record.durationMs);
    if (isNoLiveInstance(record.reason)) m.count(MetricName.NoLiveInstance);
    if (record.reason === 'foreign') m.count(MetricName.ForeignEntry);
    if (record.action === 'error') m.count(MetricName.Errors);
    if (record.write?.disabledAfterWrite) m.count(MetricName.ServerDisabledAfterWrite);
    if (record.reason === 'policy-denied') m.count(MetricName.PolicyDenied);
    if (record.write !== undefined && record.mayReset !== undefined) m.count(MetricName.WriteMayReset);
    if (record.securityPending) m.count(MetricName.ServerSecurityPending);
    const owner = record.follow?.owner;
    if (owner === 'recorded' && record.reason === 'resolve-name') m.count(MetricName.FollowAdopted);
    if (owner === 'released') m.count(MetricName.FollowReleased);
    if (record.reason === 'not-owned') m.count(MetricName.FollowNotOwned);
    if (owner === 'owned' || owner === 'recorded') m.count(MetricName.FollowOwned);
    const untrusted = untrustedInstances(record.instances);
    if (untrusted.length > 0) {
      m.count(MetricName.UntrustedInstance, untrusted.length);
      logger.warn(
        `untrusted Cloud Map instance(s) for ${record.target.kind} ${record.target.path}: ${untrusted
          .map((v) =>
            v.ineligible === 'ip-mismatch'
              ? `${v.instanceId} lists ${v.ipv4} but ECS gives the task ${v.ecsIpv4 ?? 'no IP'}`
              : `${v.instanceId} is not a task of the target's ECS service`,
          )
          .join('; ')}; never written`,
        {
          untrusted: {
            target: record.target,
            instances: untrusted.map((v) => ({
              instanceId: v.instanceId,
              reason: v.ineligible,
              ipv4: v.ipv4,
              ...(v.ecsIpv4 === undefined ? {} : { ecsIpv4: v.ecsIpv4 }),
            })),
          },
        },
      );
    }
    const message = `${record.action} ${record.target.kind} ${record.target.path}: ${record.reason}`;
    const level =
      record.action === 'error' || record.write?.disabledAfterWrite
        ? 'error'
        : record.action === 'defer' ||
            record.reason === 'no-live-instance' ||
            record.reason === 'foreign' ||
            record.securityPending
          ? 'warn'
          : 'info';
    logger[level](message, { decision: record });
    this.deps.onRecord?.(record);
  }

  ignored(ig: Ignored): void {
    if (ig.reason !== 'service-lookup-failed') this.deps.metrics.count(MetricName.EventsIgnored);
    this.deps.logger.info(`ignored event: ${ig.detail}`, {
      ignored: { eventId: ig.eventId, taskId: ig.taskId, reason: ig.reason },
    });
    this.deps.onIgnored?.(ig);
  }

  /** An ECS service lookup failed: counted as an error; the trigger is reported as ignored. */
  lookupFailed(): void {
    this.deps.metrics.count(MetricName.Errors);
  }

  warn(message: string): void {
    this.deps.logger.warn(message);
  }
}
