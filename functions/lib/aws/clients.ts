import { ECSClient } from '@aws-sdk/client-ecs';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { CloudMapAdapter } from './cloudmap';
import { EcsAdapter } from './ecs';

/** SDK settings shared by every client: standard retries, and timeouts that really abort a call. */
export const SDK_CLIENT_SETTINGS = {
  maxAttempts: 3,
  retryMode: 'standard',
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
} as const;

/**
 * Builds the Cloud Map and ECS adapters with SDK clients. Endpoints come from the standard
 * environment (`AWS_ENDPOINT_URL_SERVICEDISCOVERY`, `AWS_ENDPOINT_URL_ECS`, `AWS_ENDPOINT_URL`), which
 * is how tests and `replay --live` reach moto_server. `DiscoverInstances` is a data-plane call with a
 * `data-` host prefix: with a custom endpoint that prefix must be off, or the SDK calls `data-<host>`.
 */
export function createAwsAdapters(env: NodeJS.ProcessEnv = process.env): {
  cloudMap: CloudMapAdapter;
  ecs: EcsAdapter;
} {
  const customCloudMapEndpoint = Boolean(env.AWS_ENDPOINT_URL_SERVICEDISCOVERY || env.AWS_ENDPOINT_URL);
  const cloudMap = new ServiceDiscoveryClient({
    ...SDK_CLIENT_SETTINGS,
    disableHostPrefix: customCloudMapEndpoint,
  });
  const ecs = new ECSClient({ ...SDK_CLIENT_SETTINGS });
  return { cloudMap: new CloudMapAdapter(cloudMap), ecs: new EcsAdapter(ecs) };
}
