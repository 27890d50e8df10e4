import { registryStartRechecks } from '../../../functions/fanout/recheck';
import {
  budgetRule,
  canStartEntry,
  canStartWrite,
  minFunctionTimeoutMs,
  registryCallWorstMs,
} from '../../../functions/lib/delivery/budget';
import { entryGroupId, MAX_GROUP_ID_LENGTH } from '../../../functions/lib/delivery/group';
import { byGroup, groupBatchFailures } from '../../../functions/reconciler/failures';
import { retryVisibilitySeconds } from '../../../functions/reconciler/retry';

describe('entryGroupId', () => {
  it('gives each entry its own stable group, kinds kept apart', () => {
    expect(entryGroupId({ kind: 'server', path: '/currenttime/' })).toBe('server:/currenttime/');
    expect(entryGroupId({ kind: 'agent', path: '/currenttime/' })).not.toBe(
      entryGroupId({ kind: 'server', path: '/currenttime/' }),
    );
  });

  it('names an entry whose key does not fit a MessageGroupId by a hash, still one group per entry', () => {
    const long = { kind: 'server' as const, path: `/${'x'.repeat(200)}/` };
    const spaced = { kind: 'agent' as const, path: '/my agent' };
    for (const ref of [long, spaced]) {
      const id = entryGroupId(ref);
      expect(id.length).toBeLessThanOrEqual(MAX_GROUP_ID_LENGTH);
      expect(id).toMatch(/^[\x21-\x7e]+$/);
      expect(entryGroupId(ref)).toBe(id);
    }
    expect(entryGroupId(long)).not.toBe(entryGroupId({ kind: 'server', path: `/${'x'.repeat(201)}/` }));
  });
});

describe('groupBatchFailures', () => {
  const batch = [
    { messageId: 'a1', groupId: 'A' },
    { messageId: 'b1', groupId: 'B' },
    { messageId: 'a2', groupId: 'A' },
    { messageId: 'b2', groupId: 'B' },
    { messageId: 'a3', groupId: 'A' },
    { messageId: 'c1', groupId: 'C' },
  ];

  it('hands back a failed message and the later messages of its group only', () => {
    expect(groupBatchFailures(batch, new Set(['a2']))).toEqual([
      { itemIdentifier: 'a2' },
      { itemIdentifier: 'a3' },
    ]);
  });

  it('never hands back succeeded work: earlier messages of the group and other groups stay done', () => {
    const out = groupBatchFailures(batch, new Set(['b2', 'c1'])).map((f) => f.itemIdentifier);
    expect(out).toEqual(['b2', 'c1']);
    expect(groupBatchFailures(batch, new Set())).toEqual([]);
  });

  it('splits a batch by group in delivery order', () => {
    const groups = byGroup(batch);
    expect([...groups.keys()]).toEqual(['A', 'B', 'C']);
    expect(groups.get('A')?.map((m) => m.messageId)).toEqual(['a1', 'a2', 'a3']);
  });
});

describe('retryVisibilitySeconds', () => {
  it('re-checks Cloud Map lag every 2 s, then every 4 s: 20 s over seven deliveries', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7].map((n) => retryVisibilitySeconds('cloud-map-lag', n));
    expect(waits).toEqual([2, 2, 2, 2, 4, 4, 4]);
    expect(waits.reduce((a, b) => a + b, 0)).toBe(20);
  });

  it('backs errors off exponentially up to a cap, and redelivers unstarted work at once', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryVisibilitySeconds('error', n))).toEqual([
      10, 20, 40, 80, 120, 120,
    ]);
    expect(retryVisibilitySeconds('not-started', 3)).toBe(0);
    expect(retryVisibilitySeconds('throttled', 1)).toBeLessThan(retryVisibilitySeconds('error', 1));
  });
});

describe('the time budget', () => {
  const limits = { timeoutMs: 5_000, maxAttempts: 3, maxBackoffMs: 400 };
  const rule = budgetRule(limits, 3_000, 1_000);

  it('counts every attempt and backoff of a registry call', () => {
    expect(registryCallWorstMs(limits)).toBe(15_800);
    expect(rule.writeMs).toBe(31_600);
    expect(rule.entryMs).toBe(15_800 + 3_000 + 31_600);
  });

  it('starts a write only when the write and its read-back can finish, an entry only when all of it can', () => {
    expect(canStartWrite(32_600, rule)).toBe(true);
    expect(canStartWrite(32_599, rule)).toBe(false);
    expect(canStartEntry(rule.entryMs + 1_000, rule)).toBe(true);
    expect(canStartEntry(rule.entryMs + 999, rule)).toBe(false);
  });

  it('needs a longer function timeout than 30 s for one worst-case entry, and 60 s is enough', () => {
    expect(minFunctionTimeoutMs(rule)).toBeGreaterThan(30_000);
    expect(minFunctionTimeoutMs(rule)).toBeLessThanOrEqual(60_000);
  });
});

describe('registryStartRechecks', () => {
  it('re-checks at a steady cadence over the window, within the SQS delay limit', () => {
    const d = registryStartRechecks({ everySeconds: 15, windowSeconds: 180 });
    expect(d[0]).toBe(15);
    expect(d.at(-1)).toBe(180);
    for (let i = 1; i < d.length; i++) expect((d[i] as number) - (d[i - 1] as number)).toBe(15);
    expect(
      Math.max(...registryStartRechecks({ everySeconds: 60, windowSeconds: 5_000 })),
    ).toBeLessThanOrEqual(900);
  });

  it('refuses a cadence under a second', () => {
    expect(() => registryStartRechecks({ everySeconds: 0, windowSeconds: 60 })).toThrow(/everySeconds/);
  });
});
