import type { ReconcilerConfig, TargetConfig } from '../../functions/reconciler/config';
import { BatchingEcs } from '../../functions/reconciler/delivery/ecs-batcher';
import { entryGroupId } from '../../functions/reconciler/delivery/group';
import {
  needsRecheckWork,
  type RecheckPolicy,
  registryStartRechecks,
} from '../../functions/reconciler/delivery/recheck';
import { type ApiRates, planResync } from '../../functions/reconciler/delivery/resync-plan';
import { EntryNotFoundError } from '../../functions/reconciler/errors';
import { isRunning, isStopping, parseEventText } from '../../functions/reconciler/event';
import type {
  ApiName,
  CallContext,
  CloudMapPort,
  EcsPort,
  EntryRef,
  RegistryEntry,
  RegistryPort,
  WriteResult,
} from '../../functions/reconciler/ports';
import { Reconciler } from '../../functions/reconciler/reconcile';
import type { DecisionRecord } from '../../functions/reconciler/record';
import type { LoggerLike } from '../../functions/reconciler/telemetry';
import { scheduledEvent } from '../world/events';
import type { MemoryRegistry } from '../world/world';
import type { EnvHandler } from './groups';
import type { Rng } from './rng';
import type { Scheduler } from './scheduler';
import { BATCH_WINDOW_MS } from './worker';

/**
 * The fan-out Lambda of the per-entry design (a model: the deployed one does not exist yet). It
 * consumes the standard trigger queue and maps each trigger to the entries it concerns:
 * - a task event of a managed ECS service: one work message per entry that service backs (named in
 *   the config, or found by DescribeServices, cached), MessageGroupId = the entry;
 * - a task event of the registry's own service reaching RUNNING: delayed re-check shards
 *   (functions/reconciler/delivery/recheck.ts), so the new task's reset of built-in entries is undone;
 * - the schedule: resync shards (delivery/resync-plan.ts), spread by DelaySeconds;
 * - a shard: one paged registry read, a read-only check of the shard's entries with the real
 *   Reconciler (dryRun, the ECS calls batched) and a work message only for entries that need a
 *   write or a retry.
 */
export interface FanoutDeps {
  config: ReconcilerConfig;
  cloudMap: CloudMapPort;
  ecs: EcsPort;
  memory: MemoryRegistry;
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
  };
}

interface ShardBody {
  shard: {
    kind: 'server' | 'agent';
    offset: number;
    limit: number;
    resync: string;
    time: string;
    /** `full`: the resync's read-only check; `registry`: a re-check after a registry start (pages only). */
    mode: 'full' | 'registry';
  };
}

const SERVICE_CACHE_MS = 600_000;

export function createFanoutEnvironment(deps: FanoutDeps): EnvHandler {
  const { config } = deps;
  const byKind = {
    server: config.targets.filter((t) => t.kind === 'server'),
    agent: config.targets.filter((t) => t.kind === 'agent'),
  };
  const named = new Map<string, TargetConfig[]>();
  for (const t of config.targets) {
    if (t.ecsService === undefined) continue;
    named.set(t.ecsService, [...(named.get(t.ecsService) ?? []), t]);
  }
  const unnamed = config.targets.filter((t) => t.ecsService === undefined);
  const serviceCache = new Map<string, { at: number; targets: TargetConfig[] }>();
  const shardCheckers = new Map<string, { view: PageRegistry; reconciler: Reconciler }>();
  const ecs = new BatchingEcs(deps.ecs, { windowMs: BATCH_WINDOW_MS, sleep: deps.sched.sleep });
  const records: DecisionRecord[] = [];
  const logger: LoggerLike = {
    debug: () => undefined,
    info: (_m, ...extra) => collect(records, extra),
    warn: (_m, ...extra) => collect(records, extra),
    error: (_m, ...extra) => collect(records, extra),
  };
  const count: CallContext = {
    count: (api) => {
      deps.figures.calls[api] = (deps.figures.calls[api] ?? 0) + 1;
    },
  };

  const sendShards = (resync: string, time: string, base: number, mode: 'full' | 'registry' = 'full') => {
    const shards = planResync({
      servers: byKind.server.length,
      agents: byKind.agent.length,
      pageSize: deps.pageSize,
      rates: deps.rates,
      share: deps.rateShare,
      periodSeconds: deps.periodSeconds,
    });
    for (const s of shards) {
      const body: ShardBody = {
        shard: { kind: s.kind, offset: s.offset, limit: s.limit, resync, time, mode },
      };
      // A re-check is pages only: every shard at once.
      deps.sendTrigger(JSON.stringify(body), Math.min(900, base + (mode === 'full' ? s.delaySeconds : 0)));
    }
  };

  const entriesOf = async (service: string): Promise<TargetConfig[]> => {
    const direct = named.get(service) ?? [];
    if (unnamed.length === 0) return direct;
    const cached = serviceCache.get(service);
    if (cached !== undefined && deps.sched.now() - cached.at < SERVICE_CACHE_MS)
      return [...direct, ...cached.targets];
    const found = await deps.ecs.describeService(config.cluster, service, count);
    const names = new Set(found?.discoveryNames ?? []);
    for (const arn of found?.registryArns ?? []) {
      const n = await deps.cloudMap.serviceNameByArn(arn, count);
      if (n !== undefined) names.add(n);
    }
    const targets = unnamed.filter((t) => names.has(t.cloudMapService));
    serviceCache.set(service, { at: deps.sched.now(), targets });
    return [...direct, ...targets];
  };

  const checkShard = async (s: ShardBody['shard']) => {
    const started = deps.sched.now();
    deps.figures.shards++;
    const per = deps.figures.perResync.get(s.resync) ?? { pages: 0, work: 0 };
    deps.figures.perResync.set(s.resync, per);
    const targets = byKind[s.kind].slice(s.offset, s.offset + s.limit);
    // One paged list read serves every entry of the shard.
    await deps.sched.sleep(deps.rng.ms(deps.registryReadMs) + Math.ceil(targets.length / 100) * 5);
    deps.figures.registryPageReads++;
    per.pages++;
    const page = new Map<string, RegistryEntry>();
    for (const t of targets) {
      const url = deps.memory.url(t);
      if (url !== undefined) page.set(`${t.kind}:${t.path}`, { kind: t.kind, path: t.path, url, record: {} });
    }
    if (s.mode === 'registry') {
      const event = JSON.stringify(scheduledEvent(s.resync, s.time));
      for (const e of page.values()) {
        if (!needsRecheckWork(e.url)) continue;
        const g = entryGroupId({ kind: e.kind, path: e.path });
        deps.sendWork(g, `${g}|${s.resync}`, event);
        deps.figures.workMessages++;
        per.work++;
      }
      deps.figures.shardDurations.push(deps.sched.now() - started);
      return;
    }
    const key = `${s.kind}:${s.offset}:${s.limit}`;
    let checker = shardCheckers.get(key);
    if (checker === undefined) {
      const view = new PageRegistry();
      checker = {
        view,
        reconciler: new Reconciler({
          config: { ...config, targets, dryRun: true, lagRetry: { ...config.lagRetry, attempts: 0 } },
          cloudMap: deps.cloudMap,
          ecs,
          registry: view,
          logger,
          sleep: deps.sched.sleep,
          now: deps.sched.now,
          parallelism: deps.shardParallelism,
        }),
      };
      shardCheckers.set(key, checker);
    }
    checker.view.page = page;
    records.length = 0;
    const event = JSON.stringify(scheduledEvent(s.resync, s.time));
    const outcome = await checker.reconciler.reconcile([
      { type: 'schedule', eventId: s.resync, time: s.time, source: 0, attempt: 1 },
    ]);
    for (const r of outcome.records) {
      for (const [api, n] of Object.entries(r.calls) as [ApiName, number][])
        deps.figures.calls[api] = (deps.figures.calls[api] ?? 0) + n;
      const needs = r.action === 'update' || r.retryable || r.action === 'error';
      if (!needs) continue;
      const ref: EntryRef = { kind: r.target.kind, path: r.target.path };
      const g = entryGroupId(ref);
      deps.sendWork(g, `${g}|${s.resync}`, event);
      deps.figures.workMessages++;
      per.work++;
    }
    deps.figures.shardDurations.push(deps.sched.now() - started);
  };

  return async (event) => {
    const recs = (event as { Records?: { messageId: string; body: string }[] }).Records ?? [];
    const failed: { itemIdentifier: string }[] = [];
    for (const rec of recs) {
      deps.figures.triggers++;
      try {
        const parsed = tryShard(rec.body);
        if (parsed !== undefined) {
          await checkShard(parsed);
          continue;
        }
        const intake = parseEventText(rec.body);
        if (intake.kind === 'schedule') {
          sendShards(intake.eventId, intake.time ?? deps.sched.clock.iso(), 0);
          continue;
        }
        if (intake.kind !== 'task' || intake.event.service === undefined) continue;
        const e = intake.event;
        if (e.service === config.registryService) {
          if (isRunning(e))
            for (const delay of registryStartRechecks(deps.recheck))
              sendShards(
                `recheck-${e.taskId}-${e.version}-${delay}`,
                deps.sched.clock.iso(),
                delay,
                'registry',
              );
          continue;
        }
        // A task that is neither serving nor going away changes nothing (the reconciler would ignore it).
        if (!isRunning(e) && !isStopping(e)) continue;
        for (const t of await entriesOf(e.service as string)) {
          const g = entryGroupId({ kind: t.kind, path: t.path });
          deps.sendWork(g, `${g}|${e.eventId}`, rec.body);
          deps.figures.workMessages++;
        }
      } catch {
        failed.push({ itemIdentifier: rec.messageId });
      }
    }
    return { batchItemFailures: failed };
  };
}

function tryShard(body: string): ShardBody['shard'] | undefined {
  if (!body.startsWith('{"shard"')) return undefined;
  return (JSON.parse(body) as ShardBody).shard;
}

function collect(records: DecisionRecord[], extra: Record<string, unknown>[]): void {
  for (const e of extra) if (e.decision !== undefined) records.push(e.decision as DecisionRecord);
}

/** The shard's registry page, served to the read-only check (which never writes). */
class PageRegistry implements RegistryPort {
  page = new Map<string, RegistryEntry>();

  async readEntry(ref: EntryRef): Promise<RegistryEntry> {
    const e = this.page.get(`${ref.kind}:${ref.path}`);
    if (e === undefined) throw new EntryNotFoundError(ref.kind, ref.path);
    return e;
  }

  writeUrl(): Promise<WriteResult> {
    return Promise.reject(new Error('a resync shard check never writes'));
  }
}
