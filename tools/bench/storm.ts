import type { ApiName } from '../../functions/reconciler/ports';
import type { DecisionRecord } from '../../functions/reconciler/record';
import { runScenario, type ScenarioResult } from '../sim/run';
import { SCENARIOS, type ScenarioSpec } from '../sim/scenarios';

/** The APIs the report counts, in its order, with their names in the table. */
export const REPORTED_APIS: { api: ApiName; label: string }[] = [
  { api: 'cloudmap.DiscoverInstances', label: 'Cloud Map DiscoverInstances' },
  { api: 'ecs.DescribeTasks', label: 'ECS DescribeTasks' },
  { api: 'ecs.DescribeServices', label: 'ECS DescribeServices' },
  { api: 'registry.read', label: 'registry read' },
  { api: 'registry.write', label: 'registry write' },
  { api: 'registry.readBack', label: 'registry read-back (after a write)' },
];

/** Calls, decisions and coalescing of a set of decision records. */
export interface CallTally {
  /** Decision records: one per entry per invocation that reconciled it. */
  records: number;
  recordsByTrigger: Record<string, number>;
  actions: Record<string, number>;
  /** Calls by API, in total. */
  calls: Partial<Record<ApiName, number>>;
  /** Calls by trigger type (`task`, `registry-restart`, `schedule`), then by API. */
  callsByTrigger: Record<string, Partial<Record<ApiName, number>>>;
  /** The most calls of each API any single record made. */
  maxPerRecord: Partial<Record<ApiName, number>>;
  /** Trigger events folded into records (≥ records when bursts coalesce). */
  coalescedTriggers: number;
}

export function tallyRecords(records: readonly DecisionRecord[]): CallTally {
  const t: CallTally = {
    records: 0,
    recordsByTrigger: {},
    actions: {},
    calls: {},
    callsByTrigger: {},
    maxPerRecord: {},
    coalescedTriggers: 0,
  };
  for (const r of records) {
    t.records++;
    t.coalescedTriggers += r.coalesced;
    t.recordsByTrigger[r.trigger.type] = (t.recordsByTrigger[r.trigger.type] ?? 0) + 1;
    t.actions[r.action] = (t.actions[r.action] ?? 0) + 1;
    const byTrigger = t.callsByTrigger[r.trigger.type] ?? {};
    t.callsByTrigger[r.trigger.type] = byTrigger;
    for (const [api, n] of Object.entries(r.calls) as [ApiName, number][]) {
      t.calls[api] = (t.calls[api] ?? 0) + n;
      byTrigger[api] = (byTrigger[api] ?? 0) + n;
      t.maxPerRecord[api] = Math.max(t.maxPerRecord[api] ?? 0, n);
    }
  }
  return t;
}

export interface StormResult {
  /** The tools/sim scenario it ran, and the design it delivered through. */
  scenario: string;
  design: ScenarioResult['delivery']['design'];
  counterfactual: boolean;
  services: number;
  /** The reconciler's decision records, tallied. */
  tally: CallTally;
  /** What the simulation measured (tools/sim/run.ts), records left out. */
  sim: Omit<ScenarioResult, 'records'>;
}

/**
 * A deployment storm as the simulation runs it: `deployment-storm` of tools/sim (every service
 * starts a rolling deployment within 30 s, calm settings, delivery as deployed), or its
 * single-group counterfactual, with the fleet size given. With 50 services and the same seed its
 * figures are those of `npm run sim -- --scenario deployment-storm`.
 */
export async function runStorm(options: {
  services: number;
  seed: number;
  scenario?: 'deployment-storm' | 'deployment-storm-single-group';
}): Promise<StormResult> {
  const base = SCENARIOS[options.scenario ?? 'deployment-storm'] as ScenarioSpec;
  const { records, ...sim } = await runScenario(
    { ...base, services: options.services },
    { seed: options.seed, keepRecords: true },
  );
  return {
    scenario: base.name,
    design: sim.delivery.design,
    counterfactual: sim.counterfactual === true,
    services: options.services,
    tally: tallyRecords(records ?? []),
    sim,
  };
}
