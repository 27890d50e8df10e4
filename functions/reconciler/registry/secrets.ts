/**
 * Reads the Keycloak client secret through Powertools Parameters, whose cache keeps warm Lambda
 * invocations from calling Secrets Manager for every token.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { isRetryable, ReconcilerError } from '../errors';
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
 * A secret could not be read. `name` is the AWS error's own (`AccessDeniedException`,
 * `ResourceNotFoundException`, `DecryptionFailure`, `NetworkError`, …) so that a caller printing
 * only the name still says which failure it was; the message says what to check. Neither ever
 * holds the secret's value: it is built from the error's name and code only.
 */
export class SecretReadError extends ReconcilerError {
  constructor(
    readonly secretId: string,
    readonly awsError: string,
    /** What to check; never holds the secret's value. */
    readonly hint: string,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(`cannot read secret ${secretId}: ${awsError}: ${hint}`, options);
    this.name = awsError;
  }
}

/** What to check for each Secrets Manager error, by the SDK error's name. */
const HINTS: Record<string, string> = {
  AccessDeniedException:
    "the caller may not read it: allow secretsmanager:GetSecretValue on this secret in the IAM role (and check the secret's resource policy)",
  ResourceNotFoundException:
    'no such secret in this account and region: check registry.auth.secretArn and the region (AWS_REGION)',
  DecryptionFailure:
    'Secrets Manager could not decrypt it with its KMS key: allow kms:Decrypt on that key for the caller and check the key policy',
  InvalidRequestException:
    'the secret cannot be read now (it may be scheduled for deletion): restore it or point registry.auth.secretArn at another',
  InvalidParameterException:
    'the request was refused: check that registry.auth.secretArn is a complete secret ARN',
  InternalServiceError: 'Secrets Manager failed; a retry may succeed',
  ThrottlingException: 'Secrets Manager throttled the call; a retry may succeed',
  CredentialsProviderError:
    'no AWS credentials were found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the Lambda uses its role)',
  UnrecognizedClientException: 'the AWS credentials are not valid for this account: check them',
  ExpiredTokenException: 'the AWS credentials have expired: refresh them',
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Turns whatever Powertools threw (a `GetParameterError` wrapping the SDK error) into a `SecretReadError`. */
export function secretReadError(secretId: string, error: unknown): SecretReadError {
  const cause =
    (error as { name?: string; cause?: unknown } | null)?.name === 'GetParameterError'
      ? ((error as { cause?: unknown }).cause ?? error)
      : error;
  const e = (typeof cause === 'object' && cause !== null ? cause : {}) as { name?: unknown; code?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = typeof e.code === 'string' ? e.code : undefined;
  const retryable = isRetryable(cause);
  const hint = HINTS[name];
  if (hint !== undefined) return new SecretReadError(secretId, name, hint, { retryable, cause });
  if ((code !== undefined && NETWORK_CODES.has(code)) || name === 'TimeoutError' || name === 'AbortError') {
    return new SecretReadError(
      secretId,
      'NetworkError',
      `Secrets Manager could not be reached (${code ?? name}): check the network path (NAT or a VPC endpoint for secretsmanager) and any AWS_ENDPOINT_URL setting`,
      { retryable: true, cause },
    );
  }
  return new SecretReadError(
    secretId,
    name,
    "see the AWS error name; check the secret ARN, the region and the caller's permissions",
    {
      retryable,
      cause,
    },
  );
}

/**
 * A `SecretSource` over a Powertools `SecretsProvider`. The value is fetched untransformed (we
 * parse it ourselves so that a parse error can never quote the secret), and a call counts as a
 * fetch when Powertools' cache had no live entry for it. A failed read throws `SecretReadError`.
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
      let value: unknown;
      try {
        value = await provider.get(secretId, { maxAge, forceFetch });
      } catch (error) {
        throw secretReadError(secretId, error);
      }
      return { value, fetched };
    },
  };
}
