import type { ECSClient } from '@aws-sdk/client-ecs';
import {
  DiscoverInstancesCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  type ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { type DescribeServices, readEcsServices } from '../../functions/lib/aws/follow-world';
import type { CallContext } from '../../functions/lib/reconcile/ports';
import type { CloudMapServiceView, DiscoverWorld } from './match';

/** Where discover reads the account from; the ECS service descriptions go through the reconciler's own adapter. */
export interface DiscoverSources {
  ecs: ECSClient;
  cloudMap: ServiceDiscoveryClient;
  /** `describeServices` of the reconciler's ECS adapter (or a fake at that boundary in tests). */
  describe: DescribeServices;
}

/**
 * Reads what discover matches against: the namespace's Cloud Map services with their instances'
 * IPv4s (ListNamespaces, ListServices, DiscoverInstances) and the cluster's ECS services with
 * their Service Connect discovery names and ServiceRegistries (ListServices, DescribeServices ten
 * services a call), read as follow mode reads them.
 */
export async function readWorld(
  sources: DiscoverSources,
  cluster: string,
  namespace: string,
  ctx: CallContext,
): Promise<DiscoverWorld> {
  const namespaceId = await findNamespace(sources.cloudMap, namespace);
  const cloudMapServices: CloudMapServiceView[] = [];
  let token: string | undefined;
  do {
    const page = await sources.cloudMap.send(
      new ListServicesCommand({
        Filters: [{ Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' }],
        ...(token === undefined ? {} : { NextToken: token }),
      }),
    );
    for (const s of page.Services ?? []) {
      if (!s.Name || !s.Arn) continue;
      const ipv4s = await instanceIps(sources.cloudMap, namespace, s.Name);
      if (ipv4s === undefined) continue;
      cloudMapServices.push({ name: s.Name, arn: s.Arn, ipv4s });
    }
    token = page.NextToken;
  } while (token);

  const ecsServices = await readEcsServices(sources.ecs, sources.describe, cluster, ctx);
  return { namespace, cloudMapServices, ecsServices };
}

async function findNamespace(client: ServiceDiscoveryClient, name: string): Promise<string> {
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListNamespacesCommand(token === undefined ? {} : { NextToken: token }),
    );
    const found = (page.Namespaces ?? []).find((n) => n.Name === name);
    if (found?.Id) return found.Id;
    token = page.NextToken;
  } while (token);
  throw new Error(
    `Cloud Map has no namespace ${name} in this account and region (check "namespace" and AWS_REGION)`,
  );
}

/** The IPv4s a service's instances list now, or undefined when the service is not in the namespace. */
async function instanceIps(
  client: ServiceDiscoveryClient,
  namespace: string,
  service: string,
): Promise<string[] | undefined> {
  try {
    const out = await client.send(
      new DiscoverInstancesCommand({
        NamespaceName: namespace,
        ServiceName: service,
        HealthStatus: 'ALL',
        MaxResults: 1000,
      }),
    );
    return (out.Instances ?? []).flatMap((i) =>
      i.Attributes?.AWS_INSTANCE_IPV4 ? [i.Attributes.AWS_INSTANCE_IPV4] : [],
    );
  } catch (error) {
    // Some ListServices implementations ignore the namespace filter: such a service is not ours.
    if ((error as Error).name === 'ServiceNotFound') return undefined;
    throw error;
  }
}
