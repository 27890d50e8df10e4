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
  if (!isOurCluster(event, scope))
    return ['other-cluster', `cluster ${event.clusterName} is not ${scope.clusterName}`];
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
    return ['no-task-ip', 'the task has no ENI (EC2 bridge or host network mode): no task IP to point at'];
  }
  return undefined;
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
