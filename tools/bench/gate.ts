import type { CallsPerDelivery } from './calls';
import { PER_DELIVERY_APIS } from './calls';

/** The targets the gate holds (docs/design.md, "Benchmarks"). */
export const TARGETS = {
  /** The reconciler's minified bundle, bytes (340 KB). */
  bundleBytes: 340_000,
  /** Median load of the bundle in a fresh Node 24 process over the Logger-only bundle's. */
  loadRatio: 1.6,
  /**
   * Calls of each API per entry per delivery: one look-up round, one registry read, one write.
   * DescribeTasks may be asked twice: the decision rules' second look re-reads the one task an
   * entry was verified on before moving away from it (lib/reconcile/reconcile.ts, `needsSecondLook`).
   */
  callsPerDelivery: {
    'cloudmap.DiscoverInstances': 1,
    'ecs.DescribeTasks': 2,
    'registry.read': 1,
    'registry.write': 1,
  },
} as const;

export interface Verdict {
  target: string;
  measured: string;
  pass: boolean;
}

/**
 * What follow mode costs: the reconciler bundled with it (the DynamoDB client and the adopter in
 * the bundle) held against the same targets, loaded in the same rounds. Reported, not gated: the
 * gate holds the default deployment (follow mode off), which the construct bundles without it.
 */
export function followCost(figures: {
  off: { bundleBytes: number; loadMs: number };
  on: { bundleBytes: number; loadMs: number };
  baselineMs: number;
}): Verdict[] {
  const ratio = figures.on.loadMs / figures.baselineMs;
  const kb = (bytes: number) => (bytes / 1000).toFixed(1);
  return [
    {
      target: `follow mode on: bundle ≤ ${TARGETS.bundleBytes / 1000} KB`,
      measured: `${kb(figures.on.bundleBytes)} KB (+${kb(figures.on.bundleBytes - figures.off.bundleBytes)} KB over follow mode off)`,
      pass: figures.on.bundleBytes <= TARGETS.bundleBytes,
    },
    {
      target: `follow mode on: cold load ≤ ${TARGETS.loadRatio}× the Logger-only bundle`,
      measured: `${ratio.toFixed(2)}× (${figures.on.loadMs.toFixed(1)} ms; +${(figures.on.loadMs - figures.off.loadMs).toFixed(1)} ms over follow mode off)`,
      pass: Number.isFinite(ratio) && ratio <= TARGETS.loadRatio,
    },
  ];
}

/** The three verdicts of the gate, from its three figures. */
export function verdicts(figures: {
  bundleBytes: number;
  load: { reconcilerMs: number; baselineMs: number; node: string };
  calls: CallsPerDelivery;
}): Verdict[] {
  const ratio = figures.load.reconcilerMs / figures.load.baselineMs;
  const limits = TARGETS.callsPerDelivery;
  return [
    {
      target: `bundle ≤ ${TARGETS.bundleBytes / 1000} KB`,
      measured: `${(figures.bundleBytes / 1000).toFixed(1)} KB`,
      pass: figures.bundleBytes <= TARGETS.bundleBytes,
    },
    {
      target: `cold load ≤ ${TARGETS.loadRatio}× the Logger-only bundle (${figures.load.node}, ratio of medians)`,
      measured: `${ratio.toFixed(2)}× (${figures.load.reconcilerMs.toFixed(1)} ms / ${figures.load.baselineMs.toFixed(1)} ms)`,
      pass: Number.isFinite(ratio) && ratio <= TARGETS.loadRatio,
    },
    {
      target: `calls per entry per delivery ≤ ${PER_DELIVERY_APIS.map((a) => `${limits[a]} ${a}`).join(', ')} (${figures.calls.scenario}, ${figures.calls.deliveries} deliveries)`,
      measured: `${PER_DELIVERY_APIS.map(
        (a) => `${a} max ${figures.calls.max[a]} (mean ${figures.calls.mean[a].toFixed(2)})`,
      ).join('; ')}; a second DescribeTasks in ${figures.calls.secondDescribeTasks}`,
      pass: PER_DELIVERY_APIS.every((a) => figures.calls.max[a] <= limits[a]),
    },
  ];
}
