import type { SQSBatchItemFailure, SQSBatchResponse } from 'aws-lambda';
import type { ReconcilerConfig } from '../lib/config/config';
import { DEFAULTS, realSleep } from '../lib/config/defaults';
import { parseEventText } from '../lib/delivery/event';
import { readTriggerMessage, type TriggerMessage } from '../lib/delivery/messages';
import { DELIVERY } from '../lib/delivery/settings';
import { describeError } from '../lib/errors';
import { NO_COUNT } from '../lib/reconcile/ports';
import { type LoggerLike, type MetricsSink, NO_METRICS, SILENT_LOGGER } from '../lib/telemetry/telemetry';
import { BatchingEcs } from './ecs-batcher';
import { Fanout, type FanoutDeps } from './fanout';
import { DEFAULT_RECHECK } from './recheck';

/**
 * The one place that assembles the fan-out: the Lambda passes the real adapters (handler.ts), the
 * simulation and the tests their own. What `options` leaves out gets the deployed settings
 * (functions/lib/delivery/settings.ts). The ECS port is wrapped so a shard's DescribeTasks
 * calls share calls of up to 100 ids (each entry in flight holds a seat: see the Reconciler).
 */
export type FanoutOptions = Pick<
  FanoutDeps,
  'config' | 'cloudMap' | 'ecs' | 'pages' | 'verifier' | 'queues'
> &
  Partial<Omit<FanoutDeps, 'config' | 'cloudMap' | 'ecs' | 'pages' | 'verifier' | 'queues' | 'follow'>> & {
    /** Follow mode: the ownership table and the adopter. */
    follow?: FanoutDeps['follow'];
    /** The longest a DescribeTasks call waits for entries still working to ask. @default DELIVERY.ecsBatchWindowMs */
    ecsBatchWindowMs?: number;
    /**
     * Every message the handler could not handle, with why (also logged at ERROR): the replay puts
     * the reason in its failure line. A record with no message id comes with id ''.
     */
    onFailure?: (messageId: string, reason: string) => void;
  };

/** The published sustained rates the resync spread is sized on (README, "API limits"). */
export const PUBLISHED_RATES = { discoverInstancesPerSecond: 1_000, describeTasksPerSecond: 20 } as const;

export type FanoutHandler = (
  event: unknown,
  context?: { getRemainingTimeInMillis(): number },
) => Promise<SQSBatchResponse>;

export function createFanout(options: FanoutOptions): Fanout {
  const sleep = options.sleep ?? realSleep;
  return new Fanout({
    ...options,
    // Without a given sleep the batcher uses its own timer, cleared when a batch goes out early.
    ecs: new BatchingEcs(options.ecs, {
      windowMs: options.ecsBatchWindowMs ?? DELIVERY.ecsBatchWindowMs,
      ...(options.sleep === undefined ? {} : { sleep }),
    }),
    logger: options.logger ?? SILENT_LOGGER,
    metrics: options.metrics ?? NO_METRICS,
    now: options.now ?? Date.now,
    isoNow: options.isoNow ?? (() => new Date((options.now ?? Date.now)()).toISOString()),
    sleep,
    rates: options.rates ?? PUBLISHED_RATES,
    pageSize: options.pageSize ?? DELIVERY.pageSize,
    // The schedule's rate (the configuration's resyncMinutes): a resync's shards are spread within it.
    resyncPeriodSeconds: options.resyncPeriodSeconds ?? options.config.resyncMinutes * 60,
    rateShare: options.rateShare ?? DELIVERY.resyncRateShare,
    recheck: options.recheck ?? DEFAULT_RECHECK,
    shardParallelism: options.shardParallelism ?? 25,
    serviceCacheTtlMs: options.serviceCacheTtlMs ?? DEFAULTS.serviceCacheTtlMs,
  });
}

/**
 * The fan-out's handler: each trigger-queue message on its own (a standard queue has no order),
 * so a failure hands back that message alone. Sends are idempotent per entry and trigger (the work
 * queue deduplicates), so a message that failed halfway is safe to run again.
 */
export function createFanoutHandler(options: FanoutOptions): {
  handler: FanoutHandler;
  fanout: Fanout;
  logger: LoggerLike;
  metrics: MetricsSink;
} {
  const fanout = createFanout(options);
  const logger = options.logger ?? SILENT_LOGGER;
  const handler: FanoutHandler = async (event, context) => {
    const records = (event as { Records?: unknown } | null)?.Records;
    if (!Array.isArray(records)) throw new Error('the fan-out consumes SQS batches only (no Records)');
    const batchItemFailures: SQSBatchItemFailure[] = [];
    // A record without a message id (never from SQS) is named by its place in the batch.
    const label = (id: string, i: number): string =>
      id !== '' ? id : `(record ${i + 1} of ${records.length}, no messageId)`;
    const fail = (id: string, error: unknown, index: number) => {
      const reason = describeError(error);
      logger.error(`fan-out could not handle message ${label(id, index)}: ${reason}`);
      options.onFailure?.(id, reason);
      if (id !== '') batchItemFailures.push({ itemIdentifier: id });
    };
    const parsed: { id: string; m: TriggerMessage; i: number }[] = [];
    for (const [i, r] of (records as unknown[]).entries()) {
      // A record that is no object (null, a number, an array: never from SQS) is malformed: it has
      // no id to hand back, so it is dropped, logged with its place, and the rest goes on.
      if (typeof r !== 'object' || r === null || Array.isArray(r)) {
        const what = r === null ? 'null' : Array.isArray(r) ? 'an array' : `a ${typeof r}`;
        fail('', new Error(`malformed: ${what}, not an object; dropped: SQS record has no string body`), i);
        continue;
      }
      const rec = r as { messageId?: unknown; body?: unknown };
      const id = typeof rec.messageId === 'string' ? rec.messageId : '';
      try {
        if (typeof rec.body !== 'string') throw new Error('SQS record has no string body');
        parsed.push({ id, m: readTriggerMessage(rec.body), i });
      } catch (error) {
        fail(id, error, i);
      }
    }
    /** Handles one message; false when it failed (and was reported). */
    const run = async ({ id, m, i }: { id: string; m: TriggerMessage; i: number }): Promise<boolean> => {
      try {
        if (m.type === 'shard') await fanout.shard(m.shard, NO_COUNT);
        else if (m.type === 'sweep') await fanout.sweep(m.sweep);
        else if (m.type === 'verify') await fanout.verify(m.verify, NO_COUNT);
        else await fanout.event(m.body);
        return true;
      } catch (error) {
        fail(id, error, i);
        return false;
      }
    };
    // Events and verifications are a few short calls each: together, each event id once (EventBridge
    // delivers at least once: copies in one batch share one look-up and one send, and fail together).
    // Shards, one at a time after them: a batch's shard checks never add up their look-ups against
    // the API limits, and one is started only while the invocation has time for it (else it comes
    // back after the visibility timeout).
    const copies = new Map<string, { id: string; m: TriggerMessage; i: number }[]>();
    parsed.forEach((p, i) => {
      if (p.m.type === 'shard') return;
      const key = (p.m.type === 'event' ? eventKey(p.m.body) : undefined) ?? `message ${i}`;
      copies.set(key, [...(copies.get(key) ?? []), p]);
    });
    await Promise.all(
      [...copies.values()].map(async (same) => {
        const ok = await run(same[0] as { id: string; m: TriggerMessage; i: number });
        if (!ok)
          for (const p of same.slice(1)) if (p.id !== '') batchItemFailures.push({ itemIdentifier: p.id });
      }),
    );
    for (const p of parsed.filter((q) => q.m.type === 'shard')) {
      if (context !== undefined && context.getRemainingTimeInMillis() < DELIVERY.fanoutReserveMs) {
        if (p.id !== '') batchItemFailures.push({ itemIdentifier: p.id });
        continue;
      }
      await run(p);
    }
    return { batchItemFailures };
  };
  return { handler, fanout, logger, metrics: options.metrics ?? NO_METRICS };
}

/**
 * What makes two EventBridge bodies copies of one event: its id, with the task change it reports
 * (a body reusing an id for another change is handled on its own); undefined for a body the intake
 * refuses, which is handled, and reported, on its own.
 */
function eventKey(body: string): string | undefined {
  const intake = parseEventText(body);
  if (intake.kind === 'schedule') return `schedule ${intake.eventId}`;
  if (intake.kind !== 'task') return undefined;
  const e = intake.event;
  return `task ${e.eventId} ${e.taskArn} ${e.version} ${e.lastStatus}/${e.desiredStatus}`;
}

export type { ReconcilerConfig };
