import type { SQSBatchResponse } from 'aws-lambda';
import type { TargetConfig } from './config';
import { NO_LAG_RETRY } from './defaults';
import { type BudgetRule, canStartEntry } from './delivery/budget';
import { BudgetedRegistry } from './delivery/budgeted-registry';
import { seatsOf } from './delivery/ecs-batcher';
import { byGroup, groupBatchFailures } from './delivery/failures';
import { entryGroupId } from './delivery/group';
import { verifyBody, verifyDelaySeconds } from './delivery/messages';
import { type RetryCause, retryVisibilitySeconds } from './delivery/retry';
import { describeError, EntryNotFoundError } from './errors';
import type { AdoptedTarget } from './follow/follower';
import {
  type InvocationContext,
  type InvocationInput,
  type Malformed,
  readQueueRecords,
  toTriggers,
} from './invocation';
import { NO_COUNT } from './ports';
import { Reconciler, type ReconcilerDeps } from './reconcile';
import type { DecisionRecord } from './record';
import { MetricName, NO_METRICS, SILENT_LOGGER } from './telemetry';

/** One received work message, as the queue path needs it. */
export interface WorkRecord {
  messageId: string;
  receiptHandle?: string;
  groupId: string;
  receiveCount: number;
  /** The message as parsed once on arrival. */
  input: InvocationInput;
}

/** The SQS calls of the queue path (functions/reconciler/aws/sqs.ts, or the simulation's queues). */
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

export interface WorkerDeps extends ReconcilerDeps {
  queue: WorkQueuePort;
  budget: BudgetRule;
  /** Entries reconciled at once within one invocation. */
  groupParallelism: number;
  /** Deliveries that defer for Cloud Map lag (one look-up round each); the next decides. */
  maxDeferAttempts: number;
  onMalformed?: (malformed: Malformed) => void;
  events?: WorkerEvents;
}

const THROTTLED = /rate exceeded|throttl/i;
/** Per-entry reconcilers kept per container (each holds its entry's pointer and service memory). */
const MAX_RECONCILERS = 5_000;

/**
 * The queue path of the reconciler: a batch of the FIFO work queue holds up to 10 messages of one
 * or more groups, one group per registry entry. Each group's entry is reconciled once from fresh
 * reads (its messages coalesce) by a Reconciler that knows only that entry; a group that names
 * neither a configured entry nor (follow mode) an adopted one is dropped, with a warning when it
 * is not follow mode (work sent before the entry left the configuration). An entry is started only while the remaining time covers its
 * worst case, a write only while it covers the write's. The answer hands back a failed message and
 * the later messages of its group only, each with its own visibility; after a confirmed write a
 * delayed verification goes to the trigger queue.
 */
export class Worker {
  private readonly targets: Map<string, TargetConfig>;
  private readonly registry: BudgetedRegistry;
  private readonly reconcilers = new Map<string, Reconciler>();

  constructor(private readonly deps: WorkerDeps) {
    this.targets = new Map(deps.config.targets.map((t) => [entryGroupId({ kind: t.kind, path: t.path }), t]));
    this.registry = new BudgetedRegistry(deps.registry, deps.budget, () => deps.events?.writeRefused?.());
  }

  async handle(event: unknown, context: InvocationContext): Promise<SQSBatchResponse> {
    const logger = this.deps.logger ?? SILENT_LOGGER;
    const batch = (event as { Records: unknown[] }).Records ?? [];
    if (!Array.isArray(batch)) throw new TypeError('an SQS batch has a Records array');
    const records = readQueueRecords(batch).map(
      (input): WorkRecord => ({
        messageId: input.messageId ?? '',
        ...(input.receiptHandle === undefined ? {} : { receiptHandle: input.receiptHandle }),
        groupId: input.groupId ?? '',
        receiveCount: input.attempt,
        input,
      }),
    );
    this.deps.metrics?.count(MetricName.EventsReceived, records.length);
    this.registry.remainingMs = () => context.getRemainingTimeInMillis();
    this.registry.refused.clear();
    const failed = new Map<string, RetryCause>();
    const work = [...byGroup(records)];
    let next = 0;
    const run = async () => {
      for (let item = work[next++]; item !== undefined; item = work[next++]) {
        const [groupId, mine] = item;
        if (!canStartEntry(context.getRemainingTimeInMillis(), this.deps.budget)) {
          this.deps.events?.notStarted?.(mine.length);
          for (const m of mine) failed.set(m.messageId, 'not-started');
          continue;
        }
        try {
          await this.group(groupId, mine, failed);
        } catch (error) {
          logger.error(`entry group ${groupId} failed: ${describeError(error)}`);
          for (const m of mine) failed.set(m.messageId, 'error');
        }
      }
    };
    // Each lane holds a seat (delivery/ecs-batcher.ts): the entries' DescribeTasks go out together
    // as soon as every lane still working has asked.
    const seats = seatsOf(this.deps.ecs);
    await Promise.all(
      Array.from({ length: Math.min(this.deps.groupParallelism, work.length) }, () => seats.withSeat(run)),
    );
    this.registry.remainingMs = undefined;
    const failures = groupBatchFailures(records, new Set(failed.keys()));
    const cause = new Map<string, RetryCause>();
    for (const m of records) {
      const c = failed.get(m.messageId);
      if (c !== undefined && !cause.has(m.groupId)) cause.set(m.groupId, c);
    }
    const byId = new Map(records.map((m) => [m.messageId, m]));
    await Promise.all(
      failures.map(async (f) => {
        const m = byId.get(f.itemIdentifier);
        if (m === undefined) return;
        const seconds = retryVisibilitySeconds(cause.get(m.groupId) ?? 'error', m.receiveCount);
        // If this fails the message still comes back, after the queue's visibility timeout.
        await this.deps.queue.changeVisibility(m, seconds).catch((error: unknown) => {
          logger.warn(`ChangeMessageVisibility of ${m.messageId} failed: ${describeError(error)}`);
        });
      }),
    );
    return { batchItemFailures: failures };
  }

  private async group(groupId: string, mine: WorkRecord[], failed: Map<string, RetryCause>): Promise<void> {
    const logger = this.deps.logger ?? SILENT_LOGGER;
    const inputs = mine.map((m) => m.input);
    const service = inputs
      .map((i) => (i.intake.kind === 'task' ? i.intake.event.service : undefined))
      .find((x) => x !== undefined);
    let adopted: AdoptedTarget | undefined;
    if (!this.targets.has(groupId) && this.deps.follow?.follower !== undefined) {
      // Follow mode: a group the configuration does not name is an adopted entry, or nothing to do.
      adopted = await this.adoptedTarget(groupId);
      if (adopted === undefined) {
        logger.info(`entry group ${groupId}: not a configured target and not adopted; nothing to do`);
        return;
      }
    } else if (!this.targets.has(groupId)) {
      logger.warn(
        `dropped ${mine.length} work message(s) of group ${groupId}: the configuration names no such entry (removed since the work was sent?)`,
      );
      return;
    }
    const reconciler = this.reconcilerFor(groupId, service, adopted);
    const triggers = toTriggers(inputs, logger, this.deps.metrics ?? NO_METRICS, this.deps.onMalformed);
    const outcome = await reconciler.reconcile(triggers);
    const retried = outcome.records.filter((r) => r.retryable);
    const lag = retried.some((r) => r.reason === 'cloud-map-lag');
    const refused = retried.some((r) => this.registry.refused.has(`${r.target.kind}:${r.target.path}`));
    const throttled = retried.length > 0 && retried.every((r) => THROTTLED.test(r.detail));
    if (lag) this.deps.events?.lagDeferred?.();
    const cause: RetryCause = refused
      ? 'not-started'
      : lag
        ? 'cloud-map-lag'
        : throttled
          ? 'throttled'
          : 'error';
    for (const source of outcome.retrySources) {
      const id = inputs[source]?.messageId;
      if (id !== undefined) failed.set(id, cause);
    }
    await Promise.all(outcome.records.filter(wroteAndConfirmed).map((r) => this.sendVerification(r)));
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

  /**
   * The fan-out already found which entries an ECS service backs (DescribeServices): a message
   * names its entry by its group and its service by the event, so the entry's Reconciler treats
   * an unnamed target as named by that service and never repeats the look-up.
   */
  private async adoptedTarget(groupId: string): Promise<AdoptedTarget | undefined> {
    const follower = this.deps.follow?.follower;
    const at = groupId.indexOf(':');
    const kind = groupId.slice(0, at);
    const path = groupId.slice(at + 1);
    if (follower === undefined || (kind !== 'server' && kind !== 'agent') || path.startsWith('sha256:'))
      return undefined;
    try {
      return await follower.forRef({ kind, path }, (ref) => this.registry.readEntry(ref, NO_COUNT), NO_COUNT);
    } catch (error) {
      if (error instanceof EntryNotFoundError) return undefined;
      throw error;
    }
  }

  private reconcilerFor(groupId: string, service: string | undefined, adopted?: AdoptedTarget): Reconciler {
    const configured = this.targets.get(groupId) ?? adopted;
    // group() drops a group that names neither a configured nor an adopted entry.
    if (configured === undefined) throw new Error(`entry group ${groupId} names no target`);
    const key = `${groupId}\n${service ?? ''}\n${adopted === undefined ? '' : `${adopted.cloudMapService}\n${adopted.ecsService}`}`;
    const known = this.reconcilers.get(key);
    if (known !== undefined) return known;
    const { config } = this.deps;
    const target =
      configured.ecsService === undefined && service !== undefined && service !== config.registryService
        ? { ...configured, ecsService: service }
        : configured;
    const r = new Reconciler({
      ...this.deps,
      // Each entry's Reconciler reconciles its one target: adopted ones pass the ownership gate,
      // and none lists the registry (that is the fan-out's resync).
      ...(this.deps.follow === undefined ? {} : { follow: { ownership: this.deps.follow.ownership } }),
      // One look-up round per delivery: a Cloud Map lag is re-checked by redelivery, not by waiting here.
      config: { ...config, targets: [target] },
      lagRetry: NO_LAG_RETRY,
      registry: this.registry,
      maxDeferAttempts: this.deps.maxDeferAttempts,
    });
    if (this.reconcilers.size >= MAX_RECONCILERS) {
      const oldest = this.reconcilers.keys().next().value;
      if (oldest !== undefined) this.reconcilers.delete(oldest);
    }
    this.reconcilers.set(key, r);
    return r;
  }
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
