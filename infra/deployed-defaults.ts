/**
 * Plain numbers with no CDK import, for the simulation (tools/sim) and the benchmarks: the
 * single-group delivery's timeout, visibility and receive count (the design before one message
 * group per entry, which the simulation's base knobs and its single-group counterfactuals model)
 * and the resync interval. Not configuration: the configuration's fields and defaults are in
 * functions/reconciler/config.ts, the deployment's in infra/settings.ts.
 */
import * as v from 'valibot';
import { CONFIG_ENTRIES } from '../functions/reconciler/config';

export { V1016_TARGETS } from '../functions/reconciler/defaults';

export const DEPLOYED = {
  /** A batch coalesces to at most one reconcile per target: 30 s covers five writes plus Cloud Map lag looks. */
  functionTimeoutSeconds: 30,
  /** Visibility = 3 × timeout: one full invocation plus slack; a failed message blocks the group this long. */
  visibilityFactor: 3,
  /** After 5 receives a message goes to the FIFO DLQ, unblocking the group (at most 5 × 90 s = 7.5 min). */
  maxReceiveCount: 5,
  /** FIFO event sources take at most 10 per batch. */
  batchSize: 10,
  /** The scheduled resync: the configuration's default `resyncMinutes`. */
  resyncMinutes: v.getDefault(CONFIG_ENTRIES.resyncMinutes),
} as const;
