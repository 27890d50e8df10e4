import { DELIVERY } from '../lib/delivery/settings';

/**
 * The scheduled resync, spread out. The fan-out turns one schedule event into shards: each shard is
 * one page of one registry list (`GET /api/servers?limit=…&offset=…`, agents likewise), checked
 * read-only (one paged read serves the shard's entries; Cloud Map and ECS as the decision needs),
 * and only entries that need a write get a per-entry work message. Shards are sent with staggered
 * delays (SQS standard queues take a per-message DelaySeconds of 0–900) so the look-ups of a
 * resync stay under the API rate limits and no invocation comes near its timeout.
 */
export interface ResyncShard {
  kind: 'server' | 'agent';
  offset: number;
  limit: number;
  /** DelaySeconds of the shard's message. */
  delaySeconds: number;
}

/** Published sustained rates (requests per second, per account and Region) the resync may use a share of. */
export interface ApiRates {
  discoverInstancesPerSecond: number;
  describeTasksPerSecond: number;
}

export interface ResyncPlanInput {
  servers: number;
  agents: number;
  /** Entries per shard = the registry page size. @default 500 */
  pageSize?: number;
  rates: ApiRates;
  /** Share of each rate the resync may use (the rest is for events and other callers). @default 0.25 */
  share?: number;
  /** DescribeTasks ids per call. @default 100 */
  tasksPerCall?: number;
  /** Tasks per entry to plan for. @default 4 */
  tasksPerEntry?: number;
  /** The resync period: the spread never exceeds it, nor SQS's 900 s delay limit. */
  periodSeconds: number;
}

/**
 * The shortest spread, in seconds, over which a full check of every entry (one DiscoverInstances
 * per entry; DescribeTasks batched) stays within `share` of the published rates.
 */
export function minResyncSpreadSeconds(input: ResyncPlanInput): number {
  const entries = input.servers + input.agents;
  const share = input.share ?? 0.25;
  const perCall = input.tasksPerCall ?? 100;
  const tasks = entries * (input.tasksPerEntry ?? 4);
  const cloudMap = entries / (input.rates.discoverInstancesPerSecond * share);
  const ecs = Math.ceil(tasks / perCall) / (input.rates.describeTasksPerSecond * share);
  return Math.max(cloudMap, ecs);
}

export function planResync(input: ResyncPlanInput): ResyncShard[] {
  const pageSize = input.pageSize ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new Error(`page size must be a positive integer, got ${pageSize}`);
  const pages: Omit<ResyncShard, 'delaySeconds'>[] = [];
  for (const [kind, count] of [
    ['server', input.servers],
    ['agent', input.agents],
  ] as const) {
    for (let offset = 0; offset < count; offset += pageSize)
      pages.push({ kind, offset, limit: Math.min(pageSize, count - offset) });
  }
  if (pages.length === 0) return [];
  const cap = Math.min(DELIVERY.maxDelaySeconds, Math.max(0, input.periodSeconds - 60));
  const spread = Math.min(cap, Math.ceil(minResyncSpreadSeconds(input)));
  const step = pages.length > 1 ? spread / (pages.length - 1) : 0;
  return pages.map((p, i) => ({ ...p, delaySeconds: Math.round(i * step) }));
}
