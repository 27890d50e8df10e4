/**
 * The plain data the decision core works on. Ports, adapters and records import these shapes from
 * here, so the core never has to import from them.
 */

export type TargetKind = 'server' | 'agent';

/** Where a written port comes from: the entry URL's own port or the instance's `AWS_INSTANCE_PORT`. */
export type PortSource = 'url' | 'instance';

export type CloudMapHealth = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

/**
 * ECS's container health for a task (`healthStatus`): HEALTHY or UNHEALTHY once its essential
 * containers' health checks have answered, UNKNOWN while they have not (a task that is still
 * starting) or when the task defines none.
 */
export type TaskHealth = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

/** One Cloud Map instance as `DiscoverInstances` returns it. For ECS, `instanceId` is the task id. */
export interface CloudMapInstance {
  instanceId: string;
  /** `AWS_INSTANCE_IPV4`, when present. */
  ipv4?: string;
  /** `AWS_INSTANCE_PORT` as a number, when present and valid. */
  port?: number;
  health: CloudMapHealth;
  attributes: Record<string, string>;
}

/** The state of one ECS task, as `DescribeTasks` returns it. */
export interface TaskState {
  taskId: string;
  taskArn?: string;
  lastStatus: string;
  desiredStatus: string;
  version?: number;
  /** ISO-8601. */
  startedAt?: string;
  group?: string;
  /** The task's private IPv4 from its ENI, when it has one. */
  ipv4?: string;
  /** ECS's container health; absent counts as UNKNOWN. */
  healthStatus?: TaskHealth;
}

/** An ECS task state change, reduced to what the reconciler uses. */
export interface TaskEvent {
  eventId: string;
  time?: string;
  clusterArn: string;
  /** The segment after `cluster/` in the ARN. */
  clusterName: string;
  taskArn: string;
  /** The last segment of the task ARN (the Cloud Map instance id). */
  taskId: string;
  group?: string;
  /** The ECS service name when `group` is `service:<name>`. */
  service?: string;
  lastStatus: string;
  desiredStatus: string;
  /** ECS's per-task change counter: duplicates share it, a higher one is newer. */
  version: number;
  /** The task's private IPv4 (informational: the reconciler writes only addresses Cloud Map lists). */
  ipv4?: string;
  /** False for EC2 bridge/host network mode tasks, which have no task IP at all. */
  hasTaskNetwork: boolean;
  /** `FARGATE`, `EC2` or `EXTERNAL`, when the event says. */
  launchType?: string;
  stopCode?: string;
  startedAt?: string;
}

/** What the reconciler did about one target. */
export type Action = 'noop' | 'update' | 'defer' | 'skip' | 'error';

/** How the target was matched to the trigger. */
export type TargetMatch = 'config' | 'service-connect' | 'service-registries' | 'all-targets';

export type TaskLiveness = 'live' | 'pending' | 'stopping' | 'stopped' | 'missing';

/** One Cloud Map instance as the decision saw it. */
export interface InstanceView {
  instanceId: string;
  ipv4?: string;
  port?: number;
  health: CloudMapHealth;
  /** ECS's view of the task: `live` (RUNNING/RUNNING), `stopping`, `stopped`, `pending`, `missing` (ECS does not know it). */
  task: TaskLiveness;
  /** ECS's container health of the task, when ECS reports one. */
  taskHealth?: TaskHealth;
  /** The task's IPv4 as ECS gives it, shown when it is not the instance's `AWS_INSTANCE_IPV4`. */
  ecsIpv4?: string;
  eligible: boolean;
  /** Why the instance is not eligible; absent when it is. */
  ineligible?: IneligibleReason;
}

/**
 * Why an instance is not eligible. `ip-mismatch` and `other-service` mean Cloud Map lists an
 * instance that ECS does not vouch for: counted (`UntrustedInstance`) and logged as a warning.
 */
export type IneligibleReason =
  /** Cloud Map gives no usable `AWS_INSTANCE_IPV4`. */
  | 'no-ipv4'
  /** ECS does not show the task RUNNING and meant to stay so (see `task`). */
  | 'not-live'
  /** ECS gives the task another IPv4 (or none) than the instance's `AWS_INSTANCE_IPV4`. */
  | 'ip-mismatch'
  /** The task's `group` is not `service:<the target's ECS service>`. */
  | 'other-service'
  /** Cloud Map marks the instance UNHEALTHY while another instance is eligible. */
  | 'cloud-map-unhealthy';
