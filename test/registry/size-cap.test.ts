/**
 * Every body the client reads is read as a stream under a cap: a 200 MB answer from the registry or
 * the token endpoint is cut at the cap with a non-retryable error naming the path and the cap, and
 * the process does not buffer it.
 */
import { ResponseTooLargeError } from '../../functions/lib/errors';
import { KeycloakTokenProvider } from '../../functions/lib/registry/auth';
import { type LocalRegistry, TOKEN_PATH } from '../../tools/local-registry';
import { clientFor, countingContext, requestLines, startFixtureRegistry, thrownBy } from './helpers';

const HUGE = 200 * 1024 * 1024;
const CAP = 1024 * 1024;

describe('response size cap', () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await startFixtureRegistry({ clients: { m2m: 'secret' } });
  });
  afterAll(() => registry.stop());
  beforeEach(() => registry.reset());

  test('a 200 MB registry answer stops at the cap, once, without buffering it', async () => {
    registry.faults.hugeBodyNext(5, HUGE);
    const client = clientFor(registry, { maxResponseBytes: CAP });
    global.gc?.();
    const before = process.memoryUsage();

    const error = await thrownBy(() =>
      client.readEntry({ kind: 'server', path: '/currenttime/' }, countingContext()),
    );

    const after = process.memoryUsage();
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect((error as ResponseTooLargeError).retryable).toBe(false);
    expect(error.message).toContain('/api/servers/currenttime/');
    expect(error.message).toContain(`${CAP}-byte cap`);
    // Not retried: a retry would read the same hostile body.
    expect(requestLines(registry)).toEqual(['GET /api/servers/currenttime/']);
    // Far less than the body: at most the cap plus stream buffers and test noise.
    const grown = after.rss + after.arrayBuffers - (before.rss + before.arrayBuffers);
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });

  test('the token endpoint’s answer is capped too', async () => {
    registry.faults.hugeBodyNext(1, HUGE, { match: { path: TOKEN_PATH } });
    const tokens = new KeycloakTokenProvider({
      tokenUrl: registry.tokenUrl,
      secretId: 'm2m',
      secrets: async () => ({ client_id: 'm2m', client_secret: 'secret' }),
      timeoutMs: 5_000,
      maxResponseBytes: CAP,
    });
    const error = await thrownBy(() => tokens.getToken(countingContext()));
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error.message).toContain(TOKEN_PATH);
  });

  test('an announced content-length over the cap is refused before reading', async () => {
    // A real answer that is simply larger than a tiny cap: the list of every server.
    const client = clientFor(registry, { maxResponseBytes: 1024 });
    const error = await thrownBy(() =>
      client.readEntry({ kind: 'server', path: '/realserverfaketools/' }, countingContext()),
    );
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error.message).toContain('1024-byte cap');
  });
});
