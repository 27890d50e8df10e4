/**
 * Faults on the wire: 401 refresh, retries with backoff on 5xx / dropped connections / timeouts,
 * retry exhaustion, and 4xx that must not be retried. Retries use an injected instant sleep.
 */
import { isRetryable, PermanentError, RetryableError } from '../../functions/lib/errors';
import type { CallContext } from '../../functions/lib/reconcile/ports';
import type { TokenProvider } from '../../functions/lib/registry/auth';
import { RegistryRejectedError, RegistryUnavailableError } from '../../functions/lib/registry/http';
import type { LocalRegistry } from '../../tools/local-registry';
import { clientFor, countingContext, STATIC_TOKEN, startFixtureRegistry, thrownBy } from './helpers';

let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startFixtureRegistry();
});
afterAll(() => registry.stop());
beforeEach(() => registry.reset());

const CURRENTTIME = { kind: 'server', path: '/currenttime/' } as const;
const READ_ROUTE = { path: '/api/servers/currenttime/' };
const REGISTER_ROUTE = { path: '/api/servers/register' };

/** A token provider that records how it was asked. */
function recordingTokens(): TokenProvider & { calls: { forceRefresh: boolean }[] } {
  const calls: { forceRefresh: boolean }[] = [];
  return {
    calls,
    getToken: async (_ctx: CallContext, opts?: { forceRefresh?: boolean }) => {
      calls.push({ forceRefresh: opts?.forceRefresh === true });
      return STATIC_TOKEN;
    },
  };
}

describe('401', () => {
  test('refreshes the token once and retries once, without using up an attempt', async () => {
    registry.faults.unauthorizedNext(1, { match: READ_ROUTE });
    const tokens = recordingTokens();
    const client = clientFor(registry, { tokens, maxAttempts: 1 });
    const ctx = countingContext();

    const entry = await client.readEntry(CURRENTTIME, ctx);

    expect(entry.url).toBe('http://currenttime-server:8000/');
    expect(tokens.calls).toEqual([{ forceRefresh: false }, { forceRefresh: true }]);
    expect(registry.requests().map((r) => r.status)).toEqual([401, 200]);
    expect(ctx.counts).toEqual({ 'registry.read': 2 });
    expect(client.delays).toEqual([]);
  });

  test('a second 401 is a permanent error naming the entry and the status', async () => {
    registry.faults.unauthorizedNext(5);
    const client = clientFor(registry);

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, countingContext()));

    expect(error).toBeInstanceOf(RegistryRejectedError);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as RegistryRejectedError).status).toBe(401);
    expect(error.message).toBe(
      'registry read of server /currenttime/ (GET /api/servers/currenttime/): HTTP 401 (Not authenticated): the token was rejected even after a refresh; check registry.auth',
    );
    expect(registry.requests()).toHaveLength(2);
  });
});

describe('retries', () => {
  test('5xx then success, with exponential backoff and jitter between attempts', async () => {
    registry.faults.failNext(2, { status: 503, match: READ_ROUTE });
    const client = clientFor(registry, { maxAttempts: 3, random: () => 0.5 });
    const ctx = countingContext();

    const entry = await client.readEntry(CURRENTTIME, ctx);

    expect(entry.path).toBe('/currenttime/');
    expect(registry.requests().map((r) => r.status)).toEqual([503, 503, 200]);
    // Steps of 200 and 400 ms: half fixed, half scaled by random() = 0.5.
    expect(client.delays).toEqual([150, 300]);
    expect(ctx.counts).toEqual({ 'registry.read': 3 });
  });

  test('jitter spreads the delay over the upper half of each step', async () => {
    registry.faults.failNext(2, { match: READ_ROUTE });
    const low = clientFor(registry, { random: () => 0 });
    await low.readEntry(CURRENTTIME, countingContext());
    registry.faults.failNext(2, { match: READ_ROUTE });
    const high = clientFor(registry, { random: () => 0.999 });
    await high.readEntry(CURRENTTIME, countingContext());

    expect(low.delays).toEqual([100, 200]);
    expect(high.delays).toEqual([200, 400]);
  });

  test('a dropped connection is retried', async () => {
    registry.faults.dropNext(1, { match: READ_ROUTE });
    const client = clientFor(registry);

    const entry = await client.readEntry(CURRENTTIME, countingContext());

    expect(entry.url).toBe('http://currenttime-server:8000/');
    expect(registry.requests().map((r) => r.fault ?? r.status)).toEqual(['drop', 200]);
    expect(client.delays).toHaveLength(1);
  });

  test('a failed write is retried (re-registering the same values is idempotent)', async () => {
    const client = clientFor(registry);
    const entry = await client.readEntry(CURRENTTIME, countingContext());
    registry.faults.failNext(1, { status: 502, match: REGISTER_ROUTE });
    const ctx = countingContext();

    const result = await client.writeUrl(entry, 'http://10.0.3.17:8000/', ctx);

    expect(result.confirmed).toBe(true);
    expect(ctx.counts).toEqual({ 'registry.write': 2, 'registry.readBack': 1 });
  });

  test('5xx on every attempt ends in a retryable error naming the entry and the status', async () => {
    registry.faults.failNext(10, { status: 503 });
    const client = clientFor(registry, { maxAttempts: 3 });
    const ctx = countingContext();

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, ctx));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error).toBeInstanceOf(RetryableError);
    expect(isRetryable(error)).toBe(true);
    expect((error as RegistryUnavailableError).status).toBe(503);
    expect(error.message).toBe(
      'registry read of server /currenttime/ (GET /api/servers/currenttime/) failed after 3 attempts: HTTP 503 (injected HTTP 503)',
    );
    expect(registry.requests()).toHaveLength(3);
    expect(ctx.counts).toEqual({ 'registry.read': 3 });
  });

  test('maxAttempts 1 means no retry', async () => {
    registry.faults.failNext(1, { status: 500 });
    const client = clientFor(registry, { maxAttempts: 1 });

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, countingContext()));

    expect(isRetryable(error)).toBe(true);
    expect(error.message).toContain('failed after 1 attempt: HTTP 500');
    expect(registry.requests()).toHaveLength(1);
    expect(client.delays).toEqual([]);
  });

  test('429 is retried like a 5xx', async () => {
    registry.faults.failNext(1, { status: 429, match: READ_ROUTE });
    const entry = await clientFor(registry).readEntry(CURRENTTIME, countingContext());
    expect(entry.path).toBe('/currenttime/');
    expect(registry.requests().map((r) => r.status)).toEqual([429, 200]);
  });

  test('an unreachable registry is a retryable network error', async () => {
    const gone = await startFixtureRegistry();
    await gone.stop();
    const client = clientFor(gone, { maxAttempts: 2 });

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, countingContext()));

    expect(isRetryable(error)).toBe(true);
    expect(error.message).toContain('failed after 2 attempts: network error (ECONNREFUSED)');
  });
});

describe('timeouts', () => {
  // A held answer never comes within the test (the server lets it go when it stops): a deadline
  // decides, however fast or slow the machine is.
  const HELD_MS = 600_000;

  test('a slow answer times out, and the next attempt succeeds', async () => {
    registry.faults.delayNext(1, HELD_MS, { match: READ_ROUTE });
    // Long enough for a prompt answer on a loaded machine.
    const client = clientFor(registry, { timeoutMs: 3_000 });

    const entry = await client.readEntry(CURRENTTIME, countingContext());

    expect(entry.url).toBe('http://currenttime-server:8000/');
    expect(registry.requests().map((r) => r.fault ?? 'none')).toEqual(['delay', 'none']);
    expect(client.delays).toHaveLength(1);
  });

  test('timing out on every attempt ends in a retryable error', async () => {
    registry.faults.delayNext(3, HELD_MS);
    const client = clientFor(registry, { timeoutMs: 100, maxAttempts: 3 });

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, countingContext()));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error.message).toBe(
      'registry read of server /currenttime/ (GET /api/servers/currenttime/) failed after 3 attempts: timed out after 100 ms',
    );
    // Three deadlines of 100 ms ended it: the held answers never came.
    expect(registry.requests()).toHaveLength(3);
  });
});

describe('4xx', () => {
  test('is a permanent error with the entry, the status and the registry reason, sent once', async () => {
    // A legacy auth scheme the register route refuses (its read shows it unchanged).
    registry.putServer({
      server_name: 'Legacy',
      description: 'legacy',
      path: '/legacy/',
      proxy_pass_url: 'http://legacy:8000/',
      auth_scheme: 'oauth',
    });
    const client = clientFor(registry);
    const entry = await client.readEntry({ kind: 'server', path: '/legacy/' }, countingContext());
    registry.clearRequests();
    const ctx = countingContext();

    const error = await thrownBy(() => client.writeUrl(entry, 'http://10.0.0.1:8000/', ctx));

    expect(error).toBeInstanceOf(RegistryRejectedError);
    expect(isRetryable(error)).toBe(false);
    expect((error as RegistryRejectedError).status).toBe(400);
    expect(error.message).toBe(
      "registry write of server /legacy/ (POST /api/servers/register): HTTP 400 (Invalid auth_scheme: auth_scheme must be one of: ['none', 'bearer', 'api_key'])",
    );
    expect(registry.requests().map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /api/servers/register 400',
    ]);
    expect(ctx.counts).toEqual({ 'registry.write': 1 });
    expect(client.delays).toEqual([]);
  });

  test.each([403, 409, 422])('HTTP %i is not retried', async (status) => {
    registry.faults.failNext(5, { status, match: READ_ROUTE });
    const client = clientFor(registry);

    const error = await thrownBy(() => client.readEntry(CURRENTTIME, countingContext()));

    expect(error).toBeInstanceOf(RegistryRejectedError);
    expect(error.message).toContain(`server /currenttime/`);
    expect(error.message).toContain(`HTTP ${status}`);
    expect(registry.requests()).toHaveLength(1);
  });
});
