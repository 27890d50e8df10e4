import type { Malformed } from '../../functions/reconciler/invocation';
import type { Ignored } from '../../functions/reconciler/reconcile';
import type { DecisionRecord } from '../../functions/reconciler/record';
import { createReconcilerHandler } from '../../functions/reconciler/wiring';
import { scheduledEvent, taskEvent } from '../../tools/world/events';
import { MemoryRegistry, World } from '../../tools/world/world';
import {
  CLUSTER_ARN,
  NAMESPACE,
  OTHER_CLUSTER_ARN,
  REFS,
  RecordingLogger,
  SERVICES,
  sqsBatch,
  TASKS,
  testConfig,
} from './helpers';

/** The wiring hands every record, ignored trigger and malformed input to its sinks, and applies the deployed defaults. */

function wired(options: { failWrites?: number } = {}) {
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services: SERVICES });
  world.seedTask(TASKS.ct1.service, TASKS.ct1);
  const registry = new MemoryRegistry(world.clock);
  registry.seed(REFS.currenttime, 'http://currenttime-server:8000/');
  registry.seed(REFS.mcpgw, 'http://mcpgw-server:8003/');
  registry.seed(REFS.flight, 'http://flight-booking-agent:9000/');
  registry.failNext = options.failWrites ?? 0;
  const records: DecisionRecord[] = [];
  const ignored: Ignored[] = [];
  const malformed: Malformed[] = [];
  const slept: number[] = [];
  const logger = new RecordingLogger();
  const { handler } = createReconcilerHandler({
    config: testConfig(),
    cloudMap: world,
    ecs: world,
    registry,
    logger,
    sleep: world.clock.sleep,
    now: world.clock.now,
    onRecord: (r) => records.push(r),
    onIgnored: (i) => ignored.push(i),
    onMalformed: (m) => malformed.push(m),
    retry: { sleep: async (ms) => void slept.push(ms) },
  });
  return { handler, records, ignored, malformed, slept, logger };
}

describe('Function: createReconcilerHandler', () => {
  it('hands every decision record to onRecord, as logged', async () => {
    // Arrange
    const w = wired();

    // Act
    await w.handler(scheduledEvent('sched-1'));

    // Assert
    const logged = w.logger.lines.flatMap((l) =>
      l.extra.flatMap((x) => (x.decision === undefined ? [] : [x.decision as DecisionRecord])),
    );
    const byPath = w.records.map((r) => [r.target.path, r.action, r.reason]).sort();
    expect(byPath).toEqual([
      ['/airegistry-tools/', 'noop', 'no-live-instance'],
      ['/currenttime/', 'update', 'resolve-name'],
      ['/flight-booking-agent', 'noop', 'no-live-instance'],
    ]);
    expect(w.records).toEqual(logged);
  });

  it('hands ignored triggers to onIgnored and malformed inputs to onMalformed', async () => {
    // Arrange
    const w = wired();
    const other = taskEvent({
      clusterArn: OTHER_CLUSTER_ARN,
      taskId: TASKS.ct1.taskId,
      service: TASKS.ct1.service,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      version: 5,
    });

    // Act
    await w.handler(sqsBatch([other, '{not json'], { raw: false }));
    await w.handler(sqsBatch(['{not json'], { raw: true }));

    // Assert
    expect(w.ignored).toMatchObject([{ source: 0, reason: 'other-cluster', taskId: TASKS.ct1.taskId }]);
    expect(w.malformed).toMatchObject([
      { source: 1, messageId: 'm2', reason: 'event is a string, not an object' },
      { source: 0, messageId: 'm1', reason: expect.stringContaining('body is not JSON') },
    ]);
    expect(w.records).toEqual([]);
  });

  it('retries inside the invocation after the deployed delays, 2 s then 5 s', async () => {
    // Arrange: every registry read and write fails, so each round asks for another
    const w = wired({ failWrites: 100 });

    // Act
    const result = await w.handler(sqsBatch([scheduledEvent('sched-2')]));

    // Assert
    expect(w.slept).toEqual([2_000, 5_000]);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(w.records.filter((r) => r.action === 'error')).toHaveLength(9);
    expect(new Set(w.records.map((r) => r.reason))).toEqual(new Set(['registry-read-failed']));
  });
});
