import type { ErrorReason, Reason } from '../core/reasons';
import type { Action, InstanceView, TargetKind, TargetMatch } from '../core/types';
import type { ApiName, WriteResult } from '../reconcile/ports';

export type { Action, InstanceView, TargetMatch, TaskLiveness } from '../core/types';

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
  /** A stable, machine-readable reason code (see README, "Decision rules", and core/reasons.ts). */
  reason: Reason | ErrorReason;
  /** A sentence for people. */
  detail: string;
  dryRun: boolean;
  /** What the write did (the registry client's answer, without the read-back address). */
  write?: Omit<WriteResult, 'url' | 'mayReset'>;
  /**
   * Fields the write may have reset (or, in a dry run, would) that no read of this registry shows,
   * so nothing can say whether they changed (v1.0.16's register-overwrite). Absent when none.
   */
  mayReset?: string[];
  /** The registry holds the server disabled and tagged `security-pending` (its security scan failed). */
  securityPending?: true;
  /**
   * Follow mode: whether the entry is a configured target or was adopted at run time (by the
   * shared rule's `match`, or by its ownership `row`), with the owner row's state: `none` (not
   * ours), `adopting` (named a Cloud Map service), `owned`, `recorded` (this write recorded it),
   * `released` (changed by someone since our write: row deleted).
   */
  follow?: {
    origin: 'configured' | 'adopted';
    via?: 'match' | 'row';
    owner?: 'none' | 'owned' | 'adopting' | 'released' | 'recorded';
  };
  /** Remote calls made for this target, by API. */
  calls: Partial<Record<ApiName, number>>;
  /** Whether a retry could change the outcome (set for `defer` and retryable `error`). */
  retryable: boolean;
  durationMs: number;
}
