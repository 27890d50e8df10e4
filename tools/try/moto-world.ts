/**
 * Seeds moto_server with an ECS cluster and a Cloud Map HTTP namespace as a deployed MCP Gateway
 * looks to the reconciler: ECS services publishing Cloud Map services through ServiceRegistries
 * (moto returns no Service Connect configuration), Fargate tasks started with RunTask in each
 * service's group, and one Cloud Map instance per task registered directly (moto's ECS never
 * registers any, so the seed writes the attributes ECS would: `ecsInstanceAttributes`). Shared by `npm run try:seed` and the tests that need such an account.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand as CreateEcsServiceCommand,
  DescribeClustersCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
  type ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';

/** One Cloud Map service, the ECS services publishing it, and how many tasks to run in the first. */
export interface SeedService {
  cloudMap: string;
  /** ECS services (none: an orphan Cloud Map service; two: an ambiguous one). */
  ecs: readonly string[];
  tasks: number;
  /** `AWS_INSTANCE_PORT` of its instances. */
  port: string;
}

export interface SeedOptions {
  cluster: string;
  namespace: string;
  /** The subnet the tasks run in (`defaultSubnet`). */
  subnet: string;
  services: readonly SeedService[];
  /** ECS services created with a Service Connect configuration instead of ServiceRegistries. */
  serviceConnect?: readonly string[];
}

/** A task the seed started and registered. */
export interface SeededTask {
  ecsService: string;
  cloudMapService: string;
  taskId: string;
  ip: string;
}

export interface SeededWorld {
  clusterArn: string;
  /** Task IPs by Cloud Map service. */
  ips: Record<string, string[]>;
  cloudMapArns: Record<string, string>;
  tasks: SeededTask[];
}

const SECURITY_GROUP = 'sg-0123456789abcdef0';

/** The task IP ECS gives a RunTask task (its ENI attachment's `privateIPv4Address`). */
function taskIp(task: { attachments?: { details?: { name?: string; value?: string }[] }[] }): string {
  const ip = task.attachments?.[0]?.details?.find((d) => d.name === 'privateIPv4Address')?.value;
  if (ip === undefined) throw new Error('moto gave a task no privateIPv4Address');
  return ip;
}

/**
 * The attributes ECS itself writes on the Cloud Map instance of a service's task (AWS-FACTS.md),
 * which moto's ECS never registers: a Service Connect instance names its task set
 * (`DeploymentId`), a ServiceRegistries one its service and cluster.
 */
export function ecsInstanceAttributes(
  clusterArn: string,
  ecsService: string,
  serviceConnect: boolean,
): Record<string, string> {
  const [, , , region = 'us-east-1'] = clusterArn.split(':');
  const cluster = clusterArn.slice(clusterArn.lastIndexOf('/') + 1);
  return serviceConnect
    ? {
        AvailabilityZone: `${region}a`,
        DeploymentId: `${clusterArn.replace(':cluster/', ':task-set/')}/${ecsService}/ecs-svc/1`,
      }
    : {
        AVAILABILITY_ZONE: `${region}a`,
        REGION: region,
        ECS_SERVICE_NAME: ecsService,
        ECS_CLUSTER_NAME: cluster,
        ECS_TASK_DEFINITION_FAMILY: 'app',
      };
}

/** Seeds the cluster, the namespace, the services and their tasks. Throws if the cluster already runs tasks. */
export async function seedMotoWorld(
  clients: { ecs: ECSClient; cloudMap: ServiceDiscoveryClient },
  options: SeedOptions,
): Promise<SeededWorld> {
  const { ecs, cloudMap } = clients;
  const existing = await ecs.send(new DescribeClustersCommand({ clusters: [options.cluster] }));
  const running = existing.clusters?.find((c) => c.status === 'ACTIVE')?.runningTasksCount ?? 0;
  if (running > 0) {
    throw new Error(
      `cluster ${options.cluster} already runs ${running} task(s): seed a fresh moto_server (restart it, or POST /moto-api/reset and freeze task ageing again)`,
    );
  }
  const cluster = await ecs.send(new CreateClusterCommand({ clusterName: options.cluster }));
  const clusterArn = cluster.cluster?.clusterArn;
  if (clusterArn === undefined) throw new Error('moto created no cluster');
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'app',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [{ name: 'app', image: 'app:latest', memory: 512 }],
    }),
  );
  const ns = await cloudMap.send(new CreateHttpNamespaceCommand({ Name: options.namespace }));
  const op = await cloudMap.send(new GetOperationCommand({ OperationId: ns.OperationId }));
  const namespaceId = op.Operation?.Targets?.NAMESPACE;
  if (namespaceId === undefined) throw new Error(`moto created no namespace ${options.namespace}`);
  const world: SeededWorld = { clusterArn, ips: {}, cloudMapArns: {}, tasks: [] };
  const network = { awsvpcConfiguration: { subnets: [options.subnet], securityGroups: [SECURITY_GROUP] } };
  for (const item of options.services) {
    const created = await cloudMap.send(
      new CreateServiceCommand({ Name: item.cloudMap, NamespaceId: namespaceId }),
    );
    const serviceId = created.Service?.Id as string;
    const serviceArn = created.Service?.Arn as string;
    world.cloudMapArns[item.cloudMap] = serviceArn;
    for (const name of item.ecs) {
      const sc = options.serviceConnect?.includes(name) ?? false;
      await ecs.send(
        new CreateEcsServiceCommand({
          cluster: options.cluster,
          serviceName: name,
          taskDefinition: 'app',
          desiredCount: 0,
          launchType: 'FARGATE',
          ...(sc
            ? {
                serviceConnectConfiguration: {
                  enabled: true,
                  namespace: options.namespace,
                  services: [{ portName: 'http', discoveryName: item.cloudMap }],
                },
              }
            : { serviceRegistries: [{ registryArn: serviceArn }] }),
        }),
      );
    }
    world.ips[item.cloudMap] = [];
    const ecsService = item.ecs[0];
    if (item.tasks === 0 || ecsService === undefined) continue;
    const out = await ecs.send(
      new RunTaskCommand({
        cluster: options.cluster,
        taskDefinition: 'app',
        launchType: 'FARGATE',
        count: item.tasks,
        group: `service:${ecsService}`,
        networkConfiguration: network,
      }),
    );
    const sc = options.serviceConnect?.includes(ecsService) ?? false;
    for (const t of out.tasks ?? []) {
      const taskId = (t.taskArn as string).split('/').pop() as string;
      const ip = taskIp(t);
      world.ips[item.cloudMap]?.push(ip);
      world.tasks.push({ ecsService, cloudMapService: item.cloudMap, taskId, ip });
      await cloudMap.send(
        new RegisterInstanceCommand({
          ServiceId: serviceId,
          InstanceId: taskId,
          Attributes: {
            AWS_INSTANCE_IPV4: ip,
            AWS_INSTANCE_PORT: item.port,
            ...ecsInstanceAttributes(clusterArn, ecsService, sc),
          },
        }),
      );
    }
  }
  return world;
}

/**
 * Runs one Fargate task in ECS group `group` and registers it under the Cloud Map service
 * `serviceArn` with `ipv4` (the task's own IP when absent): a rogue or mismatched instance.
 */
export async function runAndRegister(
  clients: { ecs: ECSClient; cloudMap: ServiceDiscoveryClient },
  options: {
    cluster: string;
    subnet: string;
    group: string;
    serviceArn: string;
    ipv4?: string;
    port: string;
  },
): Promise<{ taskId: string; taskIp: string; listedIp: string }> {
  const out = await clients.ecs.send(
    new RunTaskCommand({
      cluster: options.cluster,
      taskDefinition: 'app',
      launchType: 'FARGATE',
      count: 1,
      group: options.group,
      networkConfiguration: {
        awsvpcConfiguration: { subnets: [options.subnet], securityGroups: [SECURITY_GROUP] },
      },
    }),
  );
  const task = out.tasks?.[0];
  if (task?.taskArn === undefined) throw new Error(`moto ran no task in ${options.group}`);
  const taskId = task.taskArn.split('/').pop() as string;
  const ip = taskIp(task);
  const listedIp = options.ipv4 ?? ip;
  await clients.cloudMap.send(
    new RegisterInstanceCommand({
      ServiceId: options.serviceArn.split('/').pop() as string,
      InstanceId: taskId,
      Attributes: { AWS_INSTANCE_IPV4: listedIp, AWS_INSTANCE_PORT: options.port },
    }),
  );
  return { taskId, taskIp: ip, listedIp };
}

/**
 * moto's default VPC subnet and its range (EC2's query API; moto ignores the signature). moto
 * gives awsvpc tasks random 10.x.y.z addresses whatever the subnet's range.
 */
export async function defaultSubnet(endpoint: string, region: string): Promise<{ id: string; cidr: string }> {
  const response = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: 'Action=DescribeSubnets&Version=2016-11-15',
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  const id = /<subnetId>([^<]+)<\/subnetId>/.exec(text)?.[1];
  const cidr = /<cidrBlock>([^<]+)<\/cidrBlock>/.exec(text)?.[1];
  if (id === undefined || cidr === undefined) {
    throw new Error(`${endpoint} has no default subnet in ${region}: is it moto_server?`);
  }
  return { id, cidr };
}
