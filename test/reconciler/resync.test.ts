import { parseConfig } from '../../functions/reconciler/config';
import { parseEvent } from '../../functions/reconciler/event';
import type { ReconcileOutcome, Trigger } from '../../functions/reconciler/reconcile';
import { scheduledEvent, taskEvent } from '../../tools/world/events';
import {
  CLUSTER_ARN,
  CLUSTER_NAME,
  DEFAULT_TARGETS,
  harness,
  NAMESPACE,
  REFS,
  TASKS,
  TOKEN_ENV,
} from './helpers';

/**
 * The scheduled resync's cheap path: a target whose entry holds the task we last verified is
 * re-checked with one batched DescribeTasks; Cloud Map is asked only when that task is gone, the
 * entry changed, or the last full check is `resyncFullCheckMinutes` old.
 */

let resyncs = 0;
function resync(): Trigger {
  resyncs++;
  return { type: 'schedule', eventId: `resync-${resyncs}`, source: 0, attempt: 1 };
}

function calls(outcome: ReconcileOutcome, api: string): number {
  return outcome.records.reduce((n, r) => n + ((r.calls as Record<string, number>)[api] ?? 0), 0);
}

function config(minutes: number) {
  return parseConfig({
    cluster: CLUSTER_NAME,
    namespace: NAMESPACE,
    registryService: 'mcp-gateway-registry',
    registry: { url: 'http://127.0.0.1:7860', auth: { type: 'static', tokenEnv: TOKEN_ENV } },
    targets: DEFAULT_TARGETS,
    resyncFullCheckMinutes: minutes,
  });
}

describe('Class: Reconciler', () => {
  describe('Method: reconcile (scheduled resync)', () => {
    it('re-checks known pointers with one DescribeTasks and no Cloud Map call', async () => {
      // Prepare
      const h = harness();
      const first = await h.reconciler.reconcile([resync()]);

      // Act
      const second = await h.reconciler.reconcile([resync()]);

      // Assess
      expect(calls(first, 'cloudmap.DiscoverInstances')).toBe(DEFAULT_TARGETS.length);
      expect(second.records.map((r) => [r.target.path, r.action, r.reason])).toEqual(
        first.records.map((r) => [r.target.path, 'noop', 'current-live']),
      );
      expect(calls(second, 'cloudmap.DiscoverInstances')).toBe(0);
      expect(calls(second, 'ecs.DescribeTasks')).toBe(1);
      expect(calls(second, 'registry.read')).toBe(DEFAULT_TARGETS.length);
      expect(h.registry.writes).toHaveLength(2); // the two entries that held names
    });

    it('moves a pointer whose task died without an event reaching us', async () => {
      // Prepare: the current task stops, but its events are lost; only ECS and Cloud Map know.
      const h = harness();
      await h.reconciler.reconcile([resync()]);
      const stopped = parseEvent(
        taskEvent({
          clusterArn: CLUSTER_ARN,
          service: TASKS.ct1.service,
          taskId: TASKS.ct1.taskId,
          lastStatus: 'STOPPED',
          desiredStatus: 'STOPPED',
          version: 9,
          ipv4: TASKS.ct1.ipv4,
        }),
      );
      if (stopped.kind !== 'task') throw new Error('fixture event did not parse');
      h.world.applyEvent(stopped.event);

      // Act
      const outcome = await h.reconciler.reconcile([resync()]);

      // Assess
      const record = outcome.records.find((r) => r.target.path === REFS.currenttime.path);
      expect([record?.action, record?.reason]).toEqual(['update', 'current-not-live']);
      expect(h.registry.url(REFS.currenttime)).toBe(`http://${TASKS.ct2.ipv4}:8000/`);
      expect(record?.calls['cloudmap.DiscoverInstances']).toBe(1);
    });

    it('takes the full path for an entry changed behind its back', async () => {
      // Prepare: the registry resets its built-in entry on start.
      const h = harness();
      await h.reconciler.reconcile([resync()]);
      h.registry.set(REFS.mcpgw, 'http://mcpgw-server:8003/');

      // Act
      const outcome = await h.reconciler.reconcile([resync()]);

      // Assess
      const record = outcome.records.find((r) => r.target.path === REFS.mcpgw.path);
      expect([record?.action, record?.reason]).toEqual(['update', 'resolve-name']);
      expect(h.registry.url(REFS.mcpgw)).toBe(`http://${TASKS.gw1.ipv4}:8003/`);
      expect(calls(outcome, 'cloudmap.DiscoverInstances')).toBe(1);
    });

    it('asks Cloud Map again once the last full check is resyncFullCheckMinutes old', async () => {
      // Prepare: Cloud Map drops the pointed instance while ECS still runs the task; only a full
      // check can see that.
      const h = harness({ config: config(30) });
      await h.reconciler.reconcile([resync()]);
      h.world.deregister(TASKS.ct1.taskId);
      h.world.clock.advance(29 * 60_000);
      const early = await h.reconciler.reconcile([resync()]);
      h.world.clock.advance(60_000);

      // Act
      const due = await h.reconciler.reconcile([resync()]);

      // Assess
      expect(calls(early, 'cloudmap.DiscoverInstances')).toBe(0);
      expect(calls(due, 'cloudmap.DiscoverInstances')).toBe(DEFAULT_TARGETS.length);
      expect(h.registry.url(REFS.currenttime)).toBe(`http://${TASKS.ct2.ipv4}:8000/`);
    });

    it('asks Cloud Map on every resync when resyncFullCheckMinutes is 0', async () => {
      // Prepare
      const h = harness({ config: config(0) });
      await h.reconciler.reconcile([resync()]);

      // Act
      const second = await h.reconciler.reconcile([resync()]);

      // Assess
      expect(calls(second, 'cloudmap.DiscoverInstances')).toBe(DEFAULT_TARGETS.length);
    });

    it('keeps the full path for task events, even right after a resync', async () => {
      // Prepare
      const h = harness();
      await h.reconciler.reconcile([resync()]);
      const running = parseEvent(
        taskEvent({
          clusterArn: CLUSTER_ARN,
          service: TASKS.ct2.service,
          taskId: TASKS.ct2.taskId,
          lastStatus: 'RUNNING',
          desiredStatus: 'RUNNING',
          version: 4,
          ipv4: TASKS.ct2.ipv4,
        }),
      );
      if (running.kind !== 'task') throw new Error('fixture event did not parse');

      // Act
      const outcome = await h.reconciler.reconcile([
        { type: 'task', event: running.event, source: 0, attempt: 1 },
      ]);

      // Assess
      expect(outcome.records).toHaveLength(1);
      expect(outcome.records[0]?.calls['cloudmap.DiscoverInstances']).toBe(1);
    });

    it('falls back to the full path when the batched ECS check fails', async () => {
      // Prepare
      const h = harness();
      await h.reconciler.reconcile([resync()]);
      h.world.throttle('ecs.DescribeTasks', 1);

      // Act
      const outcome = await h.reconciler.reconcile([resync()]);

      // Assess
      expect(outcome.records.every((r) => r.action === 'noop')).toBe(true);
      expect(calls(outcome, 'cloudmap.DiscoverInstances')).toBe(DEFAULT_TARGETS.length);
      expect(
        h.logger.lines.some((l) => l.level === 'warn' && l.message.includes('pointer check failed')),
      ).toBe(true);
    });

    it('forgets a pointer after a dry-run decision and never writes', async () => {
      // Prepare
      const h = harness({ config: { ...config(30), dryRun: true } });

      // Act
      await h.reconciler.reconcile([resync()]);
      const second = await h.reconciler.reconcile([resync()]);

      // Assess: the two entries that still hold names are asked about in full every time and get
      // the same proposal; only the entry that already held a live IP takes the cheap path.
      expect(h.registry.writes).toHaveLength(0);
      expect(calls(second, 'cloudmap.DiscoverInstances')).toBe(2);
      expect(second.records.filter((r) => r.action === 'update')).toHaveLength(2);
    });
  });
});

// The handler path sees the same: a scheduled event from EventBridge through the queue.
describe('Function: createHandler (scheduled resync)', () => {
  it('serves a second scheduled event from the pointer check', async () => {
    // Prepare
    const h = harness();
    await h.handler(scheduledEvent('first'));

    // Act
    const result = await h.handler(scheduledEvent('second'));

    // Assess
    expect(result).toHaveProperty('outcome');
    const records = (result as { outcome: ReconcileOutcome }).outcome.records;
    expect(records.every((r) => r.action === 'noop' && r.reason === 'current-live')).toBe(true);
    expect(h.world.calls.get('cloudmap.DiscoverInstances')).toBe(DEFAULT_TARGETS.length);
  });
});
