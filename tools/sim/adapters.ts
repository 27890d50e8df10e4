import { AsyncLocalStorage } from 'node:async_hooks';
import { RetryableError } from '../../functions/reconciler/errors';
import type {
  CallContext,
  CloudMapInstance,
  CloudMapPort,
  EcsPort,
  EcsServiceDiscovery,
  EntryRef,
  RegistryEntry,
  RegistryPort,
  TaskState,
  WriteResult,
} from '../../functions/reconciler/ports';
import { NO_COUNT } from '../../functions/reconciler/ports';
import type { MemoryRegistry, World } from '../world/world';
import type { ChaosKnobs } from './knobs';
import type { ApiLimits, LimitedApi } from './limits';
import type { Rng } from './rng';
import type { Scheduler } from './scheduler';

/**
 * The ports the real reconciler is given in the simulation: the `World` and a `MemoryRegistry`
 * behind latency, the retries the production adapters make (SDK standard retries for AWS, the
 * registry client's bounded backoff), injected faults, and the Lambda's own death at its timeout.
 */

/** One Lambda invocation, as the adapters see it (through async context). */
export interface InvocationScope {
  id: number;
  /** Set when the function timed out: it is frozen, so it makes no further calls. */
  dead: boolean;
  /** The Lambda context's remaining time (the time budget reads it). */
  remainingMs?: () => number;
}

export const invocationScope = new AsyncLocalStorage<InvocationScope>();

function checkAlive(): void {
  if (invocationScope.getStore()?.dead === true) {
    throw new RetryableError('the invocation timed out (simulated Lambda timeout)');
  }
}

const SDK_ATTEMPTS = 3;

/** Cloud Map and ECS with latency and SDK-style retries of throttling. */
export class SimAws implements CloudMapPort, EcsPort {
  constructor(
    private readonly world: World,
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly knobs: ChaosKnobs['aws'],
    /** The published rate limits as token buckets (absent: no limit). */
    private readonly limits?: ApiLimits,
  ) {}

  discoverInstances(namespace: string, service: string, ctx: CallContext): Promise<CloudMapInstance[]> {
    return this.call(
      () => this.world.discoverInstances(namespace, service, ctx),
      'cloudmap.DiscoverInstances',
    );
  }

  serviceNameByArn(arn: string, ctx: CallContext): Promise<string | undefined> {
    return this.call(() => this.world.serviceNameByArn(arn, ctx));
  }

  describeTasks(cluster: string, taskIds: string[], ctx: CallContext): Promise<Map<string, TaskState>> {
    return this.call(() => this.world.describeTasks(cluster, taskIds, ctx), 'ecs.DescribeTasks');
  }

  describeService(
    cluster: string,
    serviceName: string,
    ctx: CallContext,
  ): Promise<EcsServiceDiscovery | undefined> {
    return this.call(() => this.world.describeService(cluster, serviceName, ctx), 'ecs.DescribeServices');
  }

  /** The answer reflects the world when the response comes back, after the call's latency. */
  private async call<T>(fn: () => Promise<T>, api?: LimitedApi): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      checkAlive();
      await this.sched.sleep(this.rng.ms(this.knobs.latencyMs));
      checkAlive();
      try {
        if (api !== undefined) this.limits?.take(api);
        return await fn();
      } catch (error) {
        const throttled = (error as { name?: string }).name === 'ThrottlingException';
        if (!throttled || attempt >= SDK_ATTEMPTS) throw error;
        // SDK standard mode: full jitter on a 100 ms base, doubling.
        await this.sched.sleep(Math.round(this.rng.next() * 100 * 2 ** attempt));
      }
    }
  }
}

/** A write the reconciler asked for, and what became of it. */
export interface WriteAttempt {
  ref: EntryRef;
  url: string;
  /** When the reconciler decided it (the call was made right after the decision). */
  decidedAt: number;
}

export interface RegistryObserver {
  /** The reconciler calls `writeUrl` (once per decision, before retries). */
  decided(attempt: WriteAttempt): void;
  /** A write lands in the registry (possibly late, after the client gave up). */
  landed(attempt: WriteAttempt, from: string): void;
}

/** The registry with latency, 5xx, timeouts (whose writes may land late) and the client's retries. */
export class SimRegistry implements RegistryPort {
  constructor(
    readonly memory: MemoryRegistry,
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly knobs: ChaosKnobs['registry'],
    private readonly observer: RegistryObserver,
    /** Entries whose every write is answered 5xx (a stuck target). */
    private readonly stuckPaths: ReadonlySet<string> = new Set(),
  ) {
    memory.disableAfterWrite = knobs.disableAfterWrite;
  }

  async readEntry(ref: EntryRef, ctx: CallContext): Promise<RegistryEntry> {
    return this.withRetries(async (fault) => {
      if (fault === 'timeout') {
        ctx.count('registry.read');
        await this.sched.sleep(this.knobs.clientTimeoutMs);
        throw new RetryableError(
          `registry read ${ref.path} timed out after ${this.knobs.clientTimeoutMs} ms`,
        );
      }
      await this.sched.sleep(this.rng.ms(this.knobs.readMs));
      checkAlive();
      if (fault === '5xx') this.memory.failNext = 1; // the MemoryRegistry answers it with a 503
      return this.memory.readEntry(ref, ctx);
    });
  }

  async writeUrl(entry: RegistryEntry, newUrl: string, ctx: CallContext): Promise<WriteResult> {
    const attempt: WriteAttempt = {
      ref: { kind: entry.kind, path: entry.path },
      url: newUrl,
      decidedAt: this.sched.now(),
    };
    this.observer.decided(attempt);
    const stuck = this.stuckPaths.has(entry.path);
    return this.withRetries(async (roll) => {
      const fault = stuck ? '5xx' : roll;
      const latency = this.rng.ms(this.knobs.writeMs);
      if (fault === 'timeout') {
        ctx.count('registry.write');
        // The request reached the registry, which was slow: the client gives up, and the write
        // may still be applied afterwards.
        if (this.rng.chance(this.knobs.lateLandRate)) {
          const lateBy = this.knobs.clientTimeoutMs + this.rng.ms([100, 3 * this.knobs.clientTimeoutMs]);
          this.sched.after(lateBy, () => void this.land(attempt, entry, NO_COUNT));
        }
        await this.sched.sleep(this.knobs.clientTimeoutMs);
        throw new RetryableError(
          `registry write ${entry.path} timed out after ${this.knobs.clientTimeoutMs} ms`,
        );
      }
      await this.sched.sleep(latency);
      checkAlive();
      if (fault === '5xx') {
        this.memory.failNext = 1;
        return this.memory.writeUrl(entry, newUrl, ctx);
      }
      return this.land(attempt, entry, ctx);
    });
  }

  private async land(attempt: WriteAttempt, entry: RegistryEntry, ctx: CallContext): Promise<WriteResult> {
    const from = this.memory.url(attempt.ref) ?? '';
    const result = await this.memory.writeUrl(entry, attempt.url, ctx);
    this.observer.landed(attempt, from);
    return result;
  }

  /** The registry client's loop: bounded attempts with "equal jitter" backoff on retryable faults. */
  private async withRetries<T>(fn: (fault: '5xx' | 'timeout' | undefined) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      checkAlive();
      const roll = this.rng.next();
      const fault =
        roll < this.knobs.errorRate
          ? '5xx'
          : roll < this.knobs.errorRate + this.knobs.timeoutRate
            ? 'timeout'
            : undefined;
      try {
        return await fn(fault);
      } catch (error) {
        if (!(error instanceof RetryableError) || attempt >= this.knobs.maxAttempts) throw error;
        const step = Math.min(5_000, 200 * 2 ** (attempt - 1));
        await this.sched.sleep(Math.round(step / 2 + this.rng.next() * (step / 2)));
      }
    }
  }
}
