/**
 * The queue and function settings the construct deploys by default, as plain numbers with no CDK
 * import, so the simulation (tools/sim) models exactly what is deployed. README, "Sizing", says why.
 */
export const DEPLOYED = {
  /** A batch coalesces to at most one reconcile per target: 30 s covers five writes plus Cloud Map lag looks. */
  functionTimeoutSeconds: 30,
  /** Visibility = 3 × timeout: one full invocation plus slack; a failed message blocks the group this long. */
  visibilityFactor: 3,
  /** After 5 receives a message goes to the FIFO DLQ, unblocking the group (at most 5 × 90 s = 7.5 min). */
  maxReceiveCount: 5,
  /** FIFO event sources take at most 10 per batch. */
  batchSize: 10,
  /** The scheduled resync. */
  resyncMinutes: 5,
} as const;
