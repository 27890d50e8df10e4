import {
  type ECSClient,
  ListServicesCommand as ListEcsServicesCommand,
  type ListServicesCommandOutput as ListEcsServicesOutput,
} from '@aws-sdk/client-ecs';
import type { FollowWorldPort } from '../follow/follower';
import type { DiscoverWorld } from '../follow/match';
import type { CallContext, CloudMapPort, EcsServiceDiscovery } from '../reconcile/ports';
import { DESCRIBE_SERVICES_MAX, type EcsAdapter } from './ecs';

/** How long a name read alone waits for others to share its DescribeServices call. */
const DESCRIBE_WINDOW_MS = 50;

/** The batched description of ECS services (the ECS adapter's, or a fake at that boundary in tests). */
export type DescribeServices = Pick<EcsAdapter, 'describeServices'>;

/**
 * What follow mode matches an entry naming Cloud Map service N against, read by name with a
 * bounded number of calls (never the whole namespace or cluster):
 * 1. `DiscoverInstances` of N (all health states): no such service → the world has none by that
 *    name (`no-cloud-map-service`). Each instance names the ECS service whose task it is: ECS
 *    writes `DeploymentId` (a task-set ARN, `…:task-set/<cluster>/<service>/<id>`) on Service
 *    Connect instances and `ECS_SERVICE_NAME` / `ECS_CLUSTER_NAME` on ServiceRegistries ones.
 * 2. `DescribeServices` of those of the cluster (ten a call; usually one call), whose Service
 *    Connect discovery names and ServiceRegistries ARNs the shared rule then checks: only a
 *    service that really publishes N counts, and two that do are `ambiguous`.
 * 3. `GetService` of each ServiceRegistries ARN not seen before (a name never changes: cached for
 *    the container's life), to tell which ARN is N's.
 * What this cannot see: an ECS service that publishes N but runs no task now (no instance names
 * it). With no instance at all the entry is `no-ecs-service` until a task runs; with another
 * publisher running, the entry matches the one seen where reading the whole cluster would have
 * said `ambiguous` (docs/decision-rules.md).
 */
export class FollowWorldAdapter implements FollowWorldPort {
  private readonly clusterName: string;
  private readonly windowMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The ECS services asked within the current window, described together when it ends. */
  private batch: { names: Set<string>; result: Promise<Map<string, EcsServiceDiscovery>> } | undefined;

  constructor(
    private readonly cloudMap: Pick<CloudMapPort, 'discoverInstances' | 'serviceNameByArn'>,
    private readonly describe: DescribeServices,
    private readonly cluster: string,
    private readonly namespace: string,
    /**
     * Names read one at a time within `windowMs` of each other (a worker's batch of entries)
     * share their `DescribeServices` calls, ten services a call. @default 50 ms, real timers
     */
    options: { windowMs?: number; sleep?: (ms: number) => Promise<void> } = {},
  ) {
    this.clusterName = cluster.includes(':cluster/')
      ? cluster.slice(cluster.indexOf(':cluster/') + 9)
      : cluster;
    this.windowMs = options.windowMs ?? DESCRIBE_WINDOW_MS;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Describes ECS services now (ten a call), or with the others asked within the window. */
  private describeSoon(names: string[], ctx: CallContext): Promise<Map<string, EcsServiceDiscovery>> {
    const now = async (asked: string[]) =>
      new Map(
        (await this.describe.describeServices(this.cluster, asked, ctx)).map((d) => [d.serviceName, d]),
      );
    if (this.windowMs <= 0 || names.length >= DESCRIBE_SERVICES_MAX) return now(names);
    if (this.batch === undefined) {
      const asked = new Set<string>();
      const result = this.sleep(this.windowMs).then(() => {
        this.batch = undefined;
        return now([...asked]);
      });
      this.batch = { names: asked, result };
    }
    for (const n of names) this.batch.names.add(n);
    return this.batch.result;
  }

  async worldOf(name: string, ctx: CallContext): Promise<DiscoverWorld> {
    return (await this.worldsOf([name], ctx)).get(name) as DiscoverWorld;
  }

  /**
   * Several names at once (a resync page's): one `DiscoverInstances` each, then the ECS services
   * all their instances name described together, ten a `DescribeServices` call, so a page of
   * names costs ⌈services/10⌉ ECS calls, not one per name.
   */
  async worldsOf(names: readonly string[], ctx: CallContext): Promise<Map<string, DiscoverWorld>> {
    const wanted = [...new Set(names)];
    const found = await Promise.all(
      wanted.map(async (name) => {
        try {
          return await this.cloudMap.discoverInstances(this.namespace, name, ctx);
        } catch (error) {
          if (notFound(error) === 'ServiceNotFound') return undefined;
          throw error;
        }
      }),
    );
    const byName = new Map<string, Set<string>>();
    const all = new Set<string>();
    wanted.forEach((name, i) => {
      const candidates = new Set<string>();
      for (const inst of found[i] ?? []) {
        const p = publisherOf(inst.attributes);
        if (p !== undefined && p.cluster === this.clusterName) candidates.add(p.service);
      }
      byName.set(name, candidates);
      for (const c of candidates) all.add(c);
    });
    const described =
      all.size === 0 ? new Map<string, EcsServiceDiscovery>() : await this.describeSoon([...all], ctx);
    const worlds = new Map<string, DiscoverWorld>();
    for (const [i, name] of wanted.entries()) {
      if (found[i] === undefined) {
        worlds.set(name, { namespace: this.namespace, cloudMapServices: [], ecsServices: [] });
        continue;
      }
      const ecsServices = [...(byName.get(name) ?? [])].flatMap((c) => {
        const d = described.get(c);
        return d === undefined ? [] : [d];
      });
      let arn: string | undefined;
      for (const d of ecsServices)
        for (const a of d.registryArns)
          if (arn === undefined && (await this.cloudMap.serviceNameByArn(a, ctx))?.toLowerCase() === name)
            arn = a;
      worlds.set(name, {
        namespace: this.namespace,
        // The ARN is known only when a ServiceRegistries publisher names it: matching by name needs no more.
        cloudMapServices: [{ name, arn: arn ?? '', ipv4s: [] }],
        ecsServices,
      });
    }
    return worlds;
  }
}

/** The ECS service (and its cluster's name) an instance ECS registered belongs to, from its attributes. */
export function publisherOf(
  attributes: Record<string, string>,
): { cluster: string; service: string } | undefined {
  const deployment = attributes.DeploymentId;
  if (deployment !== undefined) {
    const at = deployment.indexOf(':task-set/');
    const [cluster, service] = at < 0 ? [] : deployment.slice(at + ':task-set/'.length).split('/');
    if (cluster && service) return { cluster, service };
  }
  const service = attributes.ECS_SERVICE_NAME;
  const cluster = attributes.ECS_CLUSTER_NAME;
  if (service && cluster) return { cluster: cluster.slice(cluster.lastIndexOf('/') + 1), service };
  return undefined;
}

/** `ServiceNotFound` / `NamespaceNotFound` of Cloud Map, as thrown or as wrapped by the Cloud Map adapter. */
function notFound(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++)
    if (e.name === 'ServiceNotFound' || e.name === 'NamespaceNotFound') return e.name;
  return undefined;
}

/**
 * The cluster's ECS services with their Service Connect discovery names and ServiceRegistries:
 * ListServices page by page (100 a page), each page's services described ten a DescribeServices
 * call (the API's limit), so n services cost ⌈n/100⌉ + Σ⌈page/10⌉ calls rather than one per
 * service. Shared by follow mode and `discover`.
 */
export async function readEcsServices(
  ecs: ECSClient,
  describe: DescribeServices,
  cluster: string,
  ctx: CallContext,
): Promise<EcsServiceDiscovery[]> {
  const ecsServices: EcsServiceDiscovery[] = [];
  let token: string | undefined;
  do {
    const page: ListEcsServicesOutput = await ecs.send(
      new ListEcsServicesCommand({
        cluster,
        maxResults: 100,
        ...(token === undefined ? {} : { nextToken: token }),
      }),
    );
    const names = (page.serviceArns ?? []).map((arn) => arn.slice(arn.lastIndexOf('/') + 1));
    ecsServices.push(...(await describe.describeServices(cluster, names, ctx)));
    token = page.nextToken;
  } while (token);
  return ecsServices;
}
