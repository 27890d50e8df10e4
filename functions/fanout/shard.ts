import { createHash } from 'node:crypto';
import type { TargetConfig } from '../reconciler/config';
import { NO_LAG_RETRY } from '../reconciler/defaults';
import type { ShardMessage } from '../reconciler/delivery/messages';
import { needsRecheckWork } from '../reconciler/delivery/recheck';
import { type CallCounts, mergeCalls } from '../reconciler/orchestration/calls';
import type { CallContext, EntryRef } from '../reconciler/ports';
import { Reconciler } from '../reconciler/reconcile';
import { MetricName, SILENT_LOGGER } from '../reconciler/telemetry';
import type { FanoutDeps } from './fanout';
import { PageRegistry } from './page-registry';

export interface ShardResult {
  entries: number;
  /** The registry says more pages follow this one. */
  more: boolean;
  /** Entries that need the reconciler: a write, a retry, or an error to report. */
  needWork: EntryRef[];
  /** Managed entries the page shows disabled by the registry's scan (`security-pending`): reported. */
  securityPending: EntryRef[];
  calls: Partial<Record<string, number>>;
}

/**
 * One shard: one registry page read serves every entry of it. A registry re-check stops there
 * (an entry whose host is not a task IP gets work); a resync runs the real Reconciler read-only
 * (dry run, one look-up round, no waiting) over the page, one per shard and container so its
 * pointer memory lets later resyncs ask ECS alone.
 */
export class ShardChecker {
  private readonly checkers = new Map<string, { view: PageRegistry; reconciler: Reconciler }>();
  private readonly byPath: Record<'server' | 'agent', Map<string, TargetConfig>>;

  constructor(private readonly deps: FanoutDeps) {
    this.byPath = { server: new Map(), agent: new Map() };
    for (const t of deps.config.targets) this.byPath[t.kind].set(t.path, t);
  }

  async check(shard: ShardMessage, ctx: CallContext): Promise<ShardResult> {
    const { config } = this.deps;
    // The registry orders its list its own way: a page holds whichever managed entries it lists.
    const listed = await this.deps.pages.listPage(shard.kind, shard.offset, shard.limit, ctx);
    const known = this.byPath[shard.kind];
    const page = listed.entries.filter((e) => known.has(e.path));
    const more = listed.more;
    if (shard.mode === 'registry') {
      return {
        entries: page.length,
        more,
        needWork: page.filter((e) => needsRecheckWork(e.url)),
        securityPending: [],
        calls: {},
      };
    }
    if (page.length === 0) return { entries: 0, more, needWork: [], securityPending: [], calls: {} };
    const targets = page.map((e) => known.get(e.path) as TargetConfig);
    const key = `${shard.kind}:${shard.offset}:${shard.limit}:${hashOf(targets.map((t) => t.path))}`;
    let checker = this.checkers.get(key);
    if (checker === undefined) {
      const view = new PageRegistry();
      checker = {
        view,
        reconciler: new Reconciler({
          config: { ...config, targets, dryRun: true },
          lagRetry: NO_LAG_RETRY,
          cloudMap: this.deps.cloudMap,
          ecs: this.deps.ecs,
          registry: view,
          // One summary line per shard, not a record per entry: the reconciler logs the writes.
          logger: SILENT_LOGGER,
          sleep: this.deps.sleep,
          now: this.deps.now,
          parallelism: this.deps.shardParallelism,
          serviceCacheTtlMs: this.deps.serviceCacheTtlMs,
          ...(this.deps.onCheck === undefined ? {} : { onRecord: this.deps.onCheck }),
        }),
      };
      // One checker per page content; the oldest goes first when the registry reorders often.
      if (this.checkers.size >= MAX_CHECKERS) {
        const oldest = this.checkers.keys().next().value;
        if (oldest !== undefined) this.checkers.delete(oldest);
      }
      this.checkers.set(key, checker);
    }
    checker.view.load(page);
    const outcome = await checker.reconciler.reconcile([
      { type: 'schedule', eventId: shard.resync, time: shard.time, source: 0, attempt: 1 },
    ]);
    const calls: CallCounts = {};
    const needWork: EntryRef[] = [];
    const securityPending: EntryRef[] = [];
    for (const r of outcome.records) {
      mergeCalls(calls, r.calls);
      // Managed entries the scan disabled are reported by every resync (no memory of our writes needed).
      if (r.securityPending === true) {
        securityPending.push({ kind: r.target.kind, path: r.target.path });
        this.deps.metrics.count(MetricName.ServerSecurityPending);
        this.deps.logger.error(
          `${r.target.kind} ${r.target.path} is disabled by the registry's security scan (tag security-pending); not re-enabled`,
          { securityPending: { target: r.target, url: r.currentUrl, resync: shard.resync } },
        );
      }
      if (r.action === 'update' || r.retryable || r.action === 'error')
        needWork.push({ kind: r.target.kind, path: r.target.path });
    }
    this.deps.logger.info(
      `resync shard ${shard.kind} ${shard.offset}+${shard.limit}: ${page.length} read, ${needWork.length} need work`,
      { shard: { ...shard, entries: page.length, work: needWork.length, calls } },
    );
    return { entries: page.length, more, needWork, securityPending, calls };
  }
}

const MAX_CHECKERS = 200;

function hashOf(paths: readonly string[]): string {
  return createHash('sha256').update(paths.join('\n')).digest('hex').slice(0, 16);
}
