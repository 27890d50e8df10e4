import { createFanout } from '../../functions/fanout/wiring';
import { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
import type { EcsPort, RegistryEntry } from '../../functions/lib/reconcile/ports';
import { NO_COUNT } from '../../functions/lib/reconcile/ports';
import { CLUSTER_ARN, NAMESPACE, type TargetInput, testConfig } from '../reconciler/helpers';

/**
 * A resync shard with the deployed DescribeTasks batching: the shard's entries are one batch, and
 * one DescribeTasks round asks about every task of it (100 ids a call), without waiting.
 */

const ENTRIES = 30;
const LANES = 10;
const services = Array.from({ length: ENTRIES }, (_, i) => ({
  ecsService: `svc-${i}`,
  cloudMapService: `s${i}`,
  port: 8000,
}));
const targets: TargetInput[] = services.map((s, i) => ({
  kind: 'server',
  path: `/s${i}/`,
  cloudMapService: s.cloudMapService,
  ecsService: s.ecsService,
  port: 'instance',
}));

it('checks a shard with one DescribeTasks for all its entries, without waiting', async () => {
  const config = testConfig({ targets });
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services });
  const registry = new MemoryRegistry(world.clock);
  for (const [i, s] of services.entries()) {
    const t = { taskId: `${String(i).padStart(2, '0')}${'b'.repeat(30)}`, ipv4: `10.0.8.${i + 10}` };
    world.seedTask(s.ecsService, t);
    registry.seed({ kind: 'server', path: `/s${i}/` }, `http://${t.ipv4}:8000/`);
  }
  const describeCalls: number[] = [];
  const ecs: EcsPort = {
    describeTasks: (cluster, ids, ctx) => {
      describeCalls.push(ids.length);
      return world.describeTasks(cluster, ids, ctx);
    },
    describeService: (cluster, name, ctx) => world.describeService(cluster, name, ctx),
  };
  const waits: number[] = [];
  const fanout = createFanout({
    config,
    cloudMap: world,
    ecs,
    now: world.clock.now,
    // Records the waits asked for and never ends one: a shard that waited the window would hang.
    sleep: (ms) => {
      waits.push(ms);
      return new Promise<void>(() => undefined);
    },
    shardParallelism: LANES,
    pages: {
      listPage: async (_kind, offset, limit) => {
        const entries: RegistryEntry[] = [];
        for (const t of config.targets.slice(offset, offset + limit))
          entries.push(await registry.readEntry(t, NO_COUNT));
        return { entries, more: offset + limit < config.targets.length };
      },
    },
    verifier: { verifyWrite: async () => Promise.reject(new Error('no verification in this test')) },
    queues: { sendWork: async () => undefined, sendTriggers: async () => undefined },
  });
  // Everything here is in memory and the sleeps never end: a shard that does not wait settles
  // within a few turns of the event loop, one that waits never does. The guard counts turns, not
  // milliseconds, so it does not depend on the machine's speed.
  let outcome = 'still waiting';
  const checked = fanout
    .shard(
      {
        kind: 'server',
        offset: 0,
        limit: ENTRIES,
        resync: 'r1',
        time: '2026-01-01T00:00:00Z',
        mode: 'full',
      },
      NO_COUNT,
    )
    .then(() => {
      outcome = 'checked';
    });
  for (let turn = 0; turn < 1_000 && outcome !== 'checked'; turn++) await new Promise((r) => setImmediate(r));
  if (outcome === 'checked') await checked;
  expect(outcome).toBe('checked');
  // 30 entries, one task each, in lanes of 10: one call of 30 ids, and no wait asked for.
  expect(describeCalls).toEqual([ENTRIES]);
  expect(waits).toEqual([]);
});
