/**
 * Names of everything the reconciler publishes, shared by the function (which emits them through
 * Powertools Metrics as EMF) and the CDK construct (whose dashboard and alarms read them).
 */
export const METRICS_NAMESPACE = 'RegistryReconciler';
/** Powertools adds a `service` dimension with this value to every metric. */
export const DEFAULT_SERVICE_NAME = 'registry-reconciler';

export const MetricName = {
  /** Every invocation record/event received (SQS record or direct EventBridge event). */
  EventsReceived: 'EventsReceived',
  /** Well-formed events that are not ours: other clusters, standalone tasks, unmanaged services, statuses we do not act on. */
  EventsIgnored: 'EventsIgnored',
  /** Malformed or hostile input: dropped with a logged reason, never retried, never written. */
  EventsMalformed: 'EventsMalformed',
  DecisionNoop: 'DecisionNoop',
  DecisionUpdate: 'DecisionUpdate',
  DecisionDefer: 'DecisionDefer',
  DecisionSkip: 'DecisionSkip',
  DecisionError: 'DecisionError',
  /** A target with no live Cloud Map instance: its entry keeps its address. */
  NoLiveInstance: 'NoLiveInstance',
  /** An entry whose host is neither the target's Cloud Map name nor an IPv4 address. */
  ForeignEntry: 'ForeignEntry',
  /**
   * Cloud Map instances of a live task that ECS does not vouch for: ECS gives the task another IPv4
   * (`ip-mismatch`) or the task is of another ECS service (`other-service`). Never written.
   */
  UntrustedInstance: 'UntrustedInstance',
  /** Failures while reconciling (retryable or not). */
  Errors: 'Errors',
  /** The registry disabled a server after our write (its security scan). */
  ServerDisabledAfterWrite: 'ServerDisabledAfterWrite',
  /** The registry's URL security policy refused a task address (SSRF_ALLOWED_CIDRS lacks the tasks' subnets). */
  PolicyDenied: 'PolicyDenied',
  /**
   * A write that may have reset fields no read shows (the record's `mayReset`): v1.0.16's
   * register-overwrite, which on its file backend replaces `headers`, `visibility`,
   * `allowed_groups`, `sse_endpoint` and `supported_transports` with defaults.
   */
  WriteMayReset: 'WriteMayReset',
  /** A managed server the registry holds disabled with `security-pending` (its scan failed), seen on any read. */
  ServerSecurityPending: 'ServerSecurityPending',
  /** Follow mode: an entry registered by name was adopted (its first write recorded an ownership row). */
  FollowAdopted: 'FollowAdopted',
  /** Follow mode: an adopted entry someone changed since our write was released (row deleted). */
  FollowReleased: 'FollowReleased',
  /** Follow mode: an entry the ownership table does not give us was left alone (`not-owned`). */
  FollowNotOwned: 'FollowNotOwned',
  /** Follow mode: decisions on entries we own (one per owned entry and reconcile). */
  FollowOwned: 'FollowOwned',
  /** Time to reconcile one target, in milliseconds. */
  ReconcileDuration: 'ReconcileDuration',
} as const;

export type MetricNameValue = (typeof MetricName)[keyof typeof MetricName];

/** Where the reconciler sends counts and timings (Powertools Metrics in the Lambda; a tally in replay and tests). */
export interface MetricsSink {
  count(name: MetricNameValue, value?: number): void;
  milliseconds(name: MetricNameValue, value: number): void;
}

/** A sink that records nothing. */
export const NO_METRICS: MetricsSink = { count: () => undefined, milliseconds: () => undefined };

/** The logging the reconciler needs; Powertools Logger satisfies it. */
export interface LoggerLike {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** A logger that says nothing. */
export const SILENT_LOGGER: LoggerLike = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
