import type { SQSBatchResponse } from 'aws-lambda';
import type { TargetConfig } from '../lib/config/config';
import { isLagDefer } from '../lib/core/reasons';
import { isOurCluster, isRegistryEvent, screen } from '../lib/core/screen';
import { isStopping } from '../lib/core/task';
import type { TargetMatch } from '../lib/core/types';
import { type BudgetRule, canStartEntry } from '../lib/delivery/budget';
import { type Intake, parseEventText } from '../lib/delivery/event';
import { entryGroupId } from '../lib/delivery/group';
import { verifyBody, verifyDelaySeconds } from '../lib/delivery/messages';
import { describeError, EntryNotFoundError } from '../lib/errors';
import type { AdoptedTarget } from '../lib/follow/follower';
import { NO_COUNT } from '../lib/reconcile/ports';
import { type Plan, Reconciler, type ReconcilerDeps, type Trigger } from '../lib/reconcile/reconcile';
import type { DecisionRecord } from '../lib/telemetry/record';
import { MetricName, SILENT_LOGGER } from '../lib/telemetry/telemetry';
import { byGroup, groupBatchFailures } from './failures';
import { type RetryCause, retryVisibilitySeconds } from './retry';

/** One received work message, as the queue path needs it. */
export interface WorkRecord {
  messageId: string;
  receiptHandle?: string;
  groupId: string;
  /** Deliveries so far (SQS `ApproximateReceiveCount`). */
  receiveCount: number;
  /** The body as parsed once on arrival. */
  intake: Intake;
}

/** The SQS calls of the queue path (functions/lib/aws/sqs.ts, or the simulation's queues). */
export interface WorkQueuePort {
  /** ChangeMessageVisibility on one handed-back message: only its own group waits. */
  changeVisibility(message: WorkRecord, seconds: number): Promise<void>;
  /** A delayed message to the trigger queue (the write verification). */
  sendTrigger(body: string, delaySeconds: number): Promise<void>;
}

/** What the queue path did beyond its records, for the simulation and the tests. */
export interface WorkerEvents {
  notStarted?: (messages: number) => void;
  writeRefused?: () => void;
  lagDeferred?: () => void;
}

/** An input dropped as malformed, as handed to `HandlerDeps.onMalformed`. */
export interface Malformed {
  /** Its index in the batch. */
  source: number;
  reason: string;
  eventId?: string;
  messageId?: string;
}

/** Callbacks of the worker's wiring (wiring.ts). */
export interface HandlerDeps {
  /** Called when the invocation ends, success or not (Powertools Metrics publishes here). */
  flush?: () => void;
  /**
   * Ties log lines to an event id (Powertools' correlation id): the batch's first event id when
   * the invocation starts, then each decision record's trigger just before the record is logged.
   */
  correlate?: (eventId: string) => void;
  /** Receives every input dropped as malformed. */
  onMalformed?: (malformed: Malformed) => void;
}

/** The part of the Lambda context the handler uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

export interface WorkerDeps extends ReconcilerDeps, HandlerDeps {
  queue: WorkQueuePort;
  budget: BudgetRule;
  /** Entries read, looked up and written at once within one invocation. */
  groupParallelism: number;
  /** Deliveries that defer for Cloud Map lag (one look-up round each); the next decides. */
  maxDeferAttempts: number;
  events?: WorkerEvents;
}

const THROTTLED = /rate exceeded|throttl/i;

/** What a direct invocation with anything but an SQS batch is told (a user testing in the console). */
export const DIRECT_INVOCATION_REFUSED =
  'the reconciler handles batches of its FIFO work queue only (one message group per registry entry, made by the fan-out); ' +
  'to test with an EventBridge event, send the event to the trigger queue (stack output TriggerQueueUrl: ' +
  'aws sqs send-message --queue-url <TriggerQueueUrl> --message-body file://event.json), ' +
  'or replay it locally with npm run replay -- event.json';

/**
 * The queue path of the reconciler. A batch of the FIFO work queue holds up to 10 messages of one
 * or more groups, one group per registry entry: each group becomes one entry's work (its messages
 * coalesce), started only while the remaining time covers an entry's worst case, and the batch's
 * entries are reconciled together (reconcile.ts: one DescribeTasks round for all of them). A group
 * that names neither a configured entry nor (follow mode) an adopted one is dropped, with a
 * warning when it is not follow mode (work sent before the entry left the configuration). The
 * answer hands back a failed message and the later messages of its group only, each with its own
 * visibility; after a confirmed write a delayed verification goes to the trigger queue.
 */
export class Worker {
  private readonly targets: Map<string, TargetConfig>;
  /** The container's reconciler: its service directory and pointer memory outlive invocations. */
  private readonly reconciler: Reconciler;

  constructor(private readonly deps: WorkerDeps) {
    this.targets = new Map(deps.config.targets.map((t) => [entryGroupId({ kind: t.kind, path: t.path }), t]));
    this.reconciler = new Reconciler({
      ...deps,
      parallelism: deps.groupParallelism,
      maxDeferAttempts: deps.maxDeferAttempts,
    });
  }

  /**
   * The Lambda handler: an SQS batch of the work queue; anything else is refused with
   * `DIRECT_INVOCATION_REFUSED`, which says what to send instead (an event reaches the worker only
   * through the fan-out's planning). `flush` runs when the invocation ends, whatever happened.
   */
  async handle(event: unknown, context?: InvocationContext): Promise<SQSBatchResponse> {
    try {
      const batch = (event as { Records?: unknown } | null)?.Records;
      if (!Array.isArray(batch)) throw new Error(DIRECT_INVOCATION_REFUSED);
      // Without a Lambda context (a local call) there is no deadline: an hour.
      const started = Date.now();
      const clock = context ?? { getRemainingTimeInMillis: () => 3_600_000 - (Date.now() - started) };
      return await this.batch(batch.map(readWorkRecord), clock);
    } finally {
      this.deps.flush?.();
    }
  }

  private async batch(records: WorkRecord[], context: InvocationContext): Promise<SQSBatchResponse> {
    const logger = this.deps.logger ?? SILENT_LOGGER;
    this.deps.metrics?.count(MetricName.EventsReceived, records.length);
    const firstId = records.map((m) => eventIdOf(m.intake)).find((id) => id !== undefined);
    if (firstId !== undefined) this.deps.correlate?.(firstId);

    // 1. One entry per message group, started only while the time left covers its worst case.
    const failed = new Map<string, RetryCause>();
    const fail = (messages: WorkRecord[], cause: RetryCause) => {
      for (const m of messages) failed.set(m.messageId, cause);
    };
    const groups = [...byGroup(records)];
    const started = groups.filter(([, mine]) => {
      if (canStartEntry(context.getRemainingTimeInMillis(), this.deps.budget)) return true;
      this.deps.events?.notStarted?.(mine.length);
      fail(mine, 'not-started');
      return false;
    });
    const stopping = new Set<string>();
    const planned = await Promise.all(
      started.map(async ([groupId, mine]) => {
        try {
          return await this.plan(groupId, mine, records, stopping);
        } catch (error) {
          logger.error(`entry group ${groupId} failed: ${describeError(error)}`);
          fail(mine, 'error');
          return undefined;
        }
      }),
    );
    const plans = planned.filter((p) => p !== undefined);

    // 2. The entries of the batch, reconciled together (reconcile.ts).
    const results = await this.reconciler.reconcileEntries(plans, stopping, {
      remainingMs: () => context.getRemainingTimeInMillis(),
      rule: this.deps.budget,
    });

    // 3. What goes back to the queue, and the verification of each confirmed write.
    results.forEach(({ record, writeRefused }, i) => {
      if (!record.retryable) return;
      const lag = isLagDefer(record.reason);
      if (lag) this.deps.events?.lagDeferred?.();
      if (writeRefused) this.deps.events?.writeRefused?.();
      const cause: RetryCause = writeRefused
        ? 'not-started'
        : lag
          ? 'cloud-map-lag'
          : THROTTLED.test(record.detail)
            ? 'throttled'
            : 'error';
      for (const t of (plans[i] as Plan).triggers) {
        // A deferral hands back only the messages still within the deferral budget: an older one
        // that spent it is consumed here, not pushed towards the DLQ by a newer event beside it.
        if (lag && t.attempt >= this.deps.maxDeferAttempts) continue;
        const m = records[t.source];
        if (m !== undefined) failed.set(m.messageId, cause);
      }
    });
    await Promise.all(
      results
        .map((r) => r.record)
        .filter(wroteAndConfirmed)
        .map((r) => this.sendVerification(r)),
    );
    const failures = groupBatchFailures(records, new Set(failed.keys()));
    const cause = new Map<string, RetryCause>();
    for (const m of records) {
      const c = failed.get(m.messageId);
      if (c !== undefined && !cause.has(m.groupId)) cause.set(m.groupId, c);
    }
    const byId = new Map(records.map((m) => [m.messageId, m]));
    // A deferral's wait follows the group's freshest message: its oldest message comes back first
    // and holds the group, so a new event behind it (the replacement's RUNNING behind a stop
    // signal already deferred four times) waits 2 s, not the older message's 4 s.
    const freshest = new Map<string, number>();
    for (const f of failures) {
      const m = byId.get(f.itemIdentifier);
      if (m !== undefined)
        freshest.set(m.groupId, Math.min(freshest.get(m.groupId) ?? m.receiveCount, m.receiveCount));
    }
    await Promise.all(
      failures.map(async (f) => {
        const m = byId.get(f.itemIdentifier);
        if (m === undefined) return;
        const c = cause.get(m.groupId) ?? 'error';
        const count = c === 'cloud-map-lag' ? (freshest.get(m.groupId) ?? m.receiveCount) : m.receiveCount;
        const seconds = retryVisibilitySeconds(c, count);
        // If this fails the message still comes back, after the queue's visibility timeout.
        await this.deps.queue.changeVisibility(m, seconds).catch((error: unknown) => {
          logger.warn(`ChangeMessageVisibility of ${m.messageId} failed: ${describeError(error)}`);
        });
      }),
    );
    return { batchItemFailures: failures };
  }

  /**
   * One group's work: its entry (configured, or adopted in follow mode) and the triggers its
   * messages carry. A message names its entry by its group and its ECS service by its event: the
   * fan-out already found which entries the service backs (DescribeServices), so a target without
   * `ecsService` is taken as run by that service and the look-up is not repeated.
   */
  private async plan(
    groupId: string,
    mine: WorkRecord[],
    batch: WorkRecord[],
    stopping: Set<string>,
  ): Promise<Plan | undefined> {
    const logger = this.deps.logger ?? SILENT_LOGGER;
    const { config } = this.deps;
    let configured: TargetConfig | undefined = this.targets.get(groupId);
    if (configured === undefined && this.deps.follow?.follower !== undefined) {
      // Follow mode: a group the configuration does not name is an adopted entry, or nothing to do.
      configured = await this.adoptedTarget(groupId);
      if (configured === undefined) {
        logger.info(`entry group ${groupId}: not a configured target and not adopted; nothing to do`);
        return undefined;
      }
    } else if (configured === undefined) {
      logger.warn(
        `dropped ${mine.length} work message(s) of group ${groupId}: the configuration names no such entry (removed since the work was sent?)`,
      );
      return undefined;
    }
    const triggers = mine.flatMap((m) => this.trigger(m, batch.indexOf(m)));
    const service = triggers
      .map((t) =>
        t.type === 'task' && t.event.service !== config.registryService ? t.event.service : undefined,
      )
      .find((s) => s !== undefined);
    const target =
      configured.ecsService === undefined && service !== undefined
        ? { ...configured, ecsService: service }
        : configured;
    // Only events of our cluster: an ignored event must change nothing.
    for (const t of triggers)
      if (t.type === 'task' && isStopping(t.event) && isOurCluster(t.event, config))
        stopping.add(t.event.taskId);
    let match: TargetMatch | undefined;
    const asking: Trigger[] = [];
    for (const t of triggers) {
      let why: TargetMatch | undefined = 'all-targets';
      if (t.type === 'task') {
        const screened = screen(t.event, config);
        if (screened !== undefined) {
          this.ignore(t, screened[0], screened[1]);
          continue;
        }
        if (!isRegistryEvent(t.event, config))
          why = t.event.service === target.ecsService ? 'config' : undefined;
        if (why === undefined) {
          this.ignore(t, 'unmanaged-service', `no target is served by ECS service ${t.event.service}`);
          continue;
        }
      }
      match ??= why;
      asking.push(t);
    }
    if (match === undefined) return undefined;
    return {
      target,
      match,
      triggers: asking,
      lookupCalls: {},
      ecsServices: target.ecsService === undefined ? this.reconciler.servicesOf(target) : [target.ecsService],
    };
  }

  /** The trigger a message carries; a malformed body is reported and dropped (never retried, never written). */
  private trigger(m: WorkRecord, source: number): Trigger[] {
    const { intake } = m;
    const attempt = m.receiveCount;
    if (intake.kind === 'schedule')
      return [
        {
          type: 'schedule',
          eventId: intake.eventId,
          ...(intake.time === undefined ? {} : { time: intake.time }),
          source,
          attempt,
        },
      ];
    if (intake.kind === 'task') return [{ type: 'task', event: intake.event, source, attempt }];
    this.deps.metrics?.count(MetricName.EventsMalformed);
    const malformed = {
      reason: intake.reason,
      ...(intake.eventId === undefined ? {} : { eventId: intake.eventId }),
      ...(m.messageId === '' ? {} : { messageId: m.messageId }),
    };
    (this.deps.logger ?? SILENT_LOGGER).warn(`dropped malformed event: ${intake.reason}`, { malformed });
    this.deps.onMalformed?.({ source, ...malformed });
    return [];
  }

  private ignore(
    t: Trigger & { type: 'task' },
    reason: 'unmanaged-service' | NonNullable<ReturnType<typeof screen>>[0],
    detail: string,
  ): void {
    this.reconciler.ignored({
      source: t.source,
      eventId: t.event.eventId,
      taskId: t.event.taskId,
      reason,
      detail,
      retryable: false,
    });
  }

  private async sendVerification(r: DecisionRecord): Promise<void> {
    const body = verifyBody({
      kind: r.target.kind,
      path: r.target.path,
      written: r.desiredUrl as string,
      ...(r.currentUrl === undefined ? {} : { previous: r.currentUrl }),
      eventId: r.trigger.eventId ?? '',
      at: new Date((this.deps.now ?? Date.now)()).toISOString(),
    });
    // The write landed: a lost verification is reported, never a reason to hand the work back.
    await this.deps.queue
      .sendTrigger(body, verifyDelaySeconds(this.deps.config.registry.verifyAfterMs))
      .catch((error: unknown) =>
        (this.deps.logger ?? SILENT_LOGGER).error(
          `could not schedule the write verification of ${r.target.kind} ${r.target.path}: ${describeError(error)}`,
        ),
      );
  }

  /** Follow mode: the adopted entry a group names (its ownership row, else the shared rule on the entry as read). */
  private async adoptedTarget(groupId: string): Promise<AdoptedTarget | undefined> {
    const follower = this.deps.follow?.follower;
    const at = groupId.indexOf(':');
    const kind = groupId.slice(0, at);
    const path = groupId.slice(at + 1);
    if (follower === undefined || (kind !== 'server' && kind !== 'agent') || path.startsWith('sha256:'))
      return undefined;
    try {
      return await follower.forRef(
        { kind, path },
        (ref) => this.deps.registry.readEntry(ref, NO_COUNT),
        NO_COUNT,
      );
    } catch (error) {
      if (error instanceof EntryNotFoundError) return undefined;
      throw error;
    }
  }
}

/** One SQS record of the work queue, its body parsed once (a malformed one becomes a `malformed` intake). */
function readWorkRecord(r: unknown): WorkRecord {
  const rec = (typeof r === 'object' && r !== null ? r : {}) as {
    messageId?: unknown;
    receiptHandle?: unknown;
    body?: unknown;
    attributes?: { MessageGroupId?: unknown; ApproximateReceiveCount?: unknown };
  };
  const attempt = Number(rec.attributes?.ApproximateReceiveCount ?? 1);
  return {
    messageId: typeof rec.messageId === 'string' ? rec.messageId : '',
    ...(typeof rec.receiptHandle === 'string' ? { receiptHandle: rec.receiptHandle } : {}),
    groupId: typeof rec.attributes?.MessageGroupId === 'string' ? rec.attributes.MessageGroupId : '',
    receiveCount: Number.isFinite(attempt) ? attempt : 1,
    intake:
      typeof rec.body === 'string'
        ? parseEventText(rec.body)
        : { kind: 'malformed', reason: 'SQS record has no string body' },
  };
}

function eventIdOf(intake: Intake): string | undefined {
  if (intake.kind === 'malformed') return undefined;
  return intake.kind === 'schedule' ? intake.eventId : intake.event.eventId;
}

function wroteAndConfirmed(r: DecisionRecord): boolean {
  return (
    r.action === 'update' &&
    !r.dryRun &&
    r.write?.confirmed === true &&
    r.write.route !== 'none' &&
    r.desiredUrl !== undefined
  );
}
