import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import { eniIpv4, findEni, idFromArn } from '../core/task';
import type { TaskHealth } from '../core/types';
import { RetryableError } from '../errors';
import type { CallContext, EcsPort, EcsServiceDiscovery, TaskState } from '../reconcile/ports';

/** DescribeTasks takes at most this many tasks per call. */
const DESCRIBE_TASKS_MAX = 100;

/** DescribeServices takes at most this many services per call. */
export const DESCRIBE_SERVICES_MAX = 10;

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
    return service === undefined ? undefined : serviceDiscovery(service, serviceName);
  }

  /**
   * How each of the given ECS services is discoverable, ten services a DescribeServices call (the
   * API's limit). A service ECS no longer has (`MISSING`: deleted since it was listed) is left out;
   * any other failure throws, so a service is never taken for absent on an unclear answer.
   */
  async describeServices(
    cluster: string,
    serviceNames: readonly string[],
    ctx: CallContext,
  ): Promise<EcsServiceDiscovery[]> {
    const found: EcsServiceDiscovery[] = [];
    for (let at = 0; at < serviceNames.length; at += DESCRIBE_SERVICES_MAX) {
      const names = serviceNames.slice(at, at + DESCRIBE_SERVICES_MAX);
      ctx.count('ecs.DescribeServices');
      const out = await this.client.send(new DescribeServicesCommand({ cluster, services: names }));
      const failed = (out.failures ?? []).filter((f) => f.reason !== 'MISSING');
      if (failed.length > 0)
        throw new EcsFailureError(
          failed.map(
            (f) => `${f.arn ?? '(no arn)'}: ${f.reason ?? '(no reason)'}${f.detail ? ` (${f.detail})` : ''}`,
          ),
          'DescribeServices',
        );
      for (const name of names) {
        const service = out.services?.find((s) => s.serviceName === name);
        if (service !== undefined) found.push(serviceDiscovery(service, name));
      }
    }
    return found;
  }
}

/** An ECS service's Service Connect discovery names and ServiceRegistries ARNs. */
export function serviceDiscovery(service: Service, serviceName: string): EcsServiceDiscovery {
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

/** DescribeTasks (or DescribeServices) answered with failures other than MISSING: ECS could not say what these are. */
export class EcsFailureError extends RetryableError {
  constructor(
    readonly failures: string[],
    api: 'DescribeTasks' | 'DescribeServices' = 'DescribeTasks',
  ) {
    const what = api === 'DescribeTasks' ? 'task(s)' : 'service(s)';
    super(`${api} failed for ${failures.length} ${what}: ${failures.slice(0, 5).join('; ')}`);
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
