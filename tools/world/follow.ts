import type { FollowPages, FollowWorldPort } from '../../functions/reconciler/follow/follower';
import type { DiscoverWorld } from '../../functions/reconciler/follow/match';
import type { MemoryRegistry, WorldService } from './world';

/**
 * Follow mode's view of an in-memory world: each service is a Cloud Map service of the namespace
 * published by its ECS service through Service Connect. `calls` counts the reads.
 */
export function worldFollowSource(
  namespace: string,
  services: readonly WorldService[],
): FollowWorldPort & { calls: number } {
  const source = {
    calls: 0,
    async readWorld(): Promise<DiscoverWorld> {
      source.calls++;
      return {
        namespace,
        cloudMapServices: services.map((s) => ({
          name: s.cloudMapService,
          arn: `arn:aws:servicediscovery:us-west-2:111122223333:service/srv-${s.cloudMapService}`,
          ipv4s: [],
        })),
        ecsServices: services.map((s) => ({
          serviceName: s.ecsService,
          discoveryNames: [s.cloudMapService],
          registryArns: [],
        })),
      };
    },
  };
  return source;
}

/** The registry's list pages over an in-memory registry. */
export function memoryPages(registry: MemoryRegistry): FollowPages {
  return {
    async listPage(kind, offset, limit) {
      const all = registry.list(kind);
      return { entries: all.slice(offset, offset + limit), more: offset + limit < all.length };
    },
  };
}
