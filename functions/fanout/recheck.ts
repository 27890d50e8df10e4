import { DELIVERY } from '../lib/delivery/settings';
import { hostOf, isIPv4 } from '../lib/url';

/**
 * A registry task that starts (a deployment, or a crash and restart) resets its built-in entries
 * once its app has booted, some time after ECS reports the task RUNNING. The fan-out answers the
 * RUNNING event with delayed re-checks over the next minutes. A re-check reads only the registry,
 * by pages (no Cloud Map, no ECS): the reconciler only ever writes a task's IP, and a reset puts
 * back the registry's own default (a service name), so an entry whose host is not an IP address
 * gets a work message. A reset is undone within one gap of this schedule plus one check, whenever
 * in the window the app boots.
 */
export interface RecheckPolicy {
  /** Seconds between re-checks. */
  everySeconds: number;
  /** How long after RUNNING the re-checks go on (the longest boot to cover). */
  windowSeconds: number;
}

export const DEFAULT_RECHECK: RecheckPolicy = {
  everySeconds: DELIVERY.recheckEverySeconds,
  windowSeconds: DELIVERY.recheckWindowSeconds,
};

/** Delays (DelaySeconds, ≤ 900) of the re-checks after a registry task reaches RUNNING. */
export function registryStartRechecks(policy: RecheckPolicy = DEFAULT_RECHECK): number[] {
  if (!(policy.everySeconds >= 1)) throw new Error(`everySeconds must be ≥ 1, got ${policy.everySeconds}`);
  const window = Math.min(DELIVERY.maxDelaySeconds, policy.windowSeconds);
  const out: number[] = [];
  for (let t = policy.everySeconds; t <= window; t += policy.everySeconds) out.push(t);
  return out;
}

/** Whether a re-check after a registry start hands the entry to the reconciler. */
export function needsRecheckWork(url: string): boolean {
  const host = hostOf(url);
  return host === undefined || !isIPv4(host);
}
