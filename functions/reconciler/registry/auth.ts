/**
 * Bearer tokens for the registry. nginx in front of the registry accepts only
 * `Authorization: Bearer <JWT>`: either a fixed admin token (local and test registries) or a
 * Keycloak client-credentials token. Tokens and client secrets never appear in a log line, an
 * error message or an error's cause.
 */
import { isRetryable, PermanentError, ResponseTooLargeError, RetryableError } from '../errors';
import type { CallContext } from '../ports';
import { type LoggerLike, SILENT_LOGGER } from '../telemetry';
import { asRecord, jsonOrUndefined } from './json';
import { SecretReadError } from './secrets';
import { DEFAULT_MAX_RESPONSE_BYTES, exchange, type HttpAnswer, isTimeout } from './transport';

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
