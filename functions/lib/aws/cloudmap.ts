import {
  DiscoverInstancesCommand,
  GetServiceCommand,
  type ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { idFromArn } from '../core/task';
import { PermanentError } from '../errors';
import type { CallContext, CloudMapHealth, CloudMapInstance, CloudMapPort } from '../reconcile/ports';

const NOT_FOUND = new Set(['NamespaceNotFound', 'ServiceNotFound']);

/** Cloud Map through the AWS SDK. `DiscoverInstances` is the source of truth for a target's candidates. */
export class CloudMapAdapter implements CloudMapPort {
  /** Service ARN → name; a service's name never changes, so this is cached for the container's life. */
  private readonly names = new Map<string, string | undefined>();

  constructor(private readonly client: ServiceDiscoveryClient) {}

  async discoverInstances(namespace: string, service: string, ctx: CallContext): Promise<CloudMapInstance[]> {
    ctx.count('cloudmap.DiscoverInstances');
    try {
      // HealthStatus ALL: Service Connect instances are always UNKNOWN, and ECS (not Cloud Map's
      // health) decides liveness; MaxResults 1000 is the API's ceiling (there is no paging).
      const out = await this.client.send(
        new DiscoverInstancesCommand({
          NamespaceName: namespace,
          ServiceName: service,
          HealthStatus: 'ALL',
          MaxResults: 1000,
        }),
      );
      return (out.Instances ?? []).flatMap((i) => (i.InstanceId ? [toInstance(i.InstanceId, i)] : []));
    } catch (error) {
      if (error instanceof Error && NOT_FOUND.has(error.name)) {
        throw new PermanentError(
          `Cloud Map has no service ${service} in namespace ${namespace} (${error.name})`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  async serviceNameByArn(arn: string, ctx: CallContext): Promise<string | undefined> {
    if (this.names.has(arn)) return this.names.get(arn);
    const id = idFromArn(arn);
    ctx.count('cloudmap.GetService');
    try {
      const out = await this.client.send(new GetServiceCommand({ Id: id }));
      this.names.set(arn, out.Service?.Name);
      return out.Service?.Name;
    } catch (error) {
      if (error instanceof Error && error.name === 'ServiceNotFound') {
        this.names.set(arn, undefined);
        return undefined;
      }
      throw error;
    }
  }
}

function toInstance(
  instanceId: string,
  i: { HealthStatus?: string | undefined; Attributes?: Record<string, string> | undefined },
): CloudMapInstance {
  const attributes = i.Attributes ?? {};
  const port = Number(attributes.AWS_INSTANCE_PORT);
  const health: CloudMapHealth =
    i.HealthStatus === 'HEALTHY' || i.HealthStatus === 'UNHEALTHY' ? i.HealthStatus : 'UNKNOWN';
  return {
    instanceId,
    health,
    attributes,
    ...(attributes.AWS_INSTANCE_IPV4 ? { ipv4: attributes.AWS_INSTANCE_IPV4 } : {}),
    ...(Number.isInteger(port) && port > 0 && port < 65536 ? { port } : {}),
  };
}
