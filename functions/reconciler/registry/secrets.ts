/**
 * Reads the Keycloak client secret through Powertools Parameters, whose cache keeps warm Lambda
 * invocations from calling Secrets Manager for every token.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretSource } from './auth';

/**
 * How long a fetched secret is reused. Tokens live about 300 s, so a shorter cache would re-read
 * the secret for nearly every token; a rotated secret is caught anyway, because Keycloak then
 * rejects the old one and the token provider forces a fresh read.
 */
export const DEFAULT_SECRET_MAX_AGE_S = 900;

/** The parts of Powertools' `SecretsProvider` this module uses (a real one, or a test double). */
export type SecretsProviderLike = Pick<SecretsProvider, 'get' | 'hasKeyExpiredInCache'>;

/**
 * A `SecretSource` over a Powertools `SecretsProvider`. The value is fetched untransformed (we
 * parse it ourselves so that a parse error can never quote the secret), and a call counts as a
 * fetch when Powertools' cache had no live entry for it.
 */
export function powertoolsSecretSource(
  options: { provider?: SecretsProviderLike; maxAgeSeconds?: number } = {},
): SecretSource {
  const provider = options.provider ?? new SecretsProvider();
  const maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_S;
  return {
    async read(secretId, { forceFetch }) {
      // Powertools keys its cache by `[name, transform].toString()`; with no transform that is `name,`.
      const fetched = forceFetch || provider.hasKeyExpiredInCache([secretId, undefined].toString());
      const value = await provider.get(secretId, { maxAge, forceFetch });
      return { value, fetched };
    },
  };
}
