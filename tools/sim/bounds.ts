import type { ScenarioResult } from './run';

/**
 * The bounds every scenario of the product's design must meet (issue "Isolation and scale",
 * "Must show").
 */
export interface Bound {
  name: string;
  value: number;
  limit: number;
  ok: boolean;
}

const S = 1_000;
/** The scheduled resync's period as deployed (configuration `resyncMinutes`, default 5). */
const RESYNC_PERIOD_MS = 5 * 60 * S;

export function bounds(r: ScenarioResult): Bound[] {
  const out: Bound[] = [];
  const atMost = (name: string, value: number, limit: number) =>
    out.push({ name, value, limit, ok: value <= limit });
  atMost('blank or unsafe writes', r.violations.blankWrites + r.violations.unsafeWrites, 0);
  atMost('lost updates', r.writes.lostUpdates, 0);
  atMost('Lambda timeouts', r.delivery.lambdaTimeouts + r.fanout.timeouts, 0);
  atMost(
    'dead-lettered messages (other than the stuck entry’s)',
    r.stuck === undefined ? r.delivery.deadLettered + r.fanout.deadLettered : r.stuck.othersDeadLettered,
    0,
  );
  atMost('stale after a stop signal (ms)', r.stale.afterSignalMs, 0);
  if (r.scenario === 'storm-1000' || r.scenario === 'fleet-10000' || r.follow !== undefined)
    atMost('stale p99 (ms)', r.stale.p99Ms, 10 * S);
  if (r.follow !== undefined) {
    const f = r.follow;
    // Follow mode (issue "Follow the registry", item 6): never a write the table does not give us,
    // every entry registered by name at a live task within one resync period.
    atMost('writes to entries the ownership table does not give us', f.notOwnedWrites, 0);
    atMost('entries registered by name never pointed at a live task', f.neverAdopted.length, 0);
    atMost('registration to a live task, worst (ms)', f.adoption.maxMs, RESYNC_PERIOD_MS);
    atMost('re-pointed entries still owned', f.repointedStillOwned.length, 0);
    atMost('entries not at a live task after quiet + 1 resync', r.final.bad.length, 0);
  }
  if (r.stuck !== undefined)
    atMost('worst stale of every other entry (ms)', r.stuck.othersWorstStaleMs, 10 * S);
  if (
    r.scenario === 'registry-crash' ||
    r.scenario === 'calm-day' ||
    r.stale.byCause['registry-reset'] !== undefined
  )
    atMost('stale episode from a registry reset (ms)', r.stale.byCause['registry-reset']?.maxMs ?? 0, 30 * S);
  return out;
}
