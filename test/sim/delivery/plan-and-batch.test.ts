import { BatchingEcs } from '../../../functions/fanout/ecs-batcher';
import { minResyncSpreadSeconds, planResync } from '../../../functions/fanout/resync-plan';
import { DELIVERY } from '../../../functions/lib/delivery/settings';
import type { CallContext, EcsPort, TaskState } from '../../../functions/lib/reconcile/ports';

const RATES = { discoverInstancesPerSecond: 1_000, describeTasksPerSecond: 20 };

describe('planResync', () => {
  it('covers every entry exactly once, by registry pages of each kind', () => {
    const shards = planResync({
      servers: 8_000,
      agents: 2_000,
      pageSize: 500,
      rates: RATES,
      periodSeconds: 300,
    });
    expect(shards).toHaveLength(20);
    for (const kind of ['server', 'agent'] as const) {
      const mine = shards.filter((s) => s.kind === kind).sort((a, b) => a.offset - b.offset);
      let next = 0;
      for (const s of mine) {
        expect(s.offset).toBe(next);
        next += s.limit;
      }
      expect(next).toBe(kind === 'server' ? 8_000 : 2_000);
    }
  });

  it('spreads the shards so a full check stays within the rate share, and within the period and SQS delay limit', () => {
    const input = { servers: 8_000, agents: 2_000, rates: RATES, share: 0.25, periodSeconds: 300 };
    const shards = planResync(input);
    const last = Math.max(...shards.map((s) => s.delaySeconds));
    expect(last).toBeGreaterThanOrEqual(Math.ceil(minResyncSpreadSeconds(input)) - 1);
    expect(last).toBeLessThanOrEqual(Math.min(DELIVERY.maxDelaySeconds, 300 - 60));
    // 10,000 entries × 1 DiscoverInstances over the spread: at most a quarter of 1,000/s.
    expect(10_000 / last).toBeLessThanOrEqual(250 * 1.05);
    const delays = shards.map((s) => s.delaySeconds);
    expect([...delays].sort((a, b) => a - b)).toEqual(delays);
  });

  it('sends nothing for no entries and rejects a bad page size', () => {
    expect(planResync({ servers: 0, agents: 0, rates: RATES, periodSeconds: 300 })).toEqual([]);
    expect(() =>
      planResync({ servers: 1, agents: 0, pageSize: 0, rates: RATES, periodSeconds: 300 }),
    ).toThrow(/page size/);
  });
});

describe('BatchingEcs', () => {
  const task = (id: string): TaskState => ({ taskId: id, lastStatus: 'RUNNING', desiredStatus: 'RUNNING' });
  const ctx: CallContext = { count: () => undefined };
  function fake(fail = false) {
    const calls: string[][] = [];
    const inner: EcsPort = {
      describeTasks: async (_c, ids) => {
        calls.push(ids);
        if (fail) throw new Error('Rate exceeded');
        return new Map(ids.filter((id) => !id.startsWith('gone')).map((id) => [id, task(id)]));
      },
      describeService: async () => undefined,
    };
    return { inner, calls };
  }
  const now = () => Promise.resolve();

  it('gathers concurrent calls into one DescribeTasks and gives each caller its own tasks', async () => {
    const { inner, calls } = fake();
    const ecs = new BatchingEcs(inner, { sleep: now });
    const [a, b] = await Promise.all([
      ecs.describeTasks('c', ['t1', 't2'], ctx),
      ecs.describeTasks('c', ['t2', 't3', 'gone1'], ctx),
    ]);
    expect(calls).toEqual([['t1', 't2', 't3', 'gone1']]);
    expect([...a.keys()]).toEqual(['t1', 't2']);
    expect([...b.keys()]).toEqual(['t2', 't3']);
  });

  it('never sends more than 100 ids a call', async () => {
    const { inner, calls } = fake();
    const ecs = new BatchingEcs(inner, { sleep: now });
    const ids = (p: string) => Array.from({ length: 60 }, (_, i) => `${p}${i}`);
    const [a, b] = await Promise.all([
      ecs.describeTasks('c', ids('x'), ctx),
      ecs.describeTasks('c', ids('y'), ctx),
    ]);
    expect(calls.map((c) => c.length)).toEqual([60, 60]);
    expect(a.size + b.size).toBe(120);
  });

  it('fails every caller of a failed call', async () => {
    const { inner } = fake(true);
    const ecs = new BatchingEcs(inner, { sleep: now });
    const results = await Promise.allSettled([
      ecs.describeTasks('c', ['t1'], ctx),
      ecs.describeTasks('c', ['t2'], ctx),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
