import { type Intake, parseEventText } from './event';
import type { Trigger } from './reconcile';
import { type LoggerLike, MetricName, type MetricsSink } from './telemetry';

/** One event of an invocation, in delivery order. */
export interface InvocationInput {
  /** The SQS message id, when the event came through the queue. */
  messageId?: string;
  /** The SQS message group (FIFO queues), when the event came through the queue. */
  groupId?: string;
  /** The SQS receipt handle, when the event came through the queue. */
  receiptHandle?: string;
  /** Deliveries so far (SQS `ApproximateReceiveCount`). */
  attempt: number;
  intake: Intake;
}

/** The records of an SQS batch of the work queue, in delivery order. */
export function readQueueRecords(records: readonly unknown[]): InvocationInput[] {
  return records.map((r: unknown): InvocationInput => {
    const rec = (typeof r === 'object' && r !== null ? r : {}) as {
      messageId?: unknown;
      receiptHandle?: unknown;
      body?: unknown;
      attributes?: { MessageGroupId?: unknown; ApproximateReceiveCount?: unknown };
    };
    const messageId = typeof rec.messageId === 'string' ? rec.messageId : undefined;
    const groupId =
      typeof rec.attributes?.MessageGroupId === 'string' ? rec.attributes.MessageGroupId : undefined;
    const attempt = Number(rec.attributes?.ApproximateReceiveCount ?? 1);
    const intake: Intake =
      typeof rec.body === 'string'
        ? parseEventText(rec.body)
        : { kind: 'malformed', reason: 'SQS record has no string body' };
    return {
      ...(messageId === undefined ? {} : { messageId }),
      ...(groupId === undefined ? {} : { groupId }),
      ...(typeof rec.receiptHandle === 'string' ? { receiptHandle: rec.receiptHandle } : {}),
      attempt: Number.isFinite(attempt) ? attempt : 1,
      intake,
    };
  });
}

/** An input dropped as malformed, as handed to `HandlerDeps.onMalformed`. */
export interface Malformed {
  source: number;
  reason: string;
  eventId?: string;
  messageId?: string;
}

/** Turns parsed inputs into triggers, reporting and counting the malformed ones (never retried, never written). */
export function toTriggers(
  inputs: InvocationInput[],
  logger: LoggerLike,
  metrics: MetricsSink,
  onMalformed?: (malformed: Malformed) => void,
): Trigger[] {
  const triggers: Trigger[] = [];
  inputs.forEach((input, source) => {
    const { intake, attempt } = input;
    if (intake.kind === 'malformed') {
      metrics.count(MetricName.EventsMalformed);
      const malformed = {
        reason: intake.reason,
        ...(intake.eventId === undefined ? {} : { eventId: intake.eventId }),
        ...(input.messageId === undefined ? {} : { messageId: input.messageId }),
      };
      logger.warn(`dropped malformed event: ${intake.reason}`, { malformed });
      onMalformed?.({ source, ...malformed });
    } else if (intake.kind === 'schedule') {
      triggers.push({
        type: 'schedule',
        eventId: intake.eventId,
        ...(intake.time === undefined ? {} : { time: intake.time }),
        source,
        attempt,
      });
    } else {
      triggers.push({ type: 'task', event: intake.event, source, attempt });
    }
  });
  return triggers;
}

/** Callbacks of the worker's wiring (wiring.ts). */
export interface HandlerDeps {
  /** Called when the invocation ends, success or not (Powertools Metrics publishes here). */
  flush?: () => void;
  /** Called with the invocation's first event id, to correlate log lines. */
  correlate?: (eventId: string) => void;
  /** Receives every input dropped as malformed. */
  onMalformed?: (malformed: Malformed) => void;
}

/** The part of the Lambda context the handler uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}
