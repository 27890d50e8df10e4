import { AsyncLocalStorage } from 'node:async_hooks';
import { RetryableError } from '../../functions/lib/errors';
import type { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
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
} from '../../functions/lib/reconcile/ports';
import { NO_COUNT } from '../../functions/lib/reconcile/ports';
import { SECURITY_PENDING_TAG } from '../../functions/lib/registry/servers';
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

  /** Ten services a call, as the product's ECS adapter asks (each call under the 20/s limit). */
  async describeServices(
    cluster: string,
    serviceNames: readonly string[],
    ctx: CallContext,
  ): Promise<EcsServiceDiscovery[]> {
    const found: EcsServiceDiscovery[] = [];
    for (let at = 0; at < serviceNames.length; at += 10) {
      const names = serviceNames.slice(at, at + 10);
      found.push(
        ...(await this.call(() => this.world.describeServices(cluster, names, ctx), 'ecs.DescribeServices')),
      );
    }
    return found;
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
  /** The registry changed an entry by itself (its background scan). */
  changed?(ref: EntryRef): void;
}

/**
 * The registry's background security scan after a server write (both generations start it with
 * `asyncio.create_task`, so the write's answer and read-back come first). A failed scan disables
 * the server and tags it `security-pending`; the newer code then also saves the record it
 * captured when the write started, which puts that write's address back if another write landed
 * meanwhile. Off unless given.
 */
export interface ScanModel {
  /** Share of server writes whose scan fails. */
  failRate: number;
  /** From the write landing to the scan's verdict, [min, max] ms. */
  delayMs: readonly [number, number];
  /** Share of failed scans that also save the record captured at write time. */
  writeBackRate: number;
}

/** What a scan did to an entry. */
export interface ScanEvent {
  at: number;
  path: string;
  kind: 'disabled' | 'written-back';
  /** `written-back`: the address the scan saved, and the one it replaced. */
  url?: string;
  replaced?: string;
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
    private readonly scan?: ScanModel,
    /**
     * Servers the scan disabled with `security-pending` (nobody re-enables them: that is an
     * opt-in). Pass another view's set to share the registry's state (the fan-out's reads).
     */
    readonly scanDisabled: Set<string> = new Set(),
  ) {
    memory.disableAfterWrite = knobs.disableAfterWrite;
    // Its own stream: a run without the scan draws exactly what it drew before.
    this.scanRng = rng.fork('scan');
  }

  /** Everything the scan did, in order. */
  readonly scans: ScanEvent[] = [];
  private readonly scanRng: Rng;

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
      return this.asScanned(await this.memory.readEntry(ref, ctx));
    });
  }

  /** The entry as the registry shows it once its scan disabled it: disabled, tagged `security-pending`. */
  private asScanned(entry: RegistryEntry): RegistryEntry {
    if (entry.kind !== 'server' || !this.scanDisabled.has(entry.path)) return entry;
    const tags = Array.isArray(entry.record.tags) ? entry.record.tags : [];
    return {
      ...entry,
      enabled: false,
      securityPending: true,
      record: { ...entry.record, is_enabled: false, tags: [...tags, SECURITY_PENDING_TAG] },
    };
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
    if (attempt.ref.kind === 'server') this.scheduleScan(attempt);
    return result;
  }

  /** The scan this write started, which fails (and may write its captured record back) by the model. */
  private scheduleScan(attempt: WriteAttempt): void {
    const scan = this.scan;
    if (scan === undefined || !this.scanRng.chance(scan.failRate)) return;
    const writeBack = this.scanRng.chance(scan.writeBackRate);
    this.sched.after(this.scanRng.ms(scan.delayMs), () => {
      const { path } = attempt.ref;
      const at = this.sched.now();
      this.scanDisabled.add(path);
      this.scans.push({ at, path, kind: 'disabled' });
      const now = this.memory.url(attempt.ref);
      if (writeBack && now !== undefined && now !== attempt.url) {
        this.memory.set(attempt.ref, attempt.url);
        this.scans.push({ at, path, kind: 'written-back', url: attempt.url, replaced: now });
      }
      this.observer.changed?.(attempt.ref);
    });
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
