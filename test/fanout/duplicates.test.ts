import type { SQSBatchResponse } from 'aws-lambda';
import { createFanoutHandler } from '../../functions/fanout/wiring';
import type { WorkMessage } from '../../functions/lib/delivery/queues';
import { taskEvent } from '../../functions/lib/inmemory/events';
import { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { createWorkerHandler } from '../../functions/reconciler/wiring';
import { CLUSTER_ARN, NAMESPACE, REFS, SERVICES, TASKS, testConfig } from '../reconciler/helpers';

/**
 * Copies of one event, the deployed way: EventBridge → trigger queue → fan-out → FIFO work queue →
 * reconciler. However many copies arrive, the entry's registry entry is read once.
 */

function setup() {
  const config = testConfig();
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services: SERVICES });
  for (const t of [TASKS.ct1, TASKS.ct2, TASKS.gw1, TASKS.fb1, TASKS.reg1]) world.seedTask(t.service, t);
  const registry = new MemoryRegistry(world.clock);
  registry.seed(REFS.currenttime, `http://${TASKS.ct1.ipv4}:8000/`);
  registry.seed(REFS.mcpgw, `http://${TASKS.gw1.ipv4}:8003/`);
  registry.seed(REFS.flight, `http://${TASKS.fb1.ipv4}:9000/`);
  const work: WorkMessage[] = [];
  const fanout = createFanoutHandler({
    config,
    cloudMap: world,
    ecs: world,
    now: world.clock.now,
    sleep: world.clock.sleep,
    ecsBatchWindowMs: 0,
    pages: { listPage: async () => ({ entries: [], more: false }) },
    verifier: {
      verifyWrite: async () => {
        throw new Error('no verification expected');
      },
    },
    queues: {
      sendWork: async (m) => {
        work.push(...m);
      },
      sendTriggers: async () => undefined,
    },
  }).handler;
  const records: DecisionRecord[] = [];
  const worker = createWorkerHandler({
    config,
    cloudMap: world,
    ecs: world,
    registry,
    sleep: world.clock.sleep,
    now: world.clock.now,
    onRecord: (r) => records.push(r),
    queue: { changeVisibility: async () => undefined, sendTrigger: async () => undefined },
  }).handler;
  const toWorker = (messages: WorkMessage[]) =>
    worker(
      {
        Records: messages.map((m, i) => ({
          messageId: `w${i + 1}`,
          receiptHandle: `rh-w${i + 1}`,
          body: m.body,
          attributes: { ApproximateReceiveCount: '1', MessageGroupId: m.groupId },
        })),
      },
      { getRemainingTimeInMillis: () => 60_000 },
    ) as Promise<SQSBatchResponse>;
  return { world, registry, work, fanout, toWorker, records };
}

const reads = (records: DecisionRecord[]) => records.reduce((n, r) => n + (r.calls['registry.read'] ?? 0), 0);

describe('Copies of one event', () => {
  const body = JSON.stringify(
    taskEvent({
      clusterArn: CLUSTER_ARN,
      taskId: TASKS.ct2.taskId,
      service: TASKS.ct2.service,
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 3,
      ipv4: TASKS.ct2.ipv4,
    }),
  );

  it('50 copies cost one registry read, fan-out batches of 10 through the FIFO work queue', async () => {
    // Arrange
    const s = setup();

    // Act: five trigger-queue batches of ten copies each.
    for (let b = 0; b < 5; b++) {
      const out = (await s.fanout({
        Records: Array.from({ length: 10 }, (_, i) => ({ messageId: `t${b}-${i}`, body })),
      })) as SQSBatchResponse;
      expect(out.batchItemFailures).toEqual([]);
    }
    // The work queue's deduplication (MessageDeduplicationId, five minutes) keeps the first of each id.
    const delivered = s.work.filter((m, i) => s.work.findIndex((n) => n.dedupId === m.dedupId) === i);
    await s.toWorker(delivered);

    // Assert
    expect(s.work).toHaveLength(5);
    expect(new Set(s.work.map((m) => m.dedupId)).size).toBe(1);
    expect(s.records).toHaveLength(1);
    expect(reads(s.records)).toBe(1);
  });

  it('copies that reach the reconciler in one batch (no deduplication) are read once', async () => {
    // Arrange
    const s = setup();
    const copies = Array.from({ length: 10 }, () => ({
      groupId: 'server:/currenttime/',
      dedupId: 'x',
      body,
    }));

    // Act
    const out = await s.toWorker(copies);

    // Assert
    expect(out.batchItemFailures).toEqual([]);
    expect(reads(s.records)).toBe(1);
    expect(s.records[0]?.calls['ecs.DescribeTasks']).toBe(1);
  });
});
