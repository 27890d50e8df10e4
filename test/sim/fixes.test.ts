import { parseConfig } from '../../functions/lib/config/config';
import { taskEvent } from '../../functions/lib/inmemory/events';
import { MemoryRegistry, VirtualClock, World } from '../../functions/lib/inmemory/world';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { createDeployedPath } from '../../tools/sim/pipeline';
import { Rng } from '../../tools/sim/rng';
import { Scheduler } from '../../tools/sim/scheduler';

/**
 * A design fix the simulation's figures called for, on the deployed path (fan-out → per-entry
 * FIFO group → worker, over in-memory queues): a new registry task resets its built-in entries
 * when its app has booted, after ECS reports it RUNNING; the fan-out answers the RUNNING event
 * with re-checks (every 4 s for 2 min, reading the registry's pages only) that put them back.
 */

const CLUSTER_ARN = 'arn:aws:ecs:us-west-2:111122223333:cluster/sim';
const REF = { kind: 'server' as const, path: '/airegistry-tools/' };
const MCPGW = 'a'.repeat(32);
const REG_OLD = 'b'.repeat(32);

function harness() {
  const clock = new VirtualClock();
  const sched = new Scheduler(clock);
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
  const path = createDeployedPath({
    config,
    cloudMap: world,
    ecs: world,
    registry,
    sched,
    rng: new Rng(1, 'fixes'),
    records,
  });
  /** Delivers one event through EventBridge and runs every queue dry (re-checks included). */
  const deliver = async (event: unknown) => {
    path.put(event);
    expect(await path.drain()).toBe(true);
  };
  return { registry, records, deliver, sched };
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

describe('Fix: the re-checks after a registry task reaches RUNNING', () => {
  it.each([5_000, 40_000, 110_000])(
    'put the built-in entry back when the new task resets it %i ms after RUNNING',
    async (bootMs) => {
      const h = harness();
      h.sched.after(bootMs, () => h.registry.set(REF, 'http://mcpgw-server:8003/'));
      await h.deliver(registryEvent('RUNNING', 'RUNNING', 4));
      const updates = h.records.filter((r) => r.action === 'update');
      expect(updates).toHaveLength(1);
      expect(updates[0]).toMatchObject({ reason: 'resolve-name' });
      expect(h.registry.url(REF)).toBe('http://10.0.2.21:8003/');
    },
  );

  it('leave a reset after the 2 min window to the resync', async () => {
    const h = harness();
    const t0 = h.sched.now();
    h.sched.after(150_000, () => h.registry.set(REF, 'http://mcpgw-server:8003/'));
    await h.deliver(registryEvent('RUNNING', 'RUNNING', 4));
    await h.sched.run(t0 + 200_000);
    expect(h.records.filter((r) => r.action === 'update')).toEqual([]);
    expect(h.registry.url(REF)).toBe('http://mcpgw-server:8003/');
  });

  it.each([
    ['PENDING', 'RUNNING'],
    ['RUNNING', 'STOPPED'],
    ['DEACTIVATING', 'STOPPED'],
    ['STOPPING', 'STOPPED'],
    ['STOPPED', 'STOPPED'],
  ])('send nothing for a registry task at %s/%s', async (last, desired) => {
    const h = harness();
    h.registry.set(REF, 'http://mcpgw-server:8003/');
    await h.deliver(registryEvent(last, desired, 6));
    expect(h.records).toEqual([]);
    expect(h.registry.url(REF)).toBe('http://mcpgw-server:8003/');
  });
});
