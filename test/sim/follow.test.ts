import { DELIVERY } from '../../functions/lib/delivery/settings';
import type { OwnerRow, OwnershipPort } from '../../functions/lib/follow/ownership';
import type { EntryRef } from '../../functions/lib/reconcile/ports';
import { bounds, SCENARIOS, type ScenarioSpec } from '../../tools/sim';
import { itemBytes, tableCost } from '../../tools/sim/follow';
import { runScenario, type ScenarioResult } from '../../tools/sim/run';
import { FOLLOW_MIX } from '../../tools/sim/scenarios';

/**
 * Follow mode in the simulation, small: a configuration with no targets, entries registered by
 * name, by hand (a task's IP copied) and with foreign hosts while the services churn, and a person
 * re-pointing adopted entries. The invariants come from the run: a judge that knows nothing of
 * the ownership table decides whether each write was the reconciler's to make.
 */

const MIN = 60_000;

const SMALL: ScenarioSpec = {
  ...(SCENARIOS['follow-1000'] as ScenarioSpec),
  name: 'follow-small',
  services: 16,
  activityMs: 40 * MIN,
  follow: {
    ...FOLLOW_MIX,
    registerWithinMs: 20 * MIN,
    handSetShare: 0.25,
    foreignShare: 0.1,
    repointShare: 0.4,
    repointAfterMs: [MIN, 5 * MIN],
  },
};

function follow(r: ScenarioResult): NonNullable<ScenarioResult['follow']> {
  if (r.follow === undefined) throw new Error('a follow scenario reports follow figures');
  return r.follow;
}

function bound(r: ScenarioResult, name: string) {
  const b = bounds(r).find((x) => x.name === name);
  if (b === undefined) throw new Error(`no bound ${name}`);
  return b;
}

/** The defect: a table that gives the reconciler every entry holding an IPv4 (as if it had written it). */
function lyingTable(
  table: OwnershipPort,
  registry: { url(ref: EntryRef): string | undefined },
): OwnershipPort {
  return {
    table: table.table,
    put: (row, v) => table.put(row, v),
    release: (ref, v) => table.release(ref, v),
    byEcsService: (s) => table.byEcsService(s),
    list: () => table.list(),
    get: async (ref) => {
      const row = await table.get(ref);
      const url = registry.url(ref);
      if (row !== undefined || url === undefined || !/^http:\/\/\d+\.\d+\.\d+\.\d+:/.test(url)) return row;
      const id = /svc(\d+)/.exec(ref.path)?.[1] ?? '';
      const lie: Omit<OwnerRow, 'version'> = {
        ...ref,
        cloudMapService: ref.kind === 'agent' ? `svc${id}-agent` : `svc${id}-server`,
        ecsService: `mcp-gateway-svc${id}`,
        registeredUrl: url,
        writtenUrl: url,
        at: '2026-03-02T00:00:00.000Z',
      };
      // Recorded as if the reconciler had written it, so later conditional writes agree with it.
      await table.put(lie, undefined);
      return table.get(ref);
    },
  };
}

describe('Simulation: follow mode (no targets configured)', () => {
  let r: ScenarioResult;
  beforeAll(async () => {
    r = await runScenario(SMALL, { seed: 1 });
  });

  it('runs every kind of entry: by name, hand-set, foreign, re-pointed by a person', () => {
    const f = follow(r);
    expect(f.entries.named).toBeGreaterThan(0);
    expect(f.entries['hand-set']).toBeGreaterThan(0);
    expect(f.entries.foreign).toBeGreaterThan(0);
    expect(f.repointed).toBeGreaterThan(0);
    expect(f.registered).toBe(
      f.entries.named + f.entries['hand-set'] + f.entries.foreign + f.entries.unadoptable,
    );
  });

  it('points every entry registered by name at a live task, and writes none the table does not give it', () => {
    const f = follow(r);
    expect(f.neverAdopted).toEqual([]);
    expect(f.adoption.count).toBe(f.entries.named);
    expect(f.notOwnedWrites).toBe(0);
    expect(f.violations).toEqual([]);
    expect(bound(r, 'writes to entries the ownership table does not give us')).toMatchObject({
      value: 0,
      ok: true,
    });
    expect(r.violations.blankWrites + r.violations.unsafeWrites).toBe(0);
    expect(r.writes.lostUpdates).toBe(0);
    expect(r.final.bad).toEqual([]);
  });

  it('measures registration to a live task against one resync period', () => {
    const f = follow(r);
    const b = bound(r, 'registration to a live task, worst (ms)');
    expect(b.value).toBe(f.adoption.maxMs);
    expect(b.limit).toBe(5 * MIN);
    expect(f.adoption.maxMs).toBeGreaterThanOrEqual(f.adoption.p99Ms);
    expect(f.adoption.p50Ms).toBeGreaterThan(0);
  });

  it('finds a name registered at run time within about one names sweep, not a resync period', () => {
    const f = follow(r);
    // The sweep's own schedule ran about once a minute, each reading every page.
    expect(r.sweep?.sweeps).toBeGreaterThanOrEqual(Math.floor(r.simulatedMs / MIN) - 1);
    expect(r.sweep?.pageReadsMax).toBe(2);
    expect(r.sweep?.work).toBeGreaterThanOrEqual(f.entries.named);
    // A sweep period plus the page chain, the work queue and the worker: well under 5 min.
    expect(f.adoption.maxMs).toBeLessThanOrEqual(DELIVERY.namesSweepSeconds * 1_000 + 30_000);
  });

  it('releases what a person re-pointed and counts the table in request units', () => {
    const f = follow(r);
    expect(f.released).toBeGreaterThan(0);
    expect(r.reasons.released).toBe(f.released);
    const t = f.table;
    // Every landed write was recorded in the table first: one conditional PutItem each.
    expect(t.putItem.calls - t.putItem.conditionFailed).toBe(r.writes.landed);
    // Items under 1 KB: a write costs one unit, and one more for the index.
    expect(t.putItem.wru).toBe(2 * (t.putItem.calls - t.putItem.conditionFailed) + t.putItem.conditionFailed);
    expect(t.getItem.rru).toBe(t.getItem.calls);
    expect(t.rows).toBe(f.rowsAtEnd);
    const cost = tableCost(t, r.simulatedMs);
    expect(cost).toEqual(f.cost);
    expect(cost.requestsPerDay).toBeGreaterThan(0);
  });

  it('sizes an item as DynamoDB bills it (names plus values)', () => {
    const row: OwnerRow = {
      kind: 'server',
      path: '/a/',
      cloudMapService: 'a',
      ecsService: 'b',
      registeredUrl: 'http://a:1/',
      writtenUrl: 'http://10.0.0.1:1/',
      at: 'T',
      version: 7,
    };
    // entry "server#/a/" 5+10, kind 4+6, path 4+3, cloudMapService 15+1, ecsService 10+1,
    // registeredUrl 13+11, writtenUrl 10+18, at 2+1, version 7+2.
    expect(itemBytes(row)).toBe(15 + 10 + 7 + 16 + 11 + 24 + 28 + 3 + 9);
  });

  it('fails the invariant when the table gives the reconciler an entry set by hand (injected defect)', async () => {
    const bad = await runScenario(SMALL, { seed: 1, ownership: lyingTable });
    const f = follow(bad);
    expect(f.notOwnedWrites).toBeGreaterThan(0);
    expect(f.violations.some((v) => v.cls === 'hand-set')).toBe(true);
    expect(bound(bad, 'writes to entries the ownership table does not give us').ok).toBe(false);
  });
});

describe('Simulation: follow-1000, seed 1 (the two timing bounds)', () => {
  let r: ScenarioResult;
  beforeAll(async () => {
    r = await runScenario('follow-1000', { seed: 1 });
  });

  it('holds every bound, stale p99 and registration to a live task among them', () => {
    expect(bounds(r).filter((b) => !b.ok)).toEqual([]);
    expect(bound(r, 'stale p99 (ms)').value).toBeLessThanOrEqual(10_000);
    expect(bound(r, 'registration to a live task, worst (ms)').value).toBeLessThanOrEqual(5 * MIN);
  });

  it('leaves no stale episode over 10 s awaiting a replacement: the stop signal defers until Cloud Map lists it', () => {
    expect(r.stale.tails['stop signal before the replacement was listed (Cloud Map lag)']).toBeUndefined();
    expect(r.reasons['awaiting-replacement']).toBeGreaterThan(0);
    expect(r.delivery.deadLettered).toBe(0);
  });

  it('points names registered at run time at a live task within two sweep periods', () => {
    expect(follow(r).adoption.maxMs).toBeLessThanOrEqual(2 * DELIVERY.namesSweepSeconds * 1_000);
  });
});
