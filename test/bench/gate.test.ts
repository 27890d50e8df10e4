import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { measureCalls, tallyCalls } from '../../tools/bench/calls';
import { followCost, TARGETS, verdicts } from '../../tools/bench/gate';
import { median } from '../../tools/bench/stats';

/** The bench gate (tools/bench): its verdicts, and the calls per delivery of the deployed path. */

const record = (calls: DecisionRecord['calls']): DecisionRecord => ({ calls }) as DecisionRecord;

describe('the bench gate', () => {
  const calls = tallyCalls('storm', [
    record({ 'cloudmap.DiscoverInstances': 1, 'ecs.DescribeTasks': 1, 'registry.read': 1 }),
    record({ 'cloudmap.DiscoverInstances': 1, 'registry.read': 1, 'registry.write': 1 }),
  ]);
  const passing = {
    bundleBytes: 331_412,
    load: { reconcilerMs: 60, baselineMs: 40, node: 'v24.0.0' },
    calls,
  };

  it('tallies the most and the mean calls per entry and delivery', () => {
    expect(calls.deliveries).toBe(2);
    expect(calls.max).toEqual({
      'cloudmap.DiscoverInstances': 1,
      'ecs.DescribeTasks': 1,
      'registry.read': 1,
      'registry.write': 1,
    });
    expect(calls.mean['ecs.DescribeTasks']).toBe(0.5);
  });

  it('passes when every figure is within its target', () => {
    expect(verdicts(passing).map((v) => v.pass)).toEqual([true, true, true]);
    expect(verdicts(passing)[1]?.measured).toBe('1.50× (60.0 ms / 40.0 ms)');
  });

  it('fails each target on its own figure', () => {
    const over = verdicts({ ...passing, bundleBytes: TARGETS.bundleBytes + 1 });
    expect(over.map((v) => v.pass)).toEqual([false, true, true]);
    const slow = verdicts({ ...passing, load: { ...passing.load, reconcilerMs: 65 } });
    expect(slow.map((v) => v.pass)).toEqual([true, false, true]);
    const lookups = tallyCalls('storm', [record({ 'cloudmap.DiscoverInstances': 2 })]);
    expect(verdicts({ ...passing, calls: lookups }).map((v) => v.pass)).toEqual([true, true, false]);
    const thrice = tallyCalls('storm', [record({ 'ecs.DescribeTasks': 3 })]);
    expect(verdicts({ ...passing, calls: thrice })[2]?.pass).toBe(false);
    const secondLook = tallyCalls('storm', [record({ 'ecs.DescribeTasks': 2 })]);
    expect(secondLook.secondDescribeTasks).toBe(1);
    expect(verdicts({ ...passing, calls: secondLook })[2]?.pass).toBe(true);
    const noTiming = verdicts({ ...passing, load: { ...passing.load, baselineMs: Number.NaN } });
    expect(noTiming[1]?.pass).toBe(false);
  });

  it('states what follow mode costs against the same targets, from the figures of both builds', () => {
    const cost = followCost({
      off: { bundleBytes: 330_000, loadMs: 60 },
      on: { bundleBytes: 383_000, loadMs: 66 },
      baselineMs: 40,
    });
    expect(cost.map((v) => [v.pass, v.measured])).toEqual([
      [false, '383.0 KB (+53.0 KB over follow mode off)'],
      [false, '1.65× (66.0 ms; +6.0 ms over follow mode off)'],
    ]);
    const within = followCost({
      off: { bundleBytes: 280_000, loadMs: 56 },
      on: { bundleBytes: TARGETS.bundleBytes, loadMs: 64 },
      baselineMs: 40,
    });
    expect(within.map((v) => v.pass)).toEqual([true, true]);
  });

  it('takes the median of a sample', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('measures the deployed path: at most one call of each API per entry per delivery', async () => {
    const storm = await measureCalls(1);
    expect(storm.deliveries).toBeGreaterThan(50);
    expect(storm.max['cloudmap.DiscoverInstances']).toBe(1);
    expect(storm.max['registry.read']).toBe(1);
    expect(storm.max['ecs.DescribeTasks']).toBeLessThanOrEqual(2);
    // DescribeTasks is batched across the entries of an invocation: fewer calls than entries.
    expect(storm.mean['ecs.DescribeTasks']).toBeLessThan(1);
    expect(storm.max['registry.write']).toBe(1);
    expect(verdicts({ ...passing, calls: storm })[2]?.pass).toBe(true);
  }, 120_000);
});
