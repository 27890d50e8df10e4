import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import type { World } from '../../functions/lib/inmemory/world';
import type { CallContext, EcsPort, TaskState } from '../../functions/lib/reconcile/ports';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { MetricName } from '../../functions/lib/telemetry/telemetry';
import { createWorkerHandler } from '../../functions/reconciler/wiring';
import { CLUSTER_ARN, type Harness, harness, REFS, TASKS } from './helpers';

/**
 * No move on one odd answer: an event whose task ARN is not of its cluster is dropped, and a
 * single DescribeTasks answer that the entry's remembered live task is gone is read once more
 * before the entry moves.
 */

type Task = { service: string; taskId: string; ipv4: string };

function ev(t: Task, lastStatus: string, desiredStatus: string, version: number, id?: string) {
  return taskEvent({
    clusterArn: CLUSTER_ARN,
    taskId: t.taskId,
    service: t.service,
    lastStatus,
    desiredStatus,
    version,
    ipv4: t.ipv4,
    ...(id === undefined ? {} : { id }),
  });
}

/** ECS through the world, except that the next answers leave out the tasks named in `hide` (MISSING). */
class OddEcs implements EcsPort {
  /** Task id → how many more answers leave it out. */
  readonly hide = new Map<string, number>();
  readonly asked: string[][] = [];

  constructor(private readonly world: World) {}

  async describeTasks(cluster: string, ids: string[], ctx: CallContext): Promise<Map<string, TaskState>> {
    this.asked.push([...ids]);
    const out = await this.world.describeTasks(cluster, ids, ctx);
    for (const [id, left] of this.hide) {
      if (left <= 0 || !out.has(id)) continue;
      out.delete(id);
      this.hide.set(id, left - 1);
    }
    return out;
  }

  describeService(cluster: string, service: string, ctx: CallContext) {
    return this.world.describeService(cluster, service, ctx);
  }
}

/** A harness whose ECS can answer oddly, with currenttime's entry verified on ct1 (the pointer). */
async function remembered(): Promise<{ h: Harness; ecs: OddEcs }> {
  let ecs: OddEcs | undefined;
  const h = harness({
    deps: {
      ecs: {
        describeTasks: (c, ids, ctx) => (ecs as OddEcs).describeTasks(c, ids, ctx),
        describeService: (c, s, ctx) => (ecs as OddEcs).describeService(c, s, ctx),
      },
    },
  });
  ecs = new OddEcs(h.world);
  // ct1 is live and listed: the entry is verified on it, and the reconciler remembers that.
  const { outcome } = await h.handler(ev(TASKS.ct1, 'RUNNING', 'RUNNING', 3));
  expect(outcome.records[0]).toMatchObject({ action: 'noop', reason: 'current-live' });
  h.records.length = 0;
  return { h, ecs };
}

/** ECS stops the task (Cloud Map drops it); its event never reaches the reconciler. */
function stopUnseen(world: World, t: Task): void {
  world.applyEvent({
    eventId: 'never-delivered',
    clusterArn: CLUSTER_ARN,
    clusterName: 'mcp-gateway-ecs-cluster',
    taskArn: world.taskArn(t.taskId),
    taskId: t.taskId,
    service: t.service,
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    version: 6,
    hasTaskNetwork: true,
  });
}

const CT1_URL = `http://${TASKS.ct1.ipv4}:8000/`;
const CT2_URL = `http://${TASKS.ct2.ipv4}:8000/`;

describe('One odd answer never moves an entry', () => {
  it('drops the forged-pointer event (our clusterArn, a task ARN of another account, Region and cluster)', async () => {
    // Arrange: the entry is on ct1, which ECS reports RUNNING/RUNNING.
    const h = harness();
    const forged = ev(TASKS.ct1, 'STOPPED', 'STOPPED', 9, 'forged-1');
    const detail = forged.detail as { taskArn: string; containers: { taskArn: string }[] };
    detail.taskArn = `arn:aws:ecs:eu-central-1:444455556666:task/attacker-cluster/${TASKS.ct1.taskId}`;
    for (const c of detail.containers) c.taskArn = detail.taskArn;

    // Act
    const { outcome } = await h.handler(forged);

    // Assert
    expect(outcome.records).toEqual([]);
    expect(h.registry.url(REFS.currenttime)).toBe(CT1_URL);
    expect(h.registry.writes).toEqual([]);
    expect(h.metrics.get(MetricName.EventsMalformed)).toBe(1);
    const dropped = h.logger.lines.find((l) => l.message.startsWith('dropped malformed event: '));
    expect(dropped?.message).toContain(
      'is not a task of detail.clusterArn (Region eu-central-1 is not us-west-2, account 444455556666 is not 111122223333, cluster attacker-cluster is not mcp-gateway-ecs-cluster)',
    );
  });

  it('still reads an event in the old short task ARN format (no cluster segment)', async () => {
    // Arrange
    const h = harness();
    const e = ev(TASKS.ct2, 'RUNNING', 'RUNNING', 4);
    (e.detail as { taskArn: string }).taskArn = `arn:aws:ecs:us-west-2:111122223333:task/${TASKS.ct2.taskId}`;

    // Act
    const { outcome } = await h.handler(e);

    // Assert
    expect(h.metrics.get(MetricName.EventsMalformed)).toBe(0);
    expect(outcome.records.map((r) => r.target.path)).toEqual([REFS.currenttime.path]);
  });

  it('a single MISSING answer for the live pointer costs one more DescribeTasks and no write', async () => {
    // Arrange: the next answer leaves ct1 out once; ECS knows it RUNNING all along.
    const { h, ecs } = await remembered();
    ecs.hide.set(TASKS.ct1.taskId, 1);

    // Act: any trigger for the service (here a repeated RUNNING event of the other task).
    const { outcome } = await h.handler(ev(TASKS.ct2, 'RUNNING', 'RUNNING', 4));

    // Assert
    const [record] = outcome.records;
    expect(record).toMatchObject({ action: 'noop', reason: 'current-live', currentUrl: CT1_URL });
    expect(record?.calls['ecs.DescribeTasks']).toBe(2);
    expect(ecs.asked.at(-1)).toEqual([TASKS.ct1.taskId]);
    expect(record?.detail).toContain('a second DescribeTasks found it live');
    expect(h.registry.writes).toEqual([]);
    expect(h.registry.url(REFS.currenttime)).toBe(CT1_URL);
  });

  it('moves once a second answer confirms the pointer task gone', async () => {
    // Arrange: ECS stops ct1 and its STOPPED event never arrives.
    const { h, ecs } = await remembered();
    stopUnseen(h.world, TASKS.ct1);

    // Act
    const { outcome } = await h.handler(ev(TASKS.ct2, 'RUNNING', 'RUNNING', 4));

    // Assert
    const [record] = outcome.records;
    expect(record).toMatchObject({ action: 'update', reason: 'current-not-live', desiredUrl: CT2_URL });
    expect(record?.calls['ecs.DescribeTasks']).toBe(2);
    expect(ecs.asked.at(-1)).toEqual([TASKS.ct1.taskId]);
    expect(record?.detail).toContain('by a second DescribeTasks');
    expect(h.registry.url(REFS.currenttime)).toBe(CT2_URL);
  });

  it('guards a resync’s work with the pointer a task event verified: the container has one pointer memory', async () => {
    // Arrange: the entry was verified on ct1 by a task event's delivery; then a resync's work
    // message for it reaches the worker (as the fan-out sends one for an entry it finds wrong).
    const { h, ecs } = await remembered();
    ecs.hide.set(TASKS.ct1.taskId, 1);

    // Act
    h.path.sendWork([REFS.currenttime], 'resync-odd', JSON.stringify(scheduledEvent('resync-odd')));
    await h.path.drain();

    // Assert: one odd answer about ct1 is read again, and nothing moves.
    const record = h.records.at(-1);
    expect(record).toMatchObject({ action: 'noop', reason: 'current-live', currentUrl: CT1_URL });
    expect(record?.trigger.type).toBe('schedule');
    expect(ecs.asked.at(-1)).toEqual([TASKS.ct1.taskId]);
    expect(h.registry.writes).toEqual([]);
  });

  it('needs no second look when an event says the pointer task stops', async () => {
    // Arrange
    const { h, ecs } = await remembered();
    ecs.hide.set(TASKS.ct1.taskId, 1);

    // Act
    const { outcome } = await h.handler(ev(TASKS.ct1, 'STOPPING', 'STOPPED', 5));

    // Assert: the event is the second witness: one look-up round, and the move.
    const [record] = outcome.records;
    expect(record).toMatchObject({ action: 'update', desiredUrl: CT2_URL });
    expect(record?.calls['ecs.DescribeTasks']).toBe(1);
  });

  it('needs no second look without a remembered live pointer (first contact)', async () => {
    // Arrange: nothing verified yet for this entry in this container.
    const h = harness();
    stopUnseen(h.world, TASKS.ct1);

    // Act
    const { outcome } = await h.handler(ev(TASKS.ct2, 'RUNNING', 'RUNNING', 4));

    // Assert
    expect(outcome.records[0]).toMatchObject({ action: 'update', desiredUrl: CT2_URL });
    expect(outcome.records[0]?.calls['ecs.DescribeTasks']).toBe(1);
  });
});

describe('The second look on the queue path, DescribeTasks batched across entries', () => {
  it('reads the pointer task once more for its entry only, and writes nothing', async () => {
    // Arrange: two entries in one batch: one DescribeTasks round for both.
    const h = harness();
    const ecs = new OddEcs(h.world);
    h.registry.set(REFS.mcpgw, `http://${TASKS.gw1.ipv4}:8003/`);
    const records: DecisionRecord[] = [];
    const { handler } = createWorkerHandler({
      config: h.config,
      cloudMap: h.world,
      ecs,
      registry: h.registry,
      now: h.world.clock.now,
      onRecord: (r) => records.push(r),
      queue: { changeVisibility: async () => undefined, sendTrigger: async () => undefined },
    });
    const batch = (events: [string, unknown][]) => ({
      Records: events.map(([group, body], i) => ({
        messageId: `m${i}`,
        receiptHandle: `rh${i}`,
        body: JSON.stringify(body),
        attributes: { ApproximateReceiveCount: '1', MessageGroupId: group },
      })),
    });
    const context = { getRemainingTimeInMillis: () => 60_000 };
    await handler(
      batch([
        ['server:/currenttime/', ev(TASKS.ct1, 'RUNNING', 'RUNNING', 3)],
        ['server:/airegistry-tools/', ev(TASKS.gw1, 'RUNNING', 'RUNNING', 3)],
      ]),
      context,
    );
    expect(records.map((r) => r.reason)).toEqual(['current-live', 'current-live']);
    ecs.hide.set(TASKS.ct1.taskId, 1);
    const before = ecs.asked.length;

    // Act
    await handler(
      batch([
        ['server:/currenttime/', ev(TASKS.ct2, 'RUNNING', 'RUNNING', 4)],
        ['server:/airegistry-tools/', ev(TASKS.gw1, 'RUNNING', 'RUNNING', 4)],
      ]),
      context,
    );

    // Assert: one batched call for both entries, then the second look at ct1 alone.
    expect(ecs.asked.slice(before)).toEqual([
      expect.arrayContaining([TASKS.ct1.taskId, TASKS.gw1.taskId]),
      [TASKS.ct1.taskId],
    ]);
    const ct = records.filter((r) => r.target.path === REFS.currenttime.path).at(-1);
    expect(ct).toMatchObject({ action: 'noop', reason: 'current-live' });
    expect(h.registry.writes).toEqual([]);
  });
});
