/**
 * Bearer tokens for the registry. nginx in front of the registry accepts only
 * `Authorization: Bearer <JWT>`: either a fixed admin token (local and test registries) or a
 * Keycloak client-credentials token. Tokens and client secrets never appear in a log line, an
 * error message or an error's cause.
 *
 * The Keycloak client secret is read from Secrets Manager (`GetSecretValue`) and kept for a while
 * (`secretsManagerSource`), so that warm Lambda invocations do not call Secrets Manager for every
 * token.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SDK_CLIENT_SETTINGS } from '../aws/clients';
import {
  isRetryable,
  PermanentError,
  ReconcilerError,
  ResponseTooLargeError,
  RetryableError,
} from '../errors';
import type { CallContext } from '../reconcile/ports';
import { type LoggerLike, SILENT_LOGGER } from '../telemetry/telemetry';
import {
  asRecord,
  DEFAULT_MAX_RESPONSE_BYTES,
  exchange,
  type HttpAnswer,
  isTimeout,
  jsonOrUndefined,
} from './http';

/** Supplies the bearer token for registry calls. */
export interface TokenProvider {
  /**
   * A token to send now. `forceRefresh` asks for a new one (after the registry answered 401).
   * Throws a `RetryableError` when a later attempt may succeed, a `PermanentError` otherwise.
   */
  getToken(ctx: CallContext, opts?: { forceRefresh?: boolean }): Promise<string>;
}

/** The registry's static admin token (`REGISTRY_API_TOKEN`), read from an environment variable. */
export class StaticTokenProvider implements TokenProvider {
  /**
   * @param tokenEnv the name of the environment variable holding the token (never the token)
   * @param env where to look it up; `process.env` by default
   */
  constructor(
    private readonly tokenEnv: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Reads the variable on every call, so a rotated value is picked up by the 401 refresh. */
  async getToken(): Promise<string> {
    const token = this.env[this.tokenEnv]?.trim();
    if (token === undefined || token === '') {
      throw new PermanentError(
        `registry token environment variable ${this.tokenEnv} is unset or empty (registry.auth.tokenEnv)`,
      );
    }
    return token;
  }
}

/**
 * Where the Keycloak client credentials come from. `read` returns the secret (a JSON string or an
 * already parsed object) and whether this call reached Secrets Manager (a cache miss), which is
 * what `secrets.GetSecretValue` counts.
 */
export interface SecretSource {
  read(secretId: string, opts: { forceFetch: boolean }): Promise<{ value: unknown; fetched: boolean }>;
}

/** A plain function that fetches a secret; every call counts as a fetch (no cache). */
export type SecretGetter = (secretId: string) => Promise<unknown>;

/** Turns a `SecretGetter` into an uncached `SecretSource`. */
export function secretSourceFromGetter(getSecret: SecretGetter): SecretSource {
  return { read: async (secretId) => ({ value: await getSecret(secretId), fetched: true }) };
}

/** How a `KeycloakTokenProvider` finds Keycloak and the client credentials. */
export interface KeycloakTokenProviderOptions {
  /** `https://…/realms/mcp-gateway/protocol/openid-connect/token`. */
  tokenUrl: string;
  /** The Secrets Manager secret holding `{"client_id","client_secret"}`. */
  secretId: string;
  secrets: SecretSource | SecretGetter;
  /** Deadline for each token request. */
  timeoutMs: number;
  logger?: LoggerLike;
  /** Clock in epoch milliseconds; tests move it to reach expiry. */
  now?: () => number;
  /** Largest token answer read (default `DEFAULT_MAX_RESPONSE_BYTES`). */
  maxResponseBytes?: number;
}

interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

interface CachedToken {
  token: string;
  /** Epoch ms after which a new token is fetched (shortly before the real expiry). */
  refreshAt: number;
}

/** Refresh this long before expiry: 10 % of the lifetime, at most 30 s (300 s tokens: 30 s). */
const MAX_REFRESH_MARGIN_MS = 30_000;
const REFRESH_MARGIN_FRACTION = 0.1;
/** Used when Keycloak omits `expires_in` (it does not, but a proxy might strip it). */
const DEFAULT_EXPIRES_IN_S = 60;

/**
 * OAuth2 client-credentials tokens from Keycloak, for the CloudFormation stack's M2M client.
 * Caches the token until shortly before `expires_in`; concurrent callers share one token request.
 * When Keycloak rejects the client credentials, the secret is read again once (it may have been
 * rotated) before giving up.
 */
export class KeycloakTokenProvider implements TokenProvider {
  private readonly secrets: SecretSource;
  private readonly logger: LoggerLike;
  private readonly now: () => number;
  private cached: CachedToken | undefined;
  private inflight: Promise<string> | undefined;

  constructor(private readonly options: KeycloakTokenProviderOptions) {
    this.secrets =
      typeof options.secrets === 'function' ? secretSourceFromGetter(options.secrets) : options.secrets;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.now = options.now ?? Date.now;
  }

  async getToken(ctx: CallContext, opts: { forceRefresh?: boolean } = {}): Promise<string> {
    if (this.inflight !== undefined) return this.inflight;
    if (opts.forceRefresh) this.cached = undefined;
    if (this.cached !== undefined && this.now() < this.cached.refreshAt) return this.cached.token;
    this.inflight = this.fetchToken(ctx).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchToken(ctx: CallContext): Promise<string> {
    let credentials = await this.credentials(ctx, false);
    let answer = await this.requestToken(credentials, ctx);
    if (answer.kind === 'rejected') {
      this.logger.warn('Keycloak rejected the client credentials; reading the secret again', {
        status: answer.status,
        error: answer.error,
      });
      credentials = await this.credentials(ctx, true);
      answer = await this.requestToken(credentials, ctx);
    }
    if (answer.kind === 'rejected') {
      throw new PermanentError(
        `Keycloak rejected the client credentials of client ${credentials.clientId} from secret ${this.options.secretId}: HTTP ${answer.status}${answer.error ? ` ${answer.error}` : ''}`,
      );
    }
    const lifetimeMs = answer.expiresInS * 1000;
    const margin = Math.min(MAX_REFRESH_MARGIN_MS, lifetimeMs * REFRESH_MARGIN_FRACTION);
    this.cached = { token: answer.token, refreshAt: this.now() + lifetimeMs - margin };
    this.logger.debug('fetched a registry token from Keycloak', { expiresInS: answer.expiresInS });
    return answer.token;
  }

  private async credentials(ctx: CallContext, forceFetch: boolean): Promise<ClientCredentials> {
    const secretId = this.options.secretId;
    let read: { value: unknown; fetched: boolean };
    try {
      read = await this.secrets.read(secretId, { forceFetch });
    } catch (error) {
      // Only the error's name and, from a SecretReadError, what to check (built from the AWS error's
      // name and code): SDK messages are safe, but a failed parse could quote the secret.
      const reason = error instanceof Error ? error.name : 'error';
      const check = error instanceof SecretReadError ? `: ${error.hint}` : '';
      const message = `cannot read secret ${secretId} (${reason})${check}`;
      throw isRetryable(error) ? new RetryableError(message) : new PermanentError(message);
    }
    if (read.fetched) ctx.count('secrets.GetSecretValue');
    return parseCredentials(read.value, secretId);
  }

  private async requestToken(
    credentials: ClientCredentials,
    ctx: CallContext,
  ): Promise<
    | { kind: 'token'; token: string; expiresInS: number }
    | { kind: 'rejected'; status: number; error?: string }
  > {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    });
    ctx.count('registry.token');
    let response: HttpAnswer;
    try {
      response = await exchange({
        method: 'POST',
        url: this.options.tokenUrl,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        timeoutMs: this.options.timeoutMs,
        maxResponseBytes: this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      });
    } catch (error) {
      if (error instanceof ResponseTooLargeError) throw error;
      const reason = isTimeout(error) ? `timed out after ${this.options.timeoutMs} ms` : 'network error';
      // No cause: an HTTP client's error can carry the request, and the request carries the secret.
      throw new RetryableError(`Keycloak token request to ${this.options.tokenUrl} failed: ${reason}`);
    }
    const body = asRecord(jsonOrUndefined(response.text));
    if (response.status === 400 || response.status === 401) {
      const error = typeof body?.error === 'string' ? body.error : undefined;
      return error === undefined
        ? { kind: 'rejected', status: response.status }
        : { kind: 'rejected', status: response.status, error };
    }
    if (response.status >= 500 || response.status === 429) {
      throw new RetryableError(
        `Keycloak token request to ${this.options.tokenUrl} failed: HTTP ${response.status}`,
      );
    }
    const token = body?.access_token;
    if (response.status !== 200 || typeof token !== 'string' || token === '') {
      throw new PermanentError(
        `Keycloak token endpoint ${this.options.tokenUrl} answered HTTP ${response.status} without an access_token`,
      );
    }
    const expiresIn = body?.expires_in;
    const expiresInS = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : DEFAULT_EXPIRES_IN_S;
    return { kind: 'token', token, expiresInS };
  }
}

function parseCredentials(value: unknown, secretId: string): ClientCredentials {
  let parsed: unknown = value;
  if (typeof value === 'string') parsed = jsonOrUndefined(value);
  else if (value instanceof Uint8Array) parsed = jsonOrUndefined(Buffer.from(value).toString('utf8'));
  const record = asRecord(parsed) ?? {};
  const clientId = record.client_id;
  const clientSecret = record.client_secret;
  if (
    typeof clientId !== 'string' ||
    clientId === '' ||
    typeof clientSecret !== 'string' ||
    clientSecret === ''
  ) {
    // Never quote the value: it is the secret.
    throw new PermanentError(
      `secret ${secretId} must be JSON with non-empty "client_id" and "client_secret"`,
    );
  }
  return { clientId, clientSecret };
}

// ---- the Keycloak client secret from Secrets Manager ----

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
