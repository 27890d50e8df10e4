import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  type Task,
} from '@aws-sdk/client-ecs';
import { eniIpv4, findEni, idFromArn } from '../core/task';
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
      // `failures` (reason MISSING) are tasks ECS does not know: they stay absent from the map.
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

function toTaskState(task: Task): TaskState | undefined {
  if (!task.taskArn || !task.lastStatus) return undefined;
  const ipv4 = eniIpv4(findEni(task.attachments));
  return {
    taskId: idFromArn(task.taskArn),
    taskArn: task.taskArn,
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus ?? 'RUNNING',
    ...(task.version === undefined ? {} : { version: task.version }),
    ...(task.startedAt === undefined ? {} : { startedAt: task.startedAt.toISOString() }),
    ...(task.group === undefined ? {} : { group: task.group }),
    ...(ipv4 === undefined ? {} : { ipv4 }),
  };
}
