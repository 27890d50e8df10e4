import type { SQSBatchResponse } from 'aws-lambda';
import { entryGroupId } from '../../functions/lib/delivery/group';
import { taskEvent } from '../../functions/lib/inmemory/events';
import { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
import type { EcsPort } from '../../functions/lib/reconcile/ports';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { createWorkerHandler } from '../../functions/reconciler/wiring';
import { CLUSTER_ARN, NAMESPACE, type TargetInput, testConfig } from './helpers';

/**
 * The queue path's DescribeTasks round: the entries of a delivery are one batch, and one
 * DescribeTasks asks about every task of it; nothing waits for anything.
 */

const ENTRIES = 10;
const services = Array.from({ length: ENTRIES }, (_, i) => ({
  ecsService: `svc-${i}`,
  cloudMapService: `s${i}`,
  port: 8000,
}));
const tasks = services.map((s, i) => ({
  service: s.ecsService,
  taskId: `${String(i).padStart(2, '0')}${'a'.repeat(30)}`,
  ipv4: `10.0.7.${i + 10}`,
}));
const targets: TargetInput[] = services.map((s, i) => ({
  kind: 'server',
  path: `/s${i}/`,
  cloudMapService: s.cloudMapService,
  ecsService: s.ecsService,
  port: 'instance',
}));

/** A sleep that records each requested wait and ends only when the test says so. */
function heldSleep() {
  const waits: number[] = [];
  const pending: (() => void)[] = [];
  return {
    waits,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        waits.push(ms);
        pending.push(resolve);
      }),
    release: () => {
      for (const r of pending.splice(0)) r();
    },
  };
}

function setup() {
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services });
  const memory = new MemoryRegistry(world.clock);
  for (const [i, t] of tasks.entries()) {
    world.seedTask(t.service, t);
    memory.seed({ kind: 'server', path: `/s${i}/` }, `http://${t.ipv4}:8000/`);
  }
  const describeCalls: string[][] = [];
  const ecs: EcsPort = {
    describeTasks: (cluster, ids, ctx) => {
      describeCalls.push(ids);
      return world.describeTasks(cluster, ids, ctx);
    },
    describeService: (cluster, name, ctx) => world.describeService(cluster, name, ctx),
  };
  const clock = heldSleep();
  const records: DecisionRecord[] = [];
  const { handler } = createWorkerHandler({
    config: testConfig({ targets }),
    cloudMap: world,
    ecs,
    registry: memory,
    sleep: clock.sleep,
    now: world.clock.now,
    onRecord: (r) => records.push(r),
    queue: { changeVisibility: async () => undefined, sendTrigger: async () => undefined },
  });
  return { handler, describeCalls, clock, records };
}

function delivery(count: number) {
  return {
    Records: tasks.slice(0, count).map((t, i) => ({
      messageId: `m${i}`,
      receiptHandle: `rh-${i}`,
      body: JSON.stringify(
        taskEvent({
          clusterArn: CLUSTER_ARN,
          taskId: t.taskId,
          service: t.service,
          lastStatus: 'RUNNING',
          desiredStatus: 'RUNNING',
          version: 3,
          ipv4: t.ipv4,
        }),
      ),
      attributes: {
        ApproximateReceiveCount: '1',
        MessageGroupId: entryGroupId({ kind: 'server', path: `/s${i}/` }),
      },
    })),
  };
}

/**
 * Whether `p` settles while every sleep is still held. Everything here is in memory (no I/O, no
 * timer: the sleeps are held), so a delivery that does not wait settles within a few turns of the
 * event loop, and one that waits never does: the guard counts turns, not milliseconds, so it does
 * not depend on the machine's speed.
 */
async function finishesWithoutWaiting<T>(p: Promise<T>): Promise<T | 'still waiting'> {
  let settled = false;
  const watched = p.finally(() => {
    settled = true;
  });
  for (let turn = 0; turn < 1_000 && !settled; turn++) await new Promise((r) => setImmediate(r));
  return settled ? watched : 'still waiting';
}

const long = { getRemainingTimeInMillis: () => 60_000 };

describe('Reconciler queue path: one DescribeTasks round per delivery', () => {
  it('sends a one-entry delivery’s DescribeTasks at once, never waiting', async () => {
    const s = setup();
    const out = await finishesWithoutWaiting(s.handler(delivery(1), long));
    expect(out).toEqual({ batchItemFailures: [] });
    expect(s.describeCalls).toEqual([[tasks[0]?.taskId]]);
    expect(s.clock.waits).toEqual([]);
    expect(s.records.map((r) => r.action)).toEqual(['noop']);
  });

  it('sends one DescribeTasks for every task of a full delivery', async () => {
    const s = setup();
    const answer = s.handler(delivery(ENTRIES), long);
    const out = (await finishesWithoutWaiting(answer)) as SQSBatchResponse | 'still waiting';
    expect(s.clock.waits).toEqual([]);
    expect(out).toEqual({ batchItemFailures: [] });
    expect(s.describeCalls).toHaveLength(1);
    expect([...(s.describeCalls[0] ?? [])].sort()).toEqual(tasks.map((t) => t.taskId).sort());
    expect(s.records).toHaveLength(ENTRIES);
    expect(s.records.map((r) => r.action)).toEqual(Array(ENTRIES).fill('noop'));
    s.clock.release();
  });
});
