import type { ApiName, CloudMapHealth, TargetKind } from './ports';

/** What the reconciler did about one target. */
export type Action = 'noop' | 'update' | 'defer' | 'skip' | 'error';

/** What caused a reconcile. */
export interface TriggerInfo {
  /** `task`: an ECS task event of the target's service; `registry-restart`: a registry task reached RUNNING; `schedule`: the periodic resync. */
  type: 'task' | 'registry-restart' | 'schedule';
  eventId?: string;
  taskId?: string;
  lastStatus?: string;
  desiredStatus?: string;
  version?: number;
  /** ECS service name from the event's `group`. */
  service?: string;
}

/** How the target was matched to the trigger. */
export type TargetMatch = 'config' | 'service-connect' | 'service-registries' | 'all-targets';

/** One Cloud Map instance as the decision saw it. */
export interface InstanceView {
  instanceId: string;
  ipv4?: string;
  port?: number;
  health: CloudMapHealth;
  /** ECS's view of the task: `live` (RUNNING/RUNNING), `stopping`, `stopped`, `pending`, `missing` (ECS does not know it). */
  task: TaskLiveness;
  eligible: boolean;
}

export type TaskLiveness = 'live' | 'pending' | 'stopping' | 'stopped' | 'missing';

/**
 * One JSON record per target per reconcile: what triggered it, what was seen, what was decided and
 * why. The Lambda logs it, the replay prints it, the tests and the simulation assert on it.
 * Never holds a secret or a token.
 */
export interface DecisionRecord {
  trigger: TriggerInfo;
  /** Events folded into this reconcile (duplicates and bursts for the same target are coalesced). */
  coalesced: number;
  target: {
    kind: TargetKind;
    path: string;
    cloudMapService: string;
    ecsService?: string;
    match: TargetMatch;
  };
  instances: InstanceView[];
  currentUrl?: string;
  desiredUrl?: string;
  action: Action;
  /** A stable, machine-readable reason code (see README, "Decision rules"). */
  reason: string;
  /** A sentence for people. */
  detail: string;
  dryRun: boolean;
  write?: { confirmed: boolean; disabledAfterWrite: boolean; reenabled: boolean };
  /** Remote calls made for this target, by API. */
  calls: Partial<Record<ApiName, number>>;
  /** Whether a retry could change the outcome (set for `defer` and retryable `error`). */
  retryable: boolean;
  durationMs: number;
}
