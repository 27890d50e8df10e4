import type { SQSBatchItemFailure, SQSBatchResponse } from 'aws-lambda';
import { DEFAULTS, realSleep } from './defaults';
import { RetryableError } from './errors';
import { type Intake, MAX_EVENT_BYTES, parseEvent, parseEventText } from './event';
import type { ReconcileOutcome, Reconciler, Trigger } from './reconcile';
import { type LoggerLike, MetricName, type MetricsSink } from './telemetry';

/** One event of an invocation, in delivery order. */
export interface InvocationInput {
  /** The SQS message id, when the event came through the queue. */
  messageId?: string;
  /** The SQS message group (FIFO queues), when the event came through the queue. */
  groupId?: string;
  /** The SQS receipt handle, when the event came through the queue. */
  receiptHandle?: string;
  /** Deliveries so far (SQS `ApproximateReceiveCount`; 1 for a direct invocation). */
  attempt: number;
  intake: Intake;
}

/** What the Lambda receives: an SQS batch (the deployed path) or one EventBridge event (direct invocation). */
export function readInvocation(event: unknown): { inputs: InvocationInput[]; fromQueue: boolean } {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (Array.isArray(records)) {
    return {
      fromQueue: true,
      inputs: records.map((r: unknown): InvocationInput => {
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
      }),
    };
  }
  return { fromQueue: false, inputs: [{ attempt: 1, intake: parseDirectEvent(event) }] };
}

/**
 * A direct invocation gets the size limit a queued body gets: EventBridge never delivers more
 * than MAX_EVENT_BYTES, so a larger (or unserialisable) event did not come from it.
 */
function parseDirectEvent(event: unknown): Intake {
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(event) ?? '', 'utf8');
  } catch (error) {
    return { kind: 'malformed', reason: `event cannot be measured: ${String(error)}` };
  }
  if (bytes > MAX_EVENT_BYTES) {
    return { kind: 'malformed', reason: `payload of ${bytes} bytes exceeds ${MAX_EVENT_BYTES}` };
  }
  return parseEvent(event);
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

/**
 * SQS FIFO keeps order only if a failed message and everything after it in the batch go back to
 * the queue together, so every message from the first one that needs a retry is reported failed.
 */
export function batchFailures(
  inputs: InvocationInput[],
  retrySources: ReadonlySet<number>,
): SQSBatchItemFailure[] {
  if (retrySources.size === 0) return [];
  const first = Math.min(...retrySources);
  return inputs
    .slice(first)
    .flatMap((i) => (i.messageId === undefined ? [] : [{ itemIdentifier: i.messageId }]));
}

export interface HandlerDeps {
  reconciler: Reconciler;
  logger: LoggerLike;
  metrics: MetricsSink;
  /** Called when the invocation ends, success or not (Powertools Metrics publishes here). */
  flush?: () => void;
  /** Called with the invocation's first event id, to correlate log lines. */
  correlate?: (eventId: string) => void;
  /** Retries inside the invocation before failures go back to the queue (off when absent). */
  retry?: InvocationRetry;
  /** Receives every input dropped as malformed. */
  onMalformed?: (malformed: Malformed) => void;
}

/**
 * Extra rounds for the targets whose reconcile asked for a retry (a throttled read, a registry
 * 5xx that outlasted the client's own attempts, Cloud Map lag), run in the same invocation after a
 * short wait. Why: with one FIFO message group, a message handed back to the queue blocks every
 * later message, for every target, until its visibility timeout ends (minutes); a few seconds
 * here cost far less. Each round reads everything afresh. Whatever still fails goes back to the
 * queue exactly as before.
 */
export interface InvocationRetry {
  /** The wait before each extra round, e.g. `[2000, 5000]` for two more rounds. */
  delaysMs: readonly number[];
  /** Start a round only while the invocation has at least this much time left after the wait. @default DEFAULTS.retryMinRemainingMs */
  minRemainingMs?: number;
  /** @default real time */
  sleep?: (ms: number) => Promise<void>;
}

/** The part of the Lambda context the handler uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** What a direct (non-queue) invocation returns. */
export interface DirectResult {
  outcome: ReconcileOutcome;
}

/**
 * The Lambda handler, built from its dependencies so tests can pass their own. Queue invocations
 * answer with `batchItemFailures`; direct invocations throw a `RetryableError` when a retry can
 * help, so Lambda's own retries apply.
 */
export function createHandler(
  deps: HandlerDeps,
): (event: unknown, context?: InvocationContext) => Promise<SQSBatchResponse | DirectResult> {
  return async (event: unknown, context?: InvocationContext) => {
    try {
      const { inputs, fromQueue } = readInvocation(event);
      deps.metrics.count(MetricName.EventsReceived, inputs.length);
      const firstId = inputs
        .map((i) => (i.intake.kind === 'malformed' ? undefined : eventIdOf(i.intake)))
        .find(Boolean);
      if (firstId !== undefined) deps.correlate?.(firstId);
      const triggers = toTriggers(inputs, deps.logger, deps.metrics, deps.onMalformed);
      let outcome = await deps.reconciler.reconcile(triggers);
      if (deps.retry !== undefined)
        outcome = await retryInside(deps.retry, deps.reconciler, triggers, outcome, context);
      if (fromQueue) return { batchItemFailures: batchFailures(inputs, outcome.retrySources) };
      if (outcome.retrySources.size > 0) {
        const reasons = outcome.records
          .filter((r) => r.retryable)
          .map((r) => `${r.target.path}: ${r.reason}`);
        throw new RetryableError(`retry needed (${reasons.join('; ') || 'ECS service lookup failed'})`);
      }
      return { outcome };
    } finally {
      deps.flush?.();
    }
  };
}

/** Runs the extra rounds of `InvocationRetry` and folds them into one outcome. */
async function retryInside(
  retry: InvocationRetry,
  reconciler: Reconciler,
  triggers: Trigger[],
  first: ReconcileOutcome,
  context: InvocationContext | undefined,
): Promise<ReconcileOutcome> {
  const sleep = retry.sleep ?? realSleep;
  const minRemaining = retry.minRemainingMs ?? DEFAULTS.retryMinRemainingMs;
  let outcome = first;
  for (const delay of retry.delaysMs) {
    if (outcome.retrySources.size === 0) break;
    if (context !== undefined && context.getRemainingTimeInMillis() < delay + minRemaining) break;
    await sleep(delay);
    const again = triggers.filter((t) => outcome.retrySources.has(t.source));
    const next = await reconciler.reconcile(again);
    outcome = {
      records: [...outcome.records, ...next.records],
      // Ignored triggers that were retried are reported by the round that settled them.
      ignored: [...outcome.ignored.filter((i) => !outcome.retrySources.has(i.source)), ...next.ignored],
      retrySources: next.retrySources,
    };
  }
  return outcome;
}

function eventIdOf(intake: Exclude<Intake, { kind: 'malformed' }>): string {
  return intake.kind === 'task' ? intake.event.eventId : intake.eventId;
}
