import type { ReconcilerConfig } from '../lib/config/config';
import { isRegistryEvent, screen } from '../lib/core/screen';
import { scheduledEventBody } from '../lib/delivery/bodies';
import { isRunning, parseEventText } from '../lib/delivery/event';
import { entryGroupId, workDedupId } from '../lib/delivery/group';
import {
  type ShardMessage,
  type SweepMessage,
  shardBody,
  type VerifyMessage,
  verifyBody,
} from '../lib/delivery/messages';
import type { FanoutQueues, TriggerOut, WorkMessage } from '../lib/delivery/queues';
import { DELIVERY } from '../lib/delivery/settings';
import type { Follower } from '../lib/follow/follower';
import type { OwnershipPort } from '../lib/follow/ownership';
import { type Ignored, planTriggers } from '../lib/reconcile/plan';
import type { CallContext, CloudMapPort, EcsPort, EntryRef } from '../lib/reconcile/ports';
import { Reporter } from '../lib/reconcile/report';
import { ServiceDirectory } from '../lib/reconcile/services';
import type { DecisionRecord } from '../lib/telemetry/record';
import { type LoggerLike, MetricName, type MetricsSink } from '../lib/telemetry/telemetry';
import type { RegistryPages, WriteVerifier } from './ports';
import { type RecheckPolicy, registryStartRechecks } from './recheck';
import { type ApiRates, planResync } from './resync-plan';
import { ShardChecker } from './shard';
import { reportVerification, type VerificationRecord } from './verify';
import { nextVerifyDelaySeconds } from './verify-chain';

/**
 * What the fan-out does with one trigger-queue message (the handler is fanout/handler.ts, the
 * wiring fanout/wiring.ts):
 * - an ECS task event of a managed service, RUNNING or going away: one work message per entry the
 *   service backs (lib/reconcile/plan.ts and services.ts find them, as the reconciler would);
 *   anything the reconciler would ignore is dropped here;
 * - a task of the registry's own service reaching RUNNING: delayed page-only re-checks;
 * - the schedule: resync shards, spread by DelaySeconds;
 * - follow mode's names sweep (its own schedule, every minute): `names` shards, every page read
 *   and work only for entries that hold a Cloud Map name the reconciler may resolve;
 * - a shard: one registry page, checked (read-only for a resync), work only where needed;
 * - a write verification: the read after the registry's background scan, followed by one more at
 *   `registry.scanSettleMs` after the write while the scan may still be running (verify-chain.ts).
 */
export interface FanoutDeps {
  config: ReconcilerConfig;
  cloudMap: CloudMapPort;
  ecs: EcsPort;
  pages: RegistryPages;
  verifier: WriteVerifier;
  queues: FanoutQueues;
  logger: LoggerLike;
  metrics: MetricsSink;
  now: () => number;
  /** The time now as ISO 8601 (the times of the schedule and re-check work). */
  isoNow: () => string;
  sleep: (ms: number) => Promise<void>;
  rates: ApiRates;
  pageSize: number;
  resyncPeriodSeconds: number;
  rateShare: number;
  recheck: RecheckPolicy;
  /** Look-ups in flight within one shard check. */
  shardParallelism: number;
  serviceCacheTtlMs: number;
  /** Receives every write verification (the record). */
  onVerification?: (record: VerificationRecord) => void;
  /** Receives each shard's figures. */
  onShard?: (figures: ShardFigures) => void;
  /** Receives every read-only decision of a resync shard's check (the replay and `plan` show them). */
  onCheck?: (record: DecisionRecord) => void;
  /** Receives every event the fan-out ignores, with its reason (after it is logged and counted). */
  onIgnored?: (ignored: Ignored) => void;
  /** Follow mode: the ownership table and the adopter (functions/lib/follow). */
  follow?: { ownership: OwnershipPort; follower: Follower };
}

export interface ShardFigures {
  shard: ShardMessage;
  entries: number;
  work: number;
  /** The entries it reported disabled by the registry's scan (`security-pending`). */
  securityPending: EntryRef[];
  /** The registry page reads this shard made (1). */
  pageReads: number;
  calls: Partial<Record<string, number>>;
  durationMs: number;
}

/** The gap before a chained shard: its look-ups do not pile onto the previous page's. */
const CHAINED_SHARD_DELAY_SECONDS = 2;

export class Fanout {
  private readonly services: ServiceDirectory;
  private readonly reporter: Reporter;
  private readonly shards: ShardChecker;

  constructor(private readonly deps: FanoutDeps) {
    this.services = new ServiceDirectory({
      config: deps.config,
      ecs: deps.ecs,
      cloudMap: deps.cloudMap,
      now: deps.now,
      ttlMs: deps.serviceCacheTtlMs,
    });
    this.reporter = new Reporter({ logger: deps.logger, metrics: deps.metrics, onIgnored: deps.onIgnored });
    this.shards = new ShardChecker(deps);
  }

  /** One EventBridge event (a queue body). */
  async event(body: string): Promise<void> {
    const intake = parseEventText(body);
    if (intake.kind === 'malformed') {
      this.deps.metrics.count(MetricName.EventsMalformed);
      this.deps.logger.warn(`dropped malformed event: ${intake.reason}`, {
        malformed: {
          reason: intake.reason,
          ...(intake.eventId === undefined ? {} : { eventId: intake.eventId }),
        },
      });
      return;
    }
    if (intake.kind === 'schedule') {
      await this.sendShards(intake.eventId, intake.time ?? this.deps.isoNow(), 0, 'full');
      return;
    }
    const e = intake.event;
    // Anything the reconciler would ignore is dropped here, reported with its reason.
    const why = screen(e, this.deps.config);
    if (why !== undefined) {
      const [reason, detail] = why;
      this.reporter.ignored({
        source: 0,
        eventId: e.eventId,
        taskId: e.taskId,
        reason,
        detail,
        retryable: false,
      });
      return;
    }
    if (isRegistryEvent(e, this.deps.config)) {
      if (!isRunning(e)) return;
      const time = this.deps.isoNow();
      for (const delay of registryStartRechecks(this.deps.recheck))
        await this.sendShards(`recheck-${e.taskId}-${e.version}-${delay}`, time, delay, 'registry');
      return;
    }
    const follower = this.deps.follow?.follower;
    const planned = await planTriggers([{ type: 'task', event: e, source: 0, attempt: 1 }], {
      config: this.deps.config,
      services: this.services,
      reporter: this.reporter,
      // Follow mode: the entries the ownership table ties to the event's service (one indexed query, cached briefly).
      ...(follower === undefined ? {} : { follow: { every: [], forService: (s) => follower.forService(s) } }),
    });
    const failed = planned.ignored.find((i) => i.retryable);
    if (failed !== undefined) throw new Error(failed.detail);
    await this.sendWork(
      planned.plans.map((p) => p.target),
      e.eventId,
      () => body,
    );
  }

  /**
   * Follow mode's names sweep: the registry's pages, each read once (chained as a resync's are),
   * work only for entries that hold a name the reconciler may resolve. A name registered at run
   * time is found within a sweep period, not a resync period; the full resync goes on as before.
   */
  async sweep(sweep: SweepMessage): Promise<void> {
    await this.sendShards(`sweep-${sweep.id}`, sweep.time, 0, 'names');
  }

  async shard(shard: ShardMessage, ctx: CallContext): Promise<void> {
    const started = this.deps.now();
    // The registry lists more entries than the plan counted (unmanaged ones): the page after
    // the last planned one follows, chained, so every managed entry is on some page.
    // In follow mode the registry may list any number of entries to adopt: pages follow while it has more.
    // The next page is sent as soon as this one is read, before its entries are checked: a check
    // that fails or times out never ends the chain (its retry may send the next page again: a
    // second, read-only pass whose work the work queue deduplicates by resync).
    const planned = this.plannedEntries(shard.kind);
    const chain = async (more: boolean) => {
      if (!more || shard.offset + shard.limit < planned) return;
      const next = { ...shard, offset: shard.offset + shard.limit, limit: this.deps.pageSize };
      await this.deps.queues.sendTriggers([
        { body: shardBody(next), delaySeconds: CHAINED_SHARD_DELAY_SECONDS },
      ]);
    };
    const result = await this.shards.check(shard, ctx, chain);
    const body = scheduledEventBody(shard.resync, shard.time);
    await this.sendWork(result.needWork, shard.resync, () => body);
    this.deps.onShard?.({
      shard,
      entries: result.entries,
      work: result.needWork.length,
      securityPending: result.securityPending,
      pageReads: 1,
      calls: result.calls,
      durationMs: this.deps.now() - started,
    });
  }

  async verify(v: VerifyMessage, ctx: CallContext): Promise<void> {
    const found = await this.deps.verifier.verifyWrite({ kind: v.kind, path: v.path }, v.written, ctx);
    const record = reportVerification(v, found, this.deps.logger, this.deps.metrics);
    this.deps.onVerification?.(record);
    // A late scan put the older address back: the reconciler decides again (never re-enables).
    // Any other address is a later write (ours after a newer event, or an operator's): its own
    // trigger covers it, and sending work here would only queue behind it.
    if (record.addressWrittenBack)
      await this.sendWork([v], `verify-${v.eventId}`, () =>
        scheduledEventBody(`verify-${v.eventId}`, this.deps.isoNow()),
      );
    const delaySeconds = nextVerifyDelaySeconds(
      record,
      v.at,
      this.deps.now(),
      this.deps.config.registry.scanSettleMs,
    );
    if (delaySeconds === undefined) return;
    // A failed send throws: the handler hands this verification back to the trigger queue and it
    // runs again (one more read, the same report). Logging it instead would drop the only check
    // that sees a scan finishing after this one.
    const { kind, path, written, previous, eventId, at } = v;
    await this.deps.queues.sendTriggers([
      {
        body: verifyBody({
          kind,
          path,
          written,
          ...(previous === undefined ? {} : { previous }),
          eventId,
          at,
        }),
        delaySeconds,
      },
    ]);
  }

  /**
   * The entries of a kind a resync plans pages for: the configured targets; in follow mode at
   * least a full page of each list, whose last planned page chains the next while the registry has more.
   */
  private plannedEntries(kind: 'server' | 'agent'): number {
    const configured = this.deps.config.targets.filter((t) => t.kind === kind).length;
    return this.deps.follow === undefined ? configured : Math.max(this.deps.pageSize, configured);
  }

  private async sendShards(resync: string, time: string, base: number, mode: ShardMessage['mode']) {
    const plan = planResync({
      servers: this.plannedEntries('server'),
      agents: this.plannedEntries('agent'),
      pageSize: this.deps.pageSize,
      rates: this.deps.rates,
      share: this.deps.rateShare,
      periodSeconds: this.deps.resyncPeriodSeconds,
    });
    const out: TriggerOut[] = plan.map((s) => ({
      body: shardBody({ kind: s.kind, offset: s.offset, limit: s.limit, resync, time, mode }),
      // A re-check is pages only: every shard at once.
      delaySeconds: Math.min(DELIVERY.maxDelaySeconds, base + (mode === 'full' ? s.delaySeconds : 0)),
    }));
    if (out.length > 0) await this.deps.queues.sendTriggers(out);
  }

  private async sendWork(entries: readonly EntryRef[], triggerId: string, body: () => string) {
    const messages: WorkMessage[] = entries.map((t) => {
      const groupId = entryGroupId({ kind: t.kind, path: t.path });
      return { groupId, dedupId: workDedupId(groupId, triggerId), body: body() };
    });
    if (messages.length > 0) await this.deps.queues.sendWork(messages);
  }
}
