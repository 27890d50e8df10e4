import { Timeline } from '../../functions/lib/inmemory/timeline';
import { VirtualClock } from '../../functions/lib/inmemory/world';

/**
 * A discrete-event scheduler on a `VirtualClock`. Everything in the simulation happens in steps:
 * a step runs one scheduled callback at its virtual time, then lets every promise continuation
 * that callback released run to completion before the clock moves again. The reconciler's own
 * `sleep`, and every simulated API call's latency, are scheduler sleeps: the real handler code runs
 * unmodified while virtual time passes around it, and concurrent invocations interleave exactly
 * as their latencies say.
 */
export class Scheduler {
  readonly clock: VirtualClock;
  private readonly timeline = new Timeline<() => void>();
  private steps = 0;
  /** Called after every step (the measures look at the world here). */
  onStep: (() => void) | undefined;

  constructor(clock = new VirtualClock()) {
    this.clock = clock;
  }

  now = (): number => this.clock.now();

  /** Runs `fn` at virtual time `at` (never in the past). */
  at(at: number, fn: () => void): void {
    this.timeline.add(Math.max(at, this.clock.now()), fn);
  }

  /** Runs `fn` after `ms` of virtual time. */
  after(ms: number, fn: () => void): void {
    this.at(this.clock.now() + Math.max(0, ms), fn);
  }

  /** A promise that resolves after `ms` of virtual time: the simulation's `sleep`. */
  sleep = (ms: number): Promise<void> => new Promise((resolve) => this.after(ms, resolve));

  /** Steps taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** Whether anything is scheduled. */
  get idle(): boolean {
    return this.timeline.size === 0;
  }

  /** The time of the next step, if any. */
  peek(): number | undefined {
    return this.timeline.peek()?.at;
  }

  /** Runs steps until `until` (inclusive) or until nothing is scheduled. */
  async run(until = Number.POSITIVE_INFINITY): Promise<void> {
    for (;;) {
      const next = this.timeline.peek();
      if (next === undefined || next.at > until) break;
      this.timeline.pop();
      this.clock.advance(next.at - this.clock.now());
      next.item();
      this.steps++;
      // Every microtask released by this step runs before the clock moves (a macrotask boundary
      // drains the whole microtask queue): nothing in the simulation waits on real I/O.
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.onStep?.();
    }
    if (Number.isFinite(until) && until > this.clock.now()) this.clock.advance(until - this.clock.now());
  }

  /** Runs until `done()` holds after a step, or time passes `limit`. Returns whether `done()` held. */
  async runUntil(done: () => boolean, limit: number): Promise<boolean> {
    while (!done()) {
      const next = this.timeline.peek();
      if (next === undefined || next.at > limit) return done();
      await this.run(next.at);
    }
    return true;
  }
}
