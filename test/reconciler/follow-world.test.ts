import {
  DescribeServicesCommand,
  type DescribeServicesCommandInput,
  ECSClient,
  ListServicesCommand as ListEcsServicesCommand,
} from '@aws-sdk/client-ecs';
import {
  DiscoverInstancesCommand,
  type DiscoverInstancesCommandInput,
  GetServiceCommand,
  type GetServiceCommandInput,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudMapAdapter } from '../../functions/lib/aws/cloudmap';
import { DESCRIBE_SERVICES_MAX, EcsAdapter, EcsFailureError } from '../../functions/lib/aws/ecs';
import { FollowWorldAdapter, publisherOf, readEcsServices } from '../../functions/lib/aws/follow-world';
import { isRetryable, PermanentError } from '../../functions/lib/errors';
import { matchEntry } from '../../functions/lib/follow/match';
import { CountingContext } from '../../functions/lib/reconcile/calls';

/**
 * Follow mode's world of one name (aws/follow-world.ts): DiscoverInstances of the name, then
 * DescribeServices of the ECS services its instances name; and the whole cluster's read discover
 * keeps (`readEcsServices`): ten services a DescribeServices call (the API's limit), page by page
 * of ListServices.
 */

const CLUSTER = 'mcp-gateway-ecs-cluster';
const NAMESPACE = 'mcp-gateway.local';
const arnOf = (name: string) => `arn:aws:ecs:us-west-2:111122223333:service/${CLUSTER}/${name}`;
const names = (from: number, count: number) => Array.from({ length: count }, (_, i) => `svc-${from + i}`);

describe('Function: readEcsServices', () => {
  const ecsMock = mockClient(ECSClient);

  beforeEach(() => {
    ecsMock.reset();
    // Every described service publishes a Cloud Map service of its own name by Service Connect.
    ecsMock.on(DescribeServicesCommand).callsFake((input: DescribeServicesCommandInput) => ({
      services: (input.services ?? []).map((name) => ({
        serviceName: name,
        deployments: [{ serviceConnectResources: [{ discoveryName: name }] }],
      })),
    }));
  });

  afterAll(() => {
    ecsMock.restore();
  });

  function read(ctx: CountingContext) {
    const ecs = new ECSClient({});
    return readEcsServices(ecs, new EcsAdapter(ecs), CLUSTER, ctx);
  }

  it('describes 125 services over two ListServices pages in 13 DescribeServices calls of at most 10', async () => {
    // Prepare
    ecsMock
      .on(ListEcsServicesCommand)
      .resolvesOnce({ serviceArns: names(0, 100).map(arnOf), nextToken: 'page-2' })
      .resolvesOnce({ serviceArns: names(100, 25).map(arnOf) });
    const ctx = new CountingContext();

    // Act
    const ecsServices = await read(ctx);

    // Assess
    const lists = ecsMock.commandCalls(ListEcsServicesCommand).map((c) => c.args[0].input.nextToken);
    const described = ecsMock.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input);
    expect(lists).toEqual([undefined, 'page-2']);
    expect(described).toHaveLength(13);
    expect(described.every((d) => d.cluster === CLUSTER)).toBe(true);
    expect(described.map((d) => d.services?.length ?? 0)).toEqual([...Array(12).fill(10), 5]);
    expect(Math.max(...described.map((d) => d.services?.length ?? 0))).toBe(DESCRIBE_SERVICES_MAX);
    expect(described.flatMap((d) => d.services)).toEqual(names(0, 125));
    expect(ecsServices.map((s) => s.serviceName)).toEqual(names(0, 125));
    expect(ecsServices[3]).toEqual({
      serviceName: 'svc-3',
      discoveryNames: ['svc-3'],
      registryArns: [],
    });
    expect(ctx.take()).toEqual({ 'ecs.DescribeServices': 13 });
  });

  it('an empty cluster costs one ListServices and no DescribeServices', async () => {
    // Prepare
    ecsMock.on(ListEcsServicesCommand).resolves({ serviceArns: [] });

    // Act
    const ecsServices = await read(new CountingContext());

    // Assess
    expect(ecsMock.commandCalls(ListEcsServicesCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(0);
    expect(ecsServices).toEqual([]);
  });

  it('leaves out a service deleted since it was listed (MISSING) and keeps the rest of its batch', async () => {
    // Prepare
    ecsMock.on(ListEcsServicesCommand).resolves({ serviceArns: names(0, 3).map(arnOf) });
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [{ serviceName: 'svc-0' }, { serviceName: 'svc-2' }],
      failures: [{ arn: arnOf('svc-1'), reason: 'MISSING' }],
    });

    // Act
    const ecsServices = await read(new CountingContext());

    // Assess
    expect(ecsServices.map((s) => s.serviceName)).toEqual(['svc-0', 'svc-2']);
  });

  it('any other failure fails the read (retryable, naming the service), never reads as an absent service', async () => {
    // Prepare
    ecsMock.on(ListEcsServicesCommand).resolves({ serviceArns: names(0, 2).map(arnOf) });
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [{ serviceName: 'svc-0' }],
      failures: [{ arn: arnOf('svc-1'), reason: 'INTERNAL_ERROR', detail: 'try again' }],
    });

    // Act
    const failure = await read(new CountingContext()).then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    expect(failure).toBeInstanceOf(EcsFailureError);
    expect(isRetryable(failure)).toBe(true);
    expect((failure as Error).message).toBe(
      `DescribeServices failed for 1 service(s): ${arnOf('svc-1')}: INTERNAL_ERROR (try again)`,
    );
  });
});

describe('Class: FollowWorldAdapter', () => {
  const ecsMock = mockClient(ECSClient);
  const sdMock = mockClient(ServiceDiscoveryClient);
  const CLUSTER_ARN = `arn:aws:ecs:us-west-2:111122223333:cluster/${CLUSTER}`;
  const srvArn = (id: string) => `arn:aws:servicediscovery:us-west-2:111122223333:service/${id}`;
  /** A Service Connect instance as ECS registers it (fixtures/cloudmap: DeploymentId is a task-set ARN). */
  const scInstance = (id: string, ip: string, service: string, cluster = CLUSTER) => ({
    InstanceId: id,
    HealthStatus: 'UNKNOWN',
    Attributes: {
      AWS_INSTANCE_IPV4: ip,
      AWS_INSTANCE_PORT: '8000',
      AvailabilityZone: 'us-west-2a',
      DeploymentId: `arn:aws:ecs:us-west-2:111122223333:task-set/${cluster}/${service}/ecs-svc/9893778955264594543`,
    },
  });
  /** A ServiceRegistries instance as ECS registers it. */
  const srInstance = (id: string, ip: string, service: string) => ({
    InstanceId: id,
    HealthStatus: 'HEALTHY',
    Attributes: {
      AWS_INSTANCE_IPV4: ip,
      AVAILABILITY_ZONE: 'us-west-2a',
      REGION: 'us-west-2',
      ECS_SERVICE_NAME: service,
      ECS_CLUSTER_NAME: CLUSTER,
      ECS_TASK_DEFINITION_FAMILY: 'app',
    },
  });
  let instances: Record<string, object[]>;
  let described: Record<string, object>;

  beforeEach(() => {
    ecsMock.reset();
    sdMock.reset();
    instances = {};
    described = {};
    sdMock.on(DiscoverInstancesCommand).callsFake((input: DiscoverInstancesCommandInput) => {
      const found = instances[input.ServiceName ?? ''];
      if (found === undefined)
        throw Object.assign(new Error(`Service not found: ${input.ServiceName}`), {
          name: 'ServiceNotFound',
        });
      return { Instances: found };
    });
    sdMock.on(GetServiceCommand).callsFake((input: GetServiceCommandInput) => ({
      Service: { Id: input.Id, Name: input.Id === 'srv-w' ? 'weather-server' : `other-${input.Id}` },
    }));
    ecsMock.on(DescribeServicesCommand).callsFake((input: DescribeServicesCommandInput) => ({
      services: (input.services ?? []).flatMap((n) => (described[n] === undefined ? [] : [described[n]])),
      failures: (input.services ?? [])
        .filter((n) => described[n] === undefined)
        .map((n) => ({ arn: arnOf(n), reason: 'MISSING' })),
    }));
  });

  afterAll(() => {
    ecsMock.restore();
    sdMock.restore();
  });

  const adapter = (cluster = CLUSTER) => {
    const ecs = new ECSClient({});
    return new FollowWorldAdapter(
      new CloudMapAdapter(new ServiceDiscoveryClient({})),
      new EcsAdapter(ecs),
      cluster,
      NAMESPACE,
    );
  };
  const entry = { kind: 'server' as const, path: '/weather/', url: 'http://weather-server:8000/' };
  const sc = (name: string, discoveryName: string) => ({
    serviceName: name,
    deployments: [{ serviceConnectResources: [{ discoveryName }] }],
  });

  it('one name costs one DiscoverInstances and one DescribeServices of the services its instances name, whatever the cluster holds', async () => {
    // Prepare
    instances['weather-server'] = [
      scInstance('t1', '10.0.1.1', 'weather'),
      scInstance('t2', '10.0.1.2', 'weather'),
    ];
    described.weather = sc('weather', 'weather-server');
    const ctx = new CountingContext();

    // Act
    const world = await adapter().worldOf('weather-server', ctx);

    // Assess
    expect(ecsMock.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: CLUSTER, services: ['weather'] },
    ]);
    expect(ctx.take()).toEqual({ 'cloudmap.DiscoverInstances': 1, 'ecs.DescribeServices': 1 });
    expect(matchEntry(entry, world)).toMatchObject({
      status: 'matched',
      cloudMapService: 'weather-server',
      ecsService: 'weather',
      via: 'service-connect',
    });
  });

  it('ServiceRegistries instances name their service and cluster; the registry ARN is told by GetService, once per container', async () => {
    // Prepare
    instances['weather-server'] = [srInstance('t1', '10.0.1.1', 'weather')];
    described.weather = { serviceName: 'weather', serviceRegistries: [{ registryArn: srvArn('srv-w') }] };
    const a = adapter(CLUSTER_ARN);
    const ctx = new CountingContext();

    // Act
    const first = await a.worldOf('weather-server', ctx);
    await a.worldOf('weather-server', ctx);

    // Assess
    expect(first.cloudMapServices).toEqual([{ name: 'weather-server', arn: srvArn('srv-w'), ipv4s: [] }]);
    expect(matchEntry(entry, first)).toMatchObject({
      status: 'matched',
      ecsService: 'weather',
      via: 'service-registries',
    });
    expect(sdMock.commandCalls(GetServiceCommand)).toHaveLength(1);
  });

  it('a name no Cloud Map service has is no-cloud-map-service, with no ECS call', async () => {
    // Act
    const world = await adapter().worldOf('weather-server', new CountingContext());

    // Assess
    expect(matchEntry(entry, world).status).toBe('no-cloud-map-service');
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(0);
  });

  it('two ECS services with tasks in the service are ambiguous; a named service that does not publish the name is not counted', async () => {
    // Prepare
    instances['weather-server'] = [
      scInstance('t1', '10.0.1.1', 'weather'),
      scInstance('t2', '10.0.1.2', 'weather-canary'),
      scInstance('t3', '10.0.1.3', 'moved-on'),
    ];
    described.weather = sc('weather', 'weather-server');
    described['weather-canary'] = sc('weather-canary', 'weather-server');
    // Its deployment moved to another discovery name: its old instance no longer makes it a publisher.
    described['moved-on'] = sc('moved-on', 'something-else');

    // Act
    const world = await adapter().worldOf('weather-server', new CountingContext());

    // Assess
    const m = matchEntry(entry, world);
    expect(m.status).toBe('ambiguous');
    expect(m.detail).toBe(
      'Cloud Map service weather-server is published by ECS services weather, weather-canary',
    );
  });

  it('instances of another cluster, instances registered by hand, and no instance at all leave no-ecs-service', async () => {
    // Prepare
    instances['weather-server'] = [
      scInstance('t1', '10.0.1.1', 'weather', 'another-cluster'),
      { InstanceId: 'by-hand', Attributes: { AWS_INSTANCE_IPV4: '10.0.9.9' } },
    ];
    instances['idle-server'] = [];

    // Act
    const seen = await adapter().worldOf('weather-server', new CountingContext());
    const idle = await adapter().worldOf('idle-server', new CountingContext());

    // Assess
    expect(matchEntry(entry, seen).status).toBe('no-ecs-service');
    expect(matchEntry({ ...entry, url: 'http://idle-server:8000/' }, idle).status).toBe('no-ecs-service');
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(0);
  });

  it('a namespace Cloud Map does not have fails the read (naming it), never reads as an absent service', async () => {
    // Prepare
    sdMock
      .on(DiscoverInstancesCommand)
      .rejects(Object.assign(new Error('Namespace not found'), { name: 'NamespaceNotFound' }));

    // Act
    const failure = await adapter()
      .worldOf('weather-server', new CountingContext())
      .then(
        () => undefined,
        (error: unknown) => error,
      );

    // Assess
    expect(failure).toBeInstanceOf(PermanentError);
    expect((failure as Error).message).toContain(`namespace ${NAMESPACE}`);
  });

  it('a page of names shares its ECS reads: 25 names, each its own service, cost 25 DiscoverInstances and 3 DescribeServices', async () => {
    // Prepare
    const page = Array.from({ length: 25 }, (_, i) => `svc-${i}`);
    for (const n of page) {
      instances[`${n}-server`] = [scInstance(`t-${n}`, '10.0.1.1', n)];
      described[n] = sc(n, `${n}-server`);
    }
    const ctx = new CountingContext();

    // Act
    const worlds = await adapter().worldsOf(
      page.map((n) => `${n}-server`),
      ctx,
    );

    // Assess
    expect(ctx.take()).toEqual({ 'cloudmap.DiscoverInstances': 25, 'ecs.DescribeServices': 3 });
    expect(
      page.map((n) =>
        matchEntry({ ...entry, url: `http://${n}-server:8000/` }, worlds.get(`${n}-server`) as never),
      ),
    ).toEqual(page.map((n) => expect.objectContaining({ status: 'matched', ecsService: n })));
  });

  it('names read one at a time within the window (a worker batch) share one DescribeServices; with no window each costs its own', async () => {
    // Prepare
    for (const n of ['svc-a', 'svc-b', 'svc-c']) {
      instances[`${n}-server`] = [scInstance(`t-${n}`, '10.0.1.1', n)];
      described[n] = sc(n, `${n}-server`);
    }
    const ecs = new ECSClient({});
    const make = (windowMs: number) =>
      new FollowWorldAdapter(
        new CloudMapAdapter(new ServiceDiscoveryClient({})),
        new EcsAdapter(ecs),
        CLUSTER,
        NAMESPACE,
        { windowMs, sleep: () => Promise.resolve() },
      );
    const three = (a: FollowWorldAdapter) =>
      Promise.all(['svc-a', 'svc-b', 'svc-c'].map((n) => a.worldOf(`${n}-server`, new CountingContext())));

    // Act
    const shared = await three(make(50));
    const sharedCalls = ecsMock.commandCalls(DescribeServicesCommand).length;
    await three(make(0));

    // Assess
    expect(sharedCalls).toBe(1);
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(4);
    expect(
      shared.map((w, i) => matchEntry({ ...entry, url: `http://svc-${'abc'[i]}-server:8000/` }, w)),
    ).toEqual(
      ['svc-a', 'svc-b', 'svc-c'].map((n) => expect.objectContaining({ status: 'matched', ecsService: n })),
    );
  });

  it('publisherOf reads the task-set ARN of the real Service Connect sample and the ServiceRegistries attributes', () => {
    expect(
      publisherOf({
        AWS_INSTANCE_IPV4: '172.16.24.156',
        DeploymentId:
          'arn:aws:ecs:eu-west-2:295934382486:task-set/aeroftp-cluster/aeroftp-service/ecs-svc/9893778955264594543',
      }),
    ).toEqual({ cluster: 'aeroftp-cluster', service: 'aeroftp-service' });
    expect(publisherOf({ ECS_SERVICE_NAME: 'weather', ECS_CLUSTER_NAME: CLUSTER })).toEqual({
      cluster: CLUSTER,
      service: 'weather',
    });
    expect(publisherOf({ AWS_INSTANCE_IPV4: '10.0.0.1' })).toBeUndefined();
  });
});
