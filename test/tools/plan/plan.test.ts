/**
 * `npm run plan` against moto_server and the local registry over HTTP, spawned as users run it:
 * a read-only resync of every target, as a table or as the Lambda's decision log lines.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecisionRecord } from '../../../functions/lib/telemetry/record';
import type { LocalRegistry } from '../../../tools/local-registry';
import { describeWithMoto, findFreePort, motoEnvironment } from '../../support/moto';
import {
  type Account,
  partialConfig,
  runCli,
  seedAccount,
  startRegistry,
  TOKEN,
  TOKEN_ENV,
} from '../support/account';

const TARGETS = [
  {
    kind: 'server',
    path: '/currenttime/',
    cloudMapService: 'currenttime-server',
    ecsService: 'mcp-gateway-currenttime',
  },
  { kind: 'server', path: '/airegistry-tools/', cloudMapService: 'mcpgw-server' },
  { kind: 'server', path: '/weather/', cloudMapService: 'currenttime-server' },
  { kind: 'agent', path: '/travel-assistant-agent', cloudMapService: 'travel-assistant-agent' },
];

describeWithMoto('CLI: npm run plan', (moto) => {
  let work: string;
  let account: Account;
  let registry: LocalRegistry;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'plan-'));
    account = await seedAccount(moto.clientConfig(), moto.endpoint);
    registry = await startRegistry(account.ips['travel-assistant-agent']?.[0] as string);
    env = { ...motoEnvironment(moto.endpoint), [TOKEN_ENV]: TOKEN };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  }, 180_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function configFile(name: string, targets: unknown[], registryUrl = registry.url): string {
    const file = join(work, name);
    writeFileSync(file, JSON.stringify({ ...partialConfig(registryUrl), targets, dryRun: false }));
    return file;
  }

  const writes = () => registry.requests().filter((r) => r.method !== 'GET' && !r.path.endsWith('/token'));

  test('shows each entry, its instances with ECS state, and what would happen; writes nothing; exit 0', async () => {
    registry.clearRequests();
    const ip = account.ips['currenttime-server']?.[0] as string;

    const out = await runCli('plan', ['--config', configFile('ok.json', TARGETS)], env);

    expect([out.code, out.stderr]).toEqual([0, expect.stringContaining('4 target(s)')]);
    const block = (path: string) => out.stdout.split('\n\n').find((b) => b.includes(` ${path}  `)) ?? '';
    expect(block('/currenttime/')).toContain('now:       http://currenttime-server:8000/');
    expect(block('/currenttime/')).toContain(`would:     update → http://${ip}:8000/`);
    expect(block('/currenttime/')).toMatch(
      new RegExp(`${ip.replace(/\./g, '\\.')}\\s+HEALTHY|${ip.replace(/\./g, '\\.')}\\s+UNKNOWN`),
    );
    expect(block('/currenttime/')).toContain('task live');
    expect(block('/weather/')).toContain('would:     skip');
    expect(block('/weather/')).toContain('foreign');
    expect(block('/travel-assistant-agent')).toContain('would:     noop');
    expect(out.stderr).toContain('nothing written');
    expect(out.stderr).not.toMatch(/NodeVersionSupportWarning|NodeDeprecationWarning/);
    expect(writes()).toEqual([]);
    expect(registry.getServer('/currenttime/')?.proxy_pass_url).toBe('http://currenttime-server:8000/');
  });

  test('--json prints one decision log line per target, in the Lambda log shape', async () => {
    const out = await runCli('plan', ['--config', configFile('json.json', TARGETS), '--json'], env);

    expect(out.code).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; message: string; decision: DecisionRecord });
    expect(lines.map((l) => [l.decision.target.path, l.decision.action, l.decision.dryRun]).sort()).toEqual([
      ['/airegistry-tools/', 'update', true],
      ['/currenttime/', 'update', true],
      ['/travel-assistant-agent', 'noop', true],
      ['/weather/', 'skip', true],
    ]);
    expect(
      lines.every((l) => typeof l.level === 'string' && l.message.includes(l.decision.target.path)),
    ).toBe(true);
    expect(writes()).toEqual([]);
  });

  test('exit 1 when a target would end in error (an entry the registry does not have)', async () => {
    const targets = [
      ...TARGETS,
      { kind: 'server', path: '/no-such-server/', cloudMapService: 'currenttime-server' },
    ];

    const out = await runCli('plan', ['--config', configFile('missing.json', targets), '--json'], env);

    expect(out.code).toBe(1);
    const missing = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).decision as DecisionRecord)
      .find((r) => r.target.path === '/no-such-server/');
    expect([missing?.action, missing?.reason]).toEqual(['error', 'entry-missing']);
    expect(out.stderr).toContain('1 error(s)');
  });

  test('the registry cannot be reached: one message naming its URL before any target, exit 1', async () => {
    const closed = `http://127.0.0.1:${await findFreePort()}`;

    const out = await runCli('plan', ['--config', configFile('down.json', TARGETS, closed)], env);

    expect(out.code).toBe(1);
    expect(out.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(`plan: the registry at ${closed} cannot be reached`),
    ]);
    expect(out.stdout).toBe('');
  });

  test('no token, or a token the registry refuses: one message naming what to fix, no target tried', async () => {
    registry.clearRequests();
    const noToken = { ...env };
    delete noToken[TOKEN_ENV];

    const missing = await runCli('plan', ['--config', configFile('notoken.json', TARGETS)], noToken);
    const refused = await runCli('plan', ['--config', configFile('badtoken.json', TARGETS)], {
      ...env,
      [TOKEN_ENV]: 'not-the-token',
    });

    expect([missing.code, missing.stderr.trim()]).toEqual([
      1,
      expect.stringMatching(
        new RegExp(`^plan: no registry token: set the environment variable ${TOKEN_ENV}`),
      ),
    ]);
    expect([refused.code, refused.stderr.trim().split('\n')]).toEqual([
      1,
      [expect.stringMatching(new RegExp(`^plan: the registry at .* refuses the token in ${TOKEN_ENV}`))],
    ]);
    // One list read (and its refresh retry) at most: no entry was read.
    expect(registry.requests().filter((r) => /^\/api\/(servers|agents)\/./.test(r.path))).toEqual([]);
  });

  test('exit 1 when AWS cannot be reached', async () => {
    const closed = `http://127.0.0.1:${await findFreePort()}`;

    const out = await runCli('plan', ['--config', configFile('aws.json', TARGETS)], {
      ...env,
      AWS_ENDPOINT_URL: closed,
    });

    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/[1-4] error\(s\)/);
  });

  test('a missing region names AWS_REGION', async () => {
    const bare: NodeJS.ProcessEnv = { ...env, AWS_CONFIG_FILE: join(work, 'none') };
    delete bare.AWS_REGION;
    delete bare.AWS_DEFAULT_REGION;

    const out = await runCli('plan', ['--config', configFile('r.json', TARGETS)], bare);

    expect([out.code, out.stderr]).toEqual([1, expect.stringContaining('set AWS_REGION')]);
  });

  test('an invalid configuration names the field; no --config is bad usage', async () => {
    const bad = configFile('bad.json', [{ kind: 'server', path: 'no-slash', cloudMapService: 'x' }]);

    const invalid = await runCli('plan', ['--config', bad], env);
    const usage = await runCli('plan', [], env);

    expect([invalid.code, invalid.stderr]).toEqual([1, expect.stringContaining('targets.0.path')]);
    expect(usage.code).toBe(2);
  });
});
