import type { ApiName, CallContext } from '../../functions/lib/reconcile/ports';
import { StaticTokenProvider } from '../../functions/lib/registry/auth';
import { RegistryHttp } from '../../functions/lib/registry/http';
import { listPaths, RegistryPageReader } from '../../functions/lib/registry/list';
import { GENERATIONS, type LocalRegistry, startLocalRegistry } from '../../tools/local-registry';

/** The fan-out's paged list read, over real HTTP against the local registry in both generations. */
const TOKEN = 'list-test-token-91c2';
const ENV = 'LIST_TEST_REGISTRY_TOKEN';

function server(i: number, enabled = true) {
  return {
    record: {
      server_name: `svc ${i}`,
      path: `/svc${String(i).padStart(3, '0')}/`,
      proxy_pass_url: `http://10.0.${Math.floor(i / 200)}.${(i % 200) + 1}:8000/`,
      description: 'x',
      tags: enabled ? [] : ['security-pending'],
      num_tools: 0,
      license: 'N/A',
    },
    enabled,
  };
}

function counting(): CallContext & { counts: Partial<Record<ApiName, number>> } {
  const counts: Partial<Record<ApiName, number>> = {};
  return {
    counts,
    count: (api) => {
      counts[api] = (counts[api] ?? 0) + 1;
    },
  };
}

describe.each(GENERATIONS)('registry %s: paged list', (generation) => {
  let registry: LocalRegistry;
  let http: RegistryHttp;
  beforeAll(async () => {
    process.env[ENV] = TOKEN;
    registry = await startLocalRegistry({ staticToken: TOKEN, generation });
    for (let i = 0; i < 1_200; i++) {
      const s = server(i, i !== 7);
      registry.putServer(s.record as never, { enabled: s.enabled });
    }
    http = new RegistryHttp({
      baseUrl: registry.url,
      tokens: new StaticTokenProvider(ENV),
      timeoutMs: 5_000,
      maxAttempts: 1,
    });
  });
  afterAll(() => registry.stop());

  it('one request reads one page of at most 500 servers, with their addresses and the security-pending flag', async () => {
    const reader = new RegistryPageReader(http);
    const ctx = counting();
    const first = await reader.listPage('server', 0, 500, ctx);
    expect(ctx.counts['registry.read']).toBe(1);
    expect(first.entries).toHaveLength(500);
    expect(first.more).toBe(true);
    const rest = [
      await reader.listPage('server', 500, 500, ctx),
      await reader.listPage('server', 1_000, 500, ctx),
    ];
    expect(ctx.counts['registry.read']).toBe(3);
    expect(rest[1]?.more).toBe(false);
    const all = [first, ...rest].flatMap((p) => p.entries);
    const seven = all.find((e) => e.path === '/svc007/');
    expect(seven?.url).toBe('http://10.0.0.8:8000/');
    expect(seven?.enabled).toBe(false);
    expect(seven?.securityPending).toBe(true);
  });

  it('pages cover every path once', async () => {
    const paths = await listPaths(http, 'server', counting());
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths.filter((p) => p.startsWith('/svc')).length).toBe(1_200);
  });
});
