import type { ReconcilerConfig, TargetConfig } from '../config/config';
import type { TargetMatch } from '../core/types';
import type { CallContext, CloudMapPort, EcsPort } from './ports';
import { targetKey } from './target-key';

/** A target an ECS service serves, and how that was found. */
export interface ServiceMatch {
  target: TargetConfig;
  match: TargetMatch;
}

export interface ServiceDirectoryDeps {
  config: Pick<ReconcilerConfig, 'cluster' | 'targets'>;
  ecs: EcsPort;
  cloudMap: CloudMapPort;
  now: () => number;
  /** How long an ECS service's discovery names are kept. */
  ttlMs: number;
}

/** ECS services whose discovery names are kept (oldest dropped first). */
const SERVICE_CACHE_MAX = 256;

/**
 * Which targets an ECS service serves: the targets that name it in the configuration, plus those
 * found through its Cloud Map discovery names (Service Connect or ServiceRegistries), cached.
 */
export class ServiceDirectory {
  private readonly cache = new Map<string, { at: number; matches: ServiceMatch[] }>();
  private readonly inflight = new Map<string, Promise<ServiceMatch[]>>();
  /**
   * Target key → the ECS services lookups found serving it, for the container's life: which ECS
   * service publishes a Cloud Map name changes only with a redeploy, and forgetting it would let
   * a resync accept a task of any service.
   */
  private readonly servedBy = new Map<string, string[]>();

  constructor(private readonly deps: ServiceDirectoryDeps) {}

  async targetsFor(service: string, ctx: CallContext): Promise<ServiceMatch[]> {
    const { config } = this.deps;
    const direct: ServiceMatch[] = config.targets
      .filter((t) => t.ecsService === service)
      .map((target) => ({ target, match: 'config' }));
    const unnamed = config.targets.filter((t) => t.ecsService === undefined);
    if (unnamed.length === 0) return direct;
    const cached = this.cache.get(service);
    if (cached !== undefined && this.deps.now() - cached.at < this.deps.ttlMs)
      return [...direct, ...cached.matches];
    // Lookups of one service at once (a burst, or copies of one event) share one DescribeServices.
    let pending = this.inflight.get(service);
    if (pending === undefined) {
      pending = this.lookup(service, unnamed, ctx).finally(() => this.inflight.delete(service));
      this.inflight.set(service, pending);
    }
    return [...direct, ...(await pending)];
  }

  private async lookup(service: string, unnamed: TargetConfig[], ctx: CallContext): Promise<ServiceMatch[]> {
    const { config } = this.deps;
    const found = await this.deps.ecs.describeService(config.cluster, service, ctx);
    const matches: ServiceMatch[] = [];
    if (found !== undefined) {
      const registryNames = new Set<string>();
      for (const arn of found.registryArns) {
        const name = await this.deps.cloudMap.serviceNameByArn(arn, ctx);
        if (name !== undefined) registryNames.add(name);
      }
      for (const target of unnamed) {
        if (found.discoveryNames.includes(target.cloudMapService))
          matches.push({ target, match: 'service-connect' });
        else if (registryNames.has(target.cloudMapService))
          matches.push({ target, match: 'service-registries' });
      }
    }
    // Bounded: events can name any service, and each unknown one would otherwise stay forever.
    if (this.cache.size >= SERVICE_CACHE_MAX) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.delete(service);
    this.cache.set(service, { at: this.deps.now(), matches });
    for (const m of matches) {
      const key = targetKey(m.target);
      const known = this.servedBy.get(key) ?? [];
      if (!known.includes(service)) this.servedBy.set(key, [...known, service].slice(-SERVICE_CACHE_MAX));
    }
    return matches;
  }

  /**
   * The ECS services that lookups found serving `target` (not configured by name), so that a
   * resync or registry restart can check a task's `group` too. Empty after a cold start until an
   * event of the service is looked up; configure `ecsService` to have the check always.
   */
  servicesOf(target: TargetConfig): string[] {
    return [...(this.servedBy.get(targetKey(target)) ?? [])];
  }
}
