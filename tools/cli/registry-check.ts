import type { ReconcilerConfig } from '../../functions/lib/config/config';
import { describeError } from '../../functions/lib/errors';
import { NO_COUNT } from '../../functions/lib/reconcile/ports';
import { createRegistryClient, type RegistryClientDeps } from '../../functions/lib/registry/client';
import { RegistryAuthError, RegistryUnavailableError } from '../../functions/lib/registry/http';

/**
 * Checks once, before any work, that the registry can be used with the configured credentials:
 * a token can be had (the static token's environment variable is set, or the Keycloak secret can
 * be read and Keycloak gives a token) and the registry accepts it (one list read of one server).
 * Returns one message naming what to fix, or undefined when all is well. So `plan` and
 * `replay --live` stop at once instead of failing every target one by one.
 */
export async function checkRegistry(
  registry: ReconcilerConfig['registry'],
  deps: RegistryClientDeps = {},
): Promise<string | undefined> {
  const auth = registry.auth;
  if (auth.type === 'static') {
    const value = (deps.env ?? process.env)[auth.tokenEnv]?.trim();
    if (value === undefined || value === '') {
      return `no registry token: set the environment variable ${auth.tokenEnv} to the registry's token (registry.auth.tokenEnv names it)`;
    }
  }
  const client = createRegistryClient(registry, deps);
  try {
    await client.pages().listPage('server', 0, 1, NO_COUNT);
    return undefined;
  } catch (error) {
    const why = describeError(error);
    if (auth.type === 'keycloak' && /Keycloak|secret/.test(why) && !(error instanceof RegistryAuthError)) {
      return `no registry token from Keycloak: ${why}; check registry.auth.tokenUrl and the secret ${auth.secretArn} ({"client_id","client_secret"})`;
    }
    if (error instanceof RegistryAuthError) {
      return auth.type === 'static'
        ? `the registry at ${registry.url} refuses the token in ${auth.tokenEnv}: ${why}; set ${auth.tokenEnv} to a valid registry token`
        : `the registry at ${registry.url} refuses the Keycloak token: ${why}; check registry.auth (the client of secret ${auth.secretArn} must be a registry admin)`;
    }
    if (error instanceof RegistryUnavailableError) {
      return `the registry at ${registry.url} cannot be reached: ${why}; check registry.url and that the registry is up`;
    }
    return `the registry at ${registry.url} cannot be used: ${why}; check registry.url and registry.auth`;
  }
}
