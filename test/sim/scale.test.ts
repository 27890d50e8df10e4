import { bounds, SCENARIOS, type ScenarioSpec, withKnobs } from '../../tools/sim';
import { runScenario, type ScenarioResult } from '../../tools/sim/run';

/**
 * Per-entry delivery (one FIFO message group per registry entry, a fan-out in front) on fixed
 * seeds and small settings: the isolation and scale invariants of the design.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;

function small(name: string, over: Partial<ScenarioSpec>): ScenarioSpec {
  return { ...(SCENARIOS[name] as ScenarioSpec), ...over, name: `${name}-small` };
}

function clean(r: ScenarioResult): void {
  expect(r.violations.blankWrites).toBe(0);
  expect(r.violations.unsafeWrites).toBe(0);
  expect(r.writes.lostUpdates).toBe(0);
  expect(r.delivery.lambdaTimeouts).toBe(0);
  expect(r.stale.afterSignalMs).toBe(0);
  expect(r.final.bad.filter((p) => p !== r.stuck?.path)).toEqual([]);
}

describe('Per-entry delivery: a deployment storm', () => {
  const storm = small('storm-1000', { services: 200 });
  let perEntry: ScenarioResult;
  beforeAll(async () => {
    perEntry = await runScenario(storm, { seed: 1 });
  });

  it('keeps every invariant and dead-letters nothing', () => {
    clean(perEntry);
    expect(perEntry.delivery.messageGroups).toBe(perEntry.targets);
    expect(perEntry.delivery.deadLettered).toBe(0);
  });

  it('keeps stale p99 within 10 s', () => {
    expect(perEntry.stale.p99Ms).toBeLessThanOrEqual(10_000);
  });

  it('runs groups in parallel, within the configured maximum concurrency', () => {
    expect(perEntry.delivery.maxConcurrentInvocations).toBeGreaterThan(1);
    expect(perEntry.delivery.maxConcurrentInvocations).toBeLessThanOrEqual(20);
  });
});

describe('Per-entry delivery: a stuck entry fails alone', () => {
  let r: ScenarioResult;
  beforeAll(async () => {
    r = await runScenario(
      small('stuck-target', {
        services: 6,
        activityMs: 2 * HOUR,
        plan: (ctx) => {
          for (let i = 0; i < 8; i++)
            ctx.at(ctx.rng.int(0, 2 * HOUR), () => ctx.cluster.deploy(ctx.rng.pick(ctx.services)));
          ctx.at(10 * MIN, () => ctx.cluster.deploy(ctx.services[1] as string));
        },
      }),
      { seed: 3 },
    );
  });

  it('dead-letters only the stuck entry’s messages, after their retries', () => {
    expect(r.stuck?.path).toBe('/svc01/');
    expect(r.stuck?.deadLettered).toBeGreaterThan(0);
    expect(r.stuck?.othersDeadLettered).toBe(0);
    expect(r.delivery.deadLettered).toBe(r.stuck?.deadLettered);
  });

  it('lets every other entry act within seconds', () => {
    clean(r);
    expect(r.stuck?.othersWorstStaleMs ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(10_000);
  });
});

describe('Per-entry delivery: registry crashes', () => {
  let r: ScenarioResult;
  beforeAll(async () => {
    r = await runScenario(small('registry-crash', { services: 8 }), { seed: 2 });
  });

  it('undoes every reset of a built-in entry within 30 s', () => {
    clean(r);
    expect(r.world.registryResets).toBeGreaterThan(2);
    expect(r.stale.byCause['registry-reset']?.count ?? 0).toBeGreaterThan(0);
    expect(r.stale.byCause['registry-reset']?.maxMs ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(30_000);
    expect(r.delivery.deadLettered).toBe(0);
  });
});

describe('Per-entry delivery: the time budget under a slow registry', () => {
  it('never lets an invocation time out, and never loses an update', async () => {
    const base = SCENARIOS['chaos-storm'] as ScenarioSpec;
    const slow = {
      ...base,
      name: 'slow-registry',
      services: 10,
      activityMs: 30 * MIN,
      knobs: withKnobs(base.knobs, {
        registry: { timeoutRate: 0.3, errorRate: 0.1 },
        lambda: { timeoutMs: 40_000 },
      }),
    };
    const r = await runScenario(slow, { seed: 5 });
    expect(r.delivery.lambdaTimeouts).toBe(0);
    expect(r.writes.lostUpdates).toBe(0);
    expect(r.delivery.notStarted + r.delivery.writesRefused).toBeGreaterThan(0);
  });
});

describe('Per-entry delivery: a resync at scale', () => {
  it('reads the registry by pages and keeps every API under its published limit', async () => {
    const r = await runScenario(
      small('fleet-10000', { services: 1_500, activityMs: 15 * MIN, plan: () => undefined }),
      { seed: 1 },
    );
    clean(r);
    expect(r.resync.shardsPerResync).toBe(4); // 1,200 servers and 300 agents in pages of 500
    expect(r.resync.registryReadsPerResyncMax).toBeLessThanOrEqual(4);
    expect(r.resync.registryWritesPerResyncMax).toBe(0);
    for (const api of Object.values(r.api)) expect(api.throttled).toBe(0);
    expect(r.fanout.timeouts).toBe(0);
    expect(r.fanout.shardCheck.maxMs).toBeLessThan(r.delivery.functionTimeoutMs / 2);
  });
});

describe('The bounds check', () => {
  it('flags a registry reset episode over 30 s', async () => {
    const r = await runScenario(small('registry-crash', { services: 4, activityMs: 30 * MIN }), { seed: 1 });
    expect(bounds(r).every((b) => b.ok)).toBe(true);
    const reset = r.stale.byCause['registry-reset'] ?? { count: 1, totalMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
    const slow = {
      ...r,
      stale: { ...r.stale, byCause: { ...r.stale.byCause, 'registry-reset': { ...reset, maxMs: 30_001 } } },
    };
    expect(
      bounds(slow)
        .filter((b) => !b.ok)
        .map((b) => b.name),
    ).toEqual(['stale episode from a registry reset (ms)']);
  });
});
