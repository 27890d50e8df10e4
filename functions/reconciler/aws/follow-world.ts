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
import type { CallContext, EcsPort, EcsServiceDiscovery } from '../ports';

/**
 * What follow mode matches entries against, read from AWS: the namespace's Cloud Map services
 * (ListNamespaces, ListServices) and the cluster's ECS services with their Service Connect
 * discovery names and ServiceRegistries (ListServices, then DescribeServices through the ECS
 * adapter). Instances' IPv4s are not read: follow adopts entries by name only.
 */
export class FollowWorldAdapter implements FollowWorldPort {
  constructor(
    private readonly cloudMap: ServiceDiscoveryClient,
    private readonly ecs: ECSClient,
    private readonly describe: Pick<EcsPort, 'describeService'>,
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
    const ecsServices: EcsServiceDiscovery[] = [];
    token = undefined;
    do {
      const page: ListEcsServicesOutput = await this.ecs.send(
        new ListEcsServicesCommand({
          cluster: this.cluster,
          maxResults: 100,
          ...(token === undefined ? {} : { nextToken: token }),
        }),
      );
      for (const arn of page.serviceArns ?? []) {
        const found = await this.describe.describeService(
          this.cluster,
          arn.slice(arn.lastIndexOf('/') + 1),
          ctx,
        );
        if (found !== undefined) ecsServices.push(found);
      }
      token = page.nextToken;
    } while (token);
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
