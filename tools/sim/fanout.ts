import type { FanoutDeps as ProductFanoutDeps } from '../../functions/fanout/fanout';
import type { RecheckPolicy } from '../../functions/fanout/recheck';
import type { ApiRates } from '../../functions/fanout/resync-plan';
import type { VerificationRecord } from '../../functions/fanout/verify';
import { createFanoutHandler } from '../../functions/fanout/wiring';
import type { ReconcilerConfig } from '../../functions/lib/config/config';
import { DELIVERY } from '../../functions/lib/delivery/settings';
import type { MemoryRegistry } from '../../functions/lib/inmemory/world';
import type {
  ApiName,
  CallContext,
  CloudMapPort,
  EcsPort,
  EntryRef,
  RegistryEntry,
  RegistryPort,
  TargetKind,
  WriteVerification,
} from '../../functions/lib/reconcile/ports';
import { verificationOf } from '../../functions/lib/registry/client';
import type { LoggerLike, MetricsSink } from '../../functions/lib/telemetry/telemetry';
import type { EnvHandler } from './groups';
import type { Rng } from './rng';
import type { Scheduler } from './scheduler';

/**
 * One execution environment of the fan-out Lambda as deployed (functions/fanout through its
 * wiring), with the simulation's clock, AWS model and queues. The registry page read is modelled
 * here: one read of the page's entries from the simulated registry's memory, with the registry's
 * read latency; the write verification reads through the simulated registry.
 */
export interface FanoutDeps {
  config: ReconcilerConfig;
  cloudMap: CloudMapPort;
  ecs: EcsPort;
  memory: MemoryRegistry;
  registry: RegistryPort;
  /** Servers the registry's scan disabled (`security-pending`): the page read shows them so. */
  scanDisabled: ReadonlySet<string>;
  logger: LoggerLike;
  metrics: MetricsSink;
  sched: Scheduler;
  rng: Rng;
  registryReadMs: readonly [number, number];
  pageSize: number;
  rates: ApiRates;
  rateShare: number;
  periodSeconds: number;
  recheck: RecheckPolicy;
  /** Parallel look-ups in a shard check. */
  shardParallelism: number;
  sendTrigger(body: string, delaySeconds: number): void;
  sendWork(groupId: string, dedupId: string, body: string): void;
  figures: FanoutFigures;
  /** Follow mode: the ownership table and this container's Follower; pages list every entry of the registry. */
  follow?: ProductFanoutDeps['follow'];
}

export interface FanoutFigures {
  triggers: number;
  shards: number;
  workMessages: number;
  registryPageReads: number;
  /** Calls of the read-only shard checks. */
  calls: Partial<Record<ApiName, number>>;
  shardDurations: number[];
  /** Per resync id: page reads and the work it emitted. */
  perResync: Map<string, { pages: number; work: number }>;
  /** Write verifications run, and what they found. */
  verifications: VerificationRecord[];
  /** Paths the resync shards reported disabled by the scan, one per report. */
  securityPendingReports: string[];
}

export function newFanoutFigures(): FanoutFigures {
  return {
    triggers: 0,
    shards: 0,
    workMessages: 0,
    registryPageReads: 0,
    calls: {},
    shardDurations: [],
    perResync: new Map(),
    verifications: [],
    securityPendingReports: [],
  };
}

export function createFanoutEnvironment(deps: FanoutDeps): EnvHandler {
  const { figures } = deps;
  const { handler } = createFanoutHandler({
    config: deps.config,
    cloudMap: deps.cloudMap,
    ecs: deps.ecs,
    logger: deps.logger,
    metrics: deps.metrics,
    now: deps.sched.now,
    isoNow: () => deps.sched.clock.iso(),
    sleep: deps.sched.sleep,
    rates: deps.rates,
    pageSize: deps.pageSize,
    rateShare: deps.rateShare,
    resyncPeriodSeconds: deps.periodSeconds,
    recheck: deps.recheck,
    shardParallelism: deps.shardParallelism,
    ecsBatchWindowMs: DELIVERY.ecsBatchWindowMs,
    ...(deps.follow === undefined ? {} : { follow: deps.follow }),
    pages: {
      listPage: async (kind: TargetKind, offset: number, limit: number) => {
        if (deps.follow !== undefined) return followPage(deps, kind, offset, limit);
        const targets = deps.config.targets.filter((t) => t.kind === kind).slice(offset, offset + limit);
        // One paged list read serves every entry of the shard.
        await deps.sched.sleep(deps.rng.ms(deps.registryReadMs) + Math.ceil(targets.length / 100) * 5);
        figures.registryPageReads++;
        const entries = targets.flatMap((t): RegistryEntry[] => {
          const url = deps.memory.url(t);
          if (url === undefined) return [];
          // As the paged list shows a server the scan disabled (registry/list.ts reads the same).
          const scanned = t.kind === 'server' && deps.scanDisabled.has(t.path);
          return [
            {
              kind: t.kind,
              path: t.path,
              url,
              record: {},
              ...(scanned ? { enabled: false, securityPending: true } : {}),
            },
          ];
        });
        const all = deps.config.targets.filter((t) => t.kind === kind).length;
        return { entries, more: offset + limit < all };
      },
    },
    verifier: { verifyWrite: (ref, written, ctx) => verifyThrough(deps.registry, ref, written, ctx) },
    queues: {
      sendWork: async (messages) => {
        for (const m of messages) deps.sendWork(m.groupId, m.dedupId, m.body);
        figures.workMessages += messages.length;
      },
      sendTriggers: async (messages) => {
        for (const m of messages) deps.sendTrigger(m.body, m.delaySeconds);
      },
    },
    onShard: (s) => {
      figures.shards++;
      const per = figures.perResync.get(s.shard.resync) ?? { pages: 0, work: 0 };
      per.pages += s.pageReads;
      per.work += s.work;
      figures.perResync.set(s.shard.resync, per);
      for (const [api, n] of Object.entries(s.calls) as [ApiName, number][])
        figures.calls[api] = (figures.calls[api] ?? 0) + n;
      figures.shardDurations.push(s.durationMs);
      for (const e of s.securityPending) figures.securityPendingReports.push(e.path);
    },
    onVerification: (v) => figures.verifications.push(v),
  });
  return async (event, context) => {
    figures.triggers += ((event as { Records?: unknown[] }).Records ?? []).length;
    return handler(event, context);
  };
}

/** Follow mode: a page of every entry the registry lists (in registration order), as its list shows them. */
async function followPage(
  deps: FanoutDeps,
  kind: TargetKind,
  offset: number,
  limit: number,
): Promise<{ entries: RegistryEntry[]; more: boolean }> {
  const all = deps.memory.list(kind);
  const page = all.slice(offset, offset + limit);
  await deps.sched.sleep(deps.rng.ms(deps.registryReadMs) + Math.ceil(page.length / 100) * 5);
  deps.figures.registryPageReads++;
  const entries = page.map((e) => {
    const scanned = e.kind === 'server' && deps.scanDisabled.has(e.path);
    return { ...e, record: {}, ...(scanned ? { enabled: false, securityPending: true } : {}) };
  });
  return { entries, more: offset + limit < all.length };
}

/** The verification read through the simulated registry (its own `verifyWrite` when it has one). */
async function verifyThrough(
  registry: RegistryPort,
  ref: EntryRef,
  written: string,
  ctx: CallContext,
): Promise<WriteVerification> {
  const own = (
    registry as Partial<{
      verifyWrite: (r: EntryRef, w: string, c: CallContext) => Promise<WriteVerification>;
    }>
  ).verifyWrite;
  if (own !== undefined) return own.call(registry, ref, written, ctx);
  return verificationOf(await registry.readEntry(ref, ctx), written);
}
