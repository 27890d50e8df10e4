/**
 * The registry client and what it is built from. `createRegistryClient` builds it from the
 * `registry` part of the reconciler's configuration.
 */
export type { KeycloakTokenProviderOptions, SecretGetter, SecretSource, TokenProvider } from './auth';
export { KeycloakTokenProvider, StaticTokenProvider, secretSourceFromGetter } from './auth';
export { DEFAULT_MAX_RESPONSE_BYTES, readCappedText } from './body';
export {
  changedFields,
  createRegistryClient,
  createTokenProvider,
  MAX_PAGE_SIZE,
  type RegistryApi,
  RegistryClient,
  type RegistryClientDeps,
  type RegistryClientOptions,
  type RegistryConfig,
  type RegistryGeneration,
  SECURITY_PENDING_TAG,
} from './client';
export { epochMsOf, weakEtagOf } from './etag';
export {
  RegistryAuthError,
  type RegistryHttpOptions,
  RegistryPermissionError,
  RegistryRejectedError,
  RegistryResponseError,
  RegistryUnavailableError,
} from './http';
export { type RegistryLogger, SILENT_LOGGER } from './logger';
export { POLICY_REFUSAL_PREFIX, policyBlocksByDefault } from './policy';
export { agentUpdateBody, rewriteEndpoint, serverRegistrationForm } from './rewrite';
export { DEFAULT_SECRET_MAX_AGE_S, powertoolsSecretSource, type SecretsProviderLike } from './secrets';
