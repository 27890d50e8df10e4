import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, type Task } from '@aws-sdk/client-ecs';
import {
  DiscoverInstancesCommand,
  type DiscoverInstancesCommandOutput,
  GetServiceCommand,
  NamespaceNotFound,
  ServiceDiscoveryClient,
  ServiceNotFound,
} from '@aws-sdk/client-servicediscovery';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsAdapters } from '../../functions/lib/aws/clients';
import { CloudMapAdapter } from '../../functions/lib/aws/cloudmap';
import { EcsAdapter, EcsFailureError } from '../../functions/lib/aws/ecs';
import { isRetryable, PermanentError } from '../../functions/lib/errors';
import { CountingContext } from '../../functions/lib/reconcile/calls';

const CLOUDMAP_FIXTURES = join(__dirname, '..', 'fixtures', 'cloudmap');
const CLUSTER = 'mcp-gateway-ecs-cluster';
const TASK_ARN = (id: string) => `arn:aws:ecs:us-west-2:111122223333:task/${CLUSTER}/${id}`;

function cloudMapFixture(name: string): DiscoverInstancesCommandOutput {
  return { ...JSON.parse(readFileSync(join(CLOUDMAP_FIXTURES, name), 'utf8')), $metadata: {} };
}

describe('Class: CloudMapAdapter', () => {
  const sdMock = mockClient(ServiceDiscoveryClient);

  beforeEach(() => {
    sdMock.reset();
  });

  afterAll(() => {
    sdMock.restore();
  });

  describe('Method: discoverInstances', () => {
    it('asks for every health status and the most results, in the namespace and service given', async () => {
      // Prepare
      sdMock.on(DiscoverInstancesCommand).resolves({ Instances: [] });
      const adapter = new CloudMapAdapter(new ServiceDiscoveryClient({}));
      const ctx = new CountingContext();

      // Act
      await adapter.discoverInstances('mcp-gateway.local', 'currenttime-server', ctx);

      // Assess
      const calls = sdMock.commandCalls(DiscoverInstancesCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({
        NamespaceName: 'mcp-gateway.local',
        ServiceName: 'currenttime-server',
        HealthStatus: 'ALL',
        MaxResults: 1000,
      });
      expect(ctx.take()).toEqual({ 'cloudmap.DiscoverInstances': 1 });
    });

    it('maps a real Service Connect answer: task id, IPv4, port, UNKNOWN health, every attribute', async () => {
      // Prepare
      sdMock
        .on(DiscoverInstancesCommand)
        .resolves(cloudMapFixture('discoverinstances-serviceconnect-raw-response-rust-example.json'));
      const adapter = new CloudMapAdapter(new ServiceDiscoveryClient({}));

      // Act
      const instances = await adapter.discoverInstances('aeroftp', 'aeroftp-service', new CountingContext());

      // Assess
      expect(instances).toEqual([
        {
          instanceId: 'ce6d6b2eca2443ee9c2f02b661b8aa96',
          ipv4: '172.16.24.156',
          port: 21,
          health: 'UNKNOWN',
          attributes: {
            AWS_INSTANCE_IPV4: '172.16.24.156',
            AWS_INSTANCE_PORT: '21',
            AvailabilityZone: 'eu-west-2b',
            DeploymentId:
              'arn:aws:ecs:eu-west-2:295934382486:task-set/aeroftp-cluster/aeroftp-service/ecs-svc/9893778955264594543',
          },
        },
        {
          instanceId: 'c6bdc0ae4fd04b98a6d6cf06d1da2df7',
          ipv4: '172.16.12.216',
          port: 21,
          health: 'UNKNOWN',
          attributes: {
            AWS_INSTANCE_IPV4: '172.16.12.216',
            AWS_INSTANCE_PORT: '21',
            AvailabilityZone: 'eu-west-2a',
            DeploymentId:
              'arn:aws:ecs:eu-west-2:295934382486:task-set/aeroftp-cluster/aeroftp-service/ecs-svc/9893778955264594543',
          },
        },
      ]);
    });

    it('maps the AWS CLI example and an instance with custom attributes only', async () => {
      // Prepare
      sdMock
        .on(DiscoverInstancesCommand, { ServiceName: 'myservice' })
        .resolves(cloudMapFixture('discoverinstances-awscli-example-healthstatus-all.json'))
        .on(DiscoverInstancesCommand, { ServiceName: 'backend-service' })
        .resolves(cloudMapFixture('discoverinstances-cloudmap-tutorial-custom-attributes.json'));
      const adapter = new CloudMapAdapter(new ServiceDiscoveryClient({}));

      // Act
      const cli = await adapter.discoverInstances('example.com', 'myservice', new CountingContext());
      const tutorial = await adapter.discoverInstances(
        'cloudmap-tutorial.com',
        'backend-service',
        new CountingContext(),
      );

      // Assess
      expect(cli).toEqual([
        {
          instanceId: 'myservice-53',
          ipv4: '172.2.1.3',
          port: 808,
          health: 'UNKNOWN',
          attributes: { AWS_INSTANCE_IPV4: '172.2.1.3', AWS_INSTANCE_PORT: '808' },
        },
      ]);
      expect(tutorial).toEqual([
        { instanceId: 'second', health: 'UNKNOWN', attributes: { 'service-name': 'backend' } },
      ]);
    });

    it.each([
      [
        'HEALTHY',
        { AWS_INSTANCE_IPV4: '10.0.1.11', AWS_INSTANCE_PORT: '8000' },
        { health: 'HEALTHY', port: 8000 },
      ],
      [
        'UNHEALTHY',
        { AWS_INSTANCE_IPV4: '10.0.1.11', AWS_INSTANCE_PORT: '65535' },
        { health: 'UNHEALTHY', port: 65535 },
      ],
      ['UNKNOWN', { AWS_INSTANCE_IPV4: '10.0.1.11', AWS_INSTANCE_PORT: '0' }, { health: 'UNKNOWN' }],
      [undefined, { AWS_INSTANCE_IPV4: '10.0.1.11', AWS_INSTANCE_PORT: '65536' }, { health: 'UNKNOWN' }],
      ['SOMETHING_NEW', { AWS_INSTANCE_IPV4: '10.0.1.11', AWS_INSTANCE_PORT: 'http' }, { health: 'UNKNOWN' }],
      ['HEALTHY', { AWS_INSTANCE_IPV4: '10.0.1.11', AWS_INSTANCE_PORT: '80.5' }, { health: 'HEALTHY' }],
      ['HEALTHY', { AWS_INSTANCE_IPV4: '10.0.1.11', AWS_INSTANCE_PORT: '' }, { health: 'HEALTHY' }],
    ])('health %s and attributes %j → %j', async (health, attributes, expected) => {
      // Prepare
      sdMock.on(DiscoverInstancesCommand).resolves({
        Instances: [
          {
            InstanceId: 'a1',
            ...(health === undefined ? {} : { HealthStatus: health as 'HEALTHY' }),
            Attributes: attributes,
          },
        ],
      });
      const adapter = new CloudMapAdapter(new ServiceDiscoveryClient({}));

      // Act
      const [instance] = await adapter.discoverInstances('mcp-gateway.local', 'x', new CountingContext());

      // Assess
      expect(instance).toEqual({ instanceId: 'a1', ipv4: '10.0.1.11', attributes, ...expected });
    });

    it('leaves out ipv4 when AWS_INSTANCE_IPV4 is absent or empty, and skips instances without an id', async () => {
      // Prepare
      sdMock.on(DiscoverInstancesCommand).resolves({
        Instances: [
          { InstanceId: 'no-ip', Attributes: { AWS_INSTANCE_PORT: '8000' } },
          { InstanceId: 'empty-ip', Attributes: { AWS_INSTANCE_IPV4: '' } },
          { InstanceId: 'no-attributes' },
          { Attributes: { AWS_INSTANCE_IPV4: '10.0.1.99' } },
        ],
      });
      const adapter = new CloudMapAdapter(new ServiceDiscoveryClient({}));

      // Act
      const instances = await adapter.discoverInstances('mcp-gateway.local', 'x', new CountingContext());

      // Assess
      expect(instances).toEqual([
        { instanceId: 'no-ip', port: 8000, health: 'UNKNOWN', attributes: { AWS_INSTANCE_PORT: '8000' } },
        { instanceId: 'empty-ip', health: 'UNKNOWN', attributes: { AWS_INSTANCE_IPV4: '' } },
        { instanceId: 'no-attributes', health: 'UNKNOWN', attributes: {} },
      ]);
    });

    it.each([
      ['NamespaceNotFound', () => new NamespaceNotFound({ message: 'Namespace not found', $metadata: {} })],
      ['ServiceNotFound', () => new ServiceNotFound({ message: 'Service not found', $metadata: {} })],
    ])('turns %s into a PermanentError naming the service', async (name, make) => {
      // Prepare
      const cause = make();
      sdMock.on(DiscoverInstancesCommand).rejects(cause);
      const adapter = new CloudMapAdapter(new ServiceDiscoveryClient({}));

      // Act
      const error = await adapter
        .discoverInstances('mcp-gateway.local', 'currenttime-server', new CountingContext())
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(PermanentError);
      expect(isRetryable(error)).toBe(false);
      expect((error as Error).message).toBe(
        `Cloud Map has no service currenttime-server in namespace mcp-gateway.local (${name})`,
      );
      expect((error as Error).cause).toBe(cause);
    });

    it('lets a throttling error through, retryable', async () => {
      // Prepare
      const throttled = Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
        $retryable: { throttling: true },
      });
      sdMock.on(DiscoverInstancesCommand).rejects(throttled);
      const adapter = new CloudMapAdapter(new ServiceDiscoveryClient({}));

      // Act
      const error = await adapter
        .discoverInstances('mcp-gateway.local', 'x', new CountingContext())
        .catch((e) => e);

      // Assess
      expect(error).toBe(throttled);
      expect(isRetryable(error)).toBe(true);
    });
  });

  describe('Method: serviceNameByArn', () => {
    const ARN = 'arn:aws:servicediscovery:us-west-2:111122223333:service/srv-abcdefghijklmnop';

    it('asks GetService by the id in the ARN and caches the name', async () => {
      // Prepare
      sdMock
        .on(GetServiceCommand)
        .resolves({ Service: { Id: 'srv-abcdefghijklmnop', Name: 'currenttime-server' } });
      const adapter = new CloudMapAdapter(new ServiceDiscoveryClient({}));
      const ctx = new CountingContext();

      // Act
      const first = await adapter.serviceNameByArn(ARN, ctx);
      const second = await adapter.serviceNameByArn(ARN, ctx);

      // Assess
      expect([first, second]).toEqual(['currenttime-server', 'currenttime-server']);
      expect(sdMock.commandCalls(GetServiceCommand).map((c) => c.args[0].input)).toEqual([
        { Id: 'srv-abcdefghijklmnop' },
      ]);
      expect(ctx.take()).toEqual({ 'cloudmap.GetService': 1 });
    });

    it('caches a service that does not exist as undefined', async () => {
      // Prepare
      sdMock.on(GetServiceCommand).rejects(new ServiceNotFound({ message: 'gone', $metadata: {} }));
      const adapter = new CloudMapAdapter(new ServiceDiscoveryClient({}));

      // Act
      const first = await adapter.serviceNameByArn(ARN, new CountingContext());
      const second = await adapter.serviceNameByArn(ARN, new CountingContext());

      // Assess
      expect([first, second]).toEqual([undefined, undefined]);
      expect(sdMock.commandCalls(GetServiceCommand)).toHaveLength(1);
    });

    it('does not cache other failures', async () => {
      // Prepare
      sdMock
        .on(GetServiceCommand)
        .rejectsOnce(
          Object.assign(new Error('boom'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }),
        )
        .resolves({ Service: { Name: 'currenttime-server' } });
      const adapter = new CloudMapAdapter(new ServiceDiscoveryClient({}));

      // Act
      const first = await adapter.serviceNameByArn(ARN, new CountingContext()).catch((e: Error) => e.name);
      const second = await adapter.serviceNameByArn(ARN, new CountingContext());

      // Assess
      expect(first).toBe('InternalFailure');
      expect(second).toBe('currenttime-server');
      expect(sdMock.commandCalls(GetServiceCommand)).toHaveLength(2);
    });
  });
});

describe('Class: EcsAdapter', () => {
  const ecsMock = mockClient(ECSClient);

  beforeEach(() => {
    ecsMock.reset();
  });

  afterAll(() => {
    ecsMock.restore();
  });

  function runningTask(id: string, extra: Partial<Task> = {}): Task {
    return {
      taskArn: TASK_ARN(id),
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 3,
      group: 'service:mcp-gateway-currenttime',
      ...extra,
    };
  }

  describe('Method: describeTasks', () => {
    it('asks in chunks of 100 ids', async () => {
      // Prepare
      const ids = Array.from({ length: 250 }, (_, i) => i.toString(16).padStart(32, '0'));
      ecsMock.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
        tasks: input.tasks.map((id) => runningTask(id)),
        failures: [],
      }));
      const adapter = new EcsAdapter(new ECSClient({}));
      const ctx = new CountingContext();

      // Act
      const states = await adapter.describeTasks(CLUSTER, ids, ctx);

      // Assess
      const calls = ecsMock.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input);
      expect(calls.map((c) => c.tasks?.length)).toEqual([100, 100, 50]);
      expect(calls.every((c) => c.cluster === CLUSTER)).toBe(true);
      expect(calls.flatMap((c) => c.tasks)).toEqual(ids);
      expect(states.size).toBe(250);
      expect(ctx.take()).toEqual({ 'ecs.DescribeTasks': 3 });
    });

    it('maps a task: id from the ARN, statuses, version, startedAt as ISO, group and the ENI IP', async () => {
      // Prepare
      ecsMock.on(DescribeTasksCommand).resolves({
        tasks: [
          runningTask('3f1c2a9b8e7d4c6a9b0e1f2a3b4c5d6e', {
            startedAt: new Date('2026-01-01T00:01:02.345Z'),
            attachments: [
              { type: 'ServiceConnect', status: 'ATTACHED', details: [] },
              {
                type: 'ElasticNetworkInterface',
                status: 'ATTACHED',
                details: [
                  { name: 'subnetId', value: 'subnet-0a1b2c3d' },
                  { name: 'privateIPv4Address', value: '10.0.1.11' },
                ],
              },
            ],
          }),
        ],
      });
      const adapter = new EcsAdapter(new ECSClient({}));

      // Act
      const states = await adapter.describeTasks(
        CLUSTER,
        ['3f1c2a9b8e7d4c6a9b0e1f2a3b4c5d6e'],
        new CountingContext(),
      );

      // Assess
      expect([...states.entries()]).toEqual([
        [
          '3f1c2a9b8e7d4c6a9b0e1f2a3b4c5d6e',
          {
            taskId: '3f1c2a9b8e7d4c6a9b0e1f2a3b4c5d6e',
            taskArn: TASK_ARN('3f1c2a9b8e7d4c6a9b0e1f2a3b4c5d6e'),
            lastStatus: 'RUNNING',
            desiredStatus: 'RUNNING',
            version: 3,
            startedAt: '2026-01-01T00:01:02.345Z',
            group: 'service:mcp-gateway-currenttime',
            ipv4: '10.0.1.11',
          },
        ],
      ]);
    });

    it('leaves failures (MISSING) and tasks without an ARN or status out of the map', async () => {
      // Prepare
      ecsMock.on(DescribeTasksCommand).resolves({
        tasks: [
          runningTask('a'.repeat(32)),
          { lastStatus: 'RUNNING' },
          { taskArn: TASK_ARN('c'.repeat(32)) },
          runningTask('d'.repeat(32), { lastStatus: 'STOPPED', desiredStatus: 'STOPPED' }),
        ],
        failures: [{ arn: TASK_ARN('b'.repeat(32)), reason: 'MISSING' }],
      });
      const adapter = new EcsAdapter(new ECSClient({}));

      // Act
      const states = await adapter.describeTasks(
        CLUSTER,
        ['a', 'b', 'c', 'd'].map((c) => c.repeat(32)),
        new CountingContext(),
      );

      // Assess
      expect([...states.keys()].sort()).toEqual(['a'.repeat(32), 'd'.repeat(32)]);
      expect(states.get('d'.repeat(32))?.lastStatus).toBe('STOPPED');
      expect(states.has('b'.repeat(32))).toBe(false);
    });

    it.each(['HEALTHY', 'UNHEALTHY', 'UNKNOWN'] as const)(
      'keeps the task healthStatus %s',
      async (health) => {
        // Prepare
        ecsMock.on(DescribeTasksCommand).resolves({
          tasks: [
            runningTask('a'.repeat(32), {
              healthStatus: health,
              containers: [{ name: 'app', healthStatus: health === 'HEALTHY' ? 'UNHEALTHY' : 'HEALTHY' }],
            }),
          ],
        });
        const adapter = new EcsAdapter(new ECSClient({}));

        // Act
        const states = await adapter.describeTasks(CLUSTER, ['a'.repeat(32)], new CountingContext());

        // Assess: the task-level health (ECS's fold of the essential containers), not a container's own
        expect(states.get('a'.repeat(32))?.healthStatus).toBe(health);
      },
    );

    it('leaves healthStatus out when ECS gives none or an unknown value', async () => {
      // Prepare
      ecsMock.on(DescribeTasksCommand).resolves({
        tasks: [runningTask('a'.repeat(32)), runningTask('b'.repeat(32), { healthStatus: 'SICK' as never })],
      });
      const adapter = new EcsAdapter(new ECSClient({}));

      // Act
      const states = await adapter.describeTasks(
        CLUSTER,
        ['a', 'b'].map((c) => c.repeat(32)),
        new CountingContext(),
      );

      // Assess
      expect(states.get('a'.repeat(32))).not.toHaveProperty('healthStatus');
      expect(states.get('b'.repeat(32))).not.toHaveProperty('healthStatus');
    });

    it('reads the IP from the ENI attachment and the group as ECS gives them; no ENI, no ipv4', async () => {
      // Prepare
      ecsMock.on(DescribeTasksCommand).resolves({
        tasks: [
          runningTask('a'.repeat(32), {
            group: 'service:other-service',
            attachments: [
              {
                type: 'ElasticNetworkInterface',
                details: [{ name: 'privateIPv4Address', value: '10.0.9.99' }],
              },
            ],
          }),
          runningTask('b'.repeat(32), { group: 'family:currenttime' }),
        ],
      });
      const adapter = new EcsAdapter(new ECSClient({}));

      // Act
      const states = await adapter.describeTasks(
        CLUSTER,
        ['a', 'b'].map((c) => c.repeat(32)),
        new CountingContext(),
      );

      // Assess
      expect(states.get('a'.repeat(32))).toMatchObject({ ipv4: '10.0.9.99', group: 'service:other-service' });
      expect(states.get('b'.repeat(32))).toMatchObject({ group: 'family:currenttime' });
      expect(states.get('b'.repeat(32))).not.toHaveProperty('ipv4');
    });

    it.each([
      ['ACCESS_DENIED', undefined],
      ['INTERNAL_ERROR', 'try again'],
      [undefined, undefined],
    ])(
      'fails, retryable, on a DescribeTasks failure with reason %s (not MISSING)',
      async (reason, detail) => {
        // Prepare
        ecsMock.on(DescribeTasksCommand).resolves({
          tasks: [runningTask('a'.repeat(32))],
          failures: [
            { arn: TASK_ARN('b'.repeat(32)), reason: 'MISSING' },
            {
              arn: TASK_ARN('c'.repeat(32)),
              ...(reason === undefined ? {} : { reason }),
              ...(detail ? { detail } : {}),
            },
          ],
        });
        const adapter = new EcsAdapter(new ECSClient({}));

        // Act
        const call = adapter.describeTasks(
          CLUSTER,
          ['a', 'b', 'c'].map((c) => c.repeat(32)),
          new CountingContext(),
        );

        // Assess
        await expect(call).rejects.toBeInstanceOf(EcsFailureError);
        const error = await call.catch((e: unknown) => e);
        expect(isRetryable(error)).toBe(true);
        expect((error as Error).message).toContain(TASK_ARN('c'.repeat(32)));
        expect((error as Error).message).not.toContain(TASK_ARN('b'.repeat(32)));
        if (reason !== undefined) expect((error as Error).message).toContain(reason);
      },
    );

    it('makes no call for no ids', async () => {
      // Prepare
      const adapter = new EcsAdapter(new ECSClient({}));

      // Act
      const states = await adapter.describeTasks(CLUSTER, [], new CountingContext());

      // Assess
      expect(states.size).toBe(0);
      expect(ecsMock.commandCalls(DescribeTasksCommand)).toHaveLength(0);
    });
  });

  describe('Method: describeService', () => {
    it('collects Service Connect discovery names, the portName fallback and ServiceRegistries ARNs', async () => {
      // Prepare
      ecsMock.on(DescribeServicesCommand).resolves({
        services: [
          {
            serviceName: 'mcp-gateway-currenttime',
            deployments: [
              {
                id: 'ecs-svc/1',
                serviceConnectConfiguration: {
                  enabled: true,
                  namespace: 'mcp-gateway.local',
                  services: [
                    { portName: 'http', discoveryName: 'currenttime-server' },
                    { portName: 'metrics' },
                  ],
                },
                serviceConnectResources: [
                  {
                    discoveryName: 'currenttime-server',
                    discoveryArn: 'arn:aws:servicediscovery:us-west-2:111122223333:service/srv-1',
                  },
                ],
              },
              {
                id: 'ecs-svc/2',
                serviceConnectResources: [
                  {
                    discoveryName: 'currenttime-legacy',
                    discoveryArn: 'arn:aws:servicediscovery:us-west-2:111122223333:service/srv-2',
                  },
                ],
              },
            ],
            serviceRegistries: [
              { registryArn: 'arn:aws:servicediscovery:us-west-2:111122223333:service/srv-dns' },
              { containerName: 'app' },
            ],
          },
        ],
      });
      const adapter = new EcsAdapter(new ECSClient({}));
      const ctx = new CountingContext();

      // Act
      const found = await adapter.describeService(CLUSTER, 'mcp-gateway-currenttime', ctx);

      // Assess
      expect(found).toEqual({
        serviceName: 'mcp-gateway-currenttime',
        discoveryNames: ['currenttime-server', 'metrics', 'currenttime-legacy'],
        registryArns: ['arn:aws:servicediscovery:us-west-2:111122223333:service/srv-dns'],
      });
      expect(ecsMock.commandCalls(DescribeServicesCommand)[0]?.args[0].input).toEqual({
        cluster: CLUSTER,
        services: ['mcp-gateway-currenttime'],
      });
      expect(ctx.take()).toEqual({ 'ecs.DescribeServices': 1 });
    });

    it('returns undefined for a service ECS does not have', async () => {
      // Prepare
      ecsMock.on(DescribeServicesCommand).resolves({
        services: [],
        failures: [{ arn: 'arn:aws:ecs:us-west-2:111122223333:service/x/nope', reason: 'MISSING' }],
      });
      const adapter = new EcsAdapter(new ECSClient({}));

      // Act
      const found = await adapter.describeService(CLUSTER, 'nope', new CountingContext());

      // Assess
      expect(found).toBeUndefined();
    });

    it('reports a service with no discovery at all as empty lists', async () => {
      // Prepare
      ecsMock.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 'plain', deployments: [] }] });
      const adapter = new EcsAdapter(new ECSClient({}));

      // Act
      const found = await adapter.describeService(CLUSTER, 'plain', new CountingContext());

      // Assess
      expect(found).toEqual({ serviceName: 'plain', discoveryNames: [], registryArns: [] });
    });
  });
});

describe('Function: createAwsAdapters', () => {
  const saved = { ...process.env };

  afterEach(() => {
    for (const key of ['AWS_ENDPOINT_URL_SERVICEDISCOVERY', 'AWS_ENDPOINT_URL_ECS', 'AWS_ENDPOINT_URL']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  function clientsOf(adapters: ReturnType<typeof createAwsAdapters>) {
    return {
      cloudMap: (adapters.cloudMap as unknown as { client: ServiceDiscoveryClient }).client,
      ecs: (adapters.ecs as unknown as { client: ECSClient }).client,
    };
  }

  /**
   * The URL a DiscoverInstances call would be sent to, captured after signing and before the
   * request leaves the process (nothing is sent).
   */
  async function targetOf(client: ServiceDiscoveryClient): Promise<string> {
    let url = '';
    client.middlewareStack.add(
      () => async (args) => {
        const req = args.request as { protocol: string; hostname: string; port?: number; path: string };
        url = `${req.protocol}//${req.hostname}${req.port ? `:${req.port}` : ''}${req.path}`;
        throw Object.assign(new Error('captured'), { name: 'Captured' });
      },
      { step: 'finalizeRequest', priority: 'low', name: 'captureRequest' },
    );
    await client
      .send(new DiscoverInstancesCommand({ NamespaceName: 'mcp-gateway.local', ServiceName: 'x' }))
      .catch((e: Error) => {
        if (e.name !== 'Captured') throw e;
      });
    return url;
  }

  it('turns the data- host prefix off when AWS_ENDPOINT_URL_SERVICEDISCOVERY is set', async () => {
    // Prepare
    process.env.AWS_ENDPOINT_URL_SERVICEDISCOVERY = 'http://127.0.0.1:5999';

    // Act
    const { cloudMap } = clientsOf(createAwsAdapters());

    // Assess
    expect(cloudMap.config.disableHostPrefix).toBe(true);
    expect(await targetOf(cloudMap)).toBe('http://127.0.0.1:5999/');
  });

  it('turns it off for the generic AWS_ENDPOINT_URL too', () => {
    // Act
    const { cloudMap } = clientsOf(createAwsAdapters({ AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' }));

    // Assess
    expect(cloudMap.config.disableHostPrefix).toBe(true);
  });

  it('keeps the data- host prefix against AWS itself', async () => {
    // Prepare
    delete process.env.AWS_ENDPOINT_URL_SERVICEDISCOVERY;
    delete process.env.AWS_ENDPOINT_URL;

    // Act
    const { cloudMap } = clientsOf(createAwsAdapters());

    // Assess
    expect(cloudMap.config.disableHostPrefix).toBe(false);
    expect(await targetOf(cloudMap)).toBe('https://data-servicediscovery.us-west-2.amazonaws.com/');
  });

  it('gives both clients standard retries with 3 attempts', async () => {
    // Act
    const { cloudMap, ecs } = clientsOf(createAwsAdapters({}));

    // Assess
    for (const client of [cloudMap, ecs]) {
      expect(await client.config.maxAttempts()).toBe(3);
      const mode: unknown = client.config.retryMode;
      expect(typeof mode === 'function' ? await mode() : mode).toBe('standard');
    }
  });
});
