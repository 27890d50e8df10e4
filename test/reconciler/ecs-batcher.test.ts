import {
  BatchingEcs,
  everyoneAsked,
  type SeatState,
  seatAsked,
} from '../../functions/reconciler/delivery/ecs-batcher';
import type { CallContext, EcsPort, TaskState } from '../../functions/reconciler/ports';

const ctx: CallContext = { count: () => undefined };
const task = (id: string): TaskState => ({ taskId: id, lastStatus: 'RUNNING', desiredStatus: 'RUNNING' });

/** An ECS port that records each DescribeTasks it gets. */
function fakeEcs() {
  const calls: string[][] = [];
  const inner: EcsPort = {
    describeTasks: async (_cluster, ids) => {
      calls.push(ids);
      return new Map(ids.map((id) => [id, task(id)]));
    },
    describeService: async () => undefined,
  };
  return { inner, calls };
}

/** A sleep that records each wait and ends only when the test says so. */
function controlledSleep() {
  const waits: number[] = [];
  const pending: (() => void)[] = [];
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      waits.push(ms);
      pending.push(resolve);
    });
  const elapse = () => {
    for (const r of pending.splice(0)) r();
  };
  return { sleep, waits, elapse };
}

/** Lets every queued promise continuation run (no timers involved). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A seat holder's call after some work of its own (a registry read, a Cloud Map look-up). */
const askAfterWork = (ecs: BatchingEcs, cluster: string, ids: string[]) =>
  ecs.withSeat(async () => {
    await settle();
    return ecs.describeTasks(cluster, ids, ctx);
  });

/** A step a seat holder can be held at until the test releases it. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('the flush rule', () => {
  const seat = (pending: number, ...children: SeatState[]): SeatState => ({ pending, children });

  it('holds while any seat is still working, and with no seat at all', () => {
    expect(everyoneAsked([])).toBe(false);
    expect(everyoneAsked([seat(1), seat(0)])).toBe(false);
    expect(everyoneAsked([seat(1), seat(2)])).toBe(true);
  });

  it('lets the seats taken within a span stand for it', () => {
    expect(seatAsked(seat(0, seat(1), seat(1)))).toBe(true);
    expect(seatAsked(seat(0, seat(1), seat(0)))).toBe(false);
    expect(seatAsked(seat(0, seat(0, seat(1))))).toBe(true);
    expect(seatAsked(seat(1, seat(0)))).toBe(false);
  });
});

describe('BatchingEcs with seats', () => {
  it('sends a lone seat’s call at once, without waiting the window', async () => {
    const { inner, calls } = fakeEcs();
    const clock = controlledSleep();
    const ecs = new BatchingEcs(inner, { windowMs: 300, sleep: clock.sleep });
    const tasks = await ecs.withSeat(() => ecs.describeTasks('c', ['t1', 't2'], ctx));
    expect([...tasks.keys()]).toEqual(['t1', 't2']);
    expect(calls).toEqual([['t1', 't2']]);
    expect(clock.waits).toEqual([]);
  });

  it('sends one call when the last of N seats asks, before the window ends', async () => {
    const { inner, calls } = fakeEcs();
    const clock = controlledSleep();
    const ecs = new BatchingEcs(inner, { windowMs: 300, sleep: clock.sleep });
    const gates = [gate(), gate(), gate()];
    const answers = gates.map((g, i) =>
      ecs.withSeat(async () => {
        await g.opened;
        return ecs.describeTasks('c', [`t${i}`], ctx);
      }),
    );
    gates[0]?.open();
    gates[2]?.open();
    await settle();
    expect(calls).toEqual([]);
    expect(clock.waits).toEqual([300]);
    gates[1]?.open();
    const got = await Promise.all(answers);
    expect(calls).toEqual([['t0', 't2', 't1']]);
    expect(got.map((m) => [...m.keys()])).toEqual([['t0'], ['t1'], ['t2']]);
    // The window never ended: the call went out when everyone had asked.
    clock.elapse();
    await settle();
    expect(calls).toHaveLength(1);
  });

  it('flushes the others when a seat ends without asking', async () => {
    const { inner, calls } = fakeEcs();
    const clock = controlledSleep();
    const ecs = new BatchingEcs(inner, { windowMs: 300, sleep: clock.sleep });
    const quiet = gate();
    const asking = [0, 1].map((i) => askAfterWork(ecs, 'c', [`t${i}`]));
    const leaving = ecs.withSeat(async () => {
      await quiet.opened;
      throw new Error('this entry failed before its look-up');
    });
    await settle();
    expect(calls).toEqual([]);
    quiet.open();
    await expect(leaving).rejects.toThrow(/failed before/);
    await Promise.all(asking);
    expect(calls).toEqual([['t0', 't1']]);
  });

  it('waits for seats taken within a span (entries of a reconcile), not for the span itself', async () => {
    const { inner, calls } = fakeEcs();
    const clock = controlledSleep();
    const ecs = new BatchingEcs(inner, { windowMs: 300, sleep: clock.sleep });
    const late = gate();
    const outer = ecs.withSeat(() =>
      Promise.all([
        askAfterWork(ecs, 'c', ['a']),
        ecs.withSeat(async () => {
          await late.opened;
          return ecs.describeTasks('c', ['b'], ctx);
        }),
      ]),
    );
    await settle();
    expect(calls).toEqual([]);
    late.open();
    await outer;
    expect(calls).toEqual([['a', 'b']]);
    expect(clock.waits).toEqual([300]);
  });

  it('keeps the window for a caller without a seat', async () => {
    const { inner, calls } = fakeEcs();
    const clock = controlledSleep();
    const ecs = new BatchingEcs(inner, { windowMs: 300, sleep: clock.sleep });
    const a = ecs.describeTasks('c', ['t1'], ctx);
    const b = ecs.describeTasks('c', ['t2'], ctx);
    await settle();
    expect(calls).toEqual([]);
    expect(clock.waits).toEqual([300]);
    clock.elapse();
    await Promise.all([a, b]);
    expect(calls).toEqual([['t1', 't2']]);
  });

  it('waits the window for a seat that is still working, and no longer', async () => {
    const { inner, calls } = fakeEcs();
    const clock = controlledSleep();
    const ecs = new BatchingEcs(inner, { windowMs: 300, sleep: clock.sleep });
    const never = gate();
    const slow = ecs.withSeat(() => never.opened);
    const asked = ecs.withSeat(() => ecs.describeTasks('c', ['t1'], ctx));
    await settle();
    expect(calls).toEqual([]);
    clock.elapse();
    await asked;
    expect(calls).toEqual([['t1']]);
    never.open();
    await slow;
  });

  it('splits more than 100 ids into calls of at most 100, one call per caller that fits', async () => {
    const { inner, calls } = fakeEcs();
    const ecs = new BatchingEcs(inner, { windowMs: 300, sleep: controlledSleep().sleep });
    const ids = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
    const [a, b, c] = await Promise.all([
      askAfterWork(ecs, 'c', ids('x', 60)),
      askAfterWork(ecs, 'c', ids('y', 60)),
      askAfterWork(ecs, 'c', ids('z', 130)),
    ]);
    expect(calls.map((call) => call.length)).toEqual([60, 60, 100, 30]);
    expect(calls.every((call) => call.length <= 100)).toBe(true);
    expect([a?.size, b?.size, c?.size]).toEqual([60, 60, 130]);
  });

  it('keeps clusters apart and fails every caller of a failed call', async () => {
    const calls: [string, string[]][] = [];
    const inner: EcsPort = {
      describeTasks: async (cluster, ids) => {
        calls.push([cluster, ids]);
        if (cluster === 'broken') throw new Error('Rate exceeded');
        return new Map(ids.map((id) => [id, task(id)]));
      },
      describeService: async () => undefined,
    };
    const ecs = new BatchingEcs(inner, { windowMs: 300, sleep: controlledSleep().sleep });
    const results = await Promise.allSettled([
      askAfterWork(ecs, 'broken', ['t1']),
      askAfterWork(ecs, 'broken', ['t2']),
      askAfterWork(ecs, 'ok', ['t3']),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect(calls.sort()).toEqual([
      ['broken', ['t1', 't2']],
      ['ok', ['t3']],
    ]);
  });

  it('without an injected sleep, clears its timer when the batch goes out early', async () => {
    const { inner, calls } = fakeEcs();
    // An hour's window: the test would time out if anything waited it.
    const ecs = new BatchingEcs(inner, { windowMs: 3_600_000 });
    const first = gate();
    const answers = [
      ecs.withSeat(async () => {
        await first.opened;
        return ecs.describeTasks('c', ['t1'], ctx);
      }),
      ecs.withSeat(() => ecs.describeTasks('c', ['t2'], ctx)),
    ];
    await settle();
    first.open();
    await Promise.all(answers);
    expect(calls).toEqual([['t2', 't1']]);
  });
});
