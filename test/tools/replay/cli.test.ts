/**
 * `npm run replay` as users run it (a spawned process): exit codes, the input formats it reads,
 * paths from the caller's directory, --json in the Lambda's log shape, and --live failures that
 * must not pass for success. No AWS: the live cases point the SDK at a closed port.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scheduledEvent, taskEvent } from '../../../functions/lib/inmemory/events';
import { fakeAwsEnvironment, findFreePort } from '../../support/moto';
import { ROOT, runCli, startRegistry, TOKEN, TOKEN_ENV, withoutAwsSetup } from '../support/account';

const CLUSTER = 'arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster';
const OTHER = 'arn:aws:ecs:us-west-2:111122223333:cluster/batch-jobs';

let work: string;
let env: NodeJS.ProcessEnv;
let n = 0;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'replay-cli-'));
  env = fakeAwsEnvironment();
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A well-formed event of another cluster: ignored (other-cluster), one ignored line each. */
function foreignEvent() {
  n++;
  return taskEvent({
    clusterArn: OTHER,
    taskId: `${String(n).padStart(4, '0')}c0d1e2f3a44b5c6d7e8f9a0b1c2d3e`,
    service: 'mcp-gateway-currenttime',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    version: 3,
    ipv4: '10.9.0.1',
    id: `ev-${String(n).padStart(4, '0')}-0000-4000-8000-000000000000`,
  });
}

function dir(name: string): string {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  return d;
}

type LogLine = {
  level: string;
  message: string;
  decision?: { action: string };
  ignored?: { reason: string };
  malformed?: { reason: string };
};
const lines = (stdout: string): LogLine[] =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LogLine);

describe('CLI: npm run replay, the shipped scenarios', () => {
  test.each([[[]], [['--dry-run']], [['--lag', '2000']]])(
    '%j exits 0, every expectation holding',
    async (args) => {
      const out = await runCli('replay', args, env);

      expect([out.code, out.stdout.split('\n').filter((l) => l.startsWith('✗'))]).toEqual([0, []]);
      expect(out.stdout).toContain('every decision as expected');
      expect(out.stderr).not.toMatch(/NodeVersionSupportWarning|NodeDeprecationWarning/);
    },
  );

  test('each event runs the deployed path: a write is followed by its verification after the scan, a lag by redeliveries', async () => {
    const out = await runCli('replay', ['events/scenarios/11-replacement-not-yet-in-cloud-map.json'], env);

    expect(out.code).toBe(0);
    const lagged = out.stdout.split('\n').filter((l) => l.includes('task c3d4e5f6 RUNNING/RUNNING'));
    // Each delivery of the work looks once and defers until Cloud Map lists the task; then the write.
    expect(lagged.slice(0, -1).every((l) => /defer .*\(cloud-map-lag\)/.test(l))).toBe(true);
    expect(lagged.length).toBeGreaterThan(2);
    expect(lagged.at(-1)).toMatch(/update .*→ http:\/\/10\.0\.1\.14:8000\/ +\(current-not-live\)/);
    expect(out.stdout).toMatch(
      /verify after scan +server \/currenttime\/ +http:\/\/10\.0\.1\.14:8000\/ verified/,
    );
  });

  test('they include a foreign entry (skip) and a Cloud Map lag past the retries (defer)', async () => {
    const out = await runCli('replay', ['--json'], env);

    const actions = lines(out.stdout).flatMap((l) => (l.decision ? [l.decision.action] : []));
    expect(actions).toContain('skip');
    expect(actions).toContain('defer');
  });

  test('--dry-run writes nothing', async () => {
    const out = await runCli('replay', ['--dry-run'], env);

    expect(out.stdout).toMatch(/; 0 write\(s\)/);
    expect(out.stdout).toContain('dry run');
  });

  test('the summary counts deliveries and decisions apart, and --json prints one line per decision', async () => {
    const out = await runCli('replay', ['--json'], env);

    const decisions = lines(out.stdout).filter((l) => l.decision !== undefined).length;
    const summary = /(\d+) deliveries, (\d+) decision\(s\) \(([^)]*)\)/.exec(out.stderr);
    expect(summary).not.toBeNull();
    const [, deliveries, decided, parts] = summary as unknown as [string, string, string, string];
    expect(Number(decided)).toBe(decisions);
    expect(parts.split(', ').reduce((s, p) => s + Number(p.split(' ')[1]), 0)).toBe(decisions);
    expect(Number(deliveries)).toBeLessThan(decisions);
  });
});

describe('CLI: npm run replay, inputs', () => {
  test('folders are read recursively: .json (event, array, SQS batch), .jsonl and .ndjson; other files are left alone', async () => {
    const d = dir('formats');
    mkdirSync(join(d, 'nested', 'deeper'), { recursive: true });
    writeFileSync(join(d, 'one.json'), JSON.stringify(foreignEvent()));
    writeFileSync(join(d, 'array.json'), JSON.stringify([foreignEvent(), foreignEvent()]));
    writeFileSync(
      join(d, 'nested', 'sqs.json'),
      JSON.stringify({
        Records: [foreignEvent(), foreignEvent()].map((e, i) => ({
          messageId: `m${i}`,
          body: JSON.stringify(e),
        })),
      }),
    );
    writeFileSync(
      join(d, 'nested', 'deeper', 'lines.jsonl'),
      `${JSON.stringify(foreignEvent())}\n\n${JSON.stringify(foreignEvent())}\n`,
    );
    writeFileSync(join(d, 'nested', 'more.ndjson'), `${JSON.stringify(foreignEvent())}\n`);
    writeFileSync(join(d, 'notes.txt'), 'not an event');

    const out = await runCli('replay', ['--json', '--allow-ignored', d], env);

    expect(out.code).toBe(0);
    const ignored = lines(out.stdout).filter((l) => l.ignored !== undefined);
    expect(ignored).toHaveLength(8);
    expect(ignored.every((l) => l.ignored?.reason === 'other-cluster' && l.level === 'INFO')).toBe(true);
    expect(ignored[0]?.message).toContain('ignored event: cluster');
    expect(out.stderr).toContain('5 input(s)');
  });

  test('a malformed input gets its own --json line with the reason, and exits 1', async () => {
    const d = dir('malformed');
    writeFileSync(join(d, 'mixed.jsonl'), `${JSON.stringify(foreignEvent())}\n{"version":"0", oops\n`);

    const out = await runCli('replay', ['--json', d], env);

    expect(out.code).toBe(1);
    const malformed = lines(out.stdout).filter((l) => l.malformed !== undefined);
    expect(malformed).toHaveLength(1);
    expect(malformed[0]?.malformed?.reason).toContain('not JSON');
    expect(malformed[0]?.level).toBe('WARN');
  });

  test('relative paths are from the caller directory (INIT_CWD), not the package root', async () => {
    const d = dir('caller');
    writeFileSync(join(d, 'ev.json'), JSON.stringify(foreignEvent()));

    const out = await runCli('replay', ['--allow-ignored', 'ev.json'], { ...env, INIT_CWD: d }, ROOT);

    expect(out.code).toBe(0);
    expect(out.stdout).toContain('ev.json');
    expect(out.stdout).toContain('ignored (other-cluster)');
  });

  test.each([
    ['an empty folder', () => dir('empty'), 'no .json, .jsonl or .ndjson file'],
    ['an empty array', () => writeTo('empty-array.json', '[]'), 'no event in this file'],
    ['an empty JSON Lines file', () => writeTo('empty.jsonl', '\n\n'), 'no event in this file'],
    ['a missing path', () => join(work, 'nope.json'), 'cannot read'],
  ])('%s exits 1 and says so', async (_what, make, message) => {
    const out = await runCli('replay', [make()], env);

    expect(out.code).toBe(1);
    expect(out.stderr).toContain(message);
  });

  test('a configuration file with a byte-order mark is read', async () => {
    const text = readFileSync(join(ROOT, 'events', 'config.json'), 'utf8');
    const file = writeTo('bom-config.json', `\uFEFF${text}`);

    const out = await runCli(
      'replay',
      ['--config', file, join(ROOT, 'events', 'scenarios', '01-first-resync.json')],
      env,
    );

    expect(out.code).toBe(0);
  });

  test('a malformed world file names the bad field', async () => {
    const world = JSON.parse(readFileSync(join(ROOT, 'events', 'world.json'), 'utf8'));
    const file = writeTo('world-bad.json', JSON.stringify({ ...world, services: { not: 'an array' } }));

    const out = await runCli('replay', ['--world', file], env);

    expect(out.code).toBe(1);
    expect(out.stderr).toContain('services: must be an array');
    expect(out.stderr).not.toContain('TypeError');
  });

  test('bad usage exits 2', async () => {
    const out = await runCli('replay', ['--lag', 'soon'], env);

    expect(out.code).toBe(2);
  });

  test('--real-time without --live exits 2, saying the embedded world runs on virtual time', async () => {
    const out = await runCli('replay', ['--real-time'], env);

    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--real-time needs --live');
  });
});

describe('CLI: npm run replay, when nothing concerned the configured cluster', () => {
  const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

  test('real ECS events of other accounts and clusters: exit 1, and the last line says no event concerned the cluster', async () => {
    const out = await runCli('replay', [join(ROOT, 'test', 'fixtures', 'ecs-events')], env);

    expect(out.code).toBe(1);
    expect(lastLine(out.stdout)).toContain(
      'no event concerned the configured cluster arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster',
    );
    expect(lastLine(out.stdout)).toMatch(/7 ignored \(other-cluster 7\)/);
    expect(out.stdout).not.toContain('every decision as expected');
  });

  test('--allow-ignored accepts it: exit 0, the ignored events still counted by reason', async () => {
    const out = await runCli(
      'replay',
      ['--allow-ignored', join(ROOT, 'test', 'fixtures', 'ecs-events')],
      env,
    );

    expect(out.code).toBe(0);
    expect(lastLine(out.stdout)).toMatch(/7 ignored \(other-cluster 7\).*every decision as expected/);
  });

  test('every event ignored, for reasons other than the cluster: exit 1, saying every event was ignored', async () => {
    const standalone = taskEvent({
      clusterArn: CLUSTER,
      taskId: '7a6b5c4d3e2f41a0b9c8d7e6f5a4b3c2',
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 2,
      ipv4: '10.0.9.9',
    });
    const file = writeTo('standalone.json', JSON.stringify([standalone, foreignEvent()]));

    const out = await runCli('replay', ['--json', file], env);

    expect(out.code).toBe(1);
    expect(lastLine(out.stderr)).toContain('every event was ignored (2 of 2)');
    expect(lastLine(out.stderr)).toMatch(/2 ignored \(other-cluster 1, standalone-task 1\)/);
  });

  test('a scenario that declares allowIgnored replays alone with exit 0 although it ignores every event', async () => {
    const out = await runCli('replay', [join(ROOT, 'events', 'scenarios', '09-not-ours.json')], env);

    expect(out.code).toBe(0);
    expect(lastLine(out.stdout)).toMatch(/4 ignored \(.*\).*every decision as expected/);
  });
});

describe('CLI: npm run replay, CloudWatch Logs exports', () => {
  /** An event of the configured cluster that asks for a decision: a new currenttime task RUNNING. */
  function ourEvent(id: string) {
    return taskEvent({
      clusterArn: CLUSTER,
      taskId: `${id}c0d1e2f3a44b5c6d7e8f9a0b1c2d3e`.slice(0, 32),
      service: 'mcp-gateway-currenttime',
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 3,
      ipv4: '10.0.1.77',
      time: '2026-03-02T09:01:00Z',
    });
  }

  test('export lines (a timestamp, whitespace, then the JSON) replay: decisions, no malformed, exit 0', async () => {
    const d = dir('export');
    const resync = scheduledEvent('resync-export', '2026-03-02T09:00:00Z');
    writeFileSync(
      join(d, 'log-group.jsonl'),
      `2026-03-02T09:00:00.000Z ${JSON.stringify(resync)}\n2026-03-02T09:01:00.123Z\t${JSON.stringify(ourEvent('1111'))}\n`,
    );
    // An export from S3 keeps its own name (000000): a file named on the command line is read as lines.
    const s3 = join(work, '000000');
    writeFileSync(
      s3,
      `2026-03-02T09:02:00.000Z ${JSON.stringify(scheduledEvent('resync-s3', '2026-03-02T09:02:00Z'))}\n`,
    );

    const out = await runCli('replay', ['--json', d, s3], env);

    expect([out.code, out.stderr]).toEqual([0, expect.stringContaining('every decision as expected')]);
    const got = lines(out.stdout);
    expect(got.filter((l) => l.malformed !== undefined)).toEqual([]);
    expect(got.filter((l) => l.decision !== undefined).length).toBeGreaterThanOrEqual(7);
    expect(out.stderr).toContain('0 malformed');
  });

  test('aws logs filter-log-events output ({"events":[{"timestamp","message"}]}) replays each message', async () => {
    const events = [scheduledEvent('resync-logs', '2026-03-02T09:00:00Z'), ourEvent('2222')].map((e, i) => ({
      logStreamName: 'stream',
      timestamp: 1772442000000 + i,
      message: JSON.stringify(e),
      ingestionTime: 1772442000500 + i,
      eventId: `3${i}`,
    }));
    const file = writeTo('filter-log-events.json', JSON.stringify({ events, searchedLogStreams: [] }));

    const out = await runCli('replay', [file], env);

    expect(out.code).toBe(0);
    expect(out.stdout).toContain('schedule');
    expect(out.stdout).toMatch(/task 2222c0d1 RUNNING\/RUNNING v3 +server \/currenttime\//);
    expect(out.stdout).toMatch(/2 deliveries, \d+ decision\(s\).*0 malformed/);
  });
});

describe('CLI: npm run replay --live, when AWS cannot be used', () => {
  /** A RUNNING event of a service no target names: the reconciler must ask ECS about it. */
  function unknownServiceEvent(): string {
    const file = join(work, `live-${++n}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        taskEvent({
          clusterArn: CLUSTER,
          taskId: '5b6c7d8e9f0a41b2c3d4e5f6a7b8c9d0',
          service: 'mcp-gateway-something-new',
          lastStatus: 'RUNNING',
          desiredStatus: 'RUNNING',
          version: 3,
          ipv4: '10.0.7.7',
        }),
      ),
    );
    return file;
  }

  test('an unreachable AWS endpoint: the lookup cannot be evaluated, exit 1, the summary says how many', async () => {
    const closed = `http://127.0.0.1:${await findFreePort()}`;
    const registry = await startRegistry('10.0.0.1');
    const config = JSON.parse(readFileSync(join(ROOT, 'events', 'config.json'), 'utf8'));
    const configFile = writeTo(
      'live-registry.json',
      JSON.stringify({
        ...config,
        registry: { ...config.registry, url: registry.url, auth: { type: 'static', tokenEnv: TOKEN_ENV } },
      }),
    );

    const out = await runCli('replay', ['--live', '--config', configFile, unknownServiceEvent()], {
      ...env,
      AWS_ENDPOINT_URL: closed,
      [TOKEN_ENV]: TOKEN,
    }).finally(() => registry.stop());

    expect(out.code).toBe(1);
    expect(out.stdout).toContain('1 trigger(s) could not be evaluated');
    expect(out.stdout).not.toContain('every decision as expected');
    expect(out.stderr).toContain('not evaluated');
    expect(out.stderr).toContain('ECONNREFUSED');
    expect(out.stderr).not.toMatch(/NodeVersionSupportWarning|NodeDeprecationWarning/);
  });

  test('no region names AWS_REGION; no credentials say how to provide them', async () => {
    const { noRegion, noCredentials } = withoutAwsSetup(env, work);

    const region = await runCli('replay', ['--live', unknownServiceEvent()], noRegion);
    const credentials = await runCli('replay', ['--live', unknownServiceEvent()], noCredentials);

    expect([region.code, region.stderr]).toEqual([1, expect.stringContaining('set AWS_REGION')]);
    expect([credentials.code, credentials.stderr]).toEqual([1, expect.stringContaining('AWS_PROFILE')]);
  });

  test('the registry unreachable: one message before any event, naming the URL, and exit 1', async () => {
    const file = writeTo(
      'schedule.json',
      JSON.stringify(scheduledEvent('resync-live', '2026-03-02T09:00:00Z')),
    );
    const closedPort = await findFreePort();
    const config = JSON.parse(readFileSync(join(ROOT, 'events', 'config.json'), 'utf8'));
    const configFile = writeTo(
      'closed-registry.json',
      JSON.stringify({
        ...config,
        registry: { ...config.registry, url: `http://127.0.0.1:${closedPort}`, maxAttempts: 1 },
      }),
    );

    const out = await runCli('replay', ['--live', '--config', configFile, file], {
      ...env,
      REPLAY_REGISTRY_TOKEN: 't',
    });

    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`the registry at http://127.0.0.1:${closedPort} cannot be reached`);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stdout).toBe('');
  });

  test('no registry token: one message naming the environment variable to set, and exit 1', async () => {
    const file = writeTo(
      'schedule-no-token.json',
      JSON.stringify(scheduledEvent('r', '2026-03-02T09:00:00Z')),
    );
    const bare = { ...env };
    delete bare.REPLAY_REGISTRY_TOKEN;

    const out = await runCli('replay', ['--live', file], bare);

    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /^replay: no registry token: set the environment variable REPLAY_REGISTRY_TOKEN/,
    );
    expect(out.stdout).toBe('');
  });
});

function writeTo(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}
