import { createFanoutHandler } from '../../functions/fanout/wiring';
import { parseConfig, type ReconcilerConfig } from '../../functions/lib/config/config';
import { NO_LAG_RETRY } from '../../functions/lib/config/defaults';
import { parseEvent } from '../../functions/lib/delivery/event';
import type { TriggerOut, WorkMessage } from '../../functions/lib/delivery/queues';
import { Follower } from '../../functions/lib/follow/follower';
import { MemoryOwnership, type OwnerRow } from '../../functions/lib/follow/ownership';
import { ownershipVerdict } from '../../functions/lib/follow/verdict';
import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import { memoryPages, worldFollowSource } from '../../functions/lib/inmemory/follow';
import { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
import { reconcileTriggers } from '../../functions/lib/reconcile/plan';
import type { EntryRef } from '../../functions/lib/reconcile/ports';
import { Reconciler } from '../../functions/lib/reconcile/reconcile';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { MetricName } from '../../functions/lib/telemetry/telemetry';
import { createWorkerHandler } from '../../functions/reconciler/wiring';
import { planTable } from '../../tools/plan/table';
import {
  CLUSTER_ARN,
  CLUSTER_NAME,
  NAMESPACE,
  REFS,
  RecordingMetrics,
  SERVICES,
  TASKS,
  TOKEN_ENV,
} from './helpers';

/**
 * Follow mode in the reconciler: entries found at run time by the shared rule, durable ownership
 * in the table (here its in-memory model, with DynamoDB's conditions), the gate that keeps hands
 * off everything the table does not give us, and the queue path and fan-out that carry it.
 */

const WEATHER = { ecsService: 'mcp-gateway-weather', cloudMapService: 'weather-server', port: 8000 };
const W1 = {
  taskId: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1',
  ipv4: '10.0.5.61',
  startedAt: '2026-01-01T00:00:00.000Z',
};
const W2 = {
  taskId: 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2',
  ipv4: '10.0.5.62',
  startedAt: '2026-01-01T00:02:00.000Z',
};
const E = {
  weather: { kind: 'server', path: '/weather/' },
  handset: { kind: 'server', path: '/handset/' },
  external: { kind: 'server', path: '/external/' },
  excluded: { kind: 'server', path: '/excluded/' },
} as const satisfies Record<string, EntryRef>;

function followConfig(): ReconcilerConfig {
  return parseConfig({
    cluster: CLUSTER_NAME,
    namespace: NAMESPACE,
    registryService: 'mcp-gateway-registry',
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
  const config = followConfig();
  const services = [...SERVICES, WEATHER];
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services });
  world.seedTask(TASKS.ct1.service, TASKS.ct1);
  world.seedTask(WEATHER.ecsService, W1);
  const registry = new MemoryRegistry(world.clock);
  registry.seed(REFS.currenttime, 'http://currenttime-server:8000/');
  registry.seed(E.weather, 'http://weather-server:8000/mcp');
  registry.seed(E.handset, 'http://10.9.9.9:8000/');
  registry.seed(E.external, 'https://api.example.com/mcp');
  registry.seed(E.excluded, 'http://weather-server.mcp-gateway.local:8000/');
  const ownership = new MemoryOwnership('owners');
  const source = worldFollowSource(NAMESPACE, services);
  const follower = new Follower({ config, ownership, world: source, now: world.clock.now, ttlMs: 30_000 });
  const records: DecisionRecord[] = [];
  const metrics = new RecordingMetrics();
  const reconciler = new Reconciler({
    config,
    metrics,
    cloudMap: world,
    ecs: world,
    registry,
    now: world.clock.now,
    sleep: world.clock.sleep,
    lagRetry: NO_LAG_RETRY,
    onRecord: (r) => records.push(r),
    follow: { ownership, follower, pages: memoryPages(registry) },
  });
  const schedule = (id = 'resync') =>
    reconcileTriggers(reconciler, [{ type: 'schedule', eventId: id, source: 0, attempt: 1 }]);
  const byPath = (rs: DecisionRecord[]) =>
    Object.fromEntries(
      rs.map((r) => [r.target.path, [r.action, r.reason, r.follow?.owner ?? r.follow?.origin]]),
    );
  return {
    config,
    world,
    registry,
    ownership,
    follower,
    source,
    reconciler,
    records,
    metrics,
    schedule,
    byPath,
  };
}

describe('follow mode: the ownership rule (follow/verdict.ts)', () => {
  const row = { writtenUrl: 'http://10.0.5.61:8000/', previousUrl: 'http://10.0.5.60:8000/' };
  it.each([
    ['short name, no row', 'http://weather-server:8000/', undefined, 'adopt'],
    ['<name>.<namespace>, no row', 'http://weather-server.mcp-gateway.local:8000/', undefined, 'adopt'],
    ['the name again after our write', 'http://weather-server:8000/', row, 'adopt'],
    ['the address we wrote', 'http://10.0.5.61:8000/', row, 'owned'],
    ['the address of the write in flight before it', 'http://10.0.5.60:8000/', row, 'owned'],
    ['an IPv4 without a row (set by hand)', 'http://10.9.9.9:8000/', undefined, 'not-owned'],
    ['another port than we wrote', 'http://10.0.5.61:9000/', row, 'released'],
    ['another IPv4 than we wrote', 'http://10.7.7.7:8000/', row, 'released'],
    ['a foreign host after our write', 'https://api.example.com/', row, 'released'],
    ['a foreign host, no row', 'https://api.example.com/', undefined, 'foreign'],
    ['another service of the namespace', 'http://other-server:8000/', undefined, 'foreign'],
  ])('%s → %s', (_, currentUrl, r, verdict) => {
    const v = ownershipVerdict({
      currentUrl,
      cloudMapService: 'weather-server',
      namespace: NAMESPACE,
      row: r,
    });
    expect(v.verdict).toBe(verdict);
    expect(v.detail).not.toBe('');
  });
});

describe('follow mode: the reconciler, planned from triggers (as the shard check plans)', () => {
  it('a schedule adopts the entry registered by name, records its row before the write, and leaves every other entry alone', async () => {
    // Prepare
    const f = setup();

    // Act
    const out = await f.schedule();

    // Assess
    expect(f.byPath(out.records)).toEqual({
      '/currenttime/': ['update', 'resolve-name', 'configured'],
      '/weather/': ['update', 'resolve-name', 'recorded'],
    });
    expect(f.registry.url(E.weather)).toBe(`http://${W1.ipv4}:8000/mcp`);
    expect([f.metrics.get(MetricName.FollowAdopted), f.metrics.get(MetricName.FollowOwned)]).toEqual([1, 1]);
    expect(f.registry.url(E.handset)).toBe('http://10.9.9.9:8000/');
    expect(f.registry.url(E.external)).toBe('https://api.example.com/mcp');
    expect(f.registry.url(E.excluded)).toBe('http://weather-server.mcp-gateway.local:8000/');
    expect([...f.ownership.rows.values()]).toEqual([
      {
        kind: 'server',
        path: '/weather/',
        cloudMapService: 'weather-server',
        ecsService: 'mcp-gateway-weather',
        registeredUrl: 'http://weather-server:8000/mcp',
        writtenUrl: `http://${W1.ipv4}:8000/mcp`,
        at: f.world.clock.iso(),
        version: 1,
      },
    ]);
  });

  it('keeps an owned entry on its live task, and moves it when a task event of its service says the task stopped', async () => {
    // Prepare
    const f = setup();
    await f.schedule();
    f.world.seedTask(WEATHER.ecsService, W2);
    const stop = parseEvent(
      taskEvent({
        clusterArn: CLUSTER_ARN,
        taskId: W1.taskId,
        service: WEATHER.ecsService,
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        version: 6,
        ipv4: W1.ipv4,
      }),
    );
    if (stop.kind !== 'task') throw new Error('not a task event');
    f.world.applyEvent(stop.event);

    // Act
    const kept = await f.schedule('resync-2');
    const moved = await reconcileTriggers(f.reconciler, [
      { type: 'task', event: stop.event, source: 0, attempt: 1 },
    ]);

    // Assess
    expect(f.byPath(kept.records)['/weather/']).toEqual(['update', 'current-not-live', 'recorded']);
    expect(f.byPath(moved.records)).toEqual({ '/weather/': ['noop', 'current-live', 'owned'] });
    expect(f.registry.url(E.weather)).toBe(`http://${W2.ipv4}:8000/mcp`);
    const row = f.ownership.rows.get('server#/weather/') as OwnerRow;
    expect([row.writtenUrl, row.previousUrl, row.registeredUrl, row.version]).toEqual([
      `http://${W2.ipv4}:8000/mcp`,
      `http://${W1.ipv4}:8000/mcp`,
      'http://weather-server:8000/mcp',
      2,
    ]);
  });

  it('a task event reaches the entries the table ties to its service, with one index query per service while cached', async () => {
    // Prepare
    const f = setup();
    await f.schedule();
    const running = parseEvent(
      taskEvent({
        clusterArn: CLUSTER_ARN,
        taskId: W1.taskId,
        service: WEATHER.ecsService,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        version: 4,
        ipv4: W1.ipv4,
      }),
    );
    if (running.kind !== 'task') throw new Error('not a task event');
    const queries = f.ownership.calls.queries;

    // Act
    const first = await reconcileTriggers(f.reconciler, [
      { type: 'task', event: running.event, source: 0, attempt: 1 },
    ]);
    const second = await reconcileTriggers(f.reconciler, [
      { type: 'task', event: running.event, source: 0, attempt: 1 },
    ]);

    // Assess
    expect(first.records.map((r) => [r.target.path, r.action, r.follow?.via])).toEqual([
      ['/weather/', 'noop', 'row'],
    ]);
    expect(second.records).toHaveLength(1);
    expect(f.ownership.calls.queries - queries).toBe(1);
  });

  it('an entry re-pointed by someone is released (its row deleted) and never written again; named again, it is adopted again', async () => {
    // Prepare
    const f = setup();
    await f.schedule();
    f.registry.set(E.weather, 'http://10.7.7.7:8000/');
    const writes = f.registry.writes.length;

    // Act
    const released = await f.schedule('resync-2');
    const after = await f.schedule('resync-3');
    f.registry.set(E.weather, 'http://weather-server:8000/');
    const again = await f.schedule('resync-4');

    // Assess
    expect(f.byPath(released.records)['/weather/']).toEqual(['skip', 'released', 'released']);
    expect(f.metrics.get(MetricName.FollowReleased)).toBe(1);
    expect(after.records.map((r) => r.target.path)).toEqual(['/currenttime/']);
    expect(f.registry.writes.slice(writes).map((w) => w.path)).toEqual(['/weather/']);
    expect(f.byPath(again.records)['/weather/']).toEqual(['update', 'resolve-name', 'recorded']);
    expect(f.ownership.rows.get('server#/weather/')?.registeredUrl).toBe('http://weather-server:8000/');
  });

  it('a table that cannot be read stops the entry with a retryable error naming the table, and nothing is written', async () => {
    // Prepare
    const f = setup();
    f.ownership.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), {
      code: 'ECONNREFUSED',
    });

    // Act
    const out = await f.schedule();

    // Assess
    const weather = out.records.find((r) => r.target.path === '/weather/');
    expect([weather?.action, weather?.reason, weather?.retryable]).toEqual([
      'error',
      'ownership-failed',
      true,
    ]);
    expect(weather?.detail).toContain('ownership table owners');
    expect(f.registry.writes.map((w) => w.path)).toEqual(['/currenttime/']);
    expect(out.ignored.map((i) => [i.reason, i.retryable])).toEqual([['service-lookup-failed', true]]);
    expect(out.retrySources.has(0)).toBe(true);
  });

  it('a row changed by another invocation between our read and our write: no registry write, retried', async () => {
    // Prepare
    const f = setup();
    const put = f.ownership.put.bind(f.ownership);
    f.ownership.put = async (row, expected) => {
      // Another invocation records the same entry first.
      await put({ ...row, writtenUrl: 'http://10.0.5.99:8000/mcp' }, undefined);
      return put(row, expected);
    };

    // Act
    const out = await f.schedule();

    // Assess
    const weather = out.records.find((r) => r.target.path === '/weather/');
    expect([weather?.action, weather?.reason, weather?.retryable]).toEqual([
      'error',
      'ownership-failed',
      true,
    ]);
    expect(f.registry.url(E.weather)).toBe('http://weather-server:8000/mcp');
  });

  it('reads the services of the namespace and the cluster only for a host that can name one, once per cache period', async () => {
    // Prepare
    const f = setup();
    f.registry.set(E.weather, 'http://10.9.9.8:8000/');
    f.registry.set(E.excluded, 'https://other.example.com/');

    // Act
    await f.schedule('only-foreign');
    const withoutNames = f.source.calls;
    f.registry.set(E.weather, 'http://weather-server:8000/');
    await f.schedule('named');
    await f.schedule('named-again');

    // Assess
    expect(withoutNames).toBe(0);
    expect(f.source.calls).toBe(1);
  });

  it('plan (a dry run) marks the entry it would adopt, and the configured target', async () => {
    // Prepare
    const f = setup();
    const dry = new Reconciler({
      config: { ...f.config, dryRun: true },
      cloudMap: f.world,
      ecs: f.world,
      registry: f.registry,
      now: f.world.clock.now,
      follow: { ownership: f.ownership, follower: f.follower, pages: memoryPages(f.registry) },
    });

    // Act
    const out = await reconcileTriggers(dry, [{ type: 'schedule', eventId: 'plan', source: 0, attempt: 1 }]);
    const table = planTable(out.records);

    // Assess
    expect(table).toContain('follow:    adopt (found by the shared matching rule');
    expect(table).toContain('follow:    configured target');
    expect(f.ownership.rows.size).toBe(0);
    expect(f.registry.writes).toEqual([]);
  });

  it('a dry run records and releases nothing', async () => {
    // Prepare
    const f = setup();
    await f.schedule();
    f.registry.set(E.weather, 'http://10.7.7.7:8000/');
    const dry = new Reconciler({
      config: { ...f.config, dryRun: true },
      cloudMap: f.world,
      ecs: f.world,
      registry: f.registry,
      now: f.world.clock.now,
      follow: { ownership: f.ownership, follower: f.follower, pages: memoryPages(f.registry) },
    });

    // Act
    const out = await reconcileTriggers(dry, [{ type: 'schedule', eventId: 'dry', source: 0, attempt: 1 }]);

    // Assess
    expect(out.records.find((r) => r.target.path === '/weather/')?.reason).toBe('released');
    expect(f.ownership.rows.size).toBe(1);
  });
});

describe('follow mode: the queue path and the fan-out', () => {
  it('a work message for an entry the configuration does not name reaches its adopted entry; one for a hand-set entry does nothing', async () => {
    // Prepare
    const f = setup();
    const { handler } = createWorkerHandler({
      config: f.config,
      cloudMap: f.world,
      ecs: f.world,
      registry: f.registry,
      now: f.world.clock.now,
      sleep: f.world.clock.sleep,
      follow: { ownership: f.ownership, follower: f.follower },
      queue: { changeVisibility: async () => undefined, sendTrigger: async () => undefined },
    });
    const message = (group: string, i: number) => ({
      messageId: `m-${i}`,
      body: JSON.stringify(scheduledEvent(`resync-${i}`)),
      attributes: { ApproximateReceiveCount: '1', MessageGroupId: group },
      eventSource: 'aws:sqs',
    });

    // Act
    const out = await handler({ Records: [message('server:/weather/', 1), message('server:/handset/', 2)] });

    // Assess
    expect(out).toEqual({ batchItemFailures: [] });
    expect(f.registry.writes.map((w) => [w.path, w.to])).toEqual([
      ['/weather/', `http://${W1.ipv4}:8000/mcp`],
    ]);
    expect(f.ownership.rows.has('server#/weather/')).toBe(true);
    expect(f.registry.url(E.handset)).toBe('http://10.9.9.9:8000/');
  });

  it('the resync reads the first page although no server is configured, and sends work for the adoptable entry only; a task event of its service reaches it once owned', async () => {
    // Prepare
    const f = setup();
    const work: WorkMessage[] = [];
    const triggers: TriggerOut[] = [];
    const { handler } = createFanoutHandler({
      config: { ...f.config, targets: [] },
      cloudMap: f.world,
      ecs: f.world,
      now: f.world.clock.now,
      sleep: f.world.clock.sleep,
      ecsBatchWindowMs: 0,
      pages: memoryPages(f.registry),
      verifier: { verifyWrite: async () => Promise.reject(new Error('not used')) },
      queues: {
        sendWork: async (m) => void work.push(...m),
        sendTriggers: async (m) => void triggers.push(...m),
      },
      follow: { ownership: f.ownership, follower: f.follower },
    });
    const sqs = (body: string) => ({ Records: [{ messageId: 'm', body }] });

    // Act
    await handler(sqs(JSON.stringify(scheduledEvent('resync-1'))));
    const shards = triggers.splice(0);
    for (const s of shards) await handler(sqs(s.body));
    const fromResync = work.splice(0).map((w) => w.groupId);
    await f.schedule();
    const event = taskEvent({
      clusterArn: CLUSTER_ARN,
      taskId: W1.taskId,
      service: WEATHER.ecsService,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      version: 6,
      ipv4: W1.ipv4,
    });
    await handler(sqs(JSON.stringify(event)));

    // Assess
    expect(shards.map((s) => JSON.parse(s.body).shard.kind).sort()).toEqual(['agent', 'server']);
    expect(triggers).toEqual([]);
    expect(fromResync).toEqual(['server:/weather/']);
    expect(work.map((w) => w.groupId)).toEqual(['server:/weather/']);
  });
});
