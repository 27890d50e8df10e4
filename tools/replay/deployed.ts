import type { SQSBatchResponse } from 'aws-lambda';
import type { RegistryPages } from '../../functions/fanout/ports';
import type { VerificationRecord } from '../../functions/fanout/verify';
import type { ReconcilerConfig } from '../../functions/fanout/wiring';
import { createFanoutHandler } from '../../functions/fanout/wiring';
import { realSleep } from '../../functions/lib/config/defaults';
import { minFunctionTimeoutMs } from '../../functions/lib/delivery/budget';
import { entryGroupId, workDedupId } from '../../functions/lib/delivery/group';
import { readTriggerMessage } from '../../functions/lib/delivery/messages';
import { DELIVERY } from '../../functions/lib/delivery/settings';
import type { Follower, FollowPages } from '../../functions/lib/follow/follower';
import type { OwnershipPort } from '../../functions/lib/follow/ownership';
import type { CloudMapPort, EcsPort, EntryRef, RegistryPort } from '../../functions/lib/reconcile/ports';
import type { Ignored } from '../../functions/lib/reconcile/reconcile';
import type { RegistryClient } from '../../functions/lib/registry/client';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import type { LoggerLike, MetricsSink } from '../../functions/lib/telemetry/telemetry';
import { createWorkerHandler, deployedBudget } from '../../functions/reconciler/wiring';
import type { WorkRecord } from '../../functions/reconciler/worker';

/**
 * The deployed data path in one process: the trigger queue (standard, with DelaySeconds) → the
 * fan-out (functions/fanout/wiring.ts `createFanoutHandler`) → the FIFO work queue, one message
 * group per registry entry, deduplicated for five minutes → the worker (functions/reconciler/
 * wiring.ts `createWorkerHandler`), whose handed-back messages come back after the visibility it
 * sets, and whose write verifications go back to the trigger queue, delayed. Time is the given
 * clock's. When only delayed messages are left, `drain` lets the clock reach the next one with
 * `wait`: the replay and plan skip that time (virtual in the embedded world; live, a
 * `SkippingClock` jumps ahead), so a registry restart's two minutes of re-checks and a write's
 * verifications run at once; live, a work message's short Cloud Map lag redelivery is still
 * waited in real time, and `replay --real-time` waits everything. `delayedRun` counts the delayed
 * trigger messages that ran.
 *
 * Kinder than SQS in one way, said here: a trigger message the fan-out fails is reported and
 * dropped rather than redelivered after the 180 s visibility timeout (its cause, an AWS or
 * registry failure, is what the user needs to see).
 */

/** The registry as the deployed path uses it: entries, list pages and the verification read. */
export type PathRegistry = RegistryPort & Pick<RegistryClient, 'pages' | 'verifyWrite'>;

export interface DeployedPathOptions {
  config: ReconcilerConfig;
  cloudMap: CloudMapPort;
  ecs: EcsPort;
  /** The registry the worker writes to (plan wraps it to refuse writes). */
  registry: RegistryPort;
  /** The registry's page and verification reads (the client behind `registry`). */
  reads: { pages(): RegistryPages & FollowPages; verifyWrite: RegistryClient['verifyWrite'] };
  logger: LoggerLike;
  metrics: MetricsSink;
  /** Follow mode (functions/lib/aws/follow.ts `createFollowAws`), for both functions. */
  follow?: { ownership: OwnershipPort; follower: Follower } | undefined;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /**
   * How `drain` lets the clock reach the next delayed message when nothing else is ready, and on
   * which queue that message is (the functions' own waits, such as a retry's backoff, use `sleep`).
   * @default sleep
   */
  wait?: (ms: number, next: 'trigger' | 'work') => Promise<void>;
  /** Every decision of the worker. */
  onRecord?: (record: DecisionRecord) => void;
  /** Every read-only decision of a resync's shard check (an entry the resync finds right gets no work). */
  onCheck?: (record: DecisionRecord) => void;
  onIgnored?: (ignored: Ignored) => void;
  onVerification?: (record: VerificationRecord) => void;
  /**
   * Receives of a work message before it is given up (the work queue's dead-letter queue).
   * `plan` passes 1: it reports each entry's first answer and does not wait out redeliveries.
   * @default DELIVERY.workMaxReceiveCount
   */
  maxReceives?: number;
  /** A message the path gave up on: a failed trigger message, or a work message past its receives. */
  onFailure?: (what: string) => void;
}

interface Queued {
  id: string;
  body: string;
  visibleAt: number;
  receives: number;
  groupId?: string;
  dedupId?: string;
  /** Sent with a delay (a re-check, a resync shard, a write verification). */
  delayed: boolean;
}

/** The delayed trigger messages a drain ran: shards (re-checks, resync spread) and write verifications. */
export interface DelayedRun {
  shards: number;
  verifications: number;
}

const DEDUP_WINDOW_MS = 5 * 60_000;

/**
 * The longest wait for a work message's redelivery that a live run spends in real time: a Cloud
 * Map lag deferral hands its message back for 2 s (4 s after the fourth delivery), and Cloud Map's
 * lag is real time, so skipping it would decide against a Cloud Map that had no time to list the
 * task. Longer waits (a delayed trigger message, a failed message's 6-minute visibility) are skipped.
 */
export const REAL_WAIT_MAX_MS = 5_000;

/**
 * The clock of a live replay or plan: the wall clock plus the time skipped to reach delayed
 * messages. The functions' own waits (a retry's backoff) are real, and so is every duration they
 * measure; only the path's wait for its next message is skipped, unless it is a work message's
 * short redelivery (`REAL_WAIT_MAX_MS`). It only ever runs ahead, so what is cached by time (a
 * token, a secret, a service look-up) expires early, never late.
 */
export class SkippingClock {
  private ahead = 0;
  readonly now = (): number => Date.now() + this.ahead;
  readonly wait = async (ms: number, next: 'trigger' | 'work'): Promise<void> => {
    if (next === 'work' && ms <= REAL_WAIT_MAX_MS) return realSleep(ms);
    this.ahead += Math.max(0, ms);
  };
  /** The time skipped so far, ms. */
  skippedMs(): number {
    return this.ahead;
  }
}

export class DeployedPath {
  private readonly triggers: Queued[] = [];
  private readonly work: Queued[] = [];
  private readonly dedup = new Map<string, number>();
  /** Why each message of the fan-out batch in flight failed, by message id. */
  private failureReasons: Map<string, string> | undefined;
  private ids = 0;
  private readonly delayed: DelayedRun = { shards: 0, verifications: 0 };
  private readonly fanout: (
    event: unknown,
    context?: { getRemainingTimeInMillis(): number },
  ) => Promise<SQSBatchResponse>;
  private readonly worker: (
    event: unknown,
    context?: { getRemainingTimeInMillis(): number },
  ) => Promise<unknown>;

  /**
   * The worker's timeout: the deployed default, or, when this registry configuration needs more,
   * the least the construct accepts for it (infra/validation.ts) with 10 s of room, so that an
   * entry started a few milliseconds in still fits.
   */
  private readonly workerTimeoutMs: number;

  constructor(private readonly o: DeployedPathOptions) {
    const now = o.now;
    this.workerTimeoutMs = Math.max(
      DELIVERY.workerTimeoutSeconds * 1000,
      minFunctionTimeoutMs(deployedBudget(o.config.registry)) + 10_000,
    );
    this.fanout = createFanoutHandler({
      config: o.config,
      cloudMap: o.cloudMap,
      ecs: o.ecs,
      pages: o.reads.pages(),
      verifier: o.reads,
      logger: o.logger,
      metrics: o.metrics,
      now,
      sleep: o.sleep,
      queues: {
        sendWork: async (messages) => {
          for (const m of messages) {
            const seen = this.dedup.get(m.dedupId);
            if (seen !== undefined && now() - seen < DEDUP_WINDOW_MS) continue;
            this.dedup.set(m.dedupId, now());
            this.work.push({ ...this.message(m.body, 0), groupId: m.groupId, dedupId: m.dedupId });
          }
        },
        sendTriggers: async (messages) => {
          for (const m of messages) this.triggers.push(this.message(m.body, m.delaySeconds));
        },
      },
      ...(o.follow === undefined ? {} : { follow: o.follow }),
      ...(o.onCheck === undefined ? {} : { onCheck: o.onCheck }),
      ...(o.onIgnored === undefined ? {} : { onIgnored: o.onIgnored }),
      ...(o.onVerification === undefined ? {} : { onVerification: o.onVerification }),
      // Why each message of the running batch failed: the failure line says it (a fan-out that
      // cannot read the ownership table names the table).
      onFailure: (messageId, reason) => {
        if (messageId !== '') this.failureReasons?.set(messageId, reason);
        else this.o.onFailure?.(`the fan-out dropped a trigger record: ${reason}`);
      },
    }).handler;
    this.worker = createWorkerHandler({
      config: o.config,
      cloudMap: o.cloudMap,
      ecs: o.ecs,
      registry: o.registry,
      logger: o.logger,
      metrics: o.metrics,
      now,
      sleep: o.sleep,
      ...(o.onRecord === undefined ? {} : { onRecord: o.onRecord }),
      ...(o.follow === undefined ? {} : { follow: { ...o.follow, pages: o.reads.pages() } }),
      queue: {
        changeVisibility: async (message: WorkRecord, seconds: number) => {
          const m = this.work.find((w) => w.id === message.messageId);
          if (m !== undefined) m.visibleAt = now() + seconds * 1000;
        },
        sendTrigger: async (body: string, delaySeconds: number) => {
          this.triggers.push(this.message(body, delaySeconds));
        },
      },
    }).handler;
  }

  /** EventBridge events (or any trigger bodies) put on the trigger queue now. */
  send(bodies: readonly string[]): void {
    for (const body of bodies) this.triggers.push(this.message(body, 0));
  }

  /**
   * Work for the given entries straight on the work queue, as the fan-out would send it (one
   * message per entry's group): `plan` asks the worker about entries no registry page lists.
   */
  sendWork(entries: readonly EntryRef[], triggerId: string, body: string): void {
    for (const e of entries) {
      const groupId = entryGroupId({ kind: e.kind, path: e.path });
      this.work.push({ ...this.message(body, 0), groupId, dedupId: workDedupId(groupId, triggerId) });
    }
  }

  /**
   * A trigger-queue batch exactly as given (an SQS event made by hand, bodies of any type) to the
   * fan-out, as its event source mapping would hand it over; `drain` then runs what it sent.
   */
  async deliverTriggers(event: unknown): Promise<SQSBatchResponse> {
    const started = this.o.now();
    return this.fanout(event, {
      getRemainingTimeInMillis: () => DELIVERY.fanoutTimeoutSeconds * 1000 - (this.o.now() - started),
    });
  }

  /** Runs both functions until both queues are empty, letting the clock pass to each delayed message. */
  async drain(): Promise<void> {
    for (;;) {
      if (await this.runTriggers()) continue;
      if (await this.runWork()) continue;
      const nextTrigger = Math.min(...this.triggers.map((m) => m.visibleAt));
      const nextWork = Math.min(...this.work.map((m) => m.visibleAt));
      const next = Math.min(nextTrigger, nextWork);
      if (!Number.isFinite(next)) return;
      const ms = Math.max(0, next - this.o.now());
      if (this.o.wait === undefined) await this.o.sleep(ms);
      else await this.o.wait(ms, nextWork <= nextTrigger ? 'work' : 'trigger');
    }
  }

  /** The delayed trigger messages run since the path was built. */
  delayedRun(): DelayedRun {
    return { ...this.delayed };
  }

  private message(body: string, delaySeconds: number): Queued {
    return {
      id: `m${++this.ids}`,
      body,
      visibleAt: this.o.now() + delaySeconds * 1000,
      receives: 0,
      delayed: delaySeconds > 0,
    };
  }

  /** One fan-out batch of the visible trigger messages (up to the event source mapping's size). */
  private async runTriggers(): Promise<boolean> {
    const now = this.o.now();
    const batch = this.triggers.filter((m) => m.visibleAt <= now).slice(0, DELIVERY.fanoutBatchSize);
    if (batch.length === 0) return false;
    for (const m of batch) {
      this.triggers.splice(this.triggers.indexOf(m), 1);
      if (m.delayed) this.countDelayed(m.body);
    }
    const reasons = new Map<string, string>();
    this.failureReasons = reasons;
    const started = this.o.now();
    const answer = await this.fanout(
      { Records: batch.map((m) => ({ messageId: m.id, body: m.body, attributes: {} })) },
      { getRemainingTimeInMillis: () => DELIVERY.fanoutTimeoutSeconds * 1000 - (this.o.now() - started) },
    );
    this.failureReasons = undefined;
    for (const f of answer.batchItemFailures) {
      const m = batch.find((b) => b.id === f.itemIdentifier);
      const why = reasons.get(f.itemIdentifier);
      this.o.onFailure?.(
        `the fan-out could not handle a trigger message${why === undefined ? '' : ` (${why})`}: ${m?.body.slice(0, 200) ?? f.itemIdentifier}`,
      );
    }
    return true;
  }

  private countDelayed(body: string): void {
    try {
      const t = readTriggerMessage(body);
      if (t.type === 'shard') this.delayed.shards++;
      else if (t.type === 'verify') this.delayed.verifications++;
    } catch {
      // A malformed message of ours: the fan-out reports it.
    }
  }

  /**
   * One worker batch: the first visible message of each group not held back by an earlier one
   * (FIFO order within a group), up to the batch size.
   */
  private async runWork(): Promise<boolean> {
    const now = this.o.now();
    const blocked = new Set<string>();
    const batch: Queued[] = [];
    for (const m of this.work) {
      const group = m.groupId ?? '';
      if (blocked.has(group)) continue;
      if (m.visibleAt > now) {
        blocked.add(group);
        continue;
      }
      if (batch.length < DELIVERY.workBatchSize) batch.push(m);
    }
    if (batch.length === 0) return false;
    for (const m of batch) {
      m.receives++;
      m.visibleAt = now + DELIVERY.workVisibilitySeconds * 1000;
    }
    const started = this.o.now();
    const answer = (await this.worker(
      {
        Records: batch.map((m) => ({
          messageId: m.id,
          receiptHandle: m.id,
          body: m.body,
          attributes: { MessageGroupId: m.groupId, ApproximateReceiveCount: String(m.receives) },
        })),
      },
      { getRemainingTimeInMillis: () => this.workerTimeoutMs - (this.o.now() - started) },
    )) as SQSBatchResponse;
    const failed = new Set(answer.batchItemFailures.map((f) => f.itemIdentifier));
    for (const m of batch) {
      const i = this.work.indexOf(m);
      if (!failed.has(m.id)) this.work.splice(i, 1);
      else if (m.receives >= (this.o.maxReceives ?? DELIVERY.workMaxReceiveCount)) {
        this.work.splice(i, 1);
        this.o.onFailure?.(
          this.o.maxReceives === undefined
            ? `work message of ${m.groupId} went to the dead-letter queue after ${m.receives} receives`
            : `work message of ${m.groupId} handed back after ${m.receives} receive(s); not redelivered here`,
        );
      }
    }
    return true;
  }
}

export type { EntryRef };
