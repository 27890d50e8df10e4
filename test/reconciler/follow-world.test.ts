import {
  DescribeServicesCommand,
  type DescribeServicesCommandInput,
  ECSClient,
  ListServicesCommand as ListEcsServicesCommand,
} from '@aws-sdk/client-ecs';
import {
  ListNamespacesCommand,
  ListServicesCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { mockClient } from 'aws-sdk-client-mock';
import { DESCRIBE_SERVICES_MAX, EcsAdapter, EcsFailureError } from '../../functions/reconciler/aws/ecs';
import { FollowWorldAdapter } from '../../functions/reconciler/aws/follow-world';
import { isRetryable } from '../../functions/reconciler/errors';
import { CountingContext } from '../../functions/reconciler/orchestration/calls';

/**
 * Follow mode's world read (aws/follow-world.ts), shared with discover: the cluster's ECS services
 * are described ten a DescribeServices call (the API's limit), page by page of ListServices.
 */

const CLUSTER = 'mcp-gateway-ecs-cluster';
const NAMESPACE = 'mcp-gateway.local';
const arnOf = (name: string) => `arn:aws:ecs:us-west-2:111122223333:service/${CLUSTER}/${name}`;
const names = (from: number, count: number) => Array.from({ length: count }, (_, i) => `svc-${from + i}`);

describe('Class: FollowWorldAdapter', () => {
  const ecsMock = mockClient(ECSClient);
  const sdMock = mockClient(ServiceDiscoveryClient);

  beforeEach(() => {
    ecsMock.reset();
    sdMock.reset();
    sdMock.on(ListNamespacesCommand).resolves({ Namespaces: [{ Name: NAMESPACE, Id: 'ns-1' }] });
    sdMock.on(ListServicesCommand).resolves({
      Services: [{ Name: 'svc-3', Arn: 'arn:aws:servicediscovery:us-west-2:111122223333:service/srv-3' }],
    });
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
    sdMock.restore();
  });

  function adapter(): FollowWorldAdapter {
    const ecs = new ECSClient({});
    return new FollowWorldAdapter(
      new ServiceDiscoveryClient({}),
      ecs,
      new EcsAdapter(ecs),
      CLUSTER,
      NAMESPACE,
    );
  }

  it('describes 125 services over two ListServices pages in 13 DescribeServices calls of at most 10', async () => {
    // Prepare
    ecsMock
      .on(ListEcsServicesCommand)
      .resolvesOnce({ serviceArns: names(0, 100).map(arnOf), nextToken: 'page-2' })
      .resolvesOnce({ serviceArns: names(100, 25).map(arnOf) });
    const ctx = new CountingContext();

    // Act
    const world = await adapter().readWorld(ctx);

    // Assess
    const lists = ecsMock.commandCalls(ListEcsServicesCommand).map((c) => c.args[0].input.nextToken);
    const described = ecsMock.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input);
    expect(lists).toEqual([undefined, 'page-2']);
    expect(described).toHaveLength(13);
    expect(described.every((d) => d.cluster === CLUSTER)).toBe(true);
    expect(described.map((d) => d.services?.length ?? 0)).toEqual([...Array(12).fill(10), 5]);
    expect(Math.max(...described.map((d) => d.services?.length ?? 0))).toBe(DESCRIBE_SERVICES_MAX);
    expect(described.flatMap((d) => d.services)).toEqual(names(0, 125));
    expect(world.ecsServices.map((s) => s.serviceName)).toEqual(names(0, 125));
    expect(world.ecsServices[3]).toEqual({
      serviceName: 'svc-3',
      discoveryNames: ['svc-3'],
      registryArns: [],
    });
    expect(world.cloudMapServices.map((s) => s.name)).toEqual(['svc-3']);
    expect(ctx.take()).toEqual({ 'ecs.DescribeServices': 13 });
  });

  it('an empty cluster costs one ListServices and no DescribeServices', async () => {
    // Prepare
    ecsMock.on(ListEcsServicesCommand).resolves({ serviceArns: [] });

    // Act
    const world = await adapter().readWorld(new CountingContext());

    // Assess
    expect(ecsMock.commandCalls(ListEcsServicesCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(0);
    expect(world.ecsServices).toEqual([]);
  });

  it('leaves out a service deleted since it was listed (MISSING) and keeps the rest of its batch', async () => {
    // Prepare
    ecsMock.on(ListEcsServicesCommand).resolves({ serviceArns: names(0, 3).map(arnOf) });
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [{ serviceName: 'svc-0' }, { serviceName: 'svc-2' }],
      failures: [{ arn: arnOf('svc-1'), reason: 'MISSING' }],
    });

    // Act
    const world = await adapter().readWorld(new CountingContext());

    // Assess
    expect(world.ecsServices.map((s) => s.serviceName)).toEqual(['svc-0', 'svc-2']);
  });

  it('any other failure fails the read (retryable, naming the service), never reads as an absent service', async () => {
    // Prepare
    ecsMock.on(ListEcsServicesCommand).resolves({ serviceArns: names(0, 2).map(arnOf) });
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [{ serviceName: 'svc-0' }],
      failures: [{ arn: arnOf('svc-1'), reason: 'INTERNAL_ERROR', detail: 'try again' }],
    });

    // Act
    const failure = await adapter()
      .readWorld(new CountingContext())
      .then(
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
