import type { ReconcilerConfig } from '../config/config';
import type { CloudMapAdapter } from './cloudmap';
import type { EcsAdapter } from './ecs';
import { createFollowAws } from './follow';

/**
 * Follow mode's AWS side (createFollowAws), or undefined when it is off.
 *
 * The construct bundles each function for its configuration and replaces
 * `process.env.RECONCILER_FOLLOW_BUNDLED` with `"true"` or `"false"` (esbuild `define`:
 * `followDefine` in infra/bundling.ts). With follow mode off the branch that builds it is dead
 * code, so the DynamoDB client and the adopter are left out of the bundle and never loaded. A
 * bundle built without follow mode refuses a configuration that enables it, at cold start, saying
 * what to do. Run from the sources (tools, tests) the variable is unset: follow mode is there.
 * `aws`: the function's Cloud Map and ECS adapters, which the adopter then shares.
 */
export function createFollowAwsIfBundled(
  config: ReconcilerConfig,
  aws?: { cloudMap: CloudMapAdapter; ecs: EcsAdapter },
): ReturnType<typeof createFollowAws> {
  // Written out as a member expression: esbuild's `define` replaces exactly this text.
  return process.env.RECONCILER_FOLLOW_BUNDLED === 'false'
    ? withoutFollow(config)
    : createFollowAws(config, aws === undefined ? {} : { aws });
}

function withoutFollow(config: ReconcilerConfig): undefined {
  if (config.follow.enabled)
    throw new Error(
      'follow.enabled is true but this function was bundled without follow mode (for a configuration with follow off): deploy the configuration through the construct, which bundles follow mode in when the configuration enables it',
    );
  return undefined;
}
