import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import type { ReconcilerConfig } from '../config/config';
import { Follower } from '../follow/follower';
import type { OwnershipPort } from '../follow/ownership';
import { SDK_CLIENT_SETTINGS } from './clients';
import { CloudMapAdapter } from './cloudmap';
import { EcsAdapter } from './ecs';
import { FollowWorldAdapter } from './follow-world';
import { OwnershipTable } from './ownership-table';

/** How long follow mode keeps a name's world (its Cloud Map and ECS services) and an ECS service's ownership rows. */
export const FOLLOW_CACHE_TTL_MS = 30_000;

/**
 * Follow mode's AWS side, or undefined when it is off: the ownership table (DynamoDB; the SDK
 * honours `AWS_ENDPOINT_URL_DYNAMODB`) and the adopter reading Cloud Map and ECS, through the
 * function's own Cloud Map and ECS adapters when given (`aws`: one client of each per container),
 * else through clients of its own.
 */
export function createFollowAws(
  config: ReconcilerConfig,
  options: {
    now?: () => number;
    env?: NodeJS.ProcessEnv;
    maxAttempts?: number;
    aws?: { cloudMap: CloudMapAdapter; ecs: EcsAdapter };
  } = {},
): { ownership: OwnershipPort; follower: Follower } | undefined {
  if (!config.follow.enabled || config.ownership === undefined) return undefined;
  const env = options.env ?? process.env;
  const settings = {
    ...SDK_CLIENT_SETTINGS,
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  };
  const ownership = new OwnershipTable(new DynamoDBClient(settings), config.ownership.table);
  const aws = options.aws ?? {
    cloudMap: new CloudMapAdapter(
      new ServiceDiscoveryClient({
        ...settings,
        disableHostPrefix: Boolean(env.AWS_ENDPOINT_URL_SERVICEDISCOVERY || env.AWS_ENDPOINT_URL),
      }),
    ),
    ecs: new EcsAdapter(new ECSClient(settings)),
  };
  const world = new FollowWorldAdapter(aws.cloudMap, aws.ecs, config.cluster, config.namespace);
  const follower = new Follower({
    config,
    ownership,
    world,
    now: options.now ?? Date.now,
    ttlMs: FOLLOW_CACHE_TTL_MS,
  });
  return { ownership, follower };
}
