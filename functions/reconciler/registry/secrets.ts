/**
 * Reads the Keycloak client secret from Secrets Manager (`GetSecretValue`), keeping it for a while
 * so that warm Lambda invocations do not call Secrets Manager for every token.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SDK_CLIENT_SETTINGS } from '../aws/clients';
import { isRetryable, ReconcilerError } from '../errors';
import type { SecretSource } from './auth';

/**
 * How long a fetched secret is reused. Tokens live about 300 s, so a shorter cache would re-read
 * the secret for nearly every token; a rotated secret is caught anyway, because Keycloak then
 * rejects the old one and the token provider forces a fresh read.
 */
export const DEFAULT_SECRET_MAX_AGE_S = 900;

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

/** Turns what the SDK threw into a `SecretReadError`. */
export function secretReadError(secretId: string, cause: unknown): SecretReadError {
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

/** The one call this module makes (an `SecretsManagerClient`, or a test double). */
export type SecretsClientLike = Pick<SecretsManagerClient, 'send'>;

/**
 * A `SecretSource` over Secrets Manager. A value is reused for `maxAgeSeconds` after it was read
 * (per container); `forceFetch` reads it again at once (Keycloak refused the cached one: the
 * secret was rotated). The value is returned as stored (`SecretString`, or the bytes of
 * `SecretBinary`): the caller parses it, so that a parse error can never quote the secret. A
 * failed read throws `SecretReadError`; a secret with no value is one too.
 */
export function secretsManagerSource(
  options: { client?: SecretsClientLike; maxAgeSeconds?: number; now?: () => number } = {},
): SecretSource {
  const client = options.client ?? new SecretsManagerClient(SDK_CLIENT_SETTINGS);
  const maxAgeMs = (options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_S) * 1000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { value: string | Uint8Array; readAt: number }>();
  return {
    async read(secretId, { forceFetch }) {
      const kept = cache.get(secretId);
      if (!forceFetch && kept !== undefined && now() - kept.readAt < maxAgeMs)
        return { value: kept.value, fetched: false };
      let value: string | Uint8Array | undefined;
      try {
        const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
        value = out.SecretString ?? out.SecretBinary;
      } catch (error) {
        throw secretReadError(secretId, error);
      }
      if (value === undefined)
        throw new SecretReadError(
          secretId,
          'EmptySecret',
          'the secret has no SecretString or SecretBinary: store {"client_id","client_secret"} in it',
          { retryable: false },
        );
      cache.set(secretId, { value, readAt: now() });
      return { value, fetched: true };
    },
  };
}
