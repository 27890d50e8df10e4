import { parseConfig } from '../../functions/reconciler/config';
import type { DecisionRecord } from '../../functions/reconciler/record';
import { createReconcilerHandler } from '../../functions/reconciler/wiring';
import { taskEvent } from '../../tools/world/events';
import { MemoryRegistry, VirtualClock, World } from '../../tools/world/world';

/**
 * The two design fixes the simulation's figures called for (see tools/sim/README.fragment.md):
 * retrying inside the invocation before handing failures back to the FIFO queue, and re-applying
 * every target when an old registry task is told to stop.
 */

const CLUSTER_ARN = 'arn:aws:ecs:us-west-2:111122223333:cluster/sim';
const REF = { kind: 'server' as const, path: '/airegistry-tools/' };
const MCPGW = 'a'.repeat(32);
const REG_OLD = 'b'.repeat(32);

function harness(options: { retry?: boolean } = {}) {
  const clock = new VirtualClock();
  const world = new World({
    clusterArn: CLUSTER_ARN,
    namespace: 'sim.local',
    clock,
    services: [
      { ecsService: 'mcp-gateway-mcpgw', cloudMapService: 'mcpgw-server', port: 8003 },
      { ecsService: 'mcp-gateway-registry', cloudMapService: 'registry', port: 80 },
    ],
  });
  world.seedTask('mcp-gateway-mcpgw', { taskId: MCPGW, ipv4: '10.0.2.21' });
  world.seedTask('mcp-gateway-registry', { taskId: REG_OLD, ipv4: '10.0.0.10' });
  const registry = new MemoryRegistry(clock);
  registry.seed(REF, 'http://10.0.2.21:8003/');
  const records: DecisionRecord[] = [];
  const config = parseConfig({
    cluster: CLUSTER_ARN,
    namespace: 'sim.local',
    registryService: 'mcp-gateway-registry',
    registry: { url: 'http://registry.local', auth: { type: 'static', tokenEnv: 'T' } },
    targets: [
      { kind: 'server', path: REF.path, cloudMapService: 'mcpgw-server', ecsService: 'mcp-gateway-mcpgw' },
    ],
  });
  const slept: number[] = [];
  const { handler } = createReconcilerHandler({
    config,
    cloudMap: world,
    ecs: world,
    registry,
    sleep: clock.sleep,
    now: clock.now,
    onRecord: (record) => records.push(record),
    // The deployed retry delays, or none.
    retry: options.retry ? { sleep: async (ms: number) => void slept.push(ms) } : { delaysMs: [] },
  });
  const sqs = (events: unknown[]) => ({
    Records: events.map((e, i) => ({
      messageId: `m${i}`,
      body: JSON.stringify(e),
      attributes: { ApproximateReceiveCount: '1' },
    })),
  });
  return { world, registry, records, handler, sqs, slept };
}

const registryEvent = (lastStatus: string, desiredStatus: string, version: number) =>
  taskEvent({
    clusterArn: CLUSTER_ARN,
    taskId: REG_OLD,
    service: 'mcp-gateway-registry',
    lastStatus,
    desiredStatus,
    version,
    ipv4: '10.0.0.10',
  });

describe('Fix: retries inside the invocation (HandlerDeps.retry)', () => {
  it('settles a transient registry failure in the same invocation instead of handing the batch back', async () => {
    // Prepare: the built-in entry was reset by the registry; the first reads fail (503).
    const h = harness({ retry: true });
    h.registry.set(REF, 'http://mcpgw-server:8003/');
    h.registry.failNext = 1;

    // Act
    const response = await h.handler(h.sqs([registryEvent('RUNNING', 'RUNNING', 4)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(h.slept).toEqual([2_000]);
    expect(h.records.map((r) => r.action)).toEqual(['error', 'update']);
    expect(h.registry.url(REF)).toBe('http://10.0.2.21:8003/');
  });

  it('hands failures back to the queue, as before, once the extra rounds are spent or time runs short', async () => {
    const h = harness({ retry: true });
    h.registry.failNext = 10;
    const spent = await h.handler(h.sqs([registryEvent('RUNNING', 'RUNNING', 4)]));
    expect(spent).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
    expect(h.slept).toEqual([2_000, 5_000]);

    const short = harness({ retry: true });
    short.registry.failNext = 10;
    const late = await short.handler(short.sqs([registryEvent('RUNNING', 'RUNNING', 4)]), {
      getRemainingTimeInMillis: () => 10_000,
    });
    expect(late).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
    expect(short.slept).toEqual([]);
  });

  it('is off unless configured: the failure goes straight back to the queue', async () => {
    const h = harness();
    h.registry.failNext = 1;
    const response = await h.handler(h.sqs([registryEvent('RUNNING', 'RUNNING', 4)]));
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
  });
});

describe('Fix: an old registry task told to stop re-applies every target', () => {
  it.each([
    ['RUNNING', 'STOPPED'],
    ['DEACTIVATING', 'STOPPED'],
  ])(
    're-applies on %s/%s (the new registry task has booted and reset its built-ins by then)',
    async (last, desired) => {
      const h = harness();
      h.registry.set(REF, 'http://mcpgw-server:8003/'); // the new registry task's reset
      await h.handler(h.sqs([registryEvent(last, desired, 5)]));
      expect(h.records).toHaveLength(1);
      expect(h.records[0]).toMatchObject({
        action: 'update',
        reason: 'resolve-name',
        trigger: { type: 'registry-restart' },
      });
      expect(h.registry.url(REF)).toBe('http://10.0.2.21:8003/');
    },
  );

  it.each([
    ['PENDING', 'RUNNING'],
    ['STOPPING', 'STOPPED'],
    ['STOPPED', 'STOPPED'],
  ])('still ignores a registry task at %s/%s', async (last, desired) => {
    const h = harness();
    h.registry.set(REF, 'http://mcpgw-server:8003/');
    await h.handler(h.sqs([registryEvent(last, desired, 6)]));
    expect(h.records).toEqual([]);
    expect(h.registry.url(REF)).toBe('http://mcpgw-server:8003/');
  });
});
