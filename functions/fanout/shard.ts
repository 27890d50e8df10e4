import { createHash } from 'node:crypto';
import type { TargetConfig } from '../lib/config/config';
import { NO_LAG_RETRY } from '../lib/config/defaults';
import { ownership } from '../lib/core/ownership';
import type { ShardMessage } from '../lib/delivery/messages';
import { type AdoptedTarget, cloudMapNameOf } from '../lib/follow/follower';
import { type OwnerRow, type OwnershipPort, ownerKey } from '../lib/follow/ownership';
import { type CallCounts, mergeCalls } from '../lib/reconcile/calls';
import { reconcileTriggers } from '../lib/reconcile/plan';
import type { CallContext, EntryRef, RegistryEntry } from '../lib/reconcile/ports';
import { Reconciler } from '../lib/reconcile/reconcile';
import { MetricName, SILENT_LOGGER } from '../lib/telemetry/telemetry';
import { hostOf, isIPv4 } from '../lib/url';
import type { FanoutDeps } from './fanout';
import { PageRegistry } from './page-registry';
import { needsRecheckWork } from './recheck';

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
  /** The ownership table as this container's shard checks read it (rows read once per check). */
  private readonly rows: CheckRows;

  constructor(private readonly deps: FanoutDeps) {
    this.rows = new CheckRows(deps.follow?.ownership);
    this.byPath = { server: new Map(), agent: new Map() };
    for (const t of deps.config.targets) this.byPath[t.kind].set(t.path, t);
  }

  /**
   * Follow mode: the page's entries that no target configures and that are adopted: those the
   * shared rule matches by name (not yet owned: a resync points them at a live task), and those
   * whose ownership row gives them to us: an entry holding an IPv4 (ours only if the row says we
   * wrote it) and one whose host the rule does not match (someone re-pointed it elsewhere: the
   * gate releases its row). One row read each, kept for the gate (`rows`). Without follow, none.
   */
  private async adopted(
    entries: RegistryEntry[],
    mode: ShardMessage['mode'],
    ctx: CallContext,
  ): Promise<AdoptedEntry[]> {
    const follow = this.deps.follow;
    if (follow === undefined) return [];
    // The names sweep runs every minute: a name the rule cannot adopt is not asked again for a
    // resync period (the full resync reads it afresh). The others use the usual cache.
    const use = mode === 'names' ? { keepUnadoptableMs: this.deps.resyncPeriodSeconds * 1_000 } : {};
    const namespace = this.deps.config.namespace;
    // The entries follow mode may adopt; for the names sweep, only those whose host names a Cloud
    // Map service of the namespace (no row is read: a release waits for the full resync).
    const candidates = new Set(
      entries.filter(
        (e) =>
          follow.follower.mayAdopt(e) &&
          (mode !== 'names' || cloudMapNameOf(hostOf(e.url) ?? '', namespace) !== undefined),
      ),
    );
    const one = async (entry: RegistryEntry): Promise<AdoptedEntry | undefined> => {
      if (!candidates.has(entry)) return undefined;
      const host = hostOf(entry.url) ?? '';
      // A registry re-check sends work only for entries not holding an IP: their rows are not read.
      if (mode === 'registry' && isIPv4(host)) return undefined;
      let target = isIPv4(host)
        ? undefined
        : follow.follower.fromMatch(await follow.follower.match(entry, ctx, use));
      if (target === undefined && mode !== 'names') {
        const row = await this.rows.read(entry);
        target = row === undefined ? undefined : follow.follower.fromRow(row);
      }
      return target === undefined ? undefined : { entry, target };
    };
    // The page's names are read together (their ECS services described ten a call), then each
    // entry is matched from that.
    await follow.follower.prefetch([...candidates], ctx, use);
    // As many entries at once as the check's look-ups (`shardParallelism`): a page of names is
    // read in about the time of its slowest name, not the sum of them.
    const out: AdoptedEntry[] = [];
    const width = Math.max(1, this.deps.shardParallelism);
    for (let at = 0; at < entries.length; at += width) {
      for (const a of await Promise.all(entries.slice(at, at + width).map(one)))
        if (a !== undefined) out.push(a);
    }
    return out;
  }

  /**
   * One page, checked. `onListed` runs once the page is read, before any entry of it is worked:
   * the fan-out sends the next page of the chain there, so a check that fails or runs out of time
   * never stops the pages after it.
   */
  async check(
    shard: ShardMessage,
    ctx: CallContext,
    onListed?: (more: boolean) => Promise<void>,
  ): Promise<ShardResult> {
    try {
      return await this.checkPage(shard, ctx, onListed);
    } finally {
      this.rows.clear();
    }
  }

  private async checkPage(
    shard: ShardMessage,
    ctx: CallContext,
    onListed: ((more: boolean) => Promise<void>) | undefined,
  ): Promise<ShardResult> {
    const { config } = this.deps;
    // The registry orders its list its own way: a page holds whichever managed entries it lists.
    const listed = await this.deps.pages.listPage(shard.kind, shard.offset, shard.limit, ctx);
    await onListed?.(listed.more);
    const known = this.byPath[shard.kind];
    const adopted = await this.adopted(
      listed.entries.filter((e) => !known.has(e.path)),
      shard.mode,
      ctx,
    );
    const page = [...listed.entries.filter((e) => known.has(e.path)), ...adopted.map((a) => a.entry)];
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
    if (shard.mode === 'names') {
      // Configured entries that hold their own Cloud Map name, and the names the rule adopted.
      const named = listed.entries.filter((e) => {
        const t = known.get(e.path);
        return t !== undefined && holdsName(e.url, t.cloudMapService, config.namespace);
      });
      const needWork = [...named, ...adopted.map((a) => a.entry)];
      if (needWork.length > 0)
        this.deps.logger.info(
          `names sweep shard ${shard.kind} ${shard.offset}+${shard.limit}: ${listed.entries.length} listed, ${needWork.length} name(s) to resolve`,
          { shard: { ...shard, entries: listed.entries.length, work: needWork.length } },
        );
      return { entries: page.length, more, needWork, securityPending: [], calls: {} };
    }
    if (page.length === 0) return { entries: 0, more, needWork: [], securityPending: [], calls: {} };
    const adoptedBy = new Map(adopted.map((a) => [a.entry.path, a.target]));
    const targets = page.map((e) => (known.get(e.path) ?? adoptedBy.get(e.path)) as TargetConfig);
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
          // Adopted entries pass the ownership gate (read-only here: a dry run never writes a row).
          // The rows this check already read are read once (`rows`), not again by the gate.
          ...(this.deps.follow === undefined ? {} : { follow: { ownership: this.rows } }),
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
    const outcome = await reconcileTriggers(checker.reconciler, [
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
      // A `released` entry needs the worker to delete its row (the check is a dry run).
      if (r.action === 'update' || r.retryable || r.action === 'error' || r.reason === 'released')
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

/** An adopted entry of a page, with the target follow mode made for it. */
interface AdoptedEntry {
  entry: RegistryEntry;
  target: AdoptedTarget;
}

/**
 * The ownership table seen by one shard check: a row the check read to adopt an entry is handed
 * to the gate's read of the same entry once, instead of a second strongly consistent read; every
 * other call goes to the table. Cleared after each check. A shard check is a dry run: it never
 * writes a row, and the worker that writes reads the row again.
 */
class CheckRows implements OwnershipPort {
  private readonly read_ = new Map<string, OwnerRow | undefined>();

  constructor(private readonly table_: OwnershipPort | undefined) {}

  private get port(): OwnershipPort {
    if (this.table_ === undefined) throw new Error('follow mode is off: no ownership table');
    return this.table_;
  }

  get table(): string {
    return this.port.table;
  }

  /** Reads an entry's row and keeps it for the gate's read in the same check. */
  async read(ref: EntryRef): Promise<OwnerRow | undefined> {
    const row = await this.port.get(ref);
    this.read_.set(ownerKey(ref), row);
    return row;
  }

  async get(ref: EntryRef): Promise<OwnerRow | undefined> {
    const key = ownerKey(ref);
    if (this.read_.has(key)) {
      const row = this.read_.get(key);
      this.read_.delete(key);
      return row;
    }
    return this.port.get(ref);
  }

  put(row: Omit<OwnerRow, 'version'>, expectedVersion: number | undefined): Promise<boolean> {
    return this.port.put(row, expectedVersion);
  }

  release(ref: EntryRef, expectedVersion: number): Promise<boolean> {
    return this.port.release(ref, expectedVersion);
  }

  byEcsService(ecsService: string): Promise<OwnerRow[]> {
    return this.port.byEcsService(ecsService);
  }

  list(): Promise<OwnerRow[]> {
    return this.port.list();
  }

  clear(): void {
    this.read_.clear();
  }
}

/** Whether the entry's host is the target's Cloud Map name (short or `<name>.<namespace>`). */
function holdsName(url: string, cloudMapService: string, namespace: string): boolean {
  const basis = ownership({ host: hostOf(url) ?? '', cloudMapService, namespace, listedIpv4s: [] }).basis;
  return basis === 'cloud-map-name' || basis === 'cloud-map-fqdn';
}

function hashOf(paths: readonly string[]): string {
  return createHash('sha256').update(paths.join('\n')).digest('hex').slice(0, 16);
}
