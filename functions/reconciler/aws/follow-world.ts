import {
  type ECSClient,
  ListServicesCommand as ListEcsServicesCommand,
  type ListServicesCommandOutput as ListEcsServicesOutput,
} from '@aws-sdk/client-ecs';
import {
  ListNamespacesCommand,
  ListServicesCommand,
  type ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import type { FollowWorldPort } from '../follow/follower';
import type { CloudMapServiceView, DiscoverWorld } from '../follow/match';
import type { CallContext, EcsServiceDiscovery } from '../ports';
import type { EcsAdapter } from './ecs';

/** The batched description of ECS services (the ECS adapter's, or a fake at that boundary in tests). */
export type DescribeServices = Pick<EcsAdapter, 'describeServices'>;

/**
 * What follow mode matches entries against, read from AWS: the namespace's Cloud Map services
 * (ListNamespaces, ListServices) and the cluster's ECS services with their Service Connect
 * discovery names and ServiceRegistries (`readEcsServices`: ListServices, then DescribeServices
 * ten services a call through the ECS adapter). Instances' IPv4s are not read: follow adopts entries by name only.
 */
export class FollowWorldAdapter implements FollowWorldPort {
  constructor(
    private readonly cloudMap: ServiceDiscoveryClient,
    private readonly ecs: ECSClient,
    private readonly describe: DescribeServices,
    private readonly cluster: string,
    private readonly namespace: string,
  ) {}

  async readWorld(ctx: CallContext): Promise<DiscoverWorld> {
    const namespaceId = await this.namespaceId();
    const cloudMapServices: CloudMapServiceView[] = [];
    let token: string | undefined;
    do {
      const page = await this.cloudMap.send(
        new ListServicesCommand({
          Filters: [{ Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' }],
          ...(token === undefined ? {} : { NextToken: token }),
        }),
      );
      for (const s of page.Services ?? [])
        if (s.Name && s.Arn) cloudMapServices.push({ name: s.Name, arn: s.Arn, ipv4s: [] });
      token = page.NextToken;
    } while (token);
    const ecsServices = await readEcsServices(this.ecs, this.describe, this.cluster, ctx);
    return { namespace: this.namespace, cloudMapServices, ecsServices };
  }

  private async namespaceId(): Promise<string> {
    let token: string | undefined;
    do {
      const page = await this.cloudMap.send(
        new ListNamespacesCommand(token === undefined ? {} : { NextToken: token }),
      );
      const found = (page.Namespaces ?? []).find((n) => n.Name === this.namespace);
      if (found?.Id) return found.Id;
      token = page.NextToken;
    } while (token);
    throw new Error(`Cloud Map has no namespace ${this.namespace} in this account and region`);
  }
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
