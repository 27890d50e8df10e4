/**
 * `npm run discover` against moto_server and the local registry over HTTP. The CLI is spawned as
 * users run it; Service Connect, which moto does not return from DescribeServices, is covered in
 * process with a fake at the ECS adapter boundary (the adapter's `describeServices`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { EcsAdapter } from '../../../functions/lib/aws/ecs';
import { parseConfig } from '../../../functions/lib/config/config';
import { NO_COUNT } from '../../../functions/lib/reconcile/ports';
import { createRegistryClient } from '../../../functions/lib/registry/client';
import { loadParams } from '../../../infra/params';
import { loadConfig } from '../../../tools/cli/io';
import { matchEntries } from '../../../tools/discover/match';
import { configDocument } from '../../../tools/discover/output';
import { listRegistryEntries } from '../../../tools/discover/registry-list';
import { readWorld } from '../../../tools/discover/sources';
import type { LocalRegistry } from '../../../tools/local-registry';
import { describeWithMoto, findFreePort, motoEnvironment } from '../../support/moto';
import {
  type Account,
  CLUSTER,
  NAMESPACE,
  partialConfig,
  runCli,
  seedAccount,
  startRegistry,
  TOKEN,
  TOKEN_ENV,
  withoutAwsSetup,
} from '../support/account';

describeWithMoto('CLI: npm run discover', (moto) => {
  let work: string;
  let account: Account;
  let registry: LocalRegistry;
  let env: NodeJS.ProcessEnv;
  let partialFile: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'discover-'));
    account = await seedAccount(moto.clientConfig(), moto.endpoint);
    registry = await startRegistry(account.ips['travel-assistant-agent']?.[0] as string);
    env = { ...motoEnvironment(moto.endpoint), [TOKEN_ENV]: TOKEN };
    // The CLI must quiet the SDK itself.
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    partialFile = join(work, 'partial.json');
    writeFileSync(partialFile, JSON.stringify(partialConfig(registry.url)));
  }, 180_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('prints a configuration the reconciler accepts, one target per matched entry; a table of every entry on stderr', async () => {
    const out = await runCli('discover', ['--config', partialFile], env);

    expect([out.code, out.stderr]).toEqual([0, expect.any(String)]);
    const file = join(work, 'discovered.json');
    writeFileSync(file, out.stdout);
    const config = loadConfig(file);
    expect(config.targets.map((t) => [t.kind, t.path, t.cloudMapService, t.ecsService])).toEqual([
      ['server', '/airegistry-tools/', 'mcpgw-server', 'mcp-gateway-mcpgw'],
      ['server', '/currenttime/', 'currenttime-server', 'mcp-gateway-currenttime'],
      ['agent', '/flight-booking-agent', 'flight-booking-agent', 'mcp-gateway-flight-booking-agent'],
      ['agent', '/travel-assistant-agent', 'travel-assistant-agent', 'mcp-gateway-travel-assistant-agent'],
    ]);
    expect(config.registry.url).toBe(registry.url);
    const row = (path: string) => out.stderr.split('\n').find((l) => l.includes(` ${path} `)) ?? '';
    expect(row('/weather/')).toContain('foreign');
    expect(row('/missing/')).toContain('no-cloud-map-service');
    expect(row('/orphan/')).toContain('no-ecs-service');
    expect(row('/shared/')).toContain('ambiguous');
    expect(row('/travel-assistant-agent')).toContain('matched');
    expect(row('/travel-assistant-agent')).toContain('service-registries');
    expect(out.stderr).toContain('4 target(s) found');
    expect(out.stderr).not.toMatch(/NodeVersionSupportWarning|NodeDeprecationWarning/);
    // Read-only: nothing but reads reached the registry.
    expect(registry.requests().filter((r) => r.method !== 'GET' && !r.path.endsWith('/token'))).toEqual([]);
  });

  test('--params prints a parameters file that the CDK app accepts', async () => {
    const out = await runCli('discover', ['--config', partialFile, '--params'], env);

    expect(out.code).toBe(0);
    const file = join(work, 'params.json');
    writeFileSync(file, out.stdout);
    const { params, warnings } = loadParams(file);
    expect(warnings).toEqual([]);
    expect(params.registry.url).toBe(registry.url);
    expect(params.targets?.map((t) => t.path)).toEqual([
      '/airegistry-tools/',
      '/currenttime/',
      '/flight-booking-agent',
      '/travel-assistant-agent',
    ]);
    expect(out.stderr).toContain('auth.tokenSecret');
  });

  test('--follow prints the shortest follow configuration, which the reconciler loads; stderr says per entry what follow mode would do', async () => {
    registry.clearRequests();

    const out = await runCli('discover', ['--config', partialFile, '--follow'], env);

    expect([out.code, out.stderr]).toEqual([0, expect.any(String)]);
    const document = JSON.parse(out.stdout);
    expect(document).toEqual({
      ...partialConfig(registry.url),
      follow: { enabled: true },
      ownership: { table: 'registry-reconciler-ownership' },
    });
    const file = join(work, 'follow.json');
    writeFileSync(file, out.stdout);
    const config = loadConfig(file);
    expect([config.follow.enabled, config.targets, config.ownership?.table]).toEqual([
      true,
      [],
      'registry-reconciler-ownership',
    ]);
    const row = (path: string) => out.stderr.split('\n').find((l) => l.includes(` ${path} `)) ?? '';
    expect(row('/currenttime/')).toMatch(/^adopt /);
    expect(row('/airegistry-tools/')).toMatch(/^adopt /);
    expect(row('/flight-booking-agent')).toMatch(/^adopt /);
    // Registered by IP: follow adopts by name only, and no row says we wrote it.
    expect(row('/travel-assistant-agent')).toMatch(/^not-owned /);
    expect(row('/weather/')).toMatch(/^foreign /);
    expect(row('/missing/')).toMatch(/^no-cloud-map-service /);
    expect(row('/orphan/')).toMatch(/^no-ecs-service /);
    expect(row('/shared/')).toMatch(/^ambiguous /);
    expect(out.stderr).toContain('note: ownership.table: registry-reconciler-ownership is a name to replace');
    expect(out.stderr).toMatch(/follow: \d+ registry entries: adopt 3, owned 0, /);
    expect(registry.requests().filter((r) => r.method !== 'GET' && !r.path.endsWith('/token'))).toEqual([]);
  });

  test('--follow --params prints a follow-mode parameters file that the CDK app accepts (the construct makes the table)', async () => {
    const out = await runCli('discover', ['--config', partialFile, '--follow', '--params'], env);

    expect(out.code).toBe(0);
    const file = join(work, 'follow-params.json');
    writeFileSync(file, out.stdout);
    const { params, warnings } = loadParams(file);
    expect(warnings).toEqual([]);
    expect([params.follow?.enabled, params.targets, params.ownership]).toEqual([true, undefined, undefined]);
    expect(JSON.parse(out.stdout)).not.toHaveProperty('targets');
  });

  test('a relative --config is read from the caller directory (INIT_CWD), with a byte-order mark', async () => {
    writeFileSync(join(work, 'bom.json'), `\uFEFF${JSON.stringify(partialConfig(registry.url))}`);

    const out = await runCli('discover', ['--config', 'bom.json'], { ...env, INIT_CWD: work });

    expect(out.code).toBe(0);
    expect(parseConfig(JSON.parse(out.stdout)).targets).toHaveLength(4);
  });

  test('exit 1 when no entry matches (a namespace without services)', async () => {
    const cloudMap = new ServiceDiscoveryClient(moto.clientConfig());
    const { CreateHttpNamespaceCommand } = await import('@aws-sdk/client-servicediscovery');
    await cloudMap.send(new CreateHttpNamespaceCommand({ Name: 'empty.local' }));
    const file = join(work, 'empty.json');
    writeFileSync(file, JSON.stringify({ ...partialConfig(registry.url), namespace: 'empty.local' }));

    const out = await runCli('discover', ['--config', file], env);

    expect(out.code).toBe(1);
    expect(out.stderr).toContain('no target found');
  });

  test('exit 1 naming the namespace when Cloud Map has none of that name', async () => {
    const file = join(work, 'nons.json');
    writeFileSync(file, JSON.stringify({ ...partialConfig(registry.url), namespace: 'nope.local' }));

    const out = await runCli('discover', ['--config', file], env);

    expect(out.code).toBe(1);
    expect(out.stderr).toContain('no namespace nope.local');
  });

  test('exit 1 when the registry cannot be reached', async () => {
    const file = join(work, 'unreachable.json');
    const closed = `http://127.0.0.1:${await findFreePort()}`;
    writeFileSync(file, JSON.stringify(partialConfig(closed)));

    const out = await runCli('discover', ['--config', file], env);

    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`cannot list the registry at ${closed}`);
  });

  test('exit 1 when AWS cannot be reached', async () => {
    const closed = `http://127.0.0.1:${await findFreePort()}`;

    const out = await runCli('discover', ['--config', partialFile], { ...env, AWS_ENDPOINT_URL: closed });

    expect(out.code).toBe(1);
    expect(out.stderr).toContain('cannot read the account');
    expect(out.stderr).toContain('ECONNREFUSED');
  });

  test('a missing region names AWS_REGION; missing credentials say how to provide them', async () => {
    const { noRegion, noCredentials } = withoutAwsSetup(env, work);

    const region = await runCli('discover', ['--config', partialFile], noRegion);
    const credentials = await runCli('discover', ['--config', partialFile], noCredentials);

    expect([region.code, region.stderr]).toEqual([1, expect.stringContaining('set AWS_REGION')]);
    expect([credentials.code, credentials.stderr]).toEqual([1, expect.stringContaining('AWS_ACCESS_KEY_ID')]);
  });

  test('--out writes the configuration to a file, whole; stdout carries nothing', async () => {
    const file = join(work, 'out', 'config.json');

    const out = await runCli('discover', ['--config', partialFile, '--out', file], env);

    expect([out.code, out.stdout]).toEqual([0, '']);
    expect(loadConfig(file).targets).toHaveLength(4);
    expect(out.stderr).toContain(`wrote`);
    expect(out.stderr).toContain(file);
  });

  test('the summary counts disabled and security-pending entries, and the table marks them', async () => {
    const orphan = registry.getServer('/orphan/') as Record<string, unknown>;
    registry.setEnabled('/weather/', false);
    registry.putServer({ ...orphan, tags: ['security-pending'] } as never, { enabled: false });
    try {
      const out = await runCli('discover', ['--config', partialFile], env);

      const row = (path: string) => out.stderr.split('\n').find((l) => l.includes(` ${path} `)) ?? '';
      expect(row('/weather/')).toContain('[disabled]');
      expect(row('/orphan/')).toContain('[security-pending]');
      expect(out.stderr).toMatch(/8 registry entries \(1 disabled, 1 security-pending\)/);
    } finally {
      registry.setEnabled('/weather/', true);
      registry.putServer(orphan as never, { enabled: true });
    }
  });

  const LIST = { method: 'GET', path: /^\/api\/servers$/ };
  const listReads = () => registry.requests().filter((r) => r.method === 'GET' && r.path === '/api/servers');
  const onePage = { path: '/currenttime/', proxy_pass_url: 'http://currenttime-server:8000/' };

  test('a list that always says more follow and repeats its page: a warning, exit 1, after two page reads', async () => {
    registry.clearRequests();
    registry.faults.failNext(50, { status: 200, body: { servers: [onePage], has_next: true }, match: LIST });
    try {
      const out = await runCli('discover', ['--config', partialFile], env);

      expect(out.code).toBe(1);
      expect(out.stderr).toContain("warning: the registry's servers list looks endless");
      expect(out.stderr).toContain('repeats the one at offset 0');
      expect(out.stderr).toContain('1 list(s) looking endless');
      expect(listReads()).toHaveLength(2);
    } finally {
      registry.faults.clear();
    }
  });

  test('a list that says more follow past its own total_count: a warning, exit 1, after one page read', async () => {
    registry.clearRequests();
    registry.faults.failNext(50, {
      status: 200,
      body: { servers: [onePage], has_next: true, total_count: 1 },
      match: LIST,
    });
    try {
      const out = await runCli('discover', ['--config', partialFile], env);

      expect(out.code).toBe(1);
      expect(out.stderr).toContain('it states total_count 1 but still says more follow');
      expect(listReads()).toHaveLength(1);
    } finally {
      registry.faults.clear();
    }
  });

  test('bad usage exits 2', async () => {
    const out = await runCli('discover', [], env);

    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--config is required');
  });
});

describeWithMoto('discover: Service Connect, through a fake at the ECS adapter boundary', (moto) => {
  let registry: LocalRegistry;
  let account: Account;

  beforeAll(async () => {
    account = await seedAccount(moto.clientConfig(), moto.endpoint, {
      serviceConnect: ['mcp-gateway-currenttime'],
    });
    registry = await startRegistry(account.ips['travel-assistant-agent']?.[0] as string);
  }, 180_000);
  afterAll(() => registry?.stop());

  test('an ECS service found by its Service Connect discovery name becomes the target', async () => {
    // moto accepts serviceConnectConfiguration on CreateService but does not return it; ECS
    // returns it on the service's deployments, which is what this fake adds.
    const ecs = new ECSClient(moto.clientConfig());
    const adapter = new EcsAdapter(ecs);
    const describe = {
      describeServices: async (cluster: string, names: readonly string[], ctx: typeof NO_COUNT) =>
        (await adapter.describeServices(cluster, names, ctx)).map((found) =>
          found.serviceName === 'mcp-gateway-currenttime'
            ? { ...found, discoveryNames: ['currenttime-server'] }
            : found,
        ),
    };
    const partial = partialConfig(registry.url);
    const config = parseConfig({
      ...partial,
      targets: [{ kind: 'server', path: '/', cloudMapService: 'x' }],
    });
    const client = createRegistryClient(config.registry, { env: { [TOKEN_ENV]: TOKEN } });

    const world = await readWorld(
      { ecs, cloudMap: new ServiceDiscoveryClient(moto.clientConfig()), describe },
      CLUSTER,
      NAMESPACE,
      NO_COUNT,
    );
    const entries = await listRegistryEntriesWithToken(client);
    const matches = matchEntries(entries, world);

    const currenttime = matches.find((m) => m.path === '/currenttime/');
    expect(currenttime).toMatchObject({
      status: 'matched',
      ecsService: 'mcp-gateway-currenttime',
      via: 'service-connect',
    });
    expect(world.ecsServices.find((s) => s.serviceName === 'mcp-gateway-currenttime')?.registryArns).toEqual(
      [],
    );
    expect(parseConfig(configDocument(partial, matches)).targets.length).toBe(4);
  });

  async function listRegistryEntriesWithToken(client: ReturnType<typeof createRegistryClient>) {
    process.env[TOKEN_ENV] = TOKEN;
    try {
      return (await listRegistryEntries(client, NO_COUNT)).entries;
    } finally {
      delete process.env[TOKEN_ENV];
    }
  }
});
