import { parseConfig, type ReconcilerConfig } from '../../../functions/lib/config/config';
import { Follower, type FollowWorldPort, wholeWorld } from '../../../functions/lib/follow/follower';
import { MemoryOwnership } from '../../../functions/lib/follow/ownership';
import { memoryPages } from '../../../functions/lib/inmemory/follow';
import { MemoryRegistry, World } from '../../../functions/lib/inmemory/world';
import type { EntryRef } from '../../../functions/lib/reconcile/ports';
import { verificationOf } from '../../../functions/lib/registry/client';
import type { DecisionRecord } from '../../../functions/lib/telemetry/record';
import {
  FOLLOW_VERDICTS,
  type FollowListingRow,
  followListing,
  followSummary,
  followTable,
} from '../../../tools/plan/follow-listing';
import {
  CLUSTER_ARN,
  CLUSTER_NAME,
  NAMESPACE,
  REFS,
  resyncOnce,
  SERVICES,
  TASKS,
  TOKEN_ENV,
} from '../../reconciler/helpers';

/**
 * `plan`'s follow listing (tools/plan/follow-listing.ts): every registry entry with what follow
 * mode would do, asked of the reconciler's own Follower and ownership verdict, and checked here
 * against what the reconciler itself then does with the same registry, world and table.
 */

const WEATHER = { ecsService: 'mcp-gateway-weather', cloudMapService: 'weather-server', port: 8000 };
const TWICE = { ecsService: 'mcp-gateway-twice-a', cloudMapService: 'twice-server', port: 8000 };
const SVCS = [...SERVICES, WEATHER, TWICE];
const W1 = { taskId: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', ipv4: '10.0.5.61' };

const E = {
  weather: { kind: 'server', path: '/weather/' },
  handset: { kind: 'server', path: '/handset/' },
  external: { kind: 'server', path: '/external/' },
  excluded: { kind: 'server', path: '/excluded/' },
  orphan: { kind: 'server', path: '/orphan/' },
  twice: { kind: 'server', path: '/twice/' },
  nowhere: { kind: 'server', path: '/nowhere/' },
  flight: REFS.flight,
} as const satisfies Record<string, EntryRef>;

function config(): ReconcilerConfig {
  return parseConfig({
    cluster: CLUSTER_NAME,
    namespace: NAMESPACE,
    registry: { url: 'http://127.0.0.1:7860', auth: { type: 'static', tokenEnv: TOKEN_ENV } },
    targets: [
      {
        kind: 'server',
        path: '/currenttime/',
        cloudMapService: 'currenttime-server',
        ecsService: 'mcp-gateway-currenttime',
      },
    ],
    follow: { enabled: true, exclude: ['/excluded/'] },
    ownership: { table: 'owners' },
  });
}

function setup() {
  const cfg = config();
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services: SVCS });
  world.seedTask(TASKS.ct1.service, TASKS.ct1);
  world.seedTask(TASKS.fb1.service, TASKS.fb1);
  world.seedTask(WEATHER.ecsService, W1);
  const registry = new MemoryRegistry(world.clock);
  registry.seed(REFS.currenttime, 'http://currenttime-server:8000/');
  registry.seed(E.weather, 'http://weather-server:8000/mcp');
  registry.seed(E.handset, 'http://10.9.9.9:8000/');
  registry.seed(E.external, 'https://api.example.com/mcp');
  registry.seed(E.excluded, 'http://weather-server.mcp-gateway.local:8000/');
  registry.seed(E.orphan, 'http://orphan-server:8000/');
  registry.seed(E.twice, 'http://twice-server:8000/');
  registry.seed(E.nowhere, 'http://nowhere:8000/');
  registry.seed(E.flight, 'http://flight-booking-agent:9000/');
  // The world as follow reads it, plus a Cloud Map service no ECS service publishes and a second
  // ECS service publishing twice-server.
  const source: FollowWorldPort = wholeWorld(async () => ({
    namespace: NAMESPACE,
    cloudMapServices: [
      ...SVCS.map((s) => ({
        name: s.cloudMapService,
        arn: `arn:aws:servicediscovery:us-west-2:111122223333:service/srv-${s.cloudMapService}`,
        ipv4s: [],
      })),
      {
        name: 'orphan-server',
        arn: 'arn:aws:servicediscovery:us-west-2:111122223333:service/srv-o',
        ipv4s: [],
      },
    ],
    ecsServices: [
      ...SVCS.map((s) => ({
        serviceName: s.ecsService,
        discoveryNames: [s.cloudMapService],
        registryArns: [],
      })),
      { serviceName: 'mcp-gateway-twice-b', discoveryNames: ['twice-server'], registryArns: [] },
    ],
  }));
  const ownership = new MemoryOwnership('owners');
  const follower = () =>
    new Follower({ config: cfg, ownership, world: source, now: world.clock.now, ttlMs: 30_000 });
  /** One scheduled resync through the deployed path: each entry's last decision, the worker's where it had work, else its shard check's. */
  const schedule = (dryRun: boolean) =>
    resyncOnce(
      {
        config: { ...cfg, dryRun },
        cloudMap: world,
        ecs: world,
        registry,
        reads: {
          pages: () => memoryPages(registry),
          verifyWrite: async (ref, written, ctx) =>
            verificationOf(await registry.readEntry(ref, ctx), written),
        },
        follow: { ownership, follower: follower() },
        now: world.clock.now,
        sleep: world.clock.sleep,
      },
      'plan',
    );
  const listing = () =>
    followListing({ config: cfg, follower: follower(), ownership, pages: memoryPages(registry) });
  return { registry, ownership, schedule, listing };
}

const verdicts = (rows: FollowListingRow[]) => Object.fromEntries(rows.map((r) => [r.path, r.verdict]));

/** What the reconciler's own records say follow mode did with each adopted entry. */
const adoptedByReconciler = (records: DecisionRecord[]) =>
  Object.fromEntries(
    records
      .filter((r) => r.follow?.origin === 'adopted')
      .map((r) => [r.target.path, [r.action, r.reason, r.follow?.owner]]),
  );

describe('plan: the follow listing', () => {
  it('gives every registry entry a verdict: adopt for entries named by their service, the rest left alone and why', async () => {
    // Prepare
    const f = setup();

    // Act
    const rows = await f.listing();

    // Assess
    expect(verdicts(rows)).toEqual({
      '/currenttime/': 'configured',
      '/weather/': 'adopt',
      '/handset/': 'not-owned',
      '/external/': 'foreign',
      '/excluded/': 'excluded',
      '/orphan/': 'no-ecs-service',
      '/twice/': 'ambiguous',
      '/nowhere/': 'no-cloud-map-service',
      '/flight-booking-agent': 'adopt',
    });
    const weather = rows.find((r) => r.path === '/weather/');
    expect(weather).toMatchObject({
      kind: 'server',
      url: 'http://weather-server:8000/mcp',
      cloudMapService: 'weather-server',
      ecsService: 'mcp-gateway-weather',
    });
    expect(rows.find((r) => r.path === '/handset/')?.detail).toContain('no ownership row');
    expect(rows.find((r) => r.path === '/twice/')?.detail).toContain(
      'mcp-gateway-twice-a, mcp-gateway-twice-b',
    );
    expect(rows.every((r) => r.detail !== '')).toBe(true);
    expect(f.ownership.rows.size).toBe(0);
    expect(f.registry.writes).toEqual([]);
  });

  it('agrees with the reconciler: what it lists as adopt is what a dry run adopts, and nothing else is adopted', async () => {
    // Prepare
    const f = setup();

    // Act
    const rows = await f.listing();
    const records = await f.schedule(true);

    // Assess
    const adopt = rows.filter((r) => r.verdict === 'adopt').map((r) => r.path);
    expect(Object.keys(adoptedByReconciler(records)).sort()).toEqual(adopt.sort());
    expect(Object.values(adoptedByReconciler(records))).toEqual([
      ['update', 'resolve-name', 'adopting'],
      ['update', 'resolve-name', 'adopting'],
    ]);
  });

  it('after the reconciler wrote them: owned; one re-pointed by someone: released (as the reconciler decides), its row kept by the listing', async () => {
    // Prepare
    const f = setup();
    await f.schedule(false);
    f.registry.set(E.weather, 'http://10.7.7.7:8000/');

    // Act
    const rows = await f.listing();

    // Assess
    expect(verdicts(rows)['/flight-booking-agent']).toBe('owned');
    expect(verdicts(rows)['/weather/']).toBe('released');
    expect(rows.find((r) => r.path === '/weather/')?.detail).toMatch(
      /someone changed the entry; ownership released by the next resync \(not by this listing\)$/,
    );
    expect(f.ownership.rows.has('server#/weather/')).toBe(true);
    expect(adoptedByReconciler(await f.schedule(true))).toEqual({
      '/weather/': ['skip', 'released', 'released'],
      '/flight-booking-agent': ['noop', 'current-live', 'owned'],
    });
  });

  it('a row whose entry the registry no longer lists is entry-missing', async () => {
    // Prepare
    const f = setup();
    await f.schedule(false);
    const row = f.ownership.rows.get('server#/weather/');
    if (row === undefined) throw new Error('no row');
    f.ownership.rows.set('server#/gone/', { ...row, path: '/gone/' });

    // Act
    const rows = await f.listing();

    // Assess
    expect(rows.at(-1)).toMatchObject({
      path: '/gone/',
      verdict: 'entry-missing',
      ecsService: WEATHER.ecsService,
    });
  });

  it('a table that cannot be read: error for each entry that needs it, naming the table; nothing guessed', async () => {
    // Prepare
    const f = setup();
    f.ownership.failWith = new Error('connect ECONNREFUSED 127.0.0.1:8000');

    // Act
    const rows = await f.listing();

    // Assess
    expect(verdicts(rows)).toMatchObject({
      '/currenttime/': 'configured',
      '/excluded/': 'excluded',
      '/weather/': 'error',
      '/handset/': 'error',
    });
    expect(rows.find((r) => r.path === '/weather/')?.detail).toContain('ownership table owners');
    expect(rows.filter((r) => r.verdict === 'adopt')).toEqual([]);
  });

  it('prints a table line per entry and a summary counting each verdict', async () => {
    // Prepare
    const rows = await setup().listing();

    // Act
    const table = followTable(rows);
    const summary = followSummary(rows);

    // Assess
    const lines = table.split('\n');
    expect(lines).toHaveLength(rows.length + 2);
    expect(lines.find((l) => l.includes('server /handset/'))).toMatch(
      /^not-owned\s+server \/handset\/\s+http:\/\/10\.9\.9\.9:8000\//,
    );
    expect(summary).toBe(
      'follow: 9 registry entries: adopt 2, owned 0, configured 1, excluded 1, not-owned 1, foreign 1, ' +
        'ambiguous 1, no-ecs-service 1, no-cloud-map-service 1; plan only, no ownership row recorded or released',
    );
    expect(FOLLOW_VERDICTS).toContain('released');
  });
});
