import type { SQSBatchResponse } from 'aws-lambda';
import { type InvocationScope, invocationScope } from './adapters';
import type { InvocationReport, QueueMessage } from './eventbridge';
import type { Rng } from './rng';
import type { Scheduler } from './scheduler';

/**
 * The queues of the per-entry design, with SQS semantics:
 * - `FifoGroupQueue`: SQS FIFO with one message group per registry entry, consumed by a Lambda
 *   event source mapping. A group has at most one batch in flight; a message handed back keeps its
 *   group waiting until it is visible again (its own visibility, set per message by the handler);
 *   other groups go on. A batch takes the ready groups' messages in order, up to the batch size.
 *   The mapping scales its concurrent invocations with the groups that have work, up to
 *   `maxConcurrency`; each new execution environment costs a cold start. After `maxReceiveCount`
 *   receives a message goes to the DLQ (its group then moves on).
 * - `StandardQueue`: SQS standard with per-message DelaySeconds, consumed by the fan-out Lambda.
 */

export interface GroupMessage extends QueueMessage {
  groupId: string;
  dedupId: string;
}

export interface QueueSettings {
  batchSize: number;
  visibilityTimeoutMs: number;
  maxReceiveCount: number;
  timeoutMs: number;
  pollMs: readonly [number, number];
  maxConcurrency: number;
  coldStartMs: readonly [number, number];
}

export interface SqsControl {
  /** ChangeMessageVisibility on one received message. */
  changeVisibility(messageId: string, seconds: number): void;
}

export type EnvHandler = (
  event: unknown,
  context: { getRemainingTimeInMillis(): number },
  sqs: SqsControl,
) => Promise<unknown>;

const DEDUP_WINDOW_MS = 5 * 60_000;

abstract class LambdaConsumer<M extends QueueMessage> {
  protected busy = 0;
  private pollScheduled = false;
  private invocationIds = 0;
  private readonly free: EnvHandler[] = [];
  environments = 0;
  readonly dlq: M[] = [];
  readonly counts = {
    sent: 0,
    deduplicated: 0,
    received: 0,
    redelivered: 0,
    invocations: 0,
    timeouts: 0,
    failedMessages: 0,
    coldStarts: 0,
  };
  readonly waits: number[] = [];
  readonly durations: number[] = [];
  maxInFlight = 0;
  onInvocation: ((report: InvocationReport) => void) | undefined;
  onInvocationStart: ((id: number, messages: QueueMessage[]) => void) | undefined;

  constructor(
    protected readonly sched: Scheduler,
    protected readonly rng: Rng,
    protected readonly settings: QueueSettings,
    private readonly newEnvironment: () => EnvHandler,
    private readonly arn: string,
  ) {}

  abstract get depth(): number;
  get inFlight(): number {
    return this.busy;
  }
  protected abstract receive(now: number): M[];
  protected abstract settle(batch: M[], failed: Set<string>, now: number): void;
  protected abstract attributes(m: M): Record<string, string>;
  protected abstract visibility(messageId: string, ms: number): void;

  protected kick(at?: number): void {
    if (at !== undefined) {
      this.sched.at(at, () => this.kick());
      return;
    }
    if (this.pollScheduled) return;
    this.pollScheduled = true;
    this.sched.after(this.rng.ms(this.settings.pollMs), () => {
      this.pollScheduled = false;
      this.poll();
    });
  }

  private poll(): void {
    while (this.busy < this.settings.maxConcurrency) {
      const batch = this.receive(this.sched.now());
      if (batch.length === 0) return;
      this.invoke(batch);
    }
  }

  protected noteReceived(m: M, now: number): void {
    m.receiveCount++;
    m.visibleAt = now + this.settings.visibilityTimeoutMs;
    if (m.firstReceivedAt === undefined) {
      m.firstReceivedAt = now;
      this.waits.push(now - m.sentAt);
    } else this.counts.redelivered++;
    this.counts.received++;
  }

  private invoke(batch: M[]): void {
    this.busy++;
    this.maxInFlight = Math.max(this.maxInFlight, this.busy);
    this.counts.invocations++;
    let handler = this.free.pop();
    let cold = 0;
    if (handler === undefined) {
      handler = this.newEnvironment();
      this.environments++;
      this.counts.coldStarts++;
      cold = this.rng.ms(this.settings.coldStartMs);
    }
    const env = handler;
    const scope: InvocationScope = { id: ++this.invocationIds, dead: false };
    const startedAt = this.sched.now();
    const deadline = startedAt + cold + this.settings.timeoutMs;
    scope.remainingMs = () => deadline - this.sched.now();
    let finished = false;
    const finish = (failed: Set<string>, timedOut: boolean) => {
      if (finished) return;
      finished = true;
      this.busy--;
      this.free.push(env);
      const endedAt = this.sched.now();
      this.durations.push(endedAt - startedAt);
      this.counts.failedMessages += batch.filter((m) => failed.has(m.messageId)).length;
      this.settle(batch, failed, endedAt);
      this.onInvocation?.({ id: scope.id, startedAt, endedAt, messages: batch, failed, timedOut });
      this.kick();
    };
    const event = {
      Records: batch.map((m) => ({
        messageId: m.messageId,
        receiptHandle: `rh-${m.messageId}-${m.receiveCount}`,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          ...this.attributes(m),
        },
        messageAttributes: {},
        eventSource: 'aws:sqs',
        eventSourceARN: this.arn,
        awsRegion: 'us-west-2',
      })),
    };
    const sqs: SqsControl = { changeVisibility: (id, seconds) => this.visibility(id, seconds * 1000) };
    this.sched.after(cold + this.settings.timeoutMs, () => {
      if (finished) return;
      scope.dead = true;
      this.counts.timeouts++;
      finish(new Set(batch.map((m) => m.messageId)), true);
    });
    this.sched.after(cold, () => {
      this.onInvocationStart?.(scope.id, batch);
      invocationScope
        .run(scope, () => env(event, { getRemainingTimeInMillis: () => deadline - this.sched.now() }, sqs))
        .then(
          (response) => {
            const failures = (response as SQSBatchResponse | undefined)?.batchItemFailures ?? [];
            finish(new Set(failures.map((f) => f.itemIdentifier)), false);
          },
          () => finish(new Set(batch.map((m) => m.messageId)), false),
        );
    });
  }
}

export class FifoGroupQueue extends LambdaConsumer<GroupMessage> {
  private readonly groups = new Map<string, GroupMessage[]>();
  /** Groups with a visible head and no batch in flight, in the order they became ready. */
  private readonly ready = new Set<string>();
  private readonly locked = new Set<string>();
  private readonly byId = new Map<string, GroupMessage>();
  private readonly dedup = new Map<string, number>();
  private seq = 0;
  private size = 0;
  /** Dead-lettered messages per group. */
  readonly dlqByGroup = new Map<string, number>();
  /** Every group a message was sent to. */
  readonly groupsSeen = new Set<string>();

  constructor(sched: Scheduler, rng: Rng, settings: QueueSettings, newEnvironment: () => EnvHandler) {
    super(
      sched,
      rng,
      settings,
      newEnvironment,
      'arn:aws:sqs:us-west-2:111122223333:registry-reconciler-work.fifo',
    );
  }

  get depth(): number {
    return this.size;
  }

  get groupCount(): number {
    return this.groups.size;
  }

  send(groupId: string, dedupId: string, body: string): void {
    const now = this.sched.now();
    const seen = this.dedup.get(dedupId);
    if (seen !== undefined && now - seen < DEDUP_WINDOW_MS) {
      this.counts.deduplicated++;
      return;
    }
    this.dedup.set(dedupId, now);
    if (this.dedup.size > 200_000) this.pruneDedup(now);
    this.counts.sent++;
    this.groupsSeen.add(groupId);
    const seq = this.seq++;
    const m: GroupMessage = {
      messageId: `w-${String(seq).padStart(7, '0')}-${this.rng.hex(6)}`,
      body,
      seq,
      sentAt: now,
      receiveCount: 0,
      visibleAt: now,
      groupId,
      dedupId,
    };
    let list = this.groups.get(groupId);
    if (list === undefined) {
      list = [];
      this.groups.set(groupId, list);
    }
    list.push(m);
    this.byId.set(m.messageId, m);
    this.size++;
    if (list.length === 1 && !this.locked.has(groupId)) this.ready.add(groupId);
    this.kick();
  }

  private pruneDedup(now: number): void {
    for (const [k, at] of this.dedup) if (now - at >= DEDUP_WINDOW_MS) this.dedup.delete(k);
  }

  protected attributes(m: GroupMessage): Record<string, string> {
    return { MessageGroupId: m.groupId, MessageDeduplicationId: m.dedupId };
  }

  protected visibility(messageId: string, ms: number): void {
    const m = this.byId.get(messageId);
    if (m !== undefined) m.visibleAt = this.sched.now() + ms;
  }

  protected receive(now: number): GroupMessage[] {
    const batch: GroupMessage[] = [];
    for (const g of this.ready) {
      if (batch.length >= this.settings.batchSize) break;
      this.ready.delete(g);
      const list = this.groups.get(g) ?? [];
      this.redrive(g, list);
      if (list.length === 0) {
        this.groups.delete(g);
        continue;
      }
      this.locked.add(g);
      for (const m of list) {
        if (batch.length >= this.settings.batchSize) break;
        this.noteReceived(m, now);
        batch.push(m);
      }
    }
    return batch;
  }

  /** Heads received maxReceiveCount times go to the DLQ when they are about to be received again. */
  private redrive(g: string, list: GroupMessage[]): void {
    while (list.length > 0 && (list[0] as GroupMessage).receiveCount >= this.settings.maxReceiveCount) {
      const m = list.shift() as GroupMessage;
      this.byId.delete(m.messageId);
      this.size--;
      this.dlq.push(m);
      this.dlqByGroup.set(g, (this.dlqByGroup.get(g) ?? 0) + 1);
    }
  }

  protected settle(batch: GroupMessage[], failed: Set<string>, now: number): void {
    const touched = new Set<string>();
    for (const m of batch) {
      touched.add(m.groupId);
      if (failed.has(m.messageId)) continue;
      const list = this.groups.get(m.groupId) ?? [];
      const i = list.indexOf(m);
      if (i >= 0) list.splice(i, 1);
      this.byId.delete(m.messageId);
      this.size--;
    }
    for (const g of touched) {
      this.locked.delete(g);
      const list = this.groups.get(g) ?? [];
      if (list.length === 0) {
        this.groups.delete(g);
        continue;
      }
      const head = list[0] as GroupMessage;
      if (head.visibleAt <= now) this.ready.add(g);
      else
        this.sched.at(head.visibleAt, () => {
          const l = this.groups.get(g);
          if (
            l !== undefined &&
            l.length > 0 &&
            !this.locked.has(g) &&
            (l[0] as GroupMessage).visibleAt <= this.sched.now()
          ) {
            this.ready.add(g);
            this.kick();
          }
        });
    }
  }
}

export class StandardQueue extends LambdaConsumer<QueueMessage> {
  private readonly messages: QueueMessage[] = [];
  private seq = 0;

  constructor(sched: Scheduler, rng: Rng, settings: QueueSettings, newEnvironment: () => EnvHandler) {
    super(
      sched,
      rng,
      settings,
      newEnvironment,
      'arn:aws:sqs:us-west-2:111122223333:registry-reconciler-triggers',
    );
  }

  get depth(): number {
    return this.messages.length;
  }

  /** SendMessage with DelaySeconds (0–900). */
  send(body: string, delaySeconds = 0): void {
    if (delaySeconds < 0 || delaySeconds > 900)
      throw new Error(`DelaySeconds must be 0–900, got ${delaySeconds}`);
    const now = this.sched.now();
    this.counts.sent++;
    const seq = this.seq++;
    const visibleAt = now + delaySeconds * 1000;
    this.messages.push({
      messageId: `t-${String(seq).padStart(7, '0')}-${this.rng.hex(6)}`,
      body,
      seq,
      sentAt: visibleAt,
      receiveCount: 0,
      visibleAt,
    });
    this.kick(visibleAt > now ? visibleAt : undefined);
  }

  protected attributes(): Record<string, string> {
    return {};
  }

  protected visibility(messageId: string, ms: number): void {
    const m = this.messages.find((x) => x.messageId === messageId);
    if (m !== undefined) m.visibleAt = this.sched.now() + ms;
  }

  protected receive(now: number): QueueMessage[] {
    const batch: QueueMessage[] = [];
    for (let i = 0; i < this.messages.length && batch.length < this.settings.batchSize; i++) {
      const m = this.messages[i] as QueueMessage;
      if (m.visibleAt > now) continue;
      if (m.receiveCount >= this.settings.maxReceiveCount) {
        this.messages.splice(i--, 1);
        this.dlq.push(m);
        continue;
      }
      this.noteReceived(m, now);
      batch.push(m);
    }
    return batch;
  }

  protected settle(batch: QueueMessage[], failed: Set<string>): void {
    const done = new Set(batch.filter((m) => !failed.has(m.messageId)));
    for (let i = this.messages.length - 1; i >= 0; i--)
      if (done.has(this.messages[i] as QueueMessage)) this.messages.splice(i, 1);
    for (const m of batch) if (failed.has(m.messageId)) this.kick(m.visibleAt);
  }
}
