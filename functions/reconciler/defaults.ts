/**
 * The deployed defaults of the reconcile and of the invocation around it, in one place. The
 * wiring (wiring.ts) applies them; tools and tests override them there.
 */
export const DEFAULTS = {
  /**
   * Waits before the extra in-invocation rounds for targets that asked for a retry. With one FIFO
   * message group, a message handed back blocks every target until its visibility timeout ends:
   * two short rounds here first (the simulation, tools/sim, measured the difference).
   */
  retryDelaysMs: [2_000, 5_000] as readonly number[],
  /** Start an extra round only while the invocation has at least this much time left after the wait. */
  retryMinRemainingMs: 15_000,
  /** How many targets are reconciled at once within one invocation. */
  parallelism: 4,
  /** How long an ECS service's discovery names are cached. */
  serviceCacheTtlMs: 600_000,
  /** Deliveries of one trigger after which Cloud Map lag is no longer deferred. */
  maxDeferAttempts: 3,
} as const;

/** Waits in real time (the simulation and the tests pass a virtual one). */
export function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
