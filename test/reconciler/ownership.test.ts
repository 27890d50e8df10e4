import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import type { EntryRef } from '../../functions/lib/reconcile/ports';
import { type DiscoverWorld, type MatchStatus, matchEntries } from '../../tools/discover/match';
import type { ListedEntry } from '../../tools/discover/registry-list';
import { CLUSTER_ARN, type Harness, harness, NAMESPACE, SERVICES, TASKS, testConfig } from './helpers';

/**
 * Discover and the reconciler read one registry and must agree on every entry: the ones discover
 * calls `foreign` are exactly the ones the reconciler skips as `foreign` when configured, and
 * those are never rewritten. Both ask the same rule (core/ownership.ts).
 */

const ENTRIES = {
  name: 'http://currenttime-server:8000/',
  fqdn: 'http://currenttime-server.mcp-gateway.local:8000/',
  live: `http://${TASKS.ct1.ipv4}:8000/`,
  stale: 'http://10.0.1.99:8000/',
  public: 'http://1.2.3.4:8000/',
  foreign: 'https://weather.example.com/mcp/',
} as const;
type Kind = keyof typeof ENTRIES;

const ref = (kind: Kind): EntryRef => ({ kind: 'server', path: `/${kind}/` });

/** What each side is expected to say of each entry. */
const EXPECTED: Record<Kind, { discover: MatchStatus; reconciler: string; written: boolean }> = {
  name: { discover: 'matched', reconciler: 'resolve-name', written: true },
  fqdn: { discover: 'matched', reconciler: 'resolve-name', written: true },
  live: { discover: 'matched', reconciler: 'current-live', written: false },
  stale: { discover: 'unmatched-ip', reconciler: 'current-not-live', written: true },
  public: { discover: 'foreign', reconciler: 'foreign', written: false },
  foreign: { discover: 'foreign', reconciler: 'foreign', written: false },
};

const KINDS = Object.keys(ENTRIES) as Kind[];

/** One registry holding every kind of entry, each a currenttime target for the reconciler. */
function setup(): Harness {
  const config = testConfig({
    targets: KINDS.map((k) => ({
      ...ref(k),
      cloudMapService: 'currenttime-server',
      ecsService: 'mcp-gateway-currenttime',
    })),
  });
  const h = harness({ config });
  for (const k of KINDS) h.registry.seed(ref(k), ENTRIES[k]);
  return h;
}

/** Discover's view of the same account, read from the same world. */
async function discoverWorld(h: Harness): Promise<DiscoverWorld> {
  const ctx = { count: () => undefined };
  const cloudMapServices = await Promise.all(
    SERVICES.map(async (s) => ({
      name: s.cloudMapService,
      arn: `arn:aws:servicediscovery:us-west-2:111122223333:service/srv-${s.cloudMapService}`,
      ipv4s: (await h.world.discoverInstances(NAMESPACE, s.cloudMapService, ctx)).flatMap((i) =>
        i.ipv4 === undefined ? [] : [i.ipv4],
      ),
    })),
  );
  const ecsServices = (
    await Promise.all(SERVICES.map((s) => h.world.describeService(CLUSTER_ARN, s.ecsService, ctx)))
  ).flatMap((d) => (d === undefined ? [] : [d]));
  return { namespace: NAMESPACE, cloudMapServices, ecsServices };
}

async function listed(h: Harness): Promise<ListedEntry[]> {
  const ctx = { count: () => undefined };
  return Promise.all(
    KINDS.map(async (k) => ({ ...ref(k), url: (await h.registry.readEntry(ref(k), ctx)).url })),
  );
}

describe('Ownership: discover and the reconciler over one registry', () => {
  it('agree on every entry: name, FQDN, live task IP, stale private IP, public IP, foreign host', async () => {
    // Arrange
    const h = setup();
    const matches = matchEntries(await listed(h), await discoverWorld(h));

    // Act
    const { outcome } = await h.handler(scheduledEvent('resync-1'));

    // Assert
    for (const k of KINDS) {
      const d = matches.find((m) => m.path === ref(k).path);
      const r = outcome.records.find((x) => x.target.path === ref(k).path);
      expect([k, d?.status, r?.reason]).toEqual([k, EXPECTED[k].discover, EXPECTED[k].reconciler]);
      // The agreement itself: foreign to one is foreign to the other, and only then.
      expect([k, d?.status === 'foreign']).toEqual([k, r?.reason === 'foreign']);
      // A matched entry is matched to the Cloud Map service the reconciler serves it from.
      if (d?.status === 'matched') expect(d.cloudMapService).toBe(r?.target.cloudMapService);
      expect([k, h.registry.writes.some((w) => w.path === ref(k).path)]).toEqual([k, EXPECTED[k].written]);
    }
    expect(matches.find((m) => m.path === '/stale/')?.detail).toContain('"targets"');
  });

  it('never rewrites the public IP, whatever the triggers', async () => {
    // Arrange
    const h = setup();
    const stop = taskEvent({
      clusterArn: CLUSTER_ARN,
      taskId: TASKS.ct1.taskId,
      service: TASKS.ct1.service,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      version: 6,
      ipv4: TASKS.ct1.ipv4,
    });

    // Act
    await h.handler(scheduledEvent('resync-1'));
    await h.handler(stop);
    await h.handler(scheduledEvent('resync-2', '2026-01-01T00:10:00Z'));

    // Assert
    expect(h.registry.url(ref('public'))).toBe(ENTRIES.public);
    expect(h.registry.writes.filter((w) => w.path === '/public/')).toEqual([]);
    const publicRecords = [...h.records, ...h.checks].filter((r) => r.target.path === '/public/');
    expect(publicRecords.length).toBeGreaterThanOrEqual(3);
    for (const r of publicRecords) expect([r.action, r.reason]).toEqual(['skip', 'foreign']);
    // A foreign public IP costs one Cloud Map read (it might be listed) and no ECS read.
    for (const r of publicRecords) expect(r.calls['ecs.DescribeTasks']).toBeUndefined();
  });

  it('owns a public IP while Cloud Map lists it for the target', async () => {
    // Arrange: a VPC on public address space; the task's address is listed now.
    const h = setup();
    const task = { service: TASKS.ct1.service, taskId: 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1', ipv4: '1.2.3.4' };
    h.world.seedTask(task.service, { ...task, startedAt: '2025-12-31T00:00:00.000Z' });

    // Act
    const { outcome } = await h.handler(scheduledEvent('resync-1'));
    const matches = matchEntries(await listed(h), await discoverWorld(h));

    // Assert
    expect(outcome.records.find((r) => r.target.path === '/public/')).toMatchObject({
      action: 'noop',
      reason: 'current-live',
    });
    expect(matches.find((m) => m.path === '/public/')?.status).toBe('matched');
  });
});
