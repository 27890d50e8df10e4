import type { ReconcilerConfig, TargetConfig } from '../../functions/lib/config/config';
import type { BudgetRule } from '../../functions/lib/delivery/budget';
import { entryGroupId } from '../../functions/lib/delivery/group';
import { DELIVERY } from '../../functions/lib/delivery/settings';
import type { Follower } from '../../functions/lib/follow/follower';
import type { OwnershipPort } from '../../functions/lib/follow/ownership';
import type { CloudMapPort, EcsPort, RegistryPort } from '../../functions/lib/reconcile/ports';
import type { LoggerLike, MetricsSink } from '../../functions/lib/telemetry/telemetry';
import { createWorkerHandler } from '../../functions/reconciler/wiring';
import type { EnvHandler } from './groups';
import type { Scheduler } from './scheduler';

/**
 * One execution environment of the reconciler as deployed: the real queue path
 * (functions/reconciler/worker.ts through wiring.ts `createWorkerHandler`), with the simulation's
 * virtual clock, its AWS and registry models, and its queues behind the SQS port (each handed-back
 * message's visibility, and the delayed write verification to the trigger queue).
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
  /** The trigger queue (write verifications). */
  sendTrigger(body: string, delaySeconds: number): void;
  /** Follow mode: the ownership table and this container's Follower. */
  follow?: { ownership: OwnershipPort; follower: Follower };
}

export interface WorkerCounts {
  notStarted: number;
  writesRefused: number;
  lagDeferrals: number;
  verificationsSent: number;
}

export function newWorkerCounts(): WorkerCounts {
  return { notStarted: 0, writesRefused: 0, lagDeferrals: 0, verificationsSent: 0 };
}

export function targetsByGroup(config: ReconcilerConfig): Map<string, TargetConfig> {
  return new Map(config.targets.map((t) => [entryGroupId({ kind: t.kind, path: t.path }), t]));
}

export function createWorkerEnvironment(deps: WorkerDeps): EnvHandler {
  // The SQS control of the invocation being run (one at a time per environment, as in Lambda).
  let sqs: Parameters<EnvHandler>[2] | undefined;
  const { handler } = createWorkerHandler({
    config: deps.config,
    cloudMap: deps.cloudMap,
    ecs: deps.ecs,
    registry: deps.registry,
    ...(deps.follow === undefined ? {} : { follow: deps.follow }),
    logger: deps.logger,
    metrics: deps.metrics,
    sleep: deps.sched.sleep,
    now: deps.sched.now,
    budget: deps.budget,
    groupParallelism: deps.parallelism,
    maxDeferAttempts: DELIVERY.maxDeferAttempts,
    queue: {
      changeVisibility: async (m, seconds) => sqs?.changeVisibility(m.messageId, seconds),
      sendTrigger: async (body, delaySeconds) => {
        deps.counts.verificationsSent++;
        deps.sendTrigger(body, delaySeconds);
      },
    },
    events: {
      notStarted: (n) => {
        deps.counts.notStarted += n;
      },
      writeRefused: () => {
        deps.counts.writesRefused++;
      },
      lagDeferred: () => {
        deps.counts.lagDeferrals++;
      },
    },
  });
  return async (event, context, control) => {
    sqs = control;
    try {
      return await handler(event, context);
    } finally {
      sqs = undefined;
    }
  };
}
