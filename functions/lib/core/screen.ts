import { isRunning, isStopping } from './task';
import type { TaskEvent } from './types';

/**
 * Which task events ask for a reconcile. A well-formed event that asks for nothing is ignored
 * with a reason; an ignored event changes nothing.
 */

/** Why a well-formed trigger asks for nothing. */
export type IgnoreReason =
  | 'other-cluster'
  | 'standalone-task'
  | 'status-not-actionable'
  | 'no-task-ip'
  | 'registry-task-not-running'
  | 'unmanaged-service'
  | 'service-lookup-failed';

/** The part of the configuration that screening reads. */
export interface ScreenScope {
  /** ECS cluster name or ARN, as configured. */
  cluster: string;
  /** The cluster's name, whether `cluster` is a name or an ARN. */
  clusterName: string;
  /** The registry's own ECS service, when configured. */
  registryService?: string | undefined;
}

/** Whether the event comes from the configured cluster (compared by ARN when an ARN is configured). */
export function isOurCluster(
  event: Pick<TaskEvent, 'clusterArn' | 'clusterName'>,
  scope: ScreenScope,
): boolean {
  return scope.cluster.startsWith('arn:')
    ? event.clusterArn === scope.cluster
    : event.clusterName === scope.clusterName;
}

/** Why a well-formed task event asks for nothing, or undefined when it names a service to reconcile. */
export function screen(event: TaskEvent, scope: ScreenScope): [IgnoreReason, string] | undefined {
  if (!isOurCluster(event, scope)) return ['other-cluster', otherClusterDetail(event, scope)];
  if (event.service === undefined) {
    return ['standalone-task', `group ${JSON.stringify(event.group ?? null)} is not a service`];
  }
  if (event.service === scope.registryService && !isRunning(event) && !isRegistryHandover(event)) {
    return ['registry-task-not-running', `registry task is ${event.lastStatus}/${event.desiredStatus}`];
  }
  if (!isRunning(event) && !isStopping(event)) {
    return ['status-not-actionable', `task is ${event.lastStatus}/${event.desiredStatus}: not yet serving`];
  }
  // A registry task restarting re-applies every target whatever its own network mode.
  if (!event.hasTaskNetwork && event.service !== scope.registryService) {
    return ['no-task-ip', `${noTaskNetwork(event.launchType)}: no task IP to point at`];
  }
  return undefined;
}

/** Names the clusters so that two of the same name (another account or region) are told apart. */
function otherClusterDetail(
  event: Pick<TaskEvent, 'clusterArn' | 'clusterName'>,
  scope: ScreenScope,
): string {
  if (event.clusterName === scope.clusterName) {
    return `cluster ${event.clusterArn} is not ${scope.cluster}: same name, another account or region`;
  }
  return `cluster ${event.clusterName} is not ${scope.clusterName}`;
}

/** Why a task has no ENI, by what its launch type allows. */
function noTaskNetwork(launchType: string | undefined): string {
  // Fargate tasks always run in awsvpc mode: an event without the ENI is missing it, not a network mode.
  if (launchType === 'FARGATE') return 'the Fargate task event carries no ENI attachment';
  if (launchType === 'EC2' || launchType === 'EXTERNAL') {
    return `the ${launchType} task has no ENI (bridge or host network mode)`;
  }
  return 'the task has no ENI (EC2 bridge or host network mode, or an event without its attachments)';
}

/** Whether the event is a registry task's, which re-applies every target. */
export function isRegistryEvent(
  event: Pick<TaskEvent, 'service'>,
  scope: Pick<ScreenScope, 'registryService'>,
): boolean {
  return event.service !== undefined && event.service === scope.registryService;
}

/**
 * An old registry task being told to stop (its first stop signal, or DEACTIVATING). A new registry
 * task resets the built-in entries when its app has booted, which is after ECS reports it RUNNING:
 * the re-apply on RUNNING usually comes first and the reset then wins until the next resync. ECS
 * stops the old task of a deployment only once the new one passes its health check, i.e. after
 * that boot, so re-applying here puts the built-in entries back within seconds.
 */
export function isRegistryHandover(event: Pick<TaskEvent, 'lastStatus' | 'desiredStatus'>): boolean {
  return (
    event.desiredStatus === 'STOPPED' &&
    (event.lastStatus === 'RUNNING' || event.lastStatus === 'DEACTIVATING')
  );
}
