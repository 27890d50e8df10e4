/**
 * The README's "Try it against moto_server", run as written: its command lines are read from
 * README.md, not copied here, so the section and this test cannot drift apart. The test harness
 * starts moto itself (a free port instead of 5000); the local registry is started by the README's
 * own line (a free port instead of 7860); every other line runs in a shell through `npm run`, as a
 * user who ran `npm ci` would, with only those ports changed. Then it checks what replay --live,
 * plan and discover printed and wrote.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../../functions/lib/config/config';
import { describeWithMoto, fakeAwsEnvironment, findFreePort } from '../support/moto';
import { ROOT } from './support/account';

const README_MOTO = '127.0.0.1:5000';
const README_REGISTRY = '7860';

/** The section's shell lines, comments stripped, in order. */
function sectionLines(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Try it against moto_server');
  expect(start).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks
    .join('\n')
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l !== '');
}

const exec = promisify(execFile);

interface Run {
  line: string;
  code: number;
  stdout: string;
  stderr: string;
}

describeWithMoto('README: Try it against moto_server, run as written', (moto) => {
  let work: string;
  let registry: ChildProcess | undefined;
  let registryOutput = '';
  const runs: Run[] = [];
  const run = (prefix: string) => {
    const found = runs.find((r) => r.line.startsWith(prefix));
    if (found === undefined) throw new Error(`the README section has no line starting ${prefix}`);
    return found;
  };

  beforeAll(async () => {
    const lines = sectionLines();
    const registryPort = String(await findFreePort());
    const local = (line: string) =>
      line
        .replaceAll(README_MOTO, `127.0.0.1:${moto.port}`)
        .replaceAll(`127.0.0.1:${README_REGISTRY}`, `127.0.0.1:${registryPort}`)
        .replace(`--port ${README_REGISTRY}`, `--port ${registryPort}`);
    // Only what a user's shell has: no npm variables of the test runner's own npm, no real identity.
    const env = fakeAwsEnvironment(
      Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !/^npm_|^INIT_CWD$|^AWS_/i.test(k)),
      ) as NodeJS.ProcessEnv,
    );
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'AWS_DEFAULT_REGION'])
      delete env[name]; // the README's export line must set them
    // A folder inside the project: `npm run` finds the project from there, as from any of its folders.
    work = mkdtempSync(join(ROOT, '.try-'));

    // The harness froze task ageing; undo that, so that the README's own line must do it.
    const unfrozen = await fetch(`${moto.endpoint}/moto-api/state-manager/set-transition`, {
      method: 'POST',
      body: JSON.stringify({ model_name: 'ecs::task', transition: { progression: 'immediate' } }),
    });
    expect(unfrozen.ok).toBe(true);

    const [motoLine, registryLine, ...rest] = lines;
    expect(motoLine).toBe('moto_server -H 127.0.0.1 -p 5000'); // the harness started one like it
    expect(registryLine).toMatch(/^npx tsx tools\/local-registry\/cli\.ts /);
    // "From the project's folder": the registry line's paths are the project's.
    const child = spawn('/bin/sh', ['-c', `exec ${local(registryLine as string)}`], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    registry = child;
    await new Promise<void>((resolve, reject) => {
      const seen = (chunk: Buffer) => {
        registryOutput += chunk.toString('utf8');
        if (registryOutput.includes('press Ctrl+C to stop')) resolve();
      };
      child.stdout?.on('data', seen);
      child.stderr?.on('data', seen);
      child.once('exit', (code) => reject(new Error(`the registry line exited ${code}:\n${registryOutput}`)));
    });

    const exports: string[] = [];
    for (const line of rest) {
      if (line.startsWith('export ')) {
        exports.push(local(line));
        continue;
      }
      const script = [...exports, local(line)].join('\n');
      try {
        const { stdout, stderr } = await exec('/bin/sh', ['-c', script], {
          cwd: work,
          env,
          timeout: 150_000,
        });
        runs.push({ line, code: 0, stdout, stderr });
      } catch (error) {
        const e = error as { code?: number; stdout?: string; stderr?: string };
        runs.push({
          line,
          code: typeof e.code === 'number' ? e.code : -1,
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? '',
        });
      }
    }
  }, 600_000);

  afterAll(async () => {
    if (registry?.pid !== undefined && registry.exitCode === null) {
      const exited = new Promise((resolve) => registry?.once('exit', resolve));
      process.kill(-registry.pid, 'SIGTERM');
      await exited;
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('every line exits 0', () => {
    expect(runs.map((r) => [r.line, r.code, r.code === 0 ? '' : `${r.stdout}\n${r.stderr}`])).toEqual(
      runs.map((r) => [r.line, 0, '']),
    );
    expect(runs.length).toBeGreaterThanOrEqual(5);
  });

  test('the seed writes a configuration the reconciler accepts, naming moto’s cluster and the registry', () => {
    const config = parseConfig(JSON.parse(readFileSync(join(work, 'config.json'), 'utf8')));
    expect(config.cluster).toBe('arn:aws:ecs:us-west-2:123456789012:cluster/mcp-gateway-ecs-cluster');
    expect(config.registry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(registryOutput).toContain(`listening on ${config.registry.url}`);
    expect(config.targets.length).toBeGreaterThan(0);
    const events = JSON.parse(readFileSync(join(work, 'try-events.json'), 'utf8')) as unknown[];
    expect(events.length).toBeGreaterThan(1);
  });

  test('replay --live moves every target from its name to a live task IP and says every decision was as expected', () => {
    const replay = run('npm run replay -- --live');
    const updates = replay.stdout
      .split('\n')
      .filter((l) =>
        / update +http:\/\/[a-z-]+:\d+\/ → http:\/\/10\.\d+\.\d+\.\d+:\d+\/ +\(resolve-name\)/.test(l),
      );
    const summary = replay.stdout.trim().split('\n').at(-1) ?? '';

    expect(updates).toHaveLength(5);
    expect(replay.stdout).toMatch(/\/external-weather\/ +skip .*\(foreign\)/);
    expect(summary).toMatch(
      / 5 write\(s\), 0 ignored, 0 malformed; 0 disabled after a write, 0 security-pending, 0 untrusted instance\(s\), 0 error\(s\); \[live\] every decision as expected$/,
    );
  });

  test('plan then finds every target on a live task, and writes nothing', () => {
    const plan = run('npm run plan');
    const summary = plan.stderr.trim().split('\n').at(-1) ?? '';

    expect(plan.stdout.match(/why: +current-live: 10\.\d+\.\d+\.\d+ is live task /g)).toHaveLength(5);
    expect(summary).toBe(
      '6 target(s): skip 1, noop 5; 0 disabled after a write, 0 security-pending, 0 untrusted instance(s), 0 error(s); plan only, nothing written',
    );
  });

  test('discover finds the same targets by their task IPs', () => {
    const discover = run('npm run discover');
    const written = parseConfig(JSON.parse(readFileSync(join(work, 'discovered.json'), 'utf8')));
    const seeded = parseConfig(JSON.parse(readFileSync(join(work, 'config.json'), 'utf8')));
    const key = (t: { kind: string; path: string; cloudMapService: string }) =>
      `${t.kind} ${t.path} ${t.cloudMapService}`;

    expect(written.targets.map(key).sort()).toEqual(
      seeded.targets
        .filter((t) => t.path !== '/external-weather/')
        .map(key)
        .sort(),
    );
    expect(discover.stderr).toMatch(/\/external-weather\/ .* foreign /);
    expect(discover.stderr).toContain(
      '5 target(s) found, 0 unmatched-ip; 0 unreadable, 0 list(s) looking endless',
    );
  });
});
