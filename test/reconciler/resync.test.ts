import { parseConfig } from '../../functions/lib/config/config';
import { parseEvent } from '../../functions/lib/delivery/event';
import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import {
  CLUSTER_ARN,
  CLUSTER_NAME,
  DEFAULT_TARGETS,
  type Harness,
  harness,
  NAMESPACE,
  type Outcome,
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
/** A scheduled event through the deployed path: the fan-out's shard check, then the worker. */
async function resync(h: Harness): Promise<Outcome> {
  resyncs++;
  return (await h.handler(scheduledEvent(`resync-${resyncs}`, new Date(h.world.clock.now()).toISOString())))
    .outcome;
}

function calls(outcome: Outcome, api: string): number {
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
    it('moves a pointer whose task died without an event reaching us', async () => {
      // Prepare: the current task stops, but its events are lost; only ECS and Cloud Map know.
      const h = harness();
      await resync(h);
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
      const outcome = await resync(h);

      // Assess
      const record = outcome.records.find((r) => r.target.path === REFS.currenttime.path);
      expect([record?.action, record?.reason]).toEqual(['update', 'current-not-live']);
      expect(h.registry.url(REFS.currenttime)).toBe(`http://${TASKS.ct2.ipv4}:8000/`);
      expect(record?.calls['cloudmap.DiscoverInstances']).toBe(1);
    });

    it('takes the full path for an entry changed behind its back', async () => {
      // Prepare: the registry resets its built-in entry on start.
      const h = harness();
      await resync(h);
      h.registry.set(REFS.mcpgw, 'http://mcpgw-server:8003/');

      // Act
      const outcome = await resync(h);

      // Assess
      const record = outcome.records.find((r) => r.target.path === REFS.mcpgw.path);
      expect([record?.action, record?.reason]).toEqual(['update', 'resolve-name']);
      expect(h.registry.url(REFS.mcpgw)).toBe(`http://${TASKS.gw1.ipv4}:8003/`);
      expect(record?.calls['cloudmap.DiscoverInstances']).toBe(1);
    });

    it('asks Cloud Map about nothing on the resync after one that wrote: the entries written as proposed take the ECS-only path', async () => {
      // Prepare: two of the three entries hold names; the first resync's check proposes their
      // tasks, and the worker writes them (its own look-up before each write).
      const h = harness();
      await resync(h);
      const first = h.world.calls.get('cloudmap.DiscoverInstances') ?? 0;

      // Act
      const second = await resync(h);

      // Assess: 3 for the first check and 2 for the worker's writes, then none (7 before this path
      // remembered the proposal: the second check asked again about both written entries).
      expect(first).toBe(3 + 2);
      expect(h.world.calls.get('cloudmap.DiscoverInstances')).toBe(first);
      expect(second.records.map((r) => [r.target.path, r.action, r.reason])).toEqual([
        [REFS.currenttime.path, 'noop', 'current-live'],
        [REFS.mcpgw.path, 'noop', 'current-live'],
        [REFS.flight.path, 'noop', 'current-live'],
      ]);
      // One DescribeTasks per shard (the servers' page and the agents' page) asks about every pointer of it.
      expect(calls(second, 'ecs.DescribeTasks')).toBe(2);
    });

    it('asks Cloud Map on every resync when resyncFullCheckMinutes is 0', async () => {
      // Prepare
      const h = harness({ config: config(0) });
      await resync(h);

      // Act
      const second = await resync(h);

      // Assess
      expect(calls(second, 'cloudmap.DiscoverInstances')).toBe(DEFAULT_TARGETS.length);
    });

    it('keeps the full path for task events, even right after a resync', async () => {
      // Prepare
      const h = harness();
      await resync(h);
      const running = taskEvent({
        clusterArn: CLUSTER_ARN,
        service: TASKS.ct2.service,
        taskId: TASKS.ct2.taskId,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        version: 4,
        ipv4: TASKS.ct2.ipv4,
      });

      // Act
      const { outcome } = await h.handler(running);

      // Assess
      expect(outcome.records).toHaveLength(1);
      expect(outcome.records[0]?.calls['cloudmap.DiscoverInstances']).toBe(1);
    });

    it('in a dry run, asks Cloud Map again about every entry still holding what it would replace, and never writes', async () => {
      // Prepare
      const h = harness({ config: { ...config(30), dryRun: true } });

      // Act
      await resync(h);
      const second = await resync(h);

      // Assess: the two entries that still hold names are asked about in full every time and get
      // the same proposal; only the entry that already held a live IP takes the cheap path.
      expect(h.registry.writes).toHaveLength(0);
      expect(calls(second, 'cloudmap.DiscoverInstances')).toBe(2);
      expect(second.records.filter((r) => r.action === 'update')).toHaveLength(2);
    });
  });
});
