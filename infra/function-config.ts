/**
 * The configuration the function reads from `RECONCILER_CONFIG`, built from the props. The
 * function's parser (functions/reconciler/config.ts) owns its shape and defaults.
 */
import type { TargetInput } from '../functions/reconciler/config';
import {
  DEFAULT_CLUSTER,
  DEFAULT_NAMESPACE,
  DEFAULT_REGISTRY_SERVICE,
  DEFAULT_TARGETS,
  STATIC_TOKEN_ENV,
} from './defaults';
import { followConfigInput } from './ownership-table';
import type { ReconcilerTarget, RegistryReconcilerProps } from './props';
import type { Assert, Same } from './type-checks';

/**
 * `ReconcilerTarget` documents a target for construct users; it must stay the configuration's
 * target as written (`TargetInput`: its defaults optional). Either side changing alone fails `npm run typecheck` here.
 */
export type TargetShapeMatchesConfig = Assert<Same<ReconcilerTarget, Readonly<TargetInput>>>;

/**
 * The configuration object the function reads from `RECONCILER_CONFIG`, built from the props with
 * the construct's defaults. Only what is set is written: the function fills in its own defaults.
 */
export function buildConfigInput(props: RegistryReconcilerProps): Record<string, unknown> {
  const auth =
    props.auth.type === 'keycloak'
      ? { type: 'keycloak', tokenUrl: props.auth.tokenUrl, secretArn: props.auth.secretArn }
      : { type: 'static', tokenEnv: STATIC_TOKEN_ENV };
  const registry: Record<string, unknown> = { url: props.registryUrl, auth };
  if (props.registryTimeout !== undefined) registry.timeoutMs = props.registryTimeout.toMilliseconds();
  if (props.registryMaxAttempts !== undefined) registry.maxAttempts = props.registryMaxAttempts;
  if (props.reenableAfterWrite !== undefined) registry.reenableAfterWrite = props.reenableAfterWrite;

  const config: Record<string, unknown> = {
    cluster: props.cluster ?? DEFAULT_CLUSTER,
    namespace: props.namespace ?? DEFAULT_NAMESPACE,
    registryService: props.registryService ?? DEFAULT_REGISTRY_SERVICE,
    registry,
    targets: (props.targets ?? DEFAULT_TARGETS).map((t) => ({ ...t })),
    dryRun: props.dryRun ?? false,
  };
  if (props.lagRetry !== undefined) {
    const lagRetry: Record<string, number> = {};
    if (props.lagRetry.attempts !== undefined) lagRetry.attempts = props.lagRetry.attempts;
    if (props.lagRetry.delay !== undefined) lagRetry.delayMs = props.lagRetry.delay.toMilliseconds();
    config.lagRetry = lagRetry;
  }
  if (props.resyncFullCheck !== undefined) config.resyncFullCheckMinutes = props.resyncFullCheck.toMinutes();
  Object.assign(config, followConfigInput(props.follow));
  return config;
}
