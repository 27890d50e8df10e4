/**
 * Authentication: the static token from an environment variable, and the Keycloak
 * client-credentials flow against the local registry's fake token endpoint with an injected
 * secret source (and the Secrets Manager source over a mocked SDK client). Also checks that no
 * secret or token reaches a log line or an error.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { isRetryable, PermanentError } from '../../functions/lib/errors';
import {
  KeycloakTokenProvider,
  type SecretGetter,
  StaticTokenProvider,
  secretsManagerSource,
} from '../../functions/lib/registry/auth';
import { createRegistryClient, type RegistryConfig } from '../../functions/lib/registry/client';
import type { LoggerLike } from '../../functions/lib/telemetry/telemetry';
import type { LocalRegistry } from '../../tools/local-registry';
import {
  capturingLogger,
  countingContext,
  errorText,
  instantSleep,
  STATIC_TOKEN,
  startFixtureRegistry,
  thrownBy,
} from './helpers';

const CLIENT_ID = 'mcp-gateway-m2m';
const CLIENT_SECRET = 'kc-secret-Zq81-do-not-log';
const SECRET_ARN =
  'arn:aws:secretsmanager:us-west-2:123456789012:secret:mcp-gateway-keycloak-m2m-client-secret-AbCdEf';
const SECRET_JSON = JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
const CURRENTTIME = { kind: 'server', path: '/currenttime/' } as const;

// Compile-time check: the Lambda passes a Powertools Logger where a LoggerLike is expected.
const powertoolsLogger: LoggerLike = new Logger({ serviceName: 'registry-test' });
void powertoolsLogger;

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startFixtureRegistry({ clients: { [CLIENT_ID]: CLIENT_SECRET }, tokenTtlSeconds: 300 });
});
afterAll(() => registry.stop());
beforeEach(() => registry.reset());

function keycloakConfig(overrides: Partial<RegistryConfig> = {}): RegistryConfig {
  return {
    url: registry.url,
    auth: { type: 'keycloak', tokenUrl: registry.tokenUrl, secretArn: SECRET_ARN },
    // A guard against a hung request, not a speed limit.
    timeoutMs: 30_000,
    maxAttempts: 3,
    reenableAfterWrite: false,
    ...overrides,
  };
}

/** A secret getter that counts its calls and can be switched to other values. */
function secretGetter(values: string[] = [SECRET_JSON]): SecretGetter & { calls: string[] } {
  const calls: string[] = [];
  return Object.assign(
    async (id: string) => {
      calls.push(id);
      return values[Math.min(calls.length, values.length) - 1];
    },
    { calls },
  );
}

/** A clock the test moves. */
function manualClock(start = 1_700_000_000_000): (() => number) & { advance(ms: number): void } {
  let now = start;
  return Object.assign(() => now, {
    advance: (ms: number) => {
      now += ms;
    },
  });
}

function tokenRequests(): number {
  return registry.requests().filter((r) => r.path.startsWith('/realms/')).length;
}

describe('static token', () => {
  test('is read from the named environment variable and sent as a bearer token', async () => {
    const client = createRegistryClient(
      { ...keycloakConfig(), auth: { type: 'static', tokenEnv: 'REG_TOKEN' } },
      { env: { REG_TOKEN: ` ${STATIC_TOKEN}\n` } },
    );
    const ctx = countingContext();

    const entry = await client.readEntry(CURRENTTIME, ctx);

    expect(entry.path).toBe('/currenttime/');
    expect(registry.requests().map((r) => r.auth)).toEqual(['static']);
    expect(ctx.counts).toEqual({ 'registry.read': 1 });
  });

  test.each([
    ['unset', {}],
    ['empty', { REG_TOKEN: '  ' }],
  ])('%s variable: a permanent error naming the variable, before any request', async (_name, env) => {
    const client = createRegistryClient(
      { ...keycloakConfig(), auth: { type: 'static', tokenEnv: 'REG_TOKEN' } },
      { env },
    );

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, countingContext()));

    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toBe(
      'registry token environment variable REG_TOKEN is unset or empty (registry.auth.tokenEnv)',
    );
    expect(registry.requests()).toEqual([]);
  });

  test('a wrong token: 401, one refresh (re-reading the variable), then a permanent error', async () => {
    const provider = new StaticTokenProvider('REG_TOKEN', { REG_TOKEN: 'not-the-token' });
    const client = createRegistryClient(keycloakConfig(), { tokens: provider, sleep: instantSleep() });

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, countingContext()));

    expect(error.message).toContain('HTTP 401');
    expect(registry.requests().map((r) => `${r.auth} ${r.status}`)).toEqual(['invalid 401', 'invalid 401']);
  });
});

describe('Keycloak client credentials', () => {
  test('fetches the secret and a token once, then reuses the token across calls', async () => {
    const secrets = secretGetter();
    const client = createRegistryClient(keycloakConfig(), { secrets, now: manualClock() });
    const ctx = countingContext();

    await client.readEntry(CURRENTTIME, ctx);
    await client.readEntry({ kind: 'agent', path: '/flight-booking-agent' }, ctx);
    await client.readEntry(CURRENTTIME, ctx);

    expect(ctx.counts).toEqual({ 'secrets.GetSecretValue': 1, 'registry.token': 1, 'registry.read': 3 });
    expect(secrets.calls).toEqual([SECRET_ARN]);
    const token = registry.requests().find((r) => r.path.startsWith('/realms/'));
    expect(token?.form).toEqual({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      client_secret: '[redacted]',
    });
    expect(
      registry
        .requests()
        .filter((r) => r.path.startsWith('/api/'))
        .map((r) => r.auth),
    ).toEqual(['keycloak', 'keycloak', 'keycloak']);
  });

  test('refreshes shortly before expires_in (300 s token: 30 s early)', async () => {
    const clock = manualClock();
    const client = createRegistryClient(keycloakConfig(), { secrets: secretGetter(), now: clock });
    const ctx = countingContext();

    await client.readEntry(CURRENTTIME, ctx);
    clock.advance(269_000);
    await client.readEntry(CURRENTTIME, ctx);
    expect(ctx.counts['registry.token']).toBe(1);
    clock.advance(2_000);
    await client.readEntry(CURRENTTIME, ctx);

    expect(ctx.counts['registry.token']).toBe(2);
    expect(tokenRequests()).toBe(2);
  });

  test('short-lived tokens refresh 10 % early', async () => {
    const short = await startFixtureRegistry({
      clients: { [CLIENT_ID]: CLIENT_SECRET },
      tokenTtlSeconds: 60,
    });
    try {
      const clock = manualClock();
      const client = createRegistryClient(
        {
          ...keycloakConfig(),
          url: short.url,
          auth: { type: 'keycloak', tokenUrl: short.tokenUrl, secretArn: SECRET_ARN },
        },
        { secrets: secretGetter(), now: clock },
      );
      const ctx = countingContext();
      await client.readEntry(CURRENTTIME, ctx);
      clock.advance(53_000);
      await client.readEntry(CURRENTTIME, ctx);
      expect(ctx.counts['registry.token']).toBe(1);
      clock.advance(2_000);
      await client.readEntry(CURRENTTIME, ctx);
      expect(ctx.counts['registry.token']).toBe(2);
    } finally {
      await short.stop();
    }
  });

  test('a token the registry no longer accepts: 401, one new token, then success', async () => {
    const client = createRegistryClient(keycloakConfig(), { secrets: secretGetter(), now: manualClock() });
    const ctx = countingContext();
    await client.readEntry(CURRENTTIME, ctx);
    registry.expireTokens();
    registry.clearRequests();

    const entry = await client.readEntry(CURRENTTIME, ctx);

    expect(entry.path).toBe('/currenttime/');
    expect(registry.requests().map((r) => `${r.method} ${r.path} ${r.auth} ${r.status}`)).toEqual([
      'GET /api/servers/currenttime/ expired 401',
      'POST /realms/mcp-gateway/protocol/openid-connect/token none 200',
      'GET /api/servers/currenttime/ keycloak 200',
    ]);
    // A plain getter has no cache, so the new token reads the secret again (Powertools caches: see below).
    expect(ctx.counts).toEqual({ 'secrets.GetSecretValue': 2, 'registry.token': 2, 'registry.read': 3 });
  });

  test('rejected credentials: the secret is read again once (rotation), then a permanent error', async () => {
    const secrets = secretGetter([
      JSON.stringify({ client_id: CLIENT_ID, client_secret: 'stale-secret-value' }),
    ]);
    const logger = capturingLogger();
    const client = createRegistryClient(keycloakConfig(), { secrets, logger, now: manualClock() });
    const ctx = countingContext();

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, ctx));

    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toBe(
      `Keycloak rejected the client credentials of client ${CLIENT_ID} from secret ${SECRET_ARN}: HTTP 401 invalid_client`,
    );
    expect(ctx.counts).toEqual({ 'secrets.GetSecretValue': 2, 'registry.token': 2 });
    expect(registry.requests().filter((r) => r.path.startsWith('/api/'))).toEqual([]);
    expect(errorText(error) + logger.text()).not.toContain('stale-secret-value');
  });

  test('a rotated secret is picked up by the second read', async () => {
    const secrets = secretGetter([
      JSON.stringify({ client_id: CLIENT_ID, client_secret: 'old' }),
      SECRET_JSON,
    ]);
    const client = createRegistryClient(keycloakConfig(), { secrets, now: manualClock() });
    const ctx = countingContext();

    const entry = await client.readEntry(CURRENTTIME, ctx);

    expect(entry.path).toBe('/currenttime/');
    expect(ctx.counts).toEqual({ 'secrets.GetSecretValue': 2, 'registry.token': 2, 'registry.read': 1 });
  });

  test('a secret without client_id/client_secret is a permanent error that does not quote it', async () => {
    const client = createRegistryClient(keycloakConfig(), {
      secrets: secretGetter(['{"client_secret":"lonely-secret"}']),
    });
    const error = await thrownBy(() => client.readEntry(CURRENTTIME, countingContext()));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toBe(
      `secret ${SECRET_ARN} must be JSON with non-empty "client_id" and "client_secret"`,
    );
    expect(errorText(error)).not.toContain('lonely-secret');
  });

  test('Keycloak down: retryable, retried with the registry call, then RetryableError', async () => {
    registry.faults.failNext(10, { status: 503, match: { path: '/realms/' } });
    const client = createRegistryClient(keycloakConfig(), { secrets: secretGetter(), sleep: instantSleep() });
    const ctx = countingContext();

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, ctx));

    expect(isRetryable(error)).toBe(true);
    expect(error.message).toContain(
      `failed after 3 attempts: Keycloak token request to ${registry.tokenUrl} failed: HTTP 503`,
    );
    expect(ctx.counts['registry.token']).toBe(3);
    expect(ctx.counts['registry.read']).toBeUndefined();
  });

  test('concurrent calls share one token request', async () => {
    const provider = new KeycloakTokenProvider({
      tokenUrl: registry.tokenUrl,
      secretId: SECRET_ARN,
      secrets: secretGetter(),
      timeoutMs: 30_000,
    });
    const ctx = countingContext();

    const tokens = await Promise.all([
      provider.getToken(ctx),
      provider.getToken(ctx),
      provider.getToken(ctx),
    ]);

    expect(new Set(tokens).size).toBe(1);
    expect(ctx.counts).toEqual({ 'secrets.GetSecretValue': 1, 'registry.token': 1 });
  });
});

describe('Secrets Manager source', () => {
  const sdk = mockClient(SecretsManagerClient);

  beforeEach(() => {
    sdk.reset();
    sdk.on(GetSecretValueCommand).resolves({ SecretString: SECRET_JSON });
  });

  test('cache hits are not counted as GetSecretValue; misses, expired and forced reads are', async () => {
    const clock = manualClock();
    const source = secretsManagerSource({
      client: new SecretsManagerClient({ region: 'us-west-2' }),
      maxAgeSeconds: 900,
      now: clock,
    });

    const first = await source.read(SECRET_ARN, { forceFetch: false });
    clock.advance(899_000);
    const second = await source.read(SECRET_ARN, { forceFetch: false });
    const forced = await source.read(SECRET_ARN, { forceFetch: true });
    clock.advance(900_000);
    const expired = await source.read(SECRET_ARN, { forceFetch: false });

    expect([first.fetched, second.fetched, forced.fetched, expired.fetched]).toEqual([
      true,
      false,
      true,
      true,
    ]);
    expect(first.value).toBe(SECRET_JSON);
    expect(sdk.commandCalls(GetSecretValueCommand)).toHaveLength(3);
    expect(sdk.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: SECRET_ARN });
  });

  test('a binary secret is returned as its bytes; a secret with no value is a clear error', async () => {
    const bytes = new TextEncoder().encode(SECRET_JSON);
    sdk.on(GetSecretValueCommand).resolvesOnce({ SecretBinary: bytes }).resolvesOnce({});
    const source = secretsManagerSource({ client: new SecretsManagerClient({ region: 'us-west-2' }) });

    expect((await source.read(SECRET_ARN, { forceFetch: true })).value).toEqual(bytes);
    const error = await thrownBy(() => source.read(SECRET_ARN, { forceFetch: true }));
    expect(error.name).toBe('EmptySecret');
    expect(error.message).toContain(
      `cannot read secret ${SECRET_ARN}: EmptySecret: the secret has no SecretString`,
    );
    expect(isRetryable(error)).toBe(false);
  });

  test('drives the Keycloak flow end to end; the count matches the SDK calls made', async () => {
    const clock = manualClock();
    const client = createRegistryClient(keycloakConfig(), {
      secrets: secretsManagerSource({ client: new SecretsManagerClient({ region: 'us-west-2' }) }),
      now: clock,
    });
    const ctx = countingContext();

    await client.readEntry(CURRENTTIME, ctx);
    clock.advance(280_000);
    await client.readEntry(CURRENTTIME, ctx);

    expect(ctx.counts).toEqual({ 'secrets.GetSecretValue': 1, 'registry.token': 2, 'registry.read': 2 });
    expect(sdk.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  test('an SDK failure is reported by name only, retryable when the SDK says so', async () => {
    sdk
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const client = createRegistryClient(keycloakConfig({ maxAttempts: 1 }), {
      secrets: secretsManagerSource({ client: new SecretsManagerClient({ region: 'us-west-2' }) }),
    });

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, countingContext()));

    expect(isRetryable(error)).toBe(true);
    expect(error.message).toContain(`cannot read secret ${SECRET_ARN} (ThrottlingException)`);
  });
});

describe('no secret or token in logs or errors', () => {
  test('across success, refresh and failure paths, at debug level', async () => {
    const logger = capturingLogger();
    const clock = manualClock();
    const provider = new KeycloakTokenProvider({
      tokenUrl: registry.tokenUrl,
      secretId: SECRET_ARN,
      secrets: secretGetter(),
      timeoutMs: 10_000,
      logger,
      now: clock,
    });
    const client = createRegistryClient(keycloakConfig({ timeoutMs: 2_000 }), {
      tokens: provider,
      logger,
      sleep: instantSleep(),
    });
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    };
    const tokensSeen = new Set<string>();
    const ctx = countingContext();

    await attempt(() => client.readEntry(CURRENTTIME, ctx));
    tokensSeen.add(await provider.getToken(ctx));
    registry.expireTokens();
    await attempt(async () => {
      const entry = await client.readEntry(CURRENTTIME, ctx);
      await client.writeUrl(entry, 'http://10.0.3.17:8000/', ctx);
    });
    tokensSeen.add(await provider.getToken(ctx));
    registry.faults.unauthorizedNext(10);
    await attempt(() => client.readEntry(CURRENTTIME, ctx));
    registry.faults.clear();
    registry.faults.failNext(10, { status: 500 });
    await attempt(() => client.readEntry(CURRENTTIME, ctx));
    registry.faults.clear();
    // Held answers: the deadline path, whatever the machine's speed.
    registry.faults.delayNext(10, 600_000);
    await attempt(() => client.readEntry(CURRENTTIME, ctx));
    registry.faults.clear();
    clock.advance(600_000);
    registry.faults.failNext(10, { status: 502, match: { path: '/realms/' } });
    await attempt(() => client.readEntry(CURRENTTIME, ctx));
    registry.faults.clear();
    await attempt(() => client.readEntry({ kind: 'server', path: '/missing/' }, ctx));
    tokensSeen.add(await provider.getToken(ctx));

    expect(errors.length).toBeGreaterThanOrEqual(5);
    expect(tokensSeen.size).toBeGreaterThanOrEqual(2);
    expect(logger.lines.length).toBeGreaterThan(5);
    const everything = logger.text() + errors.map(errorText).join('\n');
    for (const secret of [CLIENT_SECRET, STATIC_TOKEN, ...tokensSeen]) {
      expect(everything).not.toContain(secret);
    }
    // No JWT-looking string at all.
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });
});
