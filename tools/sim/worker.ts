import type { SQSBatchResponse } from 'aws-lambda';
import type { ReconcilerConfig, TargetConfig } from '../../functions/reconciler/config';
import { type BudgetRule, canStartEntry, canStartWrite } from '../../functions/reconciler/delivery/budget';
import { BatchingEcs } from '../../functions/reconciler/delivery/ecs-batcher';
import { byGroup, groupBatchFailures } from '../../functions/reconciler/delivery/failures';
import { entryGroupId } from '../../functions/reconciler/delivery/group';
import { type RetryCause, retryVisibilitySeconds } from '../../functions/reconciler/delivery/retry';
import { RetryableError } from '../../functions/reconciler/errors';
import { readInvocation, toTriggers } from '../../functions/reconciler/invocation';
import type {
  CallContext,
  CloudMapPort,
  EcsPort,
  EntryRef,
  RegistryEntry,
  RegistryPort,
  WriteResult,
} from '../../functions/reconciler/ports';
import { Reconciler } from '../../functions/reconciler/reconcile';
import type { LoggerLike, MetricsSink } from '../../functions/reconciler/telemetry';
import { invocationScope } from './adapters';
import type { EnvHandler } from './groups';
import type { Scheduler } from './scheduler';

/**
 * The reconciler Lambda of the per-entry design, as the simulation runs it: each FIFO message
 * group is one registry entry; a batch may hold several groups. For each group the real
 * `readInvocation` / `toTriggers` / `Reconciler.reconcile` run on that entry alone (a Reconciler
 * whose config holds only that target, one per entry per execution environment, so its pointer and
 * service caches are the entry's). Around it, the delivery rules of functions/reconciler/delivery:
 * the time budget before each entry and each write, per-group batch failures, and a visibility
 * change on each handed-back message (short for Cloud Map lag, backoff for errors).
 */
export interface WorkerDeps {
  config: ReconcilerConfig;
  cloudMap: CloudMapPort;
  ecs: EcsPort;
  registry: RegistryPort;
  logger: LoggerLike;
  metrics: MetricsSink;
  sched: Scheduler;
  budget: BudgetRule;
  /** Groups reconciled at once within one invocation. */
  parallelism: number;
  counts: WorkerCounts;
}

export interface WorkerCounts {
  notStarted: number;
  writesRefused: number;
  lagDeferrals: number;
}

/** How long DescribeTasks calls of one environment wait for others to share a call. */
export const BATCH_WINDOW_MS = 300;

const THROTTLED = /rate exceeded|throttl/i;

export const MAX_DEFER_ATTEMPTS = 8;

export function targetsByGroup(config: ReconcilerConfig): Map<string, TargetConfig> {
  return new Map(config.targets.map((t) => [entryGroupId({ kind: t.kind, path: t.path }), t]));
}

/** One execution environment of the reconciler (the construction the deployed wiring replaces). */
export function createWorkerEnvironment(deps: WorkerDeps, groups: Map<string, TargetConfig>): EnvHandler {
  const ecs = new BatchingEcs(deps.ecs, { windowMs: BATCH_WINDOW_MS, sleep: deps.sched.sleep });
  const registry = new BudgetedRegistry(deps.registry, deps.budget, deps.counts);
  const reconcilers = new Map<string, Reconciler>();
  // The fan-out already found which entries an ECS service backs (DescribeServices): a message
  // names its entry by its group and its service by the event, so the worker's Reconciler for that
  // pair treats the entry as named and never repeats the look-up.
  const reconcilerFor = (groupId: string, service: string | undefined): Reconciler | undefined => {
    const key = `${groupId}\n${service ?? ''}`;
    let r = reconcilers.get(key);
    if (r !== undefined) return r;
    const configured = groups.get(groupId);
    if (configured === undefined) return undefined;
    const target =
      configured.ecsService === undefined && service !== undefined && service !== deps.config.registryService
        ? { ...configured, ecsService: service }
        : configured;
    r = new Reconciler({
      // One look-up round per delivery: a Cloud Map lag is re-checked by redelivery, not by waiting here.
      config: { ...deps.config, targets: [target], lagRetry: { ...deps.config.lagRetry, attempts: 0 } },
      cloudMap: deps.cloudMap,
      ecs,
      registry,
      logger: deps.logger,
      metrics: deps.metrics,
      sleep: deps.sched.sleep,
      now: deps.sched.now,
      // Defer for Cloud Map lag on the first seven deliveries (20 s of re-checks); the eighth
      // decides, so a lagging entry never reaches the DLQ (maxReceiveCount 10).
      maxDeferAttempts: MAX_DEFER_ATTEMPTS,
    });
    reconcilers.set(key, r);
    return r;
  };

  return async (event, context, sqs) => {
    const records = ((event as { Records?: unknown[] }).Records ?? []) as {
      messageId: string;
      attributes: { MessageGroupId?: string; ApproximateReceiveCount?: string };
    }[];
    const messages = records.map((r) => ({
      messageId: r.messageId,
      groupId: r.attributes.MessageGroupId ?? '',
      receiveCount: Number(r.attributes.ApproximateReceiveCount ?? 1),
      record: r,
    }));
    const failed = new Map<string, RetryCause>();
    const work = [...byGroup(messages)];
    let next = 0;
    const run = async () => {
      for (;;) {
        const item = work[next++];
        if (item === undefined) return;
        const [groupId, mine] = item;
        if (!canStartEntry(context.getRemainingTimeInMillis(), deps.budget)) {
          deps.counts.notStarted += mine.length;
          for (const m of mine) failed.set(m.messageId, 'not-started');
          continue;
        }
        const { inputs } = readInvocation({ Records: mine.map((m) => m.record) });
        const service = inputs
          .map((i) => (i.intake.kind === 'task' ? i.intake.event.service : undefined))
          .find((x) => x !== undefined);
        const reconciler = reconcilerFor(groupId, service);
        if (reconciler === undefined) {
          // An entry no longer configured: nothing to reconcile, said once per batch.
          deps.logger.warn(`dropped ${mine.length} message(s) for unconfigured entry group ${groupId}`);
          continue;
        }
        const triggers = toTriggers(inputs, deps.logger, deps.metrics);
        const outcome = await reconciler.reconcile(triggers);
        const retried = outcome.records.filter((r) => r.retryable);
        const lag = retried.some((r) => r.reason === 'cloud-map-lag');
        const throttled = retried.length > 0 && retried.every((r) => THROTTLED.test(r.detail));
        if (lag) deps.counts.lagDeferrals++;
        const cause: RetryCause = lag ? 'cloud-map-lag' : throttled ? 'throttled' : 'error';
        for (const source of outcome.retrySources) {
          const id = inputs[source]?.messageId;
          if (id !== undefined) failed.set(id, cause);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(deps.parallelism, work.length) }, run));
    const failures = groupBatchFailures(messages, new Set(failed.keys()));
    // Every message handed back gets its own visibility: it holds back only its own entry's group.
    const cause = new Map<string, RetryCause>();
    for (const m of messages) {
      const c = failed.get(m.messageId);
      if (c !== undefined && !cause.has(m.groupId)) cause.set(m.groupId, c);
    }
    for (const f of failures) {
      const m = messages.find((x) => x.messageId === f.itemIdentifier);
      if (m === undefined) continue;
      sqs.changeVisibility(
        m.messageId,
        retryVisibilitySeconds(cause.get(m.groupId) ?? 'error', m.receiveCount),
      );
    }
    return { batchItemFailures: failures } satisfies SQSBatchResponse;
  };
}

/** Refuses to start a registry write that the invocation's remaining time cannot cover. */
class BudgetedRegistry implements RegistryPort {
  constructor(
    private readonly inner: RegistryPort,
    private readonly budget: BudgetRule,
    private readonly counts: WorkerCounts,
  ) {}

  readEntry(ref: EntryRef, ctx: CallContext): Promise<RegistryEntry> {
    return this.inner.readEntry(ref, ctx);
  }

  writeUrl(entry: RegistryEntry, newUrl: string, ctx: CallContext): Promise<WriteResult> {
    const remaining = invocationScope.getStore()?.remainingMs?.();
    if (remaining !== undefined && !canStartWrite(remaining, this.budget)) {
      this.counts.writesRefused++;
      return Promise.reject(new RetryableError(`not enough time left for a write (${remaining} ms)`));
    }
    return this.inner.writeUrl(entry, newUrl, ctx);
  }
}
