import type { SQSBatchResponse } from 'aws-lambda';
import { type InvocationScope, invocationScope } from './adapters';
import type { ChaosKnobs } from './knobs';
import type { Rng } from './rng';
import type { Scheduler } from './scheduler';

/**
 * Delivery as deployed: EventBridge (latency, jitter, late events, duplicates, losses) puts each
 * event into one SQS queue; the Lambda event source mapping polls it and invokes the handler with
 * batches. As deployed the queue is FIFO with one fixed message group and content-based
 * deduplication, so batches run one at a time, in order, and a batch that reports failures blocks
 * the group until the failed messages' visibility timeout ends. The `standard` mode is the
 * counterfactual: a standard queue, no deduplication, best-effort order, several invocations at once.
 */

export interface QueueMessage {
  messageId: string;
  body: string;
  seq: number;
  sentAt: number;
  receiveCount: number;
  /** When the message can be received again (after a receive: the end of its visibility timeout). */
  visibleAt: number;
  firstReceivedAt?: number;
}

const DEDUP_WINDOW_MS = 5 * 60_000;

export class EventBus {
  readonly counts = { put: 0, delivered: 0, lost: 0, duplicated: 0, delayed: 0 };
  /** Events on their way to the queue. */
  pending = 0;

  constructor(
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly knobs: ChaosKnobs['eventBridge'],
    private readonly target: (body: string) => void,
  ) {}

  /** Puts an event on the bus. `reliable` events (the scheduled resync) are never lost or duplicated. */
  put(event: { id: string }, reliable = false): void {
    this.counts.put++;
    if (!reliable && this.rng.chance(this.knobs.lossRate)) {
      this.counts.lost++;
      return;
    }
    this.deliver(JSON.stringify(event));
    if (!reliable && this.rng.chance(this.knobs.duplicateRate)) {
      this.counts.duplicated++;
      const identical = this.rng.chance(this.knobs.identicalDuplicateShare);
      const copy = identical ? event : { ...event, id: `${event.id.slice(0, 24)}${this.rng.hex(12)}` };
      this.deliver(JSON.stringify(copy), this.rng.ms([0, 20_000]));
    }
  }

  private deliver(body: string, extraMs = 0): void {
    let delay = this.rng.ms(this.knobs.latencyMs) + extraMs;
    if (this.knobs.reorderJitterMs > 0) delay += this.rng.ms([0, this.knobs.reorderJitterMs]);
    if (this.rng.chance(this.knobs.delayRate)) {
      this.counts.delayed++;
      delay += this.rng.ms([0, this.knobs.delayMaxMs]);
    }
    this.pending++;
    this.sched.after(delay, () => {
      this.pending--;
      this.counts.delivered++;
      this.target(body);
    });
  }
}

/** What an invocation did, for the measures. */
export interface InvocationReport {
  id: number;
  startedAt: number;
  endedAt: number;
  messages: QueueMessage[];
  failed: Set<string>;
  timedOut: boolean;
}

export type BatchHandler = (
  event: unknown,
  context: { getRemainingTimeInMillis(): number },
) => Promise<unknown>;

export class LambdaQueue {
  private readonly messages: QueueMessage[] = [];
  private readonly dedup = new Map<string, number>();
  private seq = 0;
  private busy = 0;
  private pollScheduled = false;
  private invocationIds = 0;
  /** One handler per warm execution environment. */
  private readonly free: BatchHandler[];
  readonly dlq: QueueMessage[] = [];
  readonly counts = {
    sent: 0,
    deduplicated: 0,
    received: 0,
    redelivered: 0,
    invocations: 0,
    timeouts: 0,
    failedMessages: 0,
  };
  /** Per message: time from being sent to its first receive. */
  readonly waits: number[] = [];
  readonly durations: number[] = [];
  onInvocation: ((report: InvocationReport) => void) | undefined;
  onInvocationStart: ((id: number, messages: QueueMessage[]) => void) | undefined;

  constructor(
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly knobs: ChaosKnobs['lambda'],
    handlers: BatchHandler[],
  ) {
    this.free = [...handlers];
  }

  get fifo(): boolean {
    return this.knobs.queue === 'fifo';
  }

  /** How many invocations may run at once. */
  get limit(): number {
    return this.fifo ? 1 : Math.max(1, this.knobs.concurrency);
  }

  /** Messages not yet deleted (in flight or waiting). */
  get depth(): number {
    return this.messages.length;
  }

  get inFlight(): number {
    return this.busy;
  }

  send(body: string): void {
    const now = this.sched.now();
    if (this.fifo) {
      // Content-based deduplication: the same body within five minutes is accepted and dropped.
      const seen = this.dedup.get(body);
      if (seen !== undefined && now - seen < DEDUP_WINDOW_MS) {
        this.counts.deduplicated++;
        return;
      }
      this.dedup.set(body, now);
    }
    this.counts.sent++;
    const seq = this.seq++;
    this.messages.push({
      messageId: `m-${String(seq).padStart(6, '0')}-${this.rng.hex(8)}`,
      body,
      seq,
      sentAt: now,
      receiveCount: 0,
      visibleAt: now,
    });
    this.kick();
  }

  /** Lets the event source mapping look for work soon. */
  private kick(at?: number): void {
    if (at !== undefined) {
      this.sched.at(at, () => this.kick());
      return;
    }
    if (this.pollScheduled) return;
    this.pollScheduled = true;
    this.sched.after(this.rng.ms(this.knobs.pollMs), () => {
      this.pollScheduled = false;
      this.poll();
    });
  }

  private poll(): void {
    while (this.busy < this.limit && this.free.length > 0) {
      const batch = this.receive();
      if (batch.length === 0) return;
      this.invoke(batch);
    }
  }

  private receive(): QueueMessage[] {
    const now = this.sched.now();
    this.redrive(now);
    let batch: QueueMessage[];
    if (this.fifo) {
      // One message group: nothing is delivered while an earlier message of the group is in
      // flight (received and not yet deleted, or returned and still invisible).
      batch = [];
      for (const m of this.messages) {
        if (m.visibleAt > now) break;
        batch.push(m);
        if (batch.length >= this.knobs.batchSize) break;
      }
    } else {
      const visible = this.messages.filter((m) => m.visibleAt <= now);
      batch = this.rng.shuffle(visible).slice(0, this.knobs.batchSize);
    }
    for (const m of batch) {
      m.receiveCount++;
      m.visibleAt = now + this.knobs.visibilityTimeoutMs;
      if (m.firstReceivedAt === undefined) {
        m.firstReceivedAt = now;
        this.waits.push(now - m.sentAt);
      } else this.counts.redelivered++;
      this.counts.received++;
    }
    return batch;
  }

  /** Messages received `maxReceiveCount` times and visible again go to the dead-letter queue. */
  private redrive(now: number): void {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const m = this.messages[i] as QueueMessage;
      if (m.visibleAt <= now && m.receiveCount >= this.knobs.maxReceiveCount) {
        this.messages.splice(i, 1);
        this.dlq.push(m);
      }
    }
  }

  private invoke(batch: QueueMessage[]): void {
    const handler = this.free.pop() as BatchHandler;
    this.busy++;
    this.counts.invocations++;
    const scope: InvocationScope = { id: ++this.invocationIds, dead: false };
    const startedAt = this.sched.now();
    this.onInvocationStart?.(scope.id, batch);
    let finished = false;
    const finish = (failed: Set<string>, timedOut: boolean) => {
      if (finished) return;
      finished = true;
      this.busy--;
      this.free.push(handler);
      const endedAt = this.sched.now();
      this.durations.push(endedAt - startedAt);
      const failedMessages = batch.filter((m) => failed.has(m.messageId));
      this.counts.failedMessages += failedMessages.length;
      const done = new Set(batch.filter((m) => !failed.has(m.messageId)));
      for (let i = this.messages.length - 1; i >= 0; i--) {
        if (done.has(this.messages[i] as QueueMessage)) this.messages.splice(i, 1);
      }
      for (const m of failedMessages) this.kick(m.visibleAt);
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
          ...(this.fifo ? { MessageGroupId: 'reconcile' } : {}),
        },
        messageAttributes: {},
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:us-west-2:111122223333:registry-reconciler${this.fifo ? '.fifo' : ''}`,
        awsRegion: 'us-west-2',
      })),
    };
    // The function timeout: a late invocation is frozen and its whole batch comes back.
    this.sched.after(this.knobs.timeoutMs, () => {
      if (finished) return;
      scope.dead = true;
      this.counts.timeouts++;
      finish(new Set(batch.map((m) => m.messageId)), true);
    });
    invocationScope
      .run(scope, () =>
        handler(event, {
          getRemainingTimeInMillis: () => startedAt + this.knobs.timeoutMs - this.sched.now(),
        }),
      )
      .then(
        (response) => {
          const failures = (response as SQSBatchResponse | undefined)?.batchItemFailures ?? [];
          finish(new Set(failures.map((f) => f.itemIdentifier)), false);
        },
        // An unhandled error fails the whole batch.
        () => finish(new Set(batch.map((m) => m.messageId)), false),
      );
  }
}
