import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { bundle, LAMBDA_ENTRY } from '../../tools/build';
import { GENERATIONS, type LocalRegistry } from '../../tools/local-registry';
import { describeWithMoto } from '../support/moto';
import { buildWorld, CLIENT_SECRET, ROOT, type Task, type World } from './world';

/**
 * The integration tier: the bundled Lambda (exactly what CDK deploys) and `replay --live`, against
 * moto_server for ECS, Cloud Map and Secrets Manager, and the local registry server with Keycloak
 * client-credentials auth, all on 127.0.0.1 (./world.ts). After each step the registry's state is
 * asserted. The deployed queue topology has its own tier (./topology.test.ts).
 *
 * Every test starts from a fresh moto (reset) and a fresh world and registry, and prepares the
 * tasks and addresses it needs itself: no test depends on another's order or leftovers.
 */

const run = promisify(execFile);

/**
 * Each registry generation the reconciler speaks (1.0.16, 1.29, 1.32); 1.29 and 1.32 with the tasks'
 * subnet allow-listed, as a user must.
 */
for (const generation of GENERATIONS)
  describeWithMoto(
    `Integration (registry ${generation}): bundled handler and replay --live against moto and a local registry`,
    (moto) => {
      let work: string;
      let bundlePath: string;
      let world: World;
      let registry: LocalRegistry;
      let configJson: string;
      let env: NodeJS.ProcessEnv;
      let eventCounter = 0;

      beforeAll(async () => {
        work = mkdtempSync(join(tmpdir(), 'reconciler-it-'));
        bundlePath = (await bundle(LAMBDA_ENTRY, join(work, 'dist'))).outfile;
      }, 180_000);

      afterAll(() => {
        if (work) rmSync(work, { recursive: true, force: true });
      });

      beforeEach(async () => {
        await moto.reset();
        world = await buildWorld(moto, generation);
        ({ registry, configJson, env } = world);
      }, 120_000);

      afterEach(async () => {
        await world?.stop();
      });

      const startTasks = (
        family: string,
        service: string,
        cloudMapService: string | undefined,
        count: number,
      ) => world.startTasks(family, service, cloudMapService, count);
      const stopTask = (task: Task, cloudMapService: string) => world.stopTask(task, cloudMapService);
      function event(
        service: string,
        task: Task,
        lastStatus: string,
        desiredStatus: string,
        version: number,
      ) {
        eventCounter++;
        return world.event(service, task, lastStatus, desiredStatus, version);
      }

      /** Invokes the bundled handler in a fresh Node process with a work-queue batch of these events (the entry's group). */
      async function invokeBundle(events: unknown[]): Promise<{ result: unknown; stdout: string }> {
        const file = join(work, `event-${eventCounter}.json`);
        writeFileSync(
          file,
          JSON.stringify({
            Records: events.map((e, i) => ({
              messageId: `m-${eventCounter}-${i}`,
              body: JSON.stringify(e),
              attributes: { ApproximateReceiveCount: '1', MessageGroupId: 'server:/currenttime/' },
              eventSource: 'aws:sqs',
            })),
          }),
        );
        const { stdout } = await run(
          process.execPath,
          [join(ROOT, 'test', 'support', 'invoke-bundle.mjs'), bundlePath, file],
          {
            env: { ...env, RECONCILER_CONFIG: configJson },
            timeout: 90_000,
          },
        );
        const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
        return { result: JSON.parse((line ?? 'RESULT null').slice('RESULT '.length)), stdout };
      }

      /** Runs `replay --live --json` on these events; returns its exit code and decision records. */
      async function replayLive(
        events: unknown[],
      ): Promise<{ code: number; records: DecisionRecord[]; stderr: string }> {
        const dir = mkdtempSync(join(work, 'replay-'));
        for (const [i, e] of events.entries()) {
          writeFileSync(join(dir, `${String(i).padStart(3, '0')}.json`), JSON.stringify(e));
        }
        const configFile = join(work, 'config.json');
        writeFileSync(configFile, configJson);
        const args = [
          '--import',
          'tsx',
          join(ROOT, 'tools', 'replay', 'cli.ts'),
          '--live',
          '--json',
          '--config',
          configFile,
          dir,
        ];
        try {
          const { stdout, stderr } = await run(process.execPath, args, { env, cwd: ROOT, timeout: 120_000 });
          return { code: 0, records: parseRecords(stdout), stderr };
        } catch (error) {
          const e = error as { code?: number; stdout?: string; stderr?: string };
          return { code: e.code ?? 1, records: parseRecords(e.stdout ?? ''), stderr: e.stderr ?? '' };
        }
      }

      const url = (path: string) => registry.getServer(path)?.proxy_pass_url;
      /** Sets an entry's address as if an earlier reconcile had written it. */
      const pointAt = (path: string, address: string) => {
        const record = registry.getServer(path);
        registry.putServer({ ...(record as NonNullable<typeof record>), proxy_pass_url: address });
      };
      const currenttimeTasks = (count: number) =>
        startTasks('currenttime', 'mcp-gateway-currenttime', 'currenttime-server', count);

      it('start: the bundled handler points the entry at the first task, authenticated through Keycloak', async () => {
        // Prepare
        const [first] = (await currenttimeTasks(1)) as [Task];
        registry.clearRequests();

        // Act
        const { result, stdout } = await invokeBundle([
          event('mcp-gateway-currenttime', first, 'RUNNING', 'RUNNING', 3),
        ]);

        // Assess
        expect(result).toEqual({ batchItemFailures: [] });
        expect(url('/currenttime/')).toBe(`http://${first.ip}:8000/`);
        const tokenCalls = registry.requests().filter((r) => r.path.endsWith('/token'));
        expect(tokenCalls).toHaveLength(1);
        // One write rule: PATCH with If-Match first; register where PATCH cannot save (1.29's slash
        // path) or does not exist (v1.0.16, whose records have no tag to send).
        const writes = registry
          .requests()
          .filter((r) => r.method === 'PATCH' || r.path === '/api/servers/register')
          .map((r) => `${r.method} ${r.path} ${r.status}`);
        expect(writes).toEqual(
          {
            '1.0.16': ['POST /api/servers/register 201'],
            '1.29': ['PATCH /api/servers/currenttime/ 500', 'POST /api/servers/register 201'],
            '1.32': ['PATCH /api/servers/currenttime/ 200'],
          }[generation],
        );
        expect(stdout).toContain('"DecisionUpdate"'); // EMF metrics from the real bundle
        expect(stdout).not.toContain(CLIENT_SECRET);
      }, 120_000);

      it('scale-out: replay --live sees two more tasks and writes nothing (sticky)', async () => {
        // Prepare: the entry names its live task; two more start.
        const [first] = (await currenttimeTasks(1)) as [Task];
        pointAt('/currenttime/', `http://${first.ip}:8000/`);
        const added = await currenttimeTasks(2);
        registry.clearRequests();

        // Act
        const out = await replayLive(
          added.map((t) => event('mcp-gateway-currenttime', t, 'RUNNING', 'RUNNING', 3)),
        );

        // Assess
        expect([out.code, out.stderr]).toEqual([0, expect.stringContaining('every decision as expected')]);
        expect(out.records.map((r) => [r.action, r.reason])).toEqual([
          ['noop', 'current-live'],
          ['noop', 'current-live'],
        ]);
        expect(url('/currenttime/')).toBe(`http://${first.ip}:8000/`);
        expect(
          registry.requests().filter((r) => r.method === 'POST' && r.path.startsWith('/api/')),
        ).toHaveLength(0);
      }, 180_000);

      it('stop of the current task: the bundled handler moves the entry to another live task', async () => {
        // Prepare: the entry names the first of three live tasks, which then stops.
        const [gone, ...others] = (await currenttimeTasks(3)) as [Task, ...Task[]];
        pointAt('/currenttime/', `http://${gone.ip}:8000/`);
        await stopTask(gone, 'currenttime-server');

        // Act
        const { result } = await invokeBundle([
          event('mcp-gateway-currenttime', gone, 'STOPPED', 'STOPPED', 6),
        ]);

        // Assess
        expect(result).toEqual({ batchItemFailures: [] });
        expect(others.map((t) => `http://${t.ip}:8000/`)).toContain(url('/currenttime/'));
      }, 120_000);

      it('registry restart: replay --live fixes the entry the registry reset from its page re-checks, run at once, and leaves the others', async () => {
        // Prepare: /currenttime/ names its live task; the registry reset /airegistry-tools/.
        const [current] = (await currenttimeTasks(1)) as [Task];
        pointAt('/currenttime/', `http://${current.ip}:8000/`);
        const [gw] = await startTasks('mcpgw', 'mcp-gateway-mcpgw', 'mcpgw-server', 1);
        pointAt('/airegistry-tools/', 'http://mcpgw-server:8003/');
        const [registryTask] = await startTasks('registry', 'mcp-gateway-registry', undefined, 1);
        registry.clearRequests();

        // Act
        const out = await replayLive([
          event('mcp-gateway-registry', registryTask as Task, 'RUNNING', 'RUNNING', 3),
        ]);

        // Assess: the fan-out's re-checks (every 4 s for 2 min, deployed) ran at once on the
        // replay's clock; the entry whose host is no task IP got work, the other none.
        expect([out.code, out.stderr]).toEqual([0, expect.stringContaining('every decision as expected')]);
        expect(out.records.map((r) => [r.target.path, r.action, r.trigger.type])).toEqual([
          ['/airegistry-tools/', 'update', 'schedule'],
        ]);
        expect(out.records[0]?.trigger.eventId).toMatch(/^recheck-/);
        expect(out.stderr).toMatch(
          /delayed messages ran at once \(\d+ s skipped on the replay's clock\): 60 page check\(s\)/,
        );
        expect(url('/airegistry-tools/')).toBe(`http://${(gw as Task).ip}:8003/`);
        expect(url('/currenttime/')).toBe(`http://${current.ip}:8000/`);
        // 30 re-checks (every 4 s for 2 min) of the servers' and the agents' page: each read the registry.
        const listReads = registry
          .requests()
          .filter((r) => r.method === 'GET' && /^\/api\/(servers|agents)\/?(\?|$)/.test(r.path));
        expect(listReads.length).toBeGreaterThanOrEqual(60);
      }, 180_000);

      it('replay --live reports an invalid event with its field and exits 1, after replaying the rest', async () => {
        // Prepare
        const [current] = (await currenttimeTasks(1)) as [Task];
        pointAt('/currenttime/', `http://${current.ip}:8000/`);
        const good = event('mcp-gateway-currenttime', current, 'RUNNING', 'RUNNING', 4);
        const bad = { ...good, detail: { ...good.detail, version: 'four' } };

        // Act
        const out = await replayLive([bad, good]);

        // Assess
        expect(out.code).toBe(1);
        expect(out.stderr).toContain('detail.version');
        expect(out.records).toHaveLength(1);
      }, 180_000);
    },
  );

function parseRecords(stdout: string): DecisionRecord[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { decision?: DecisionRecord })
    .flatMap((l) => (l.decision === undefined ? [] : [l.decision]));
}
