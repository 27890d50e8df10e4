import { parseConfig, type ReconcilerConfig } from '../../functions/lib/config/config';
import { readTriggerMessage, sweepBody } from '../../functions/lib/delivery/messages';
import { Follower, type FollowWorldPort } from '../../functions/lib/follow/follower';
import { MemoryOwnership } from '../../functions/lib/follow/ownership';
import { scheduledEvent } from '../../functions/lib/inmemory/events';
import { worldFollowSource } from '../../functions/lib/inmemory/follow';
import { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
import type { EntryRef } from '../../functions/lib/reconcile/ports';
import { CLUSTER_ARN, CLUSTER_NAME, NAMESPACE, TOKEN_ENV } from '../reconciler/helpers';
import { followPipeline } from '../support/follow-pipeline';

/**
 * Follow mode's names sweep (functions/fanout/fanout.ts `sweep`, shard.ts mode `names`): every
 * registry page is read, chained as a resync's pages are; work goes only to entries that hold a
 * Cloud Map name the rule adopts (or a configured target's own name); no ownership row is read;
 * a name the rule cannot adopt is not asked of Cloud Map and ECS again until a resync period
 * has passed, while the full resync asks it afresh.
 */

const SERVICES = ['alpha', 'bravo', 'charlie'].map((n) => ({
  ecsService: `mcp-gateway-${n}`,
  cloudMapService: `${n}-server`,
  port: 8000,
}));
const ref = (path: string): EntryRef => ({ kind: 'server', path });
const RESYNC_MINUTES = 5;

function config(targets: unknown[] = []): ReconcilerConfig {
  return parseConfig({
    cluster: CLUSTER_NAME,
    namespace: NAMESPACE,
    registryService: 'mcp-gateway-registry',
    registry: { url: 'http://127.0.0.1:7860', auth: { type: 'static', tokenEnv: TOKEN_ENV } },
    targets,
    follow: { enabled: true },
    ownership: { table: 'owners' },
    resyncMinutes: RESYNC_MINUTES,
  });
}

function setup(cfg = config(), options: { world?: (base: FollowWorldPort) => FollowWorldPort } = {}) {
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services: SERVICES });
  for (const [i, s] of SERVICES.entries())
    world.seedTask(s.ecsService, {
      taskId: `${String(i).repeat(32)}`,
      ipv4: `10.0.7.${i + 1}`,
      startedAt: '2026-01-01T00:00:00.000Z',
    });
  const registry = new MemoryRegistry(world.clock);
  // Seven entries, four pages of two: a name to adopt, a hand-set private IP, a foreign host,
  // a name no Cloud Map service has, an owned task IP, a second name to adopt, an FQDN to adopt.
  registry.seed(ref('/alpha/'), 'http://alpha-server:8000/');
  registry.seed(ref('/by-hand/'), 'http://10.0.9.9:8000/');
  registry.seed(ref('/foreign/'), 'https://mcp.example.com/');
  registry.seed(ref('/ghost/'), 'http://ghost-server:8000/');
  registry.seed(ref('/owned/'), 'http://10.0.7.2:8000/');
  registry.seed(ref('/bravo/'), 'http://bravo-server:8000/');
  registry.seed(ref('/charlie/'), `http://charlie-server.${NAMESPACE}:8000/`);
  const ownership = new MemoryOwnership('owners');
  const rowReads: string[] = [];
  const table = Object.assign(Object.create(ownership) as MemoryOwnership, {
    get: (r: EntryRef) => {
      rowReads.push(r.path);
      return ownership.get(r);
    },
  });
  const base =
    options.world?.(worldFollowSource(NAMESPACE, SERVICES)) ?? worldFollowSource(NAMESPACE, SERVICES);
  const asked: string[] = [];
  const follower = new Follower({
    config: cfg,
    ownership: table,
    world: {
      worldOf: (name, ctx) => {
        asked.push(name);
        return base.worldOf(name, ctx);
      },
    },
    now: world.clock.now,
    ttlMs: 30_000,
  });
  const { fanout, work, triggers, failures, sqs, drain } = followPipeline({
    config: cfg,
    world,
    registry,
    follower,
    ownership,
    fanoutOwnership: table,
    pageSize: 2,
  });
  /** Every trigger sent so far, and those they chain, each handled in turn: the server pages read. */
  const handleTriggers = async () => {
    const pages: { mode: string; offset: number; delaySeconds: number }[] = [];
    for (let next = triggers.shift(); next !== undefined; next = triggers.shift()) {
      const shard = JSON.parse(next.body).shard as { kind: string; offset: number; mode: string };
      if (shard.kind === 'server')
        pages.push({ mode: shard.mode, offset: shard.offset, delaySeconds: next.delaySeconds });
      await fanout(sqs(next.body, `shard-${shard.kind}-${shard.offset}`));
    }
    return pages;
  };
  const sweep = async (id: string) => {
    const body = sweepBody({ id, time: new Date(world.clock.now()).toISOString() });
    const out = await fanout(sqs(body, `sweep-${id}`));
    expect(out.batchItemFailures).toEqual([]);
    return handleTriggers();
  };
  const resync = async (id: string) => {
    await fanout(sqs(JSON.stringify(scheduledEvent(id))));
    return handleTriggers();
  };
  const groups = () => work.map((m) => m.groupId).sort();
  return { world, registry, ownership, work, failures, asked, rowReads, sweep, resync, drain, groups };
}

describe('follow mode: the names sweep', () => {
  it('reads the sweep body its schedule rule writes, and refuses one without an id', () => {
    expect(readTriggerMessage('{"sweep":{"id":"e1","time":"2026-12-08T01:00:00Z"}}')).toEqual({
      type: 'sweep',
      sweep: { id: 'e1', time: '2026-12-08T01:00:00Z' },
    });
    expect(readTriggerMessage(' { "sweep" : {"id": "e2", "time": "t"} }').type).toBe('sweep');
    expect(() => readTriggerMessage('{"sweep":{"time":"t"}}')).toThrow(/neither a valid sweep/);
  });

  it('reads every page once and sends work only for the names the rule adopts, reading no ownership row', async () => {
    const s = setup();
    await s.ownership.put(
      {
        kind: 'server',
        path: '/owned/',
        cloudMapService: 'bravo-server',
        ecsService: 'mcp-gateway-bravo',
        registeredUrl: 'http://bravo-server:8000/',
        writtenUrl: 'http://10.0.7.2:8000/',
        at: '2026-01-01T00:00:00.000Z',
      },
      undefined,
    );

    const pages = await s.sweep('s1');

    expect(s.failures).toEqual([]);
    expect(pages.map((p) => [p.mode, p.offset])).toEqual([
      ['names', 0],
      ['names', 2],
      ['names', 4],
      ['names', 6],
    ]);
    // The first page at once, each later one chained as a resync's are.
    expect(pages[0]?.delaySeconds).toBe(0);
    expect(s.groups()).toEqual(['server:/alpha/', 'server:/bravo/', 'server:/charlie/']);
    expect(s.rowReads).toEqual([]);
    // Only the hosts that name a Cloud Map service of the namespace were asked about.
    expect([...new Set(s.asked)].sort()).toEqual([
      'alpha-server',
      'bravo-server',
      'charlie-server',
      'ghost-server',
    ]);
  });

  it('puts the adopted names on live tasks through the worker; the next sweep sends nothing', async () => {
    const s = setup();
    await s.sweep('s1');
    await s.drain();

    expect(s.registry.url(ref('/alpha/'))).toBe('http://10.0.7.1:8000/');
    expect(s.registry.url(ref('/bravo/'))).toBe('http://10.0.7.2:8000/');
    expect(s.registry.url(ref('/charlie/'))).toBe('http://10.0.7.3:8000/');
    expect(s.registry.url(ref('/by-hand/'))).toBe('http://10.0.9.9:8000/');
    expect(s.registry.url(ref('/ghost/'))).toBe('http://ghost-server:8000/');
    s.world.clock.advance(60_000);
    await s.sweep('s2');
    expect(s.work).toEqual([]);
  });

  it('keeps a name it cannot adopt for a resync period: not asked again by the next sweeps, asked afresh by the full resync', async () => {
    const s = setup();
    const ghostAsks = () => s.asked.filter((n) => n === 'ghost-server').length;
    await s.sweep('s1');
    expect(ghostAsks()).toBe(1);

    // Sweeps within the resync period: the unadoptable name is not asked again.
    for (let minute = 1; minute < RESYNC_MINUTES; minute++) {
      s.world.clock.advance(60_000);
      await s.sweep(`s${minute + 1}`);
    }
    expect(ghostAsks()).toBe(1);
    // An adoptable name is kept no longer than usual (30 s): asked again on each sweep until written.
    expect(s.asked.filter((n) => n === 'alpha-server').length).toBe(RESYNC_MINUTES);

    // The full resync does not use the sweep's longer keep: it asks again.
    await s.resync('r1');
    expect(ghostAsks()).toBe(2);
  });

  it('keeps no name whose service runs no task now: the next sweep asks again and adopts it once a task runs', async () => {
    // alpha-server exists in Cloud Map, but no instance names an ECS service (no task runs yet).
    let running = false;
    const s = setup(config(), {
      world: (base) => ({
        worldOf: async (name, ctx) =>
          name === 'alpha-server' && !running
            ? { namespace: NAMESPACE, cloudMapServices: [{ name, arn: '', ipv4s: [] }], ecsServices: [] }
            : base.worldOf(name, ctx),
      }),
    });
    await s.sweep('s1');
    expect(s.groups()).not.toContain('server:/alpha/');
    s.work.splice(0);

    running = true;
    s.world.clock.advance(60_000);
    await s.sweep('s2');
    expect(s.asked.filter((n) => n === 'alpha-server').length).toBe(2);
    expect(s.groups()).toContain('server:/alpha/');
  });

  it('asks an unadoptable name again once the resync period has passed', async () => {
    const s = setup();
    await s.sweep('s1');
    s.world.clock.advance(RESYNC_MINUTES * 60_000);
    await s.sweep('s2');
    expect(s.asked.filter((n) => n === 'ghost-server').length).toBe(2);
  });

  it('sends work for a configured target whose entry holds its own Cloud Map name, not for one holding another host', async () => {
    const s = setup(
      config([
        { kind: 'server', path: '/alpha/', cloudMapService: 'alpha-server' },
        { kind: 'server', path: '/foreign/', cloudMapService: 'bravo-server' },
        { kind: 'server', path: '/by-hand/', cloudMapService: 'charlie-server' },
      ]),
    );
    await s.sweep('s1');
    expect(s.groups()).toEqual(['server:/alpha/', 'server:/bravo/', 'server:/charlie/']);
  });
});
