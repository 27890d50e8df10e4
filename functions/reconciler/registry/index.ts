/**
 * The registry client and what it is built from. `createRegistryClient` builds it from the
 * `registry` part of the reconciler's configuration.
 */
export type { KeycloakTokenProviderOptions, SecretGetter, SecretSource, TokenProvider } from './auth';
export { KeycloakTokenProvider, StaticTokenProvider, secretSourceFromGetter } from './auth';
export {
  changedFields,
  createRegistryClient,
  createTokenProvider,
  MAX_PAGE_SIZE,
  RegistryClient,
  type RegistryClientDeps,
  type RegistryClientOptions,
  type RegistryConfig,
} from './client';
export {
  type RegistryHttpOptions,
  RegistryRejectedError,
  RegistryResponseError,
  RegistryUnavailableError,
} from './http';
export { type RegistryLogger, SILENT_LOGGER } from './logger';
export { agentUpdateBody, rewriteEndpoint, serverRegistrationForm } from './rewrite';
export { DEFAULT_SECRET_MAX_AGE_S, powertoolsSecretSource, type SecretsProviderLike } from './secrets';
