import { DELIVERY } from '../lib/delivery/settings';

/**
 * How long a message handed back stays invisible before its next delivery (set with
 * ChangeMessageVisibility on that message alone; in a FIFO queue it holds back only its own
 * message group, that is its own registry entry).
 *
 * - Cloud Map lag: the task is RUNNING but not listed yet; one look-up round per delivery, and the
 *   re-check comes 2 s later (4 s after the fourth), so the pointer moves within about 2 s of the
 *   task being listed, and seven deferring deliveries cover 20 s of registration lag without
 *   waiting inside any invocation.
 * - Anything else retryable (a registry 5xx, throttling, a write not confirmed): exponential
 *   backoff, so a stuck entry costs a handful of deliveries before the DLQ, not a hot loop.
 * - Throttled by an AWS API after the SDK's own retries: a short, growing wait (the bucket refills
 *   every second), not the error backoff that would leave the entry stale for minutes.
 * - Not started for lack of time: redelivered at once.
 */
export type RetryCause = 'cloud-map-lag' | 'throttled' | 'error' | 'not-started';

export interface RetryPolicy {
  lagSeconds: number;
  throttledSeconds: number;
  baseSeconds: number;
  maxSeconds: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  lagSeconds: DELIVERY.lagVisibilitySeconds,
  throttledSeconds: 1,
  baseSeconds: 10,
  maxSeconds: 120,
};

/** `receiveCount`: the message's ApproximateReceiveCount (1 on its first delivery). */
export function retryVisibilitySeconds(
  cause: RetryCause,
  receiveCount: number,
  policy: RetryPolicy = DEFAULT_RETRY,
): number {
  if (cause === 'not-started') return 0;
  const n = Math.max(1, Math.floor(receiveCount));
  if (cause === 'cloud-map-lag') return n <= 4 ? policy.lagSeconds : 2 * policy.lagSeconds;
  if (cause === 'throttled') return Math.min(policy.maxSeconds, policy.throttledSeconds * n);
  return Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** (n - 1));
}
