import type { ShardMessage } from '../reconciler/delivery/messages';
import { needsRecheckWork } from '../reconciler/delivery/recheck';
import type { CallContext, EntryRef } from '../reconciler/ports';
import { Reconciler } from '../reconciler/reconcile';
import { SILENT_LOGGER } from '../reconciler/telemetry';
import type { FanoutDeps } from './fanout';
import { PageRegistry } from './page-registry';

export interface ShardResult {
  entries: number;
  /** Entries that need the reconciler: a write, a retry, or an error to report. */
  needWork: EntryRef[];
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

  constructor(private readonly deps: FanoutDeps) {}

  async check(shard: ShardMessage, ctx: CallContext): Promise<ShardResult> {
    const { config } = this.deps;
    const targets = config.targets
      .filter((t) => t.kind === shard.kind)
      .slice(shard.offset, shard.offset + shard.limit);
    const managed = new Set(targets.map((t) => t.path));
    const page = (await this.deps.pages.listPage(shard.kind, shard.offset, shard.limit, ctx)).filter((e) =>
      managed.has(e.path),
    );
    if (shard.mode === 'registry') {
      return { entries: page.length, needWork: page.filter((e) => needsRecheckWork(e.url)), calls: {} };
    }
    const key = `${shard.kind}:${shard.offset}:${shard.limit}`;
    let checker = this.checkers.get(key);
    if (checker === undefined) {
      const view = new PageRegistry();
      checker = {
        view,
        reconciler: new Reconciler({
          config: { ...config, targets, dryRun: true, lagRetry: { ...config.lagRetry, attempts: 0 } },
          cloudMap: this.deps.cloudMap,
          ecs: this.deps.ecs,
          registry: view,
          // One summary line per shard, not a record per entry: the reconciler logs the writes.
          logger: SILENT_LOGGER,
          sleep: this.deps.sleep,
          now: this.deps.now,
          parallelism: this.deps.shardParallelism,
          serviceCacheTtlMs: this.deps.serviceCacheTtlMs,
        }),
      };
      this.checkers.set(key, checker);
    }
    checker.view.load(page);
    const outcome = await checker.reconciler.reconcile([
      { type: 'schedule', eventId: shard.resync, time: shard.time, source: 0, attempt: 1 },
    ]);
    const calls: Partial<Record<string, number>> = {};
    const needWork: EntryRef[] = [];
    for (const r of outcome.records) {
      for (const [api, n] of Object.entries(r.calls)) calls[api] = (calls[api] ?? 0) + (n ?? 0);
      // Managed entries the scan disabled are reported by every resync (no memory of our writes needed).
      if (r.action === 'update' || r.retryable || r.action === 'error')
        needWork.push({ kind: r.target.kind, path: r.target.path });
    }
    this.deps.logger.info(
      `resync shard ${shard.kind} ${shard.offset}+${shard.limit}: ${page.length} read, ${needWork.length} need work`,
      { shard: { ...shard, entries: page.length, work: needWork.length, calls } },
    );
    return { entries: page.length, needWork, calls };
  }
}
