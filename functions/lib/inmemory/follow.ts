import { type FollowPages, type FollowWorldPort, wholeWorld } from '../follow/follower';
import type { DiscoverWorld } from '../follow/match';
import type { MemoryRegistry, WorldService } from './world';

/**
 * Follow mode's view of an in-memory world: each service is a Cloud Map service of the namespace
 * published by its ECS service through Service Connect, asked one name at a time. `calls` counts the reads.
 */
export function worldFollowSource(
  namespace: string,
  services: readonly WorldService[],
): FollowWorldPort & { calls: number } {
  const whole = wholeWorld(
    async (): Promise<DiscoverWorld> => ({
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
    }),
  );
  const source = {
    calls: 0,
    worldOf(name: string, ctx: Parameters<FollowWorldPort['worldOf']>[1]): Promise<DiscoverWorld> {
      source.calls++;
      return whole.worldOf(name, ctx);
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
