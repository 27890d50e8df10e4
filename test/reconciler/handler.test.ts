import { parseEvent } from '../../functions/lib/delivery/event';
import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { MetricName } from '../../functions/lib/telemetry/telemetry';
import {
  CLUSTER_ARN,
  DEFAULT_TARGETS,
  DISCOVERED_TARGET,
  type Harness,
  harness,
  OTHER_CLUSTER_ARN,
  type Outcome,
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

/** Puts the event on the trigger queue and runs the deployed path until it is done. */
async function direct(h: Harness, event: unknown): Promise<{ outcome: Outcome }> {
  return h.handler(event);
}

/** Every decision record the reconciler logged, in order. */
function loggedRecords(h: Harness): DecisionRecord[] {
  return h.logger.lines.flatMap((l) =>
    l.extra.flatMap((x) => (x.decision === undefined ? [] : [x.decision as DecisionRecord])),
  );
}

const FB2 = { service: TASKS.fb1.service, taskId: '2b3c4d5e6f7a48b9c0d1e2f3a4b5c6d7', ipv4: '10.0.4.42' };
const CT3 = { service: TASKS.ct1.service, taskId: '6c7d8e9f0a1b42c3d4e5f6a7b8c9d0e1', ipv4: '10.0.1.13' };

describe('Deployed path: task events through fan-out and worker', () => {
  beforeEach(() => {
    process.env[TOKEN_ENV] = SECRET_TOKEN;
  });

  afterEach(() => {
    delete process.env[TOKEN_ENV];
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
      await h.handler(sqsBatch(events));

      // Assess
      expect(h.failures).toEqual([]);
      const records = loggedRecords(h);
      expect(records).toHaveLength(1);
      // Ten events, six distinct ids (five copies of one event count once): one decision.
      expect(records[0]).toMatchObject({ coalesced: 6, action: 'noop', reason: 'current-live' });
      expect(records[0]?.calls).toEqual({
        'registry.read': 1,
        'cloudmap.DiscoverInstances': 1,
        'ecs.DescribeTasks': 1,
      });
      expect(h.world.calls.get('cloudmap.DiscoverInstances')).toBe(1);
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
      const { outcome } = await h.handler(events[0]);
      await h.handler(sqsBatch(events.slice(1)));

      // Assess
      expect(outcome.ignored.map((i) => i.reason)).toEqual(['other-cluster']);
      expect(h.failures).toEqual([]);
      const reasons = h.logger.lines
        .filter((l) => l.message.startsWith('ignored event: '))
        .map((l) => (l.extra[0] as { ignored: { reason: string } }).ignored.reason);
      // The fan-out reports an unmanaged service after its service look-up, so order is not kept.
      expect([...reasons].sort()).toEqual(
        [
          'other-cluster',
          'standalone-task',
          'unmanaged-service',
          'status-not-actionable',
          'no-task-ip',
          'registry-task-not-running',
        ].sort(),
      );
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
      await h.handler(batch);

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
      // A task event: the worker reads the entry (and gets the 503s) with the token in the record.
      results.push(await h.handler(ev(TASKS.ct2, 'RUNNING')));

      // Assess
      const everything = JSON.stringify(
        { results, lines: h.logger.lines, records: h.records, checks: h.checks },
        (_k, v) => (v instanceof Set ? [...v] : v instanceof Map ? [...v.entries()] : v),
      );
      expect(h.records.length).toBeGreaterThan(0);
      // the onRecord sink sees what the log shows
      for (const r of h.records) expect(loggedRecords(h)).toContainEqual(r);
      expect(everything).toContain('registry answered 503'); // the errors were there…
      expect(everything).not.toContain(SECRET_TOKEN); // …the secret was not
      expect(everything).not.toContain('Bearer');
    });
  });
});
