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
  if (r.scenario === 'storm-1000' || r.scenario === 'fleet-10000')
    atMost('stale p99 (ms)', r.stale.p99Ms, 10 * S);
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
