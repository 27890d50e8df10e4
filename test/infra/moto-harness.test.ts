/** The moto harness every integration test relies on: loopback only, tasks that keep their status, reset, stop. */
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  DiscoverInstancesCommand,
  ListNamespacesCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import {
  awsClientConfig,
  describeWithMoto,
  isMotoInstalled,
  motoEnvironment,
  startMoto,
} from '../support/moto';

function portIsOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describeWithMoto('Harness: moto', (moto) => {
  let ecs: ECSClient;
  let cloudMap: ServiceDiscoveryClient;

  beforeAll(() => {
    ecs = new ECSClient(moto.clientConfig());
    cloudMap = new ServiceDiscoveryClient(moto.clientConfig());
  });
  beforeEach(() => moto.reset());
  afterAll(() => {
    ecs?.destroy();
    cloudMap?.destroy();
  });

  it('listens on loopback only', () => {
    expect(moto.endpoint).toBe(`http://127.0.0.1:${moto.port}`);
  });

  /** One of moto's default subnets, through the AWS CLI (which `motoEnvironment` points at moto). */
  function defaultSubnet(): string {
    const cli = spawnSync(
      'aws',
      ['ec2', 'describe-subnets', '--query', 'Subnets[0].SubnetId', '--output', 'text'],
      {
        env: motoEnvironment(moto.endpoint),
        encoding: 'utf8',
      },
    );
    if (cli.status !== 0) throw new Error(`aws ec2 describe-subnets failed: ${cli.stderr}`);
    return cli.stdout.trim();
  }

  async function runTask(): Promise<string> {
    await ecs.send(new CreateClusterCommand({ clusterName: 'c' }));
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'f',
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        containerDefinitions: [{ name: 'app', image: 'nginx', memory: 512 }],
      }),
    );
    const run = await ecs.send(
      new RunTaskCommand({
        cluster: 'c',
        taskDefinition: 'f',
        launchType: 'FARGATE',
        networkConfiguration: {
          awsvpcConfiguration: { subnets: [defaultSubnet()], securityGroups: ['sg-0123456789abcdef0'] },
        },
      }),
    );
    const arn = run.tasks?.[0]?.taskArn;
    if (arn === undefined) throw new Error('moto started no task');
    return arn;
  }

  it('keeps ECS tasks in their status however often they are described', async () => {
    const arn = await runTask();
    const statuses: Array<string | undefined> = [];
    for (let i = 0; i < 4; i++) {
      const out = await ecs.send(new DescribeTasksCommand({ cluster: 'c', tasks: [arn] }));
      statuses.push(out.tasks?.[0]?.lastStatus);
    }
    expect(statuses).toEqual(['RUNNING', 'RUNNING', 'RUNNING', 'RUNNING']);
  });

  it('serves Cloud Map DiscoverInstances through the plain endpoint (no data- host prefix)', async () => {
    const ns = await cloudMap.send(new CreateHttpNamespaceCommand({ Name: 'mcp-gateway.local' }));
    expect(ns.OperationId).toBeDefined();
    const { Namespaces = [] } = await cloudMap.send(new ListNamespacesCommand({}));
    const service = await cloudMap.send(
      new CreateServiceCommand({ Name: 'currenttime-server', NamespaceId: Namespaces[0]?.Id }),
    );
    await cloudMap.send(
      new RegisterInstanceCommand({
        ServiceId: service.Service?.Id,
        InstanceId: 'task-1',
        Attributes: { AWS_INSTANCE_IPV4: '10.0.3.17', AWS_INSTANCE_PORT: '8000' },
      }),
    );
    const found = await cloudMap.send(
      new DiscoverInstancesCommand({ NamespaceName: 'mcp-gateway.local', ServiceName: 'currenttime-server' }),
    );
    expect(found.Instances?.map((i) => [i.InstanceId, i.Attributes?.AWS_INSTANCE_IPV4])).toEqual([
      ['task-1', '10.0.3.17'],
    ]);
  });

  it('forgets everything on reset', async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: 'to-forget' }));
    await moto.reset();
    const { clusterArns = [] } = await ecs.send(new ListClustersCommand({}));
    expect(clusterArns).toEqual([]);
  });
});

(isMotoInstalled() ? describe : describe.skip)('Function: startMoto', () => {
  it('frees its port on stop, and a second stop is harmless', async () => {
    const server = await startMoto();
    expect(await portIsOpen(server.port)).toBe(true);
    await server.stop();
    await server.stop();
    expect(await portIsOpen(server.port)).toBe(false);
  });
});

describe('Function: awsClientConfig', () => {
  it('gives SDK clients fake credentials and the moto endpoint', () => {
    expect(awsClientConfig('http://127.0.0.1:1')).toEqual({
      region: 'us-west-2',
      endpoint: 'http://127.0.0.1:1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      disableHostPrefix: true,
      maxAttempts: 1,
    });
  });
});
