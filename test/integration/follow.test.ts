import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { parseConfig } from '../../functions/lib/config/config';
import { scheduledEvent } from '../../functions/lib/inmemory/events';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import type { LocalRegistry } from '../../tools/local-registry';
import { describeWithMoto, findFreePort } from '../support/moto';
import { createOwnershipTable } from '../support/ownership-table';
import { buildWorld, ROOT, type Task, type World } from './world';

/**
 * Follow mode end to end: `replay --live` and `release` as separate processes, against moto_server
 * (ECS, Cloud Map, DynamoDB) and the local registry over HTTP, with a configuration that lists no
 * targets. Each process starts cold: what it knows of ownership comes from the table alone.
 */

const run = promisify(execFile);
const TABLE = 'registry-reconciler-ownership';
const WEATHER = 'mcp-gateway-weather';

describeWithMoto(
  'Integration: follow mode (replay --live, release) against moto and a local registry',
  (moto) => {
    let work: string;
    let world: World;
    let registry: LocalRegistry;
    let env: NodeJS.ProcessEnv;
    let configFile: string;
    let ddb: DynamoDBClient;
    let tasks: Task[] = [];
    let events = 0;

    const server = (path: string, url: string) => {
      const template = registry.getServer('/currenttime/');
      registry.putServer({
        ...(template as NonNullable<typeof template>),
        path,
        server_name: path.replaceAll('/', ''),
        proxy_pass_url: url,
      });
    };
    const url = (path: string) => registry.getServer(path)?.proxy_pass_url;
    const rows = async () =>
      ((await ddb.send(new ScanCommand({ TableName: TABLE }))).Items ?? []).map((i) => ({
        path: i.path?.S,
        writtenUrl: i.writtenUrl?.S,
        registeredUrl: i.registeredUrl?.S,
      }));
    const writes = () =>
      registry
        .requests()
        .filter((r) => r.method !== 'GET' && r.path.startsWith('/api/') && !r.path.endsWith('/token'));

    async function cli(
      tool: 'replay' | 'release',
      args: string[],
      extraEnv: NodeJS.ProcessEnv = {},
    ): Promise<{ code: number; stdout: string; stderr: string }> {
      try {
        const { stdout, stderr } = await run(
          process.execPath,
          ['--import', 'tsx', join(ROOT, 'tools', tool, 'cli.ts'), ...args],
          { env: { ...env, ...extraEnv }, cwd: ROOT, timeout: 90_000 },
        );
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number; stdout?: string; stderr?: string };
        return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
    }

    /** `replay --live --json` of these events in a fresh process; its records. */
    async function replay(evs: unknown[], extraEnv: NodeJS.ProcessEnv = {}) {
      const dir = mkdtempSync(join(work, 'replay-'));
      for (const [i, e] of evs.entries()) writeFileSync(join(dir, `${i}.json`), JSON.stringify(e));
      const out = await cli('replay', ['--live', '--json', '--config', configFile, dir], extraEnv);
      const records = out.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          const d = (JSON.parse(l) as { decision?: DecisionRecord }).decision;
          return d === undefined ? [] : [d];
        });
      return { ...out, records };
    }
    const schedule = () => scheduledEvent(`resync-${++events}`, new Date().toISOString());
    const byPath = (records: DecisionRecord[]) =>
      Object.fromEntries(records.map((r) => [r.target.path, [r.action, r.reason, r.follow?.owner]]));

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'reconciler-follow-'));
      world = await buildWorld(moto, '1.29');
      ({ registry, env } = world);
      ddb = await createOwnershipTable(moto.clientConfig(), TABLE);
      // The configuration is written before the server is registered, and lists no targets.
      const base = JSON.parse(world.configJson) as Record<string, unknown>;
      const { targets: _targets, ...rest } = base;
      const document = { ...rest, follow: { enabled: true }, ownership: { table: TABLE } };
      parseConfig(document);
      configFile = join(work, 'config.json');
      writeFileSync(configFile, JSON.stringify(document));
      await world.addService(WEATHER, 'weather-server');
      tasks = await world.startTasks('currenttime', WEATHER, 'weather-server', 1);
      server('/handset/', 'http://10.9.9.9:8000/');
      server('/external/', 'https://api.example.com/mcp/');
    }, 60_000);

    afterAll(async () => {
      await world?.stop();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('a server registered by name after the configuration was written is pointed at its live task by the next resync', async () => {
      // Prepare
      server('/weather/', 'http://weather-server:8000/');
      server('/forecast/', 'http://weather-server.mcp-gateway.local:8000/');
      registry.clearRequests();

      // Act
      const out = await replay([schedule()]);

      // Assess
      const task = tasks[0] as Task;
      expect([out.code, out.stderr]).toEqual([0, expect.stringContaining('every decision as expected')]);
      expect(byPath(out.records)).toEqual({
        '/weather/': ['update', 'resolve-name', 'recorded'],
        '/forecast/': ['update', 'resolve-name', 'recorded'],
      });
      expect(out.records.every((r) => r.follow?.origin === 'adopted')).toBe(true);
      expect(url('/weather/')).toBe(`http://${task.ip}:8000/`);
      expect(url('/forecast/')).toBe(`http://${task.ip}:8000/`);
      expect(url('/handset/')).toBe('http://10.9.9.9:8000/');
      expect(url('/external/')).toBe('https://api.example.com/mcp/');
      expect((await rows()).sort((a, b) => String(a.path).localeCompare(String(b.path)))).toEqual([
        {
          path: '/forecast/',
          writtenUrl: `http://${task.ip}:8000/`,
          registeredUrl: 'http://weather-server.mcp-gateway.local:8000/',
        },
        {
          path: '/weather/',
          writtenUrl: `http://${task.ip}:8000/`,
          registeredUrl: 'http://weather-server:8000/',
        },
      ]);
    }, 120_000);

    it('a task replacement moves it, in a new process: ownership survived in the table', async () => {
      // Prepare
      const [old] = tasks as [Task];
      const [next] = (await world.startTasks('currenttime', WEATHER, 'weather-server', 1)) as [Task];
      await world.stopTask(old, 'weather-server');
      tasks = [next];

      // Act
      const out = await replay([world.event(WEATHER, old, 'STOPPED', 'STOPPED', 5)]);

      // Assess
      expect([out.code, out.stderr]).toEqual([0, expect.stringContaining('every decision as expected')]);
      expect(byPath(out.records)).toEqual({
        '/weather/': ['update', 'current-not-live', 'recorded'],
        '/forecast/': ['update', 'current-not-live', 'recorded'],
      });
      expect(url('/weather/')).toBe(`http://${next.ip}:8000/`);
    }, 120_000);

    it('an entry re-pointed by someone is released and never written again; hand-set and foreign entries are never touched', async () => {
      // Prepare
      const byHand = 'http://10.7.7.7:8000/';
      server('/forecast/', byHand);
      registry.clearRequests();

      // Act
      const first = await replay([schedule()]);
      const second = await replay([schedule()]);

      // Assess
      expect(byPath(first.records)['/forecast/']).toEqual(['skip', 'released', 'released']);
      expect(second.records.map((r) => r.target.path)).toEqual(['/weather/']);
      expect(url('/forecast/')).toBe(byHand);
      expect(url('/handset/')).toBe('http://10.9.9.9:8000/');
      expect(url('/external/')).toBe('https://api.example.com/mcp/');
      expect((await rows()).map((r) => r.path)).toEqual(['/weather/']);
      expect(writes()).toEqual([]);
    }, 120_000);

    it('DynamoDB unreachable: non-zero exit, the table named, nothing written to the registry', async () => {
      // Prepare
      server('/news/', 'http://weather-server:8000/');
      registry.clearRequests();
      const closed = `http://127.0.0.1:${await findFreePort()}`;

      // Act
      const out = await replay([schedule()], { AWS_ENDPOINT_URL_DYNAMODB: closed });

      // Assess
      // On the deployed path the resync's shard check reads the table before any entry gets work:
      // the shard message fails (SQS would redeliver it, then the trigger DLQ), no entry is decided,
      // and the replay's failure line carries the fan-out's reason.
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/fan-out could not handle a trigger message \(.*ownership table /);
      expect(out.stderr).toContain(`ownership table ${TABLE}`);
      expect(out.records.filter((r) => r.target.path === '/news/')).toEqual([]);
      expect(writes()).toEqual([]);
      expect(url('/news/')).toBe('http://weather-server:8000/');
      registry.deleteServer('/news/');
    }, 120_000);

    it('release puts the name back and empties the table; a second release has nothing to do', async () => {
      // Prepare
      registry.clearRequests();

      // Act
      const dry = await cli('release', ['--config', configFile, '--dry-run']);
      const out = await cli('release', ['--config', configFile]);
      const again = await cli('release', ['--config', configFile]);

      // Assess
      expect(dry.code).toBe(0);
      expect(dry.stdout).toMatch(/\/weather\/\s+would-restore/);
      expect([out.code, out.stderr]).toEqual([0, expect.stringContaining('all done')]);
      expect(out.stdout).toMatch(/\/weather\/\s+restored\s+http:\/\/weather-server:8000\//);
      expect(url('/weather/')).toBe('http://weather-server:8000/');
      expect(url('/forecast/')).toBe('http://10.7.7.7:8000/');
      expect(await rows()).toEqual([]);
      expect(again.code).toBe(0);
      expect(again.stderr).toContain('release: 0 entries');
    }, 120_000);
  },
);
