/**
 * Every reason code a decision record can carry, with what it means: the decision's own reasons
 * and the failures of the steps around it. Records, metrics and logs use these codes only.
 */

/** Reasons a decision gives. */
export const REASONS = {
  'current-live': 'the current address is a live task: kept (sticky)',
  'resolve-name': 'the entry named the Cloud Map service; pointed at a live task',
  'current-not-live': 'the current address is not a live task; moved to a live one',
  'current-unhealthy':
    'the current task is live but ECS reports its containers UNHEALTHY while another task is HEALTHY: moved',
  'port-changed': "the current task is live but the instance's port changed",
  'no-live-instance': 'no live task in Cloud Map: the current address is kept',
  'cloud-map-lag': 'a RUNNING task is not in Cloud Map yet and nothing else is live: retry later',
  'cloud-map-lag-exhausted': 'a RUNNING task never appeared in Cloud Map within the retry budget: kept',
  'awaiting-replacement':
    "the entry's task is stopping (the trigger is its stop signal) and Cloud Map lists no other live task yet: retry later (the same budget as cloud-map-lag; once spent, no-live-instance)",
  foreign:
    "the entry's host is not the target's Cloud Map name (short or <name>.<namespace>), an IPv4 Cloud Map lists for it, or a private IPv4 (a replaced task's): never rewritten",
  'unparsable-url': 'the entry has no usable URL',
} as const;

/** Reasons of follow mode's ownership rule (functions/lib/follow/verdict.ts), for adopted entries. */
export const FOLLOW_REASONS = {
  adopt:
    'follow mode: the entry names a Cloud Map service published by one ECS service of the cluster: adopted (its first write records an ownership row)',
  'not-owned':
    'follow mode: the entry holds an address the ownership table does not say we wrote (set by hand, or never ours): left alone',
  released:
    'follow mode: the entry changed since our write (someone else set it): its ownership row is deleted and it is never written again until it names a Cloud Map service again',
} as const;
export type Reason = keyof typeof REASONS | keyof typeof FOLLOW_REASONS;

/** The remote steps of one entry's reconcile, in order; a failure is reported by the step it hit. */
export type FailureStage = 'registry-read' | 'ownership' | 'cloudmap' | 'ecs' | 'registry-write';

/** Reasons of an `error` record. */
export const ERROR_REASONS = {
  'registry-read-failed': 'reading the entry from the registry failed',
  'cloudmap-failed': "asking Cloud Map for the target's instances failed",
  'ecs-failed': 'asking ECS for the state of the tasks failed',
  'registry-write-failed': 'writing the new address to the registry failed',
  'write-not-confirmed': 'the registry read back another address than the one written',
  'ownership-failed':
    'the ownership table could not be read or written: nothing was written to the registry (retried)',
  'entry-missing': 'the registry has no entry at the target path (the reconciler never creates one)',
  'policy-denied':
    "the registry's URL security policy refused the task address (allow the tasks' subnets in SSRF_ALLOWED_CIDRS)",
} as const;
export type ErrorReason = keyof typeof ERROR_REASONS;

const STAGE_FAILURE = {
  'registry-read': 'registry-read-failed',
  ownership: 'ownership-failed',
  cloudmap: 'cloudmap-failed',
  ecs: 'ecs-failed',
  'registry-write': 'registry-write-failed',
} as const satisfies Record<FailureStage, ErrorReason>;

/** The reason of a failure at `stage`. */
export function failedAt(stage: FailureStage): ErrorReason {
  return STAGE_FAILURE[stage];
}

/** A target's entry keeps its address because no live task could be chosen. */
export function isNoLiveInstance(reason: Reason | ErrorReason): boolean {
  return reason === 'no-live-instance' || reason === 'cloud-map-lag-exhausted';
}

/** Cloud Map may not list a RUNNING task yet: looking again can change the decision. */
export function isCloudMapLag(reason: Reason | ErrorReason): boolean {
  return reason === 'cloud-map-lag' || reason === 'cloud-map-lag-exhausted';
}

/**
 * A decision that looks again shortly because Cloud Map may not list a task yet (a RUNNING one, or
 * the replacement of the stopping task the entry points at): redelivered after the short lag
 * visibility, within the same deferral budget.
 */
export function isLagDefer(reason: Reason | ErrorReason): boolean {
  return reason === 'cloud-map-lag' || reason === 'awaiting-replacement';
}
