import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  type Task,
} from '@aws-sdk/client-ecs';
import { eniIpv4, findEni, idFromArn } from '../core/task';
import type { TaskHealth } from '../core/types';
import { RetryableError } from '../errors';
import type { CallContext, EcsPort, EcsServiceDiscovery, TaskState } from '../ports';

/** DescribeTasks takes at most this many tasks per call. */
const DESCRIBE_TASKS_MAX = 100;

/** ECS through the AWS SDK: the check that a Cloud Map instance is still a live task. */
export class EcsAdapter implements EcsPort {
  constructor(private readonly client: ECSClient) {}

  async describeTasks(cluster: string, taskIds: string[], ctx: CallContext): Promise<Map<string, TaskState>> {
    const states = new Map<string, TaskState>();
    for (let at = 0; at < taskIds.length; at += DESCRIBE_TASKS_MAX) {
      ctx.count('ecs.DescribeTasks');
      const out = await this.client.send(
        new DescribeTasksCommand({ cluster, tasks: taskIds.slice(at, at + DESCRIBE_TASKS_MAX) }),
      );
      for (const task of out.tasks ?? []) {
        const state = toTaskState(task);
        if (state !== undefined) states.set(state.taskId, state);
      }
      // MISSING: ECS does not know the task (gone for over an hour, or never ran): it stays absent
      // from the map. Any other failure says nothing about the task, so it must not read as gone.
      const failed = (out.failures ?? []).filter((f) => f.reason !== 'MISSING');
      if (failed.length > 0) {
        throw new EcsFailureError(
          failed.map(
            (f) => `${f.arn ?? '(no arn)'}: ${f.reason ?? '(no reason)'}${f.detail ? ` (${f.detail})` : ''}`,
          ),
        );
      }
    }
    return states;
  }

  async describeService(
    cluster: string,
    serviceName: string,
    ctx: CallContext,
  ): Promise<EcsServiceDiscovery | undefined> {
    ctx.count('ecs.DescribeServices');
    const out = await this.client.send(new DescribeServicesCommand({ cluster, services: [serviceName] }));
    const service = out.services?.find((s) => s.serviceName === serviceName);
    if (service === undefined) return undefined;
    const discoveryNames = new Set<string>();
    for (const deployment of service.deployments ?? []) {
      for (const r of deployment.serviceConnectResources ?? [])
        if (r.discoveryName) discoveryNames.add(r.discoveryName);
      for (const s of deployment.serviceConnectConfiguration?.services ?? []) {
        // Service Connect names the Cloud Map service after discoveryName, or portName when it is unset.
        const name = s.discoveryName ?? s.portName;
        if (name) discoveryNames.add(name);
      }
    }
    return {
      serviceName,
      discoveryNames: [...discoveryNames],
      registryArns: (service.serviceRegistries ?? []).flatMap((r) => (r.registryArn ? [r.registryArn] : [])),
    };
  }
}

/** DescribeTasks answered with failures other than MISSING: ECS could not say what these tasks are. */
export class EcsFailureError extends RetryableError {
  constructor(readonly failures: string[]) {
    super(`DescribeTasks failed for ${failures.length} task(s): ${failures.slice(0, 5).join('; ')}`);
  }
}

const TASK_HEALTH: ReadonlySet<string> = new Set(['HEALTHY', 'UNHEALTHY', 'UNKNOWN']);

/**
 * ECS's task-level `healthStatus`: the essential containers' health folded by ECS itself
 * (UNHEALTHY if any is, HEALTHY only when all are, else UNKNOWN). Anything else is left out.
 */
function taskHealth(task: Task): TaskHealth | undefined {
  const h = task.healthStatus;
  return h !== undefined && TASK_HEALTH.has(h) ? (h as TaskHealth) : undefined;
}

function toTaskState(task: Task): TaskState | undefined {
  if (!task.taskArn || !task.lastStatus) return undefined;
  const ipv4 = eniIpv4(findEni(task.attachments));
  const healthStatus = taskHealth(task);
  return {
    taskId: idFromArn(task.taskArn),
    taskArn: task.taskArn,
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus ?? 'RUNNING',
    ...(task.version === undefined ? {} : { version: task.version }),
    ...(task.startedAt === undefined ? {} : { startedAt: task.startedAt.toISOString() }),
    ...(task.group === undefined ? {} : { group: task.group }),
    ...(ipv4 === undefined ? {} : { ipv4 }),
    ...(healthStatus === undefined ? {} : { healthStatus }),
  };
}
