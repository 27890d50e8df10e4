import { CALM_KNOBS, type ScenarioSpec } from '../../tools/sim';
import { runScenario, type ScenarioResult } from '../../tools/sim/run';

/**
 * The simulation's invariants on fixed seeds: the real handler and decision code, driven through
 * days and storms of simulated ECS, Cloud Map, EventBridge, SQS and registry behaviour.
 */

const FIFO_SCENARIOS: [string, number][] = [
  ['calm-day', 1],
  ['calm-day', 7],
  ['deployment-storm', 1],
  ['chaos-storm', 1],
  ['chaos-storm', 4],
  ['registry-restart-during-deploy', 1],
  ['registry-restart-during-deploy', 2],
];

const results = new Map<string, ScenarioResult>();
async function result(name: string, seed: number): Promise<ScenarioResult> {
  const key = `${name}#${seed}`;
  let r = results.get(key);
  if (r === undefined) {
    r = await runScenario(name, { seed });
    results.set(key, r);
  }
  return r;
}

describe('Simulation: invariants as deployed (FIFO queue, one batch at a time)', () => {
  describe.each(FIFO_SCENARIOS)('Scenario: %s, seed %i', (name, seed) => {
    it('never blanks or deletes an entry', async () => {
      const r = await result(name, seed);
      expect(r.violations.blankWrites).toBe(0);
    });

    it('writes only addresses of tasks that were live and listed in Cloud Map when decided', async () => {
      const r = await result(name, seed);
      expect(r.violations.samples.filter((v) => v.kind === 'unsafe-write')).toEqual([]);
      expect(r.violations.unsafeWrites).toBe(0);
    });

    it('never writes when nothing changed: no same-value write, never away from a live task', async () => {
      const r = await result(name, seed);
      expect(r.violations.sameValueWrites).toBe(0);
      expect(r.violations.needlessMoves).toBe(0);
    });

    it('has no lost update (no write decided earlier lands after a later one)', async () => {
      const r = await result(name, seed);
      expect(r.writes.lostUpdates).toBe(0);
    });

    it('points every entry at a live task, wherever one exists, after quiet plus one resync', async () => {
      const r = await result(name, seed);
      expect(r.final.quiet).toBe(true);
      expect(r.final.bad).toEqual([]);
      expect(r.final.pointingAtLive + r.final.withoutLiveTask).toBe(r.final.targets);
      expect(r.convergeMs).not.toBeNull();
    });

    it('has zero stale time after a delivered stop signal wherever Cloud Map listed another live task', async () => {
      const r = await result(name, seed);
      expect(r.stale.afterSignalMs).toBe(0);
    });
  });

  it('is deterministic: the same seed gives the same figures', async () => {
    const a = await runScenario('registry-restart-during-deploy', { seed: 11 });
    const b = await runScenario('registry-restart-during-deploy', { seed: 11 });
    const c = await runScenario('registry-restart-during-deploy', { seed: 12 });
    const figures = (r: ScenarioResult) => ({ ...r, runtimeMs: 0 });
    expect(figures(a)).toEqual(figures(b));
    expect(figures(c)).not.toEqual(figures(a));
  });

  it('moves each pointer once per move needed in a deployment storm', async () => {
    const r = await result('deployment-storm', 1);
    expect(r.world.deployments).toBe(50);
    expect(r.writes.landed).toBe(r.writes.movesNeeded);
    expect(r.stale.maxMs).toBeLessThan(60_000);
  });

  it('puts the built-in entry back within seconds when the registry is redeployed', async () => {
    const r = await result('registry-restart-during-deploy', 1);
    expect(r.world.registryResets).toBeGreaterThan(0);
    expect(r.stale.byCause['registry-reset']?.maxMs ?? 0).toBeLessThan(30_000);
  });
});

describe('Simulation: a quiet world', () => {
  it('makes no write at all over hours of scheduled resyncs', async () => {
    const quiet: ScenarioSpec = {
      name: 'quiet',
      description: 'nothing happens',
      services: 8,
      tasksPerService: [1, 4],
      registryTasks: [1, 1],
      activityMs: 2 * 3_600_000,
      knobs: CALM_KNOBS,
      plan: () => undefined,
    };
    const r = await runScenario(quiet, { seed: 3 });
    expect(r.writes.decided).toBe(0);
    expect(r.writes.landed).toBe(0);
    expect(r.stale.count).toBe(0);
    // The resync's shard checks find every entry right and send the worker nothing to decide.
    expect(r.resync.resyncs).toBeGreaterThan(20);
    expect(r.fanout.workMessages).toBe(0);
    expect(r.decisions).toEqual({});
  });
});
