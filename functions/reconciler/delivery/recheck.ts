/**
 * A registry task that starts (a deployment, or a crash and restart) resets its built-in entries
 * once its app has booted, some time after ECS reports the task RUNNING. The fan-out answers the
 * RUNNING event with a few delayed re-checks of every entry (read-only resync shards, cheap when
 * nothing changed), so a reset is undone within one gap of this schedule plus one check, whenever
 * in the window the app boots.
 */
export interface RecheckPolicy {
  /** Seconds between re-checks. */
  everySeconds: number;
  /** How long after RUNNING the re-checks go on (the longest boot to cover). */
  windowSeconds: number;
}

export const DEFAULT_RECHECK: RecheckPolicy = { everySeconds: 15, windowSeconds: 180 };

/** Delays (DelaySeconds, ≤ 900) of the re-checks after a registry task reaches RUNNING. */
export function registryStartRechecks(policy: RecheckPolicy = DEFAULT_RECHECK): number[] {
  if (!(policy.everySeconds >= 1)) throw new Error(`everySeconds must be ≥ 1, got ${policy.everySeconds}`);
  const window = Math.min(900, policy.windowSeconds);
  const out: number[] = [];
  for (let t = policy.everySeconds; t <= window; t += policy.everySeconds) out.push(t);
  return out;
}
