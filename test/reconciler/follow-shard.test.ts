import { parseConfig, type ReconcilerConfig } from '../../functions/lib/config/config';
import { Follower, type FollowWorldPort } from '../../functions/lib/follow/follower';
import { MemoryOwnership } from '../../functions/lib/follow/ownership';
import { scheduledEvent } from '../../functions/lib/inmemory/events';
import { worldFollowSource } from '../../functions/lib/inmemory/follow';
import { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
import type { EntryRef } from '../../functions/lib/reconcile/ports';
import { followPipeline } from '../support/follow-pipeline';
import { CLUSTER_ARN, CLUSTER_NAME, NAMESPACE, TOKEN_ENV } from './helpers';

/**
 * Follow mode in the fan-out's resync shards (functions/fanout/shard.ts, fanout.ts): the page
 * chain goes on past a shard that fails, an entry someone re-pointed to a foreign host gets its
 * row released, and a row the shard read is not read again by the gate.
 */

const SERVICES = ['alpha', 'bravo', 'charlie', 'delta', 'echo'].map((n) => ({
  ecsService: `mcp-gateway-${n}`,
  cloudMapService: `${n}-server`,
  port: 8000,
}));
const ref = (n: string): EntryRef => ({ kind: 'server', path: `/${n}/` });

function config(): ReconcilerConfig {
  return parseConfig({
    cluster: CLUSTER_NAME,
    namespace: NAMESPACE,
    registryService: 'mcp-gateway-registry',
    registry: { url: 'http://127.0.0.1:7860', auth: { type: 'static', tokenEnv: TOKEN_ENV } },
    targets: [],
    follow: { enabled: true },
    ownership: { table: 'owners' },
  });
}

function setup(options: { world?: (base: FollowWorldPort) => FollowWorldPort } = {}) {
  const cfg = config();
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services: SERVICES });
  for (const [i, s] of SERVICES.entries())
    world.seedTask(s.ecsService, {
      taskId: `${String(i).repeat(32)}`,
      ipv4: `10.0.7.${i + 1}`,
      startedAt: '2026-01-01T00:00:00.000Z',
    });
  const registry = new MemoryRegistry(world.clock);
  for (const s of SERVICES)
    registry.seed(ref(s.cloudMapService.replace('-server', '')), `http://${s.cloudMapService}:8000/`);
  const ownership = new MemoryOwnership('owners');
  const base = worldFollowSource(NAMESPACE, SERVICES);
  const follower = new Follower({
    config: cfg,
    ownership,
    world: options.world?.(base) ?? base,
    now: world.clock.now,
    ttlMs: 30_000,
  });
  const { fanout, work, triggers, failures, sqs, drain } = followPipeline({
    config: cfg,
    world,
    registry,
    follower,
    ownership,
    pageSize: 2,
  });
  /** One resync: the schedule, then every shard it sends and every shard those chain, in order. */
  const resync = async (id: string) => {
    await fanout(sqs(JSON.stringify(scheduledEvent(id))));
    const shards: { offset: number; failed: boolean }[] = [];
    for (let next = triggers.shift(); next !== undefined; next = triggers.shift()) {
      const shard = JSON.parse(next.body).shard as { kind: string; offset: number };
      if (shard.kind !== 'server') continue;
      const out = await fanout(sqs(next.body, `shard-${shard.offset}`));
      shards.push({ offset: shard.offset, failed: out.batchItemFailures.length > 0 });
    }
    return shards;
  };
  return { registry, ownership, work, failures, resync, drain };
}

describe('follow mode: resync shards', () => {
  it('a shard whose check fails still sends the next page of its chain: the pages after it are checked', async () => {
    // Prepare: the name on the first page cannot be read (a Cloud Map outage for it).
    const f = setup({
      world: (base) => ({
        worldOf: (name, ctx) =>
          name === 'alpha-server'
            ? Promise.reject(new Error('DiscoverInstances alpha-server: ServiceUnavailable'))
            : base.worldOf(name, ctx),
      }),
    });

    // Act
    const shards = await f.resync('resync-1');

    // Assess
    expect(shards).toEqual([
      { offset: 0, failed: true },
      { offset: 2, failed: false },
      { offset: 4, failed: false },
    ]);
    expect(f.failures).toEqual([expect.stringContaining('alpha-server: ServiceUnavailable')]);
    expect(f.work.map((w) => w.groupId).sort()).toEqual([
      'server:/charlie/',
      'server:/delta/',
      'server:/echo/',
    ]);
  });

  it('an owned entry re-pointed by someone to a foreign host gets its row released, and is never written', async () => {
    // Prepare: the reconciler adopted every entry; someone then points /bravo/ at their own host.
    const f = setup();
    await f.resync('resync-1');
    await f.drain();
    expect(f.ownership.rows.has('server#/bravo/')).toBe(true);
    f.registry.set(ref('bravo'), 'https://bravo.team.example.org/');
    const writesBefore = f.registry.writes.length;

    // Act
    await f.resync('resync-2');
    const sent = f.work.map((w) => w.groupId);
    await f.drain();
    await f.resync('resync-3');
    await f.drain();

    // Assess
    expect(sent).toEqual(['server:/bravo/']);
    expect(f.ownership.rows.has('server#/bravo/')).toBe(false);
    expect(f.ownership.rows.size).toBe(4);
    expect(f.registry.url(ref('bravo'))).toBe('https://bravo.team.example.org/');
    expect(f.registry.writes.length).toBe(writesBefore);
  });

  it('a shard reads each owned entry of its page once: the gate is handed the row the shard read', async () => {
    // Prepare
    const f = setup();
    await f.resync('resync-1');
    await f.drain();
    expect(f.ownership.rows.size).toBe(5);
    const before = f.ownership.calls.reads;

    // Act
    await f.resync('resync-2');

    // Assess: five owned entries, each holding the IPv4 written, one strongly consistent read each.
    expect(f.work).toEqual([]);
    expect(f.ownership.calls.reads - before).toBe(5);
  });
});
