import type { ApiName } from '../../functions/lib/reconcile/ports';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { runScenario } from '../sim/run';

/** The calls the gate holds to at most one per entry per delivery. */
export const PER_DELIVERY_APIS = [
  'cloudmap.DiscoverInstances',
  'ecs.DescribeTasks',
  'registry.read',
  'registry.write',
] as const satisfies readonly ApiName[];

export type PerDeliveryApi = (typeof PER_DELIVERY_APIS)[number];

/** Calls of one entry in one delivery (one decision record), by API: the most and the mean. */
export interface CallsPerDelivery {
  scenario: string;
  /** Decision records: one per entry per worker invocation that reconciled it. */
  deliveries: number;
  max: Record<PerDeliveryApi, number>;
  mean: Record<PerDeliveryApi, number>;
  /** Deliveries that asked DescribeTasks twice (the decision rules' second look). */
  secondDescribeTasks: number;
}

/** Tallies decision records: the most and the mean calls of each API per entry and delivery. */
export function tallyCalls(scenario: string, records: readonly DecisionRecord[]): CallsPerDelivery {
  const max = Object.fromEntries(PER_DELIVERY_APIS.map((a) => [a, 0])) as Record<PerDeliveryApi, number>;
  const sum = { ...max };
  for (const r of records)
    for (const api of PER_DELIVERY_APIS) {
      const n = r.calls[api] ?? 0;
      max[api] = Math.max(max[api], n);
      sum[api] += n;
    }
  const mean = Object.fromEntries(
    PER_DELIVERY_APIS.map((a) => [a, records.length === 0 ? 0 : sum[a] / records.length]),
  ) as Record<PerDeliveryApi, number>;
  const secondDescribeTasks = records.filter((r) => (r.calls['ecs.DescribeTasks'] ?? 0) > 1).length;
  return { scenario, deliveries: records.length, max, mean, secondDescribeTasks };
}

/**
 * The calls per delivery of the deployed path (fan-out → per-entry FIFO groups → worker) in the
 * simulation's deployment storm (tools/sim `deployment-storm`: 50 services deploy within 30 s,
 * calm settings), from the worker's decision records. In memory: no HTTP, no AWS.
 */
export async function measureCalls(seed = 1): Promise<CallsPerDelivery> {
  const result = await runScenario('deployment-storm', { seed, keepRecords: true });
  return tallyCalls(result.scenario, result.records ?? []);
}
