/**
 * The AWS side and the registry of the integration tier, shared by its tests: an ECS cluster,
 * Fargate tasks and a Cloud Map namespace in moto_server, the Keycloak M2M secret in moto's
 * Secrets Manager, the local registry with Keycloak client-credentials auth (all on 127.0.0.1), and
 * the reconciler's configuration for the two v1.0.16 entries whose services the tests run tasks for.
 */
import { join } from 'node:path';
import {
  CreateClusterCommand,
  CreateServiceCommand as CreateEcsServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  DeregisterInstanceCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { parseConfig } from '../../functions/lib/config/config';
import { V1016_TARGETS } from '../../functions/lib/config/defaults';
import { taskEvent } from '../../functions/lib/inmemory/events';
import {
  type Generation,
  isDocumentDbGeneration,
  type LocalRegistry,
  startLocalRegistry,
} from '../../tools/local-registry';
import { loadWorld } from '../../tools/replay/environment';
import { defaultSubnet, ecsInstanceAttributes } from '../../tools/try/moto-world';
import { MOTO_ACCOUNT, MOTO_REGION, type MotoFixture, motoEnvironment } from '../support/moto';

export const ROOT = join(__dirname, '..', '..');
export const CLUSTER = 'mcp-gateway-ecs-cluster';
export const CLUSTER_ARN = `arn:aws:ecs:${MOTO_REGION}:${MOTO_ACCOUNT}:cluster/${CLUSTER}`;
export const NAMESPACE = 'mcp-gateway.local';
export const CLIENT_ID = 'mcp-gateway-m2m';
export const CLIENT_SECRET = 'm2m-secret-5b1f0c2e7d';

export interface Task {
  taskId: string;
  ip: string;
}

export interface World {
  registry: LocalRegistry;
  /** The configuration document (`RECONCILER_CONFIG`), checked by the function's parser. */
  configJson: string;
  /** moto's endpoint and fake credentials, for a child process. */
  env: NodeJS.ProcessEnv;
  ecs: ECSClient;
  /** Starts Fargate tasks of a service and registers them in Cloud Map, as ECS Service Connect does. */
  startTasks(
    family: string,
    service: string,
    cloudMapService: string | undefined,
    count: number,
  ): Promise<Task[]>;
  /**
   * Creates a Cloud Map service of the namespace and an ECS service of the cluster that publishes
   * it through ServiceRegistries (no tasks: start them with `startTasks`). Returns the Cloud Map ARN.
   */
  addService(ecsService: string, cloudMapService: string): Promise<string>;
  /** Stops a task and deregisters it, as ECS does. */
  stopTask(task: Task, cloudMapService: string): Promise<void>;
  /** An ECS Task State Change event of the cluster with a fresh id. */
  event(
    service: string,
    task: Task,
    lastStatus: string,
    desiredStatus: string,
    version: number,
  ): ReturnType<typeof taskEvent>;
  stop(): Promise<void>;
}

/** Builds the world in moto and starts the local registry of `generation`. */
export async function buildWorld(moto: MotoFixture, generation: Generation): Promise<World> {
  const seed = loadWorld(join(ROOT, 'events', 'world.json'));
  const config = moto.clientConfig();
  const vpc = await defaultSubnet(moto.endpoint, MOTO_REGION);
  const registry = await startLocalRegistry({
    generation,
    // moto gives tasks random 10.x addresses whatever the subnet's range: allow-list both.
    allowedCidrs: isDocumentDbGeneration(generation) ? [vpc.cidr, '10.0.0.0/8'] : [],
    clients: { [CLIENT_ID]: CLIENT_SECRET },
    seed: {
      servers: seed.servers,
      agents: seed.agents,
      state: Object.fromEntries(seed.servers.map((s) => [String(s.path), true])),
    },
  });

  const ecs = new ECSClient(config);
  const cloudMap = new ServiceDiscoveryClient(config);
  const secrets = new SecretsManagerClient(config);
  const cloudMapServiceIds = new Map<string, string>();
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  for (const family of ['currenttime', 'mcpgw', 'registry']) {
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [{ name: 'app', image: `${family}:latest`, memory: 512 }],
      }),
    );
  }
  const namespace = await cloudMap.send(new CreateHttpNamespaceCommand({ Name: NAMESPACE }));
  const op = await cloudMap.send(new GetOperationCommand({ OperationId: namespace.OperationId }));
  const namespaceId = op.Operation?.Targets?.NAMESPACE as string;
  for (const name of ['currenttime-server', 'mcpgw-server']) {
    const created = await cloudMap.send(new CreateServiceCommand({ Name: name, NamespaceId: namespaceId }));
    cloudMapServiceIds.set(name, created.Service?.Id as string);
  }
  const secret = await secrets.send(
    new CreateSecretCommand({
      Name: 'mcp-gateway-keycloak-m2m-client-secret',
      SecretString: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
    }),
  );

  const document = {
    cluster: CLUSTER_ARN,
    namespace: NAMESPACE,
    registryService: 'mcp-gateway-registry',
    registry: {
      url: registry.url,
      auth: { type: 'keycloak', tokenUrl: registry.tokenUrl, secretArn: secret.ARN },
      // No timeoutMs: the default (5 s) is the longest whose worst case fits the function's time budget.
    },
    // The two v1.0.16 entries whose services the tests run tasks for.
    targets: V1016_TARGETS.filter((t) => t.path === '/currenttime/' || t.path === '/airegistry-tools/'),
  };
  parseConfig(document); // fail here, not in a child process, if the test's own config is wrong
  const env: NodeJS.ProcessEnv = {
    ...motoEnvironment(moto.endpoint),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_DEV: 'false',
  };
  delete env.POWERTOOLS_METRICS_DISABLED;

  let eventCounter = 0;
  return {
    registry,
    configJson: JSON.stringify(document),
    env,
    ecs,
    async startTasks(family, service, cloudMapService, count) {
      const out = await ecs.send(
        new RunTaskCommand({
          cluster: CLUSTER,
          taskDefinition: family,
          launchType: 'FARGATE',
          count,
          group: `service:${service}`,
          networkConfiguration: {
            awsvpcConfiguration: { subnets: [vpc.id], securityGroups: ['sg-0123456789abcdef0'] },
          },
        }),
      );
      const tasks: Task[] = (out.tasks ?? []).map((t) => ({
        taskId: (t.taskArn as string).split('/').pop() as string,
        ip: t.attachments?.[0]?.details?.find((d) => d.name === 'privateIPv4Address')?.value as string,
      }));
      if (cloudMapService !== undefined) {
        for (const t of tasks) {
          await cloudMap.send(
            new RegisterInstanceCommand({
              ServiceId: cloudMapServiceIds.get(cloudMapService),
              InstanceId: t.taskId,
              // What ECS writes on a ServiceRegistries instance (moto's ECS registers none).
              Attributes: {
                AWS_INSTANCE_IPV4: t.ip,
                AWS_INSTANCE_PORT: '8000',
                ...ecsInstanceAttributes(CLUSTER_ARN, service, false),
              },
            }),
          );
        }
      }
      return tasks;
    },
    async addService(ecsService, cloudMapService) {
      const created = await cloudMap.send(
        new CreateServiceCommand({ Name: cloudMapService, NamespaceId: namespaceId }),
      );
      const arn = created.Service?.Arn as string;
      cloudMapServiceIds.set(cloudMapService, created.Service?.Id as string);
      await ecs.send(
        new CreateEcsServiceCommand({
          cluster: CLUSTER,
          serviceName: ecsService,
          taskDefinition: 'currenttime',
          desiredCount: 0,
          serviceRegistries: [{ registryArn: arn }],
        }),
      );
      return arn;
    },
    async stopTask(task, cloudMapService) {
      await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: task.taskId }));
      await cloudMap.send(
        new DeregisterInstanceCommand({
          ServiceId: cloudMapServiceIds.get(cloudMapService),
          InstanceId: task.taskId,
        }),
      );
    },
    event(service, task, lastStatus, desiredStatus, version) {
      eventCounter++;
      return taskEvent({
        clusterArn: CLUSTER_ARN,
        taskId: task.taskId,
        service,
        lastStatus,
        desiredStatus,
        version,
        ipv4: task.ip,
        id: `it-${String(eventCounter).padStart(4, '0')}-0000-4000-8000-000000000000`,
        time: new Date().toISOString(),
      });
    },
    async stop() {
      await registry.stop();
    },
  };
}
