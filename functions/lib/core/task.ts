/**
 * ECS task vocabulary: which statuses mean a task is serving or going away, and how a task's id
 * and private IP are read from what ECS reports (events and DescribeTasks share these shapes).
 */

/** `lastStatus` values at or past the point where a task stops serving. */
export const STOPPING_STATUSES: ReadonlySet<string> = new Set([
  'DEACTIVATING',
  'STOPPING',
  'DEPROVISIONING',
  'STOPPED',
  'DELETED',
]);

interface Status {
  lastStatus: string;
  desiredStatus: string;
}

/** True when the task is going away: `desiredStatus` STOPPED or `lastStatus` past RUNNING. */
export function isStopping(task: Status): boolean {
  return task.desiredStatus === 'STOPPED' || STOPPING_STATUSES.has(task.lastStatus);
}

/** True when the task is serving: RUNNING and meant to stay so. */
export function isRunning(task: Status): boolean {
  return task.lastStatus === 'RUNNING' && task.desiredStatus === 'RUNNING';
}

/** The ECS service that started a task, from its group (`service:<name>`); undefined for a standalone task. */
export function serviceOfGroup(group: string | undefined): string | undefined {
  return group?.startsWith('service:') ? group.slice('service:'.length) : undefined;
}

/** The last segment of an ARN: a task's id (the Cloud Map instance id), a Cloud Map service's id. */
export function idFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** A task attachment as ECS reports it, in events and in DescribeTasks. */
export interface AttachmentLike {
  type?: string | undefined;
  details?: { name?: string | undefined; value?: string | undefined }[] | undefined;
}

/** The task's network interface attachment (awsvpc tasks have one; bridge and host tasks do not). */
export function findEni<A extends AttachmentLike>(attachments: readonly A[] | undefined): A | undefined {
  return attachments?.find((a) => a.type === 'eni' || a.type === 'ElasticNetworkInterface');
}

/** The private IPv4 that ECS lists on a network interface attachment, as written (not validated). */
export function eniIpv4(eni: AttachmentLike | undefined): string | undefined {
  return eni?.details?.find((d) => d.name === 'privateIPv4Address')?.value;
}

/** The parts of an ECS ARN that name where it lives: `arn:<partition>:ecs:<region>:<account>:<resource>`. */
interface ArnPlace {
  partition: string;
  region: string;
  account: string;
  resource: string;
}

function arnPlace(arn: string): ArnPlace | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || parts[2] !== 'ecs') return undefined;
  const [, partition = '', , region = '', account = ''] = parts;
  return { partition, region, account, resource: parts.slice(5).join(':') };
}

/**
 * Why a task ARN cannot be a task of the cluster ARN next to it, or undefined when it can. ECS
 * writes both from the same task: the task ARN carries the cluster's partition, Region and account
 * and, in the long format (`task/<cluster>/<id>`), its name; the old short format (`task/<id>`)
 * names no cluster. An event where they differ was not written by ECS as it stands.
 */
export function taskArnMismatch(clusterArn: string, taskArn: string): string | undefined {
  const cluster = arnPlace(clusterArn);
  const task = arnPlace(taskArn);
  if (cluster === undefined || task === undefined) return 'not ECS ARNs';
  const differ: string[] = [];
  if (task.partition !== cluster.partition)
    differ.push(`partition ${task.partition} is not ${cluster.partition}`);
  if (task.region !== cluster.region) differ.push(`Region ${task.region} is not ${cluster.region}`);
  if (task.account !== cluster.account) differ.push(`account ${task.account} is not ${cluster.account}`);
  const segments = task.resource.split('/');
  const clusterName = cluster.resource.slice('cluster/'.length);
  if (segments.length > 2 && segments[1] !== clusterName)
    differ.push(`cluster ${segments[1]} is not ${clusterName}`);
  return differ.length === 0 ? undefined : differ.join(', ');
}
