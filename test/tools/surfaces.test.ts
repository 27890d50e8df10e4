/**
 * What the JSON says, the text says, and the summary counts: a write the registry's security scan
 * disabled, an entry then `security-pending`, and Cloud Map instances ECS does not vouch for
 * (`other-service`, `ip-mismatch`), each seen in the text of `replay --live` and of `plan`, and
 * counted in their summaries. moto_server for AWS, the local registry over HTTP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scheduledEvent } from '../../functions/lib/inmemory/events';
import type { LocalRegistry } from '../../tools/local-registry';
import { describeWithMoto, motoEnvironment } from '../support/moto';
import {
  type Account,
  addInstance,
  partialConfig,
  runCli,
  seedAccount,
  startRegistry,
  TOKEN,
  TOKEN_ENV,
} from './support/account';

const CURRENTTIME = {
  kind: 'server',
  path: '/currenttime/',
  cloudMapService: 'currenttime-server',
  ecsService: 'mcp-gateway-currenttime',
};
/** A target whose Cloud Map service lists only an instance of another ECS service's task. */
const ORPHAN = {
  kind: 'server',
  path: '/orphan/',
  cloudMapService: 'orphan-server',
  ecsService: 'mcp-gateway-orphan',
};

describeWithMoto('text output and summaries of replay --live and plan', (moto) => {
  let work: string;
  let account: Account;
  let registry: LocalRegistry;
  let env: NodeJS.ProcessEnv;
  let otherService: { taskId: string; taskIp: string; listedIp: string };
  let mismatch: { taskId: string; taskIp: string; listedIp: string };
  let orphanRogue: { taskId: string; taskIp: string; listedIp: string };
  let configFile: string;
  let n = 0;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'surfaces-'));
    account = await seedAccount(moto.clientConfig(), moto.endpoint);
    const config = moto.clientConfig();
    // A task of another ECS service listed under currenttime-server, and a currenttime task listed
    // with an IP ECS does not give it.
    otherService = await addInstance(config, moto.endpoint, account, {
      group: 'service:mcp-gateway-mcpgw',
      cloudMap: 'currenttime-server',
    });
    mismatch = await addInstance(config, moto.endpoint, account, {
      group: 'service:mcp-gateway-currenttime',
      cloudMap: 'currenttime-server',
      ipv4: '10.99.0.9',
    });
    orphanRogue = await addInstance(config, moto.endpoint, account, {
      group: 'service:mcp-gateway-mcpgw',
      cloudMap: 'orphan-server',
    });
    registry = await startRegistry(account.ips['travel-assistant-agent']?.[0] as string);
    env = { ...motoEnvironment(moto.endpoint), [TOKEN_ENV]: TOKEN };
    configFile = join(work, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({ ...partialConfig(registry.url), targets: [CURRENTTIME, ORPHAN], dryRun: false }),
    );
  }, 180_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const resync = () => {
    const file = join(work, `resync-${++n}.json`);
    writeFileSync(file, JSON.stringify(scheduledEvent(`resync-${n}`, '2026-03-02T09:00:00Z')));
    return file;
  };
  const lineOf = (text: string, path: string) => text.split('\n').find((l) => l.includes(` ${path} `)) ?? '';
  const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

  test('replay: the write the scan disabled, then security-pending, and the untrusted instances, in text and summary', async () => {
    const live = account.ips['currenttime-server']?.[0] as string;
    registry.faults.disableAfterWrite(1);

    const first = await runCli('replay', ['--live', '--config', configFile, resync()], env);

    const written = lineOf(first.stdout, '/currenttime/');
    expect(written).toContain(
      `update  http://currenttime-server:8000/ → http://${live}:8000/  (resolve-name)`,
    );
    expect(written).toContain("DISABLED by the registry's scan after the write");
    expect(written).toContain(`${otherService.taskId.slice(0, 12)} other-service`);
    expect(written).toContain(
      `${mismatch.taskId.slice(0, 12)} ip-mismatch (Cloud Map 10.99.0.9, ECS ${mismatch.taskIp})`,
    );
    expect(lastLine(first.stdout)).toMatch(
      /1 disabled after a write, 0 security-pending, 3 untrusted instance\(s\), 0 error\(s\)/,
    );
    expect(lastLine(first.stdout)).toContain("1 server(s) disabled by the registry's scan after the write");
    expect(lastLine(first.stdout)).not.toContain('as expected');
    expect(first.code).toBe(1);

    const second = await runCli('replay', ['--live', '--config', configFile, resync()], env);

    const kept = lineOf(second.stdout, '/currenttime/');
    expect(kept).toContain(`noop    http://${live}:8000/  (current-live)`);
    expect(kept).toContain('security-pending');
    expect(lastLine(second.stdout)).toMatch(
      /0 disabled after a write, 1 security-pending, 3 untrusted instance\(s\)/,
    );
  });

  test('plan: security-pending, each untrusted instance with its reason, wording that does not contradict itself', async () => {
    const out = await runCli('plan', ['--config', configFile], env);

    expect(out.code).toBe(0);
    const block = (path: string) => out.stdout.split('\n\n').find((b) => b.includes(` ${path}  `)) ?? '';
    expect(block('/currenttime/')).toContain('SECURITY-PENDING');
    expect(block('/currenttime/')).toMatch(
      new RegExp(`${otherService.taskId.slice(0, 12)}.*task live +UNTRUSTED: other-service`),
    );
    expect(block('/currenttime/')).toMatch(
      new RegExp(
        `${mismatch.taskId.slice(0, 12)}.*task live +UNTRUSTED: ip-mismatch \\(Cloud Map 10\\.99\\.0\\.9`,
      ),
    );
    const orphan = block('/orphan/');
    expect(orphan).toMatch(
      new RegExp(`${orphanRogue.taskId.slice(0, 12)}.*task live +UNTRUSTED: other-service`),
    );
    expect(orphan).toContain(
      'why:       no-live-instance: of 1 Cloud Map instance(s), 1 live in ECS, none eligible (1 other-service)',
    );
    expect(orphan).not.toContain('no live task');
    expect(out.stderr).toMatch(
      /2 target\(s\): .*; 0 disabled after a write, 1 security-pending, 3 untrusted instance\(s\), 0 error\(s\)/,
    );
  });
});
