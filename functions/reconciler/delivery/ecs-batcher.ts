import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallContext, EcsPort, EcsServiceDiscovery, TaskState } from '../ports';

/**
 * DescribeTasks shares a rate bucket of 20 requests a second (100 burst) with ListTasks and other
 * ECS reads, but takes up to 100 task ids a call. A delivery reconciles up to 10 entries at once
 * and a resync shard hundreds, each with a few tasks: this port gathers their calls (same
 * cluster) into calls of at most `maxIds` ids, so they cost a few DescribeTasks instead of one
 * per entry. Each caller gets the tasks it asked for; a failed call fails its callers.
 *
 * How long a call waits for others: callers that take part hold a seat for the span of their
 * work (`withSeat`). Once every seat held is waiting, nobody else can still join, and the queue
 * goes out at once; while a seat holder is still working (it may yet ask), the queue waits, at
 * most `windowMs` from its first call. A call made outside any seat waits the window.
 */
export interface BatchingOptions {
  windowMs?: number;
  maxIds?: number;
  /** Waits the window. @default a timer, cleared when the queue goes out before it */
  sleep?: (ms: number) => Promise<void>;
}

/** Lets callers announce the span in which they may ask, so nobody waits for a caller who is done. */
export interface Seats {
  /** Runs `fn` holding a seat; a seat taken inside another seat's span hands that seat's place to it. */
  withSeat<T>(fn: () => Promise<T>): Promise<T>;
}

/** For ports that do not batch: nothing to announce. */
export const NO_SEATS: Seats = { withSeat: (fn) => fn() };

/** The seats of `ecs` when it batches, else NO_SEATS. */
export function seatsOf(ecs: EcsPort): Seats {
  return ecs instanceof BatchingEcs ? ecs : NO_SEATS;
}

/** What the flush rule sees of a seat: its calls waiting in a queue, and the seats taken within its span. */
export interface SeatState {
  readonly pending: number;
  readonly children: Iterable<SeatState>;
}

/**
 * A seat has asked when it waits on a queued call, or, while seats taken within its span are
 * held, when all of those have (its work is theirs until they end).
 */
export function seatAsked(seat: SeatState): boolean {
  let any = false;
  for (const child of seat.children) {
    if (!seatAsked(child)) return false;
    any = true;
  }
  return any || seat.pending > 0;
}

/** The flush rule: seats are held and every one has asked, so no call can still join. */
export function everyoneAsked(seats: Iterable<SeatState>): boolean {
  let any = false;
  for (const seat of seats) {
    if (!seatAsked(seat)) return false;
    any = true;
  }
  return any;
}

interface Seat extends SeatState {
  pending: number;
  readonly children: Set<Seat>;
  parent: Seat | undefined;
  left: boolean;
}

interface Waiting {
  ids: string[];
  ctx: CallContext;
  seat: Seat | undefined;
  resolve: (tasks: Map<string, TaskState>) => void;
  reject: (error: unknown) => void;
}

interface Queue {
  waiting: Waiting[];
  cancel?: () => void;
}

export class BatchingEcs implements EcsPort, Seats {
  private readonly windowMs: number;
  private readonly maxIds: number;
  private readonly sleep: ((ms: number) => Promise<void>) | undefined;
  private readonly queued = new Map<string, Queue>();
  private readonly scope = new AsyncLocalStorage<Seat>();
  private readonly roots = new Set<Seat>();

  constructor(
    private readonly inner: EcsPort,
    options: BatchingOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 10;
    this.maxIds = options.maxIds ?? 100;
    this.sleep = options.sleep;
  }

  async withSeat<T>(fn: () => Promise<T>): Promise<T> {
    const parent = this.current();
    const seat: Seat = { pending: 0, children: new Set(), parent, left: false };
    (parent?.children ?? this.roots).add(seat);
    try {
      return await this.scope.run(seat, fn);
    } finally {
      this.leave(seat);
    }
  }

  describeService(
    cluster: string,
    serviceName: string,
    ctx: CallContext,
  ): Promise<EcsServiceDiscovery | undefined> {
    return this.inner.describeService(cluster, serviceName, ctx);
  }

  describeTasks(cluster: string, taskIds: string[], ctx: CallContext): Promise<Map<string, TaskState>> {
    return new Promise((resolve, reject) => {
      const seat = this.current();
      if (seat !== undefined) seat.pending++;
      let queue = this.queued.get(cluster);
      if (queue === undefined) {
        queue = { waiting: [] };
        this.queued.set(cluster, queue);
      }
      queue.waiting.push({ ids: taskIds, ctx, seat, resolve, reject });
      if (everyoneAsked(this.roots)) {
        this.flushAll();
        return;
      }
      if (queue.cancel === undefined) {
        const mine = queue;
        queue.cancel = this.timer(() => {
          if (this.queued.get(cluster) === mine) void this.flush(cluster);
        });
      }
    });
  }

  /** The caller's seat, if it holds one still. */
  private current(): Seat | undefined {
    const seat = this.scope.getStore();
    return seat === undefined || seat.left ? undefined : seat;
  }

  private leave(seat: Seat): void {
    seat.left = true;
    const holder = seat.parent?.children ?? this.roots;
    holder.delete(seat);
    // Seats taken within this span that outlive it keep their place, one level up.
    for (const child of seat.children) {
      child.parent = seat.parent;
      holder.add(child);
    }
    seat.children.clear();
    if (this.queued.size > 0 && everyoneAsked(this.roots)) this.flushAll();
  }

  private timer(fire: () => void): () => void {
    if (this.sleep === undefined) {
      const t = setTimeout(fire, this.windowMs);
      return () => clearTimeout(t);
    }
    let live = true;
    void this.sleep(this.windowMs).then(() => {
      if (live) fire();
    });
    return () => {
      live = false;
    };
  }

  private flushAll(): void {
    for (const cluster of [...this.queued.keys()]) void this.flush(cluster);
  }

  private async flush(cluster: string): Promise<void> {
    const queue = this.queued.get(cluster);
    this.queued.delete(cluster);
    if (queue === undefined) return;
    queue.cancel?.();
    const waiting = queue.waiting;
    // Sent: these callers are working again (they may ask once more), no longer waiting.
    for (const w of waiting) if (w.seat !== undefined) w.seat.pending--;
    // Pack callers into calls of at most maxIds distinct ids (a caller larger than that gets its own calls).
    const calls: Waiting[][] = [];
    let current: Waiting[] = [];
    let ids = new Set<string>();
    for (const w of waiting) {
      const added = w.ids.filter((id) => !ids.has(id)).length;
      if (current.length > 0 && ids.size + added > this.maxIds) {
        calls.push(current);
        current = [];
        ids = new Set();
      }
      current.push(w);
      for (const id of w.ids) ids.add(id);
    }
    if (current.length > 0) calls.push(current);
    await Promise.all(calls.map((group) => this.call(cluster, group)));
  }

  private async call(cluster: string, group: Waiting[]): Promise<void> {
    const all = [...new Set(group.flatMap((w) => w.ids))];
    try {
      const found = new Map<string, TaskState>();
      for (let i = 0; i < all.length; i += this.maxIds) {
        const part = await this.inner.describeTasks(
          cluster,
          all.slice(i, i + this.maxIds),
          (group[0] as Waiting).ctx,
        );
        for (const [id, t] of part) found.set(id, t);
      }
      for (const w of group) {
        const mine = new Map<string, TaskState>();
        for (const id of w.ids) {
          const t = found.get(id);
          if (t !== undefined) mine.set(id, t);
        }
        w.resolve(mine);
      }
    } catch (error) {
      for (const w of group) w.reject(error);
    }
  }
}
