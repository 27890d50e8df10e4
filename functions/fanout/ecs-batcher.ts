import type { CallContext, EcsPort, EcsServiceDiscovery, TaskState } from '../lib/reconcile/ports';

/**
 * DescribeTasks calls of one cluster made within `windowMs` of each other, gathered into calls of
 * at most `maxIds` ids; each caller gets the tasks it asked for, and a failed call fails its
 * callers. The reconcile already sends one DescribeTasks round per batch of entries
 * (reconcile.ts); the fan-out's wiring still wraps its ECS port in this, which with
 * `windowMs` 0 (DELIVERY.ecsBatchWindowMs) only gathers calls made in the same synchronous run.
 */
export interface BatchingOptions {
  /** How long the first call waits for others. @default 0: only calls made in the same synchronous run */
  windowMs?: number;
  maxIds?: number;
  /** Waits a window longer than 0 (a virtual clock in the simulation). @default a timer */
  sleep?: (ms: number) => Promise<void>;
}

interface Waiting {
  ids: string[];
  ctx: CallContext;
  resolve: (tasks: Map<string, TaskState>) => void;
  reject: (error: unknown) => void;
}

export class BatchingEcs implements EcsPort {
  private readonly windowMs: number;
  private readonly maxIds: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly queued = new Map<string, Waiting[]>();

  constructor(
    private readonly inner: EcsPort,
    options: BatchingOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 0;
    this.maxIds = options.maxIds ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
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
      const waiting = this.queued.get(cluster);
      if (waiting !== undefined) {
        waiting.push({ ids: taskIds, ctx, resolve, reject });
        return;
      }
      this.queued.set(cluster, [{ ids: taskIds, ctx, resolve, reject }]);
      // Window 0: the calls made in the same synchronous run (no clock moves, virtual or real).
      const wait = this.windowMs > 0 ? this.sleep(this.windowMs) : Promise.resolve();
      void wait.then(() => this.flush(cluster));
    });
  }

  private async flush(cluster: string): Promise<void> {
    const waiting = this.queued.get(cluster) ?? [];
    this.queued.delete(cluster);
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
