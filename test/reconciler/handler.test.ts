import type { SQSBatchResponse } from 'aws-lambda';
import { RetryableError } from '../../functions/reconciler/errors';
import { parseEvent } from '../../functions/reconciler/event';
import type { DirectResult } from '../../functions/reconciler/invocation';
import type { EcsPort } from '../../functions/reconciler/ports';
import type { DecisionRecord } from '../../functions/reconciler/record';
import { MetricName } from '../../functions/reconciler/telemetry';
import { scheduledEvent, taskEvent } from '../../tools/world/events';
import {
  CLUSTER_ARN,
  DEFAULT_TARGETS,
  DISCOVERED_TARGET,
  type Harness,
  harness,
  OTHER_CLUSTER_ARN,
  REFS,
  SECRET_TOKEN,
  sqsBatch,
  TASKS,
  TOKEN_ENV,
  testConfig,
} from './helpers';

type SeededTask = { service: string; taskId: string; ipv4: string };

/** An ECS event for a seeded (or new) task, in EventBridge's exact shape. */
function ev(
  t: SeededTask,
  lastStatus: string,
  options: {
    desiredStatus?: string;
    version?: number;
    clusterArn?: string;
    group?: string;
    network?: 'eni' | 'none';
    startedAt?: string;
    id?: string;
  } = {},
) {
  const stopping = ['DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'].includes(lastStatus);
  return taskEvent({
    clusterArn: options.clusterArn ?? CLUSTER_ARN,
    taskId: t.taskId,
    service: t.service,
    ...(options.group === undefined ? {} : { group: options.group }),
    lastStatus,
    desiredStatus: options.desiredStatus ?? (stopping ? 'STOPPED' : 'RUNNING'),
    version: options.version ?? (stopping ? 6 : 3),
    ipv4: t.ipv4,
    ...(options.network === undefined ? {} : { network: options.network }),
    ...(options.startedAt === undefined ? {} : { startedAt: options.startedAt }),
    ...(options.id === undefined ? {} : { id: options.id }),
  });
}

/** Applies an event to the world, as AWS would have: ECS state, Cloud Map (de)registration. */
function happen(h: Harness, event: ReturnType<typeof ev>): ReturnType<typeof ev> {
  const intake = parseEvent(event);
  if (intake.kind !== 'task') throw new Error(`test event did not parse: ${JSON.stringify(intake)}`);
  h.world.applyEvent(intake.event);
  return event;
}

async function direct(h: Harness, event: unknown): Promise<DirectResult> {
  return (await h.handler(event)) as DirectResult;
}

async function queue(h: Harness, batch: unknown): Promise<SQSBatchResponse> {
  return (await h.handler(batch)) as SQSBatchResponse;
}

/** Every decision record the reconciler logged, in order. */
function loggedRecords(h: Harness): DecisionRecord[] {
  return h.logger.lines.flatMap((l) =>
    l.extra.flatMap((x) => (x.decision === undefined ? [] : [x.decision as DecisionRecord])),
  );
}

const FB2 = { service: TASKS.fb1.service, taskId: '2b3c4d5e6f7a48b9c0d1e2f3a4b5c6d7', ipv4: '10.0.4.42' };
const CT3 = { service: TASKS.ct1.service, taskId: '6c7d8e9f0a1b42c3d4e5f6a7b8c9d0e1', ipv4: '10.0.1.13' };
const REG2 = { service: TASKS.reg1.service, taskId: '7d8e9f0a1b2c43d4e5f6a7b8c9d0e1f2', ipv4: '10.0.0.11' };

describe('Function: createHandler', () => {
  beforeEach(() => {
    process.env[TOKEN_ENV] = SECRET_TOKEN;
  });

  afterEach(() => {
    delete process.env[TOKEN_ENV];
  });

  describe('SQS FIFO batches', () => {
    /** fb1 stopped and fb2 RUNNING but not in Cloud Map for a minute: the flight agent must defer. */
    function lagging(): Harness {
      const h = harness({ registrationLagMs: 60_000 });
      h.registry.set(REFS.flight, `http://${TASKS.fb1.ipv4}:9000/`);
      happen(h, ev(TASKS.fb1, 'STOPPED'));
      happen(h, ev(FB2, 'RUNNING'));
      return h;
    }

    it('reports the first retryable message and everything after it as failed', async () => {
      // Prepare
      const h = lagging();
      const batch = sqsBatch([
        ev(TASKS.ct1, 'RUNNING'),
        ev(FB2, 'RUNNING'),
        { not: 'an event' },
        ev(TASKS.gw1, 'RUNNING'),
      ]);

      // Act
      const response = await queue(h, batch);

      // Assess
      expect(response.batchItemFailures).toEqual([
        { itemIdentifier: 'm2' },
        { itemIdentifier: 'm3' },
        { itemIdentifier: 'm4' },
      ]);
      const byPath = new Map(loggedRecords(h).map((r) => [r.target.path, r]));
      expect(byPath.get('/flight-booking-agent')).toMatchObject({
        action: 'defer',
        reason: 'cloud-map-lag',
        retryable: true,
      });
      expect(byPath.get('/flight-booking-agent')?.calls['cloudmap.DiscoverInstances']).toBe(3);
      expect(byPath.get('/currenttime/')).toMatchObject({ action: 'noop', reason: 'current-live' });
      expect(byPath.get('/airegistry-tools/')).toMatchObject({ action: 'update', reason: 'resolve-name' });
      expect(h.registry.url(REFS.flight)).toBe(`http://${TASKS.fb1.ipv4}:9000/`);
    });

    it('reports no failure when nothing needs a retry', async () => {
      // Prepare
      const h = harness();

      // Act
      const response = await queue(h, sqsBatch([ev(TASKS.ct1, 'RUNNING'), 'junk', ev(TASKS.gw1, 'RUNNING')]));

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
    });

    it('stops deferring once the message has been delivered maxDeferAttempts times', async () => {
      // Prepare
      const h = lagging();

      // Act
      const response = await queue(h, sqsBatch([ev(FB2, 'RUNNING')], { receiveCount: 3 }));

      // Assess
      expect(response.batchItemFailures).toEqual([]);
      expect(loggedRecords(h)).toMatchObject([
        { action: 'noop', reason: 'cloud-map-lag-exhausted', retryable: false },
      ]);
      expect(h.metrics.get(MetricName.NoLiveInstance)).toBe(1);
      expect(h.registry.writes).toEqual([]);
    });

    it('moves to the new task on the redelivery after Cloud Map lists it', async () => {
      // Prepare
      const h = lagging();
      await queue(h, sqsBatch([ev(FB2, 'RUNNING')]));
      h.world.clock.advance(60_000);

      // Act
      const response = await queue(h, sqsBatch([ev(FB2, 'RUNNING')], { receiveCount: 2 }));

      // Assess
      expect(response.batchItemFailures).toEqual([]);
      expect(h.registry.url(REFS.flight)).toBe(`http://${FB2.ipv4}:9000/`);
      expect(h.registry.writes.map((w) => [w.path, w.from, w.to])).toEqual([
        ['/flight-booking-agent', `http://${TASKS.fb1.ipv4}:9000/`, `http://${FB2.ipv4}:9000/`],
      ]);
    });
  });

  describe('direct invocation', () => {
    it('throws a RetryableError on defer', async () => {
      // Prepare
      const h = harness({ registrationLagMs: 60_000 });
      happen(h, ev(TASKS.fb1, 'STOPPED'));
      const event = happen(h, ev(FB2, 'RUNNING'));

      // Act
      const result = h.handler(event);

      // Assess
      await expect(result).rejects.toBeInstanceOf(RetryableError);
      await expect(h.handler(event)).rejects.toThrow(/\/flight-booking-agent: cloud-map-lag/);
    });

    it('returns the outcome otherwise', async () => {
      // Prepare
      const h = harness();

      // Act
      const { outcome } = await direct(h, ev(TASKS.gw1, 'RUNNING'));

      // Assess
      expect(outcome.records).toHaveLength(1);
      expect(outcome.records[0]).toMatchObject({
        action: 'update',
        currentUrl: 'http://mcpgw-server:8003/',
        desiredUrl: `http://${TASKS.gw1.ipv4}:8003/`,
        trigger: { type: 'task', taskId: TASKS.gw1.taskId, lastStatus: 'RUNNING', version: 3 },
        target: { kind: 'server', path: '/airegistry-tools/', match: 'config' },
      });
      expect(outcome.retrySources.size).toBe(0);
      expect(h.registry.url(REFS.mcpgw)).toBe(`http://${TASKS.gw1.ipv4}:8003/`);
    });

    it('returns (never throws) for a malformed event', async () => {
      // Prepare
      const h = harness();

      // Act
      const { outcome } = await direct(h, { source: 'aws.ecs' });

      // Assess
      expect(outcome.records).toEqual([]);
      expect(h.metrics.get(MetricName.EventsMalformed)).toBe(1);
    });
  });

  describe('task events', () => {
    it('moves the entry off a stopping task to the newest live one, using the Cloud Map IP', async () => {
      // Prepare
      const h = harness();
      happen(h, ev(CT3, 'RUNNING', { startedAt: '2026-01-01T00:02:00Z' }));
      const forged = ev(TASKS.ct1, 'RUNNING', { desiredStatus: 'STOPPED', version: 5 });
      const detail = forged.detail as { attachments: { details: { name: string; value: string }[] }[] };
      for (const d of detail.attachments[0]?.details ?? [])
        if (d.name === 'privateIPv4Address') d.value = '6.6.6.6';

      // Act
      const { outcome } = await direct(h, forged);

      // Assess: the event only took ct1 out of the running; the address came from Cloud Map.
      expect(outcome.records[0]).toMatchObject({
        action: 'update',
        reason: 'current-not-live',
        desiredUrl: `http://${CT3.ipv4}:8000/`,
      });
      expect(h.registry.url(REFS.currenttime)).toBe(`http://${CT3.ipv4}:8000/`);
    });

    it('coalesces 10 events for one service into one reconcile with one registry read', async () => {
      // Prepare
      const h = harness();
      const events = [
        ...Array.from({ length: 5 }, () => ev(TASKS.ct1, 'RUNNING')),
        ...Array.from({ length: 4 }, (_, i) => ev(TASKS.ct2, 'RUNNING', { version: 3 + i })),
        ev(TASKS.ct2, 'RUNNING', { desiredStatus: 'STOPPED', version: 9 }),
      ];

      // Act
      const response = await queue(h, sqsBatch(events));

      // Assess
      expect(response.batchItemFailures).toEqual([]);
      const records = loggedRecords(h);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ coalesced: 10, action: 'noop', reason: 'current-live' });
      expect(records[0]?.calls).toEqual({
        'registry.read': 1,
        'cloudmap.DiscoverInstances': 1,
        'ecs.DescribeTasks': 1,
      });
      expect(h.world.calls.get('cloudmap.DiscoverInstances')).toBe(1);
      expect(h.metrics.get(MetricName.EventsReceived)).toBe(10);
      expect(h.metrics.get(MetricName.EventsIgnored)).toBe(0);
    });

    it('ignores other clusters, standalone tasks, unmanaged services, PROVISIONING and EC2 bridge tasks, with reasons', async () => {
      // Prepare
      const h = harness();
      const events = [
        ev(TASKS.ct1, 'RUNNING', { clusterArn: OTHER_CLUSTER_ARN }),
        ev(TASKS.ct1, 'RUNNING', { group: 'family:currenttime-batch' }),
        ev({ service: 'mcp-gateway-auth-server', taskId: 'e'.repeat(32), ipv4: '10.0.0.20' }, 'RUNNING'),
        ev(CT3, 'PROVISIONING', { version: 1 }),
        ev(CT3, 'RUNNING', { network: 'none' }),
        ev(TASKS.reg1, 'STOPPING', { desiredStatus: 'STOPPED' }),
      ];

      // Act
      const { outcome } = (await h.handler(events[0])) as DirectResult;
      const rest = await queue(h, sqsBatch(events.slice(1)));

      // Assess
      expect(outcome.ignored.map((i) => i.reason)).toEqual(['other-cluster']);
      expect(rest.batchItemFailures).toEqual([]);
      const reasons = h.logger.lines
        .filter((l) => l.message.startsWith('ignored event: '))
        .map((l) => (l.extra[0] as { ignored: { reason: string } }).ignored.reason);
      expect(reasons).toEqual([
        'other-cluster',
        'standalone-task',
        'unmanaged-service',
        'status-not-actionable',
        'no-task-ip',
        'registry-task-not-running',
      ]);
      expect(h.metrics.get(MetricName.EventsIgnored)).toBe(6);
      expect(loggedRecords(h)).toEqual([]);
      expect(h.world.calls.get('cloudmap.DiscoverInstances')).toBeUndefined();
      expect(h.world.calls.get('ecs.DescribeServices')).toBeUndefined();
    });

    it('lets an ignored event change nothing: a STOPPED event of another cluster does not take our task out', async () => {
      // Prepare
      const h = harness();
      const batch = sqsBatch([
        ev(TASKS.ct1, 'STOPPED', { clusterArn: OTHER_CLUSTER_ARN }),
        ev(TASKS.ct2, 'RUNNING'),
      ]);

      // Act
      await queue(h, batch);

      // Assess
      expect(loggedRecords(h)).toMatchObject([{ action: 'noop', reason: 'current-live' }]);
      expect(h.registry.writes).toEqual([]);
      expect(h.registry.url(REFS.currenttime)).toBe(`http://${TASKS.ct1.ipv4}:8000/`);
    });

    it('skips a foreign entry and counts it', async () => {
      // Prepare
      const h = harness();
      h.registry.set(REFS.currenttime, 'https://time.example.com/');

      // Act
      const { outcome } = await direct(h, ev(TASKS.ct2, 'RUNNING'));

      // Assess
      expect(outcome.records[0]).toMatchObject({ action: 'skip', reason: 'foreign', instances: [] });
      expect(h.metrics.get(MetricName.ForeignEntry)).toBe(1);
      expect(h.metrics.get(MetricName.DecisionSkip)).toBe(1);
      expect(h.world.calls.get('cloudmap.DiscoverInstances')).toBeUndefined();
      expect(h.registry.writes).toEqual([]);
    });

    it('keeps the address when the last task stops, never blanking it', async () => {
      // Prepare
      const h = harness();
      happen(h, ev(TASKS.fb1, 'STOPPED'));

      // Act
      const { outcome } = await direct(h, ev(TASKS.fb1, 'STOPPED'));

      // Assess
      expect(outcome.records[0]).toMatchObject({ action: 'noop', reason: 'no-live-instance' });
      expect(outcome.records[0]?.desiredUrl).toBeUndefined();
      expect(h.registry.url(REFS.flight)).toBe('http://flight-booking-agent:9000/');
      expect(h.metrics.get(MetricName.NoLiveInstance)).toBe(1);
      expect(h.logger.lines.some((l) => l.level === 'warn' && /no-live-instance/.test(l.message))).toBe(true);
    });
  });

  describe('registry restart and schedule', () => {
    it('re-applies every target when a registry task reaches RUNNING', async () => {
      // Prepare
      const h = harness();
      await direct(h, scheduledEvent('sched-0'));
      h.registry.set(REFS.mcpgw, 'http://mcpgw-server:8003/'); // the registry resets its built-in entry on start
      happen(h, ev(REG2, 'RUNNING'));

      // Act
      const { outcome } = await direct(h, ev(REG2, 'RUNNING'));

      // Assess
      expect(outcome.records.map((r) => [r.target.path, r.target.match, r.trigger.type, r.action])).toEqual([
        ['/currenttime/', 'all-targets', 'registry-restart', 'noop'],
        ['/airegistry-tools/', 'all-targets', 'registry-restart', 'update'],
        ['/flight-booking-agent', 'all-targets', 'registry-restart', 'noop'],
      ]);
      expect(h.registry.url(REFS.mcpgw)).toBe(`http://${TASKS.gw1.ipv4}:8003/`);
    });

    it('re-applies every target when the registry task runs without a task ENI', async () => {
      // Prepare
      const h = harness();
      h.registry.set(REFS.mcpgw, 'http://mcpgw-server:8003/');

      // Act
      const { outcome } = await direct(h, ev(REG2, 'RUNNING', { network: 'none' }));

      // Assess
      expect(outcome.ignored).toEqual([]);
      expect(outcome.records).toHaveLength(3);
      expect(h.registry.url(REFS.mcpgw)).toBe(`http://${TASKS.gw1.ipv4}:8003/`);
    });

    it('reconciles every target on a scheduled event', async () => {
      // Prepare
      const h = harness();

      // Act
      const { outcome } = await direct(h, scheduledEvent('sched-1'));

      // Assess
      expect(
        outcome.records.map((r) => [r.target.path, r.trigger, r.target.match, r.action, r.desiredUrl]),
      ).toEqual([
        [
          '/currenttime/',
          { type: 'schedule', eventId: 'sched-1' },
          'all-targets',
          'noop',
          `http://${TASKS.ct1.ipv4}:8000/`,
        ],
        [
          '/airegistry-tools/',
          { type: 'schedule', eventId: 'sched-1' },
          'all-targets',
          'update',
          `http://${TASKS.gw1.ipv4}:8003/`,
        ],
        [
          '/flight-booking-agent',
          { type: 'schedule', eventId: 'sched-1' },
          'all-targets',
          'update',
          `http://${TASKS.fb1.ipv4}:9000/`,
        ],
      ]);
      expect(h.registry.writes).toHaveLength(2);
    });

    it('writes nothing on a second schedule when nothing changed', async () => {
      // Prepare
      const h = harness();
      await direct(h, scheduledEvent('sched-1'));
      const writes = h.registry.writes.length;

      // Act
      const { outcome } = await direct(h, scheduledEvent('sched-2'));

      // Assess
      expect(outcome.records.map((r) => r.action)).toEqual(['noop', 'noop', 'noop']);
      expect(h.registry.writes).toHaveLength(writes);
    });
  });

  describe('target matching through DescribeServices', () => {
    const config = () => testConfig({ targets: [...DEFAULT_TARGETS, DISCOVERED_TARGET] });

    it('matches a target without ecsService by its Service Connect discovery name, and caches the lookup', async () => {
      // Prepare
      const h = harness({ config: config() });
      const TA2 = { ...TASKS.ta1, taskId: '3c4d5e6f7a8b49c0d1e2f3a4b5c6d7e8', ipv4: '10.0.4.52' };
      happen(h, ev(TA2, 'RUNNING'));

      // Act
      const first = await direct(h, ev(TASKS.ta1, 'RUNNING'));
      const second = await direct(h, ev(TA2, 'RUNNING'));

      // Assess
      expect(first.outcome.records[0]).toMatchObject({
        target: { path: '/travel-assistant-agent', match: 'service-connect' },
        action: 'update',
        // port 'instance': AWS_INSTANCE_PORT (9001) replaces the URL's 9000
        desiredUrl: `http://${TASKS.ta1.ipv4}:9001/`,
      });
      expect(first.outcome.records[0]?.target.ecsService).toBeUndefined();
      expect(first.outcome.records[0]?.calls['ecs.DescribeServices']).toBe(1);
      expect(second.outcome.records[0]).toMatchObject({
        target: { match: 'service-connect' },
        action: 'noop',
      });
      expect(second.outcome.records[0]?.calls['ecs.DescribeServices']).toBeUndefined();
      expect(h.world.calls.get('ecs.DescribeServices')).toBe(1);
    });

    it('matches through ServiceRegistries ARNs', async () => {
      // Prepare
      let world: Harness['world'] | undefined;
      const ecs: EcsPort = {
        describeTasks: (cluster, ids, ctx) => (world as Harness['world']).describeTasks(cluster, ids, ctx),
        describeService: async (_cluster, serviceName, ctx) => {
          ctx.count('ecs.DescribeServices');
          return serviceName === 'mcp-gateway-travel-assistant-agent'
            ? {
                serviceName,
                discoveryNames: [],
                registryArns: [
                  'arn:aws:servicediscovery:us-west-2:111122223333:service/travel-assistant-agent',
                ],
              }
            : undefined;
        },
      };
      const h = harness({ config: config(), deps: { ecs } });
      world = h.world;

      // Act
      const { outcome } = await direct(h, ev(TASKS.ta1, 'RUNNING'));

      // Assess
      expect(outcome.records[0]).toMatchObject({ target: { match: 'service-registries' }, action: 'update' });
      expect(outcome.records[0]?.calls).toMatchObject({
        'ecs.DescribeServices': 1,
        'cloudmap.GetService': 1,
      });
    });

    it('ignores a service whose discovery names match no target, and caches that too', async () => {
      // Prepare
      const h = harness({ config: config() });
      const auth = { service: 'mcp-gateway-auth-server', taskId: 'e'.repeat(32), ipv4: '10.0.0.20' };

      // Act
      const first = await direct(h, ev(auth, 'RUNNING'));
      const second = await direct(h, ev(auth, 'RUNNING', { version: 4 }));

      // Assess
      expect([...first.outcome.ignored, ...second.outcome.ignored].map((i) => i.reason)).toEqual([
        'unmanaged-service',
        'unmanaged-service',
      ]);
      expect(h.world.calls.get('ecs.DescribeServices')).toBe(1);
    });

    it('never calls DescribeServices when every target names its ECS service', async () => {
      // Prepare
      const h = harness();

      // Act
      await direct(
        h,
        ev({ service: 'mcp-gateway-auth-server', taskId: 'e'.repeat(32), ipv4: '10.0.0.20' }, 'RUNNING'),
      );
      await direct(h, ev(TASKS.ct1, 'RUNNING'));

      // Assess
      expect(h.world.calls.get('ecs.DescribeServices')).toBeUndefined();
    });
  });

  describe('metrics, dry run and secrets', () => {
    it('counts events and decisions through the metrics sink', async () => {
      // Prepare
      const h = harness({ registrationLagMs: 60_000 });
      h.registry.set(REFS.currenttime, 'https://time.example.com/');
      happen(h, ev(TASKS.fb1, 'STOPPED'));
      happen(h, ev(FB2, 'RUNNING'));
      const batch = sqsBatch([
        ev(TASKS.ct1, 'RUNNING'), // currenttime: foreign → skip
        ev(TASKS.gw1, 'RUNNING'), // mcpgw: name → update
        '{"broken":', // malformed
        ev(TASKS.ct1, 'RUNNING', { clusterArn: OTHER_CLUSTER_ARN }), // ignored
        ev(FB2, 'RUNNING'), // flight: defer
      ]);

      // Act
      await queue(h, batch);
      h.registry.failNext = 1;
      // currenttime: its read fails (retryable error); mcpgw: now live (noop); flight: nothing listed (noop).
      await expect(h.handler(scheduledEvent('sched-err'))).rejects.toBeInstanceOf(RetryableError);

      // Assess
      const m = h.metrics;
      expect(m.get(MetricName.EventsReceived)).toBe(6);
      expect(m.get(MetricName.EventsMalformed)).toBe(1);
      expect(m.get(MetricName.EventsIgnored)).toBe(1);
      expect(m.get(MetricName.DecisionUpdate)).toBe(1);
      expect(m.get(MetricName.DecisionSkip)).toBe(1);
      expect(m.get(MetricName.ForeignEntry)).toBe(1);
      expect(m.get(MetricName.DecisionError)).toBe(1);
      expect(m.get(MetricName.Errors)).toBe(1);
      expect(m.get(MetricName.DecisionNoop)).toBe(2);
      expect(m.get(MetricName.NoLiveInstance)).toBe(1);
      expect(m.get(MetricName.DecisionDefer)).toBe(1);
      const decisions = loggedRecords(h);
      expect(decisions).toHaveLength(6);
      expect(m.timings.filter((t) => t.name === MetricName.ReconcileDuration)).toHaveLength(6);
      expect(decisions.find((d) => d.action === 'error')).toMatchObject({
        target: { path: '/currenttime/' },
        reason: 'registry-read-failed',
        retryable: true,
      });
    });

    it('never writes in dry run, but reports the update it would make', async () => {
      // Prepare
      const h = harness({ config: testConfig({ dryRun: true }) });
      happen(h, ev(TASKS.ct1, 'STOPPED'));

      // Act
      const schedule = await direct(h, scheduledEvent('sched-dry'));
      const task = await direct(h, ev(TASKS.ct1, 'STOPPED'));

      // Assess
      const updates = [...schedule.outcome.records, ...task.outcome.records].filter(
        (r) => r.action === 'update',
      );
      expect(updates.map((r) => r.target.path)).toEqual([
        '/currenttime/',
        '/airegistry-tools/',
        '/flight-booking-agent',
        '/currenttime/',
      ]);
      expect(
        updates.every((r) => r.dryRun && r.write === undefined && r.calls['registry.write'] === undefined),
      ).toBe(true);
      expect(h.registry.writes).toEqual([]);
      expect(h.registry.url(REFS.currenttime)).toBe(`http://${TASKS.ct1.ipv4}:8000/`);
    });

    it('never puts a secret or token in a record or a log line', async () => {
      // Prepare: the token is in the environment and, as bait, in the registry's opaque record.
      const h = harness({ registrationLagMs: 60_000 });
      h.registry.seed(REFS.currenttime, 'http://currenttime-server:8000/', true, {
        auth_header_name: 'Authorization',
        headers: { Authorization: `Bearer ${SECRET_TOKEN}` },
      });
      happen(h, ev(TASKS.fb1, 'STOPPED'));
      happen(h, ev(FB2, 'RUNNING'));
      const results: unknown[] = [];

      // Act
      results.push(await h.handler(scheduledEvent('sched-a')));
      results.push(await h.handler(sqsBatch([ev(FB2, 'RUNNING'), 'not json', ev(CT3, 'PENDING')])));
      h.registry.failNext = 3;
      results.push(await h.handler(scheduledEvent('sched-b')).catch((e: Error) => e.message));

      // Assess
      const everything = JSON.stringify({ results, lines: h.logger.lines }, (_k, v) =>
        v instanceof Set ? [...v] : v instanceof Map ? [...v.entries()] : v,
      );
      expect(loggedRecords(h)).toHaveLength(7);
      expect(h.records).toEqual(loggedRecords(h)); // the onRecord sink sees what the log shows
      expect(everything).toContain('registry answered 503'); // the errors were there…
      expect(everything).not.toContain(SECRET_TOKEN); // …the secret was not
      expect(everything).not.toContain('Bearer');
    });
  });
});
