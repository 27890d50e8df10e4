import { parseConfig } from '../../functions/lib/config/config';
import { Follower } from '../../functions/lib/follow/follower';
import { MemoryOwnership } from '../../functions/lib/follow/ownership';
import { worldFollowSource } from '../../functions/lib/inmemory/follow';
import { World } from '../../functions/lib/inmemory/world';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { GENERATIONS, type LocalRegistry } from '../../tools/local-registry';
import { clientFor, FIXTURES, startFixtureRegistry } from '../registry/helpers';
import { CLUSTER_ARN, CLUSTER_NAME, NAMESPACE, resyncOnce, SERVICES, TASKS } from './helpers';

/**
 * Follow mode over real HTTP against the local registry, on every generation it models (v1.0.16:
 * the unpaged lists, register-overwrite and agent PUT; 1.29: the paged list, PATCH and its
 * register fallback for slash paths; 1.32: PATCH on every path), for servers (`proxy_pass_url`)
 * and agents (`url`): an entry registered by its Cloud Map name is found in the registry's own
 * list, adopted and written to its live task; an entry holding an IPv4 the table does not give us
 * is never touched.
 */

const AGENT_CARD = FIXTURES.agents?.find((a) => a.path === '/flight-booking-agent') ?? {};
const CURRENTTIME = { kind: 'server', path: '/currenttime/' } as const;
const FLIGHT = { kind: 'agent', path: '/flight-booking-agent' } as const;
const HANDSET_SERVER = 'http://10.9.9.9:8000/';
const HANDSET_AGENT = 'http://10.9.9.8:9000/';

describe.each(GENERATIONS)('follow mode against the local registry %s', (generation) => {
  let registry: LocalRegistry;

  beforeEach(async () => {
    registry = await startFixtureRegistry({ generation, allowedCidrs: ['10.0.0.0/8'] });
    // The fixture agent is registered under another namespace's name: registered here by its short name.
    registry.putAgent({ ...AGENT_CARD, url: 'http://flight-booking-agent:9000/' });
    registry.putAgent({ ...AGENT_CARD, path: '/handset-agent', name: 'handset agent', url: HANDSET_AGENT });
    const template = registry.getServer('/currenttime/');
    registry.putServer(
      { ...(template as NonNullable<typeof template>), path: '/handset/', proxy_pass_url: HANDSET_SERVER },
      { enabled: true },
    );
  });
  afterEach(() => registry.stop());

  function setup() {
    const config = parseConfig({
      cluster: CLUSTER_NAME,
      namespace: NAMESPACE,
      registry: { url: registry.url, auth: { type: 'static', tokenEnv: 'UNUSED' } },
      follow: { enabled: true },
      ownership: { table: 'owners' },
    });
    const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services: SERVICES });
    world.seedTask(TASKS.ct1.service, TASKS.ct1);
    world.seedTask(TASKS.fb1.service, TASKS.fb1);
    const client = clientFor(registry);
    const ownership = new MemoryOwnership('owners');
    const follower = new Follower({
      config,
      ownership,
      world: worldFollowSource(NAMESPACE, SERVICES),
      now: world.clock.now,
      ttlMs: 30_000,
    });
    // One scheduled resync through the deployed path: each entry's last decision, the worker's
    // where it had work, else its shard check's.
    const schedule = (id: string) =>
      resyncOnce(
        {
          config,
          cloudMap: world,
          ecs: world,
          registry: client,
          reads: client,
          follow: { ownership, follower },
          now: world.clock.now,
          sleep: world.clock.sleep,
        },
        id,
      );
    return { ownership, schedule };
  }

  const byPath = (records: DecisionRecord[]) =>
    Object.fromEntries(records.map((r) => [r.target.path, [r.action, r.reason, r.follow?.owner]]));

  it('adopts the server and the agent registered by name (rewritten to their live tasks, rows recorded) and leaves the hand-set IPs alone', async () => {
    // Prepare
    const f = setup();

    // Act
    const first = await f.schedule('resync-1');
    const second = await f.schedule('resync-2');

    // Assess
    expect(byPath(first)).toEqual({
      // Adopted, but its service has no task: nothing written, no row.
      '/airegistry-tools/': ['noop', 'no-live-instance', 'adopting'],
      '/currenttime/': ['update', 'resolve-name', 'recorded'],
      '/flight-booking-agent': ['update', 'resolve-name', 'recorded'],
    });
    expect(registry.getServer('/currenttime/')?.proxy_pass_url).toBe(`http://${TASKS.ct1.ipv4}:8000/`);
    expect(registry.getAgent('/flight-booking-agent')?.url).toBe(`http://${TASKS.fb1.ipv4}:9000/`);
    expect(registry.getServer('/handset/')?.proxy_pass_url).toBe(HANDSET_SERVER);
    expect(registry.getAgent('/handset-agent')?.url).toBe(HANDSET_AGENT);
    expect(
      [...f.ownership.rows.values()].map((r) => [r.kind, r.path, r.registeredUrl, r.writtenUrl]).sort(),
    ).toEqual([
      ['agent', FLIGHT.path, 'http://flight-booking-agent:9000/', `http://${TASKS.fb1.ipv4}:9000/`],
      ['server', CURRENTTIME.path, 'http://currenttime-server:8000/', `http://${TASKS.ct1.ipv4}:8000/`],
    ]);
    // The next resync finds both by their rows, owned, on their live tasks.
    expect(byPath(second)).toEqual({
      '/airegistry-tools/': ['noop', 'no-live-instance', 'adopting'],
      '/currenttime/': ['noop', 'current-live', 'owned'],
      '/flight-booking-agent': ['noop', 'current-live', 'owned'],
    });
  });

  it('an adopted server and agent re-pointed by someone are released and not written again', async () => {
    // Prepare
    const f = setup();
    await f.schedule('resync-1');
    registry.putServer({ ...(registry.getServer('/currenttime/') ?? {}), proxy_pass_url: HANDSET_SERVER });
    registry.putAgent({ ...(registry.getAgent('/flight-booking-agent') ?? {}), url: HANDSET_AGENT });
    const writes = registry.requests().filter((r) => r.method !== 'GET').length;

    // Act
    const released = await f.schedule('resync-2');
    const after = await f.schedule('resync-3');

    // Assess
    expect(byPath(released)).toEqual({
      '/airegistry-tools/': ['noop', 'no-live-instance', 'adopting'],
      '/currenttime/': ['skip', 'released', 'released'],
      '/flight-booking-agent': ['skip', 'released', 'released'],
    });
    expect(after.map((r) => r.target.path)).toEqual(['/airegistry-tools/']);
    expect(f.ownership.rows.size).toBe(0);
    expect(registry.requests().filter((r) => r.method !== 'GET').length).toBe(writes);
    expect(registry.getServer('/currenttime/')?.proxy_pass_url).toBe(HANDSET_SERVER);
    expect(registry.getAgent('/flight-booking-agent')?.url).toBe(HANDSET_AGENT);
  });
});
