import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  DeregisterInstanceCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { parseConfig } from '../../functions/reconciler/config';
import type { DecisionRecord } from '../../functions/reconciler/record';
import { V1016_TARGETS } from '../../infra/deployed-defaults';
import { bundle, LAMBDA_ENTRY } from '../../tools/build';
import { type LocalRegistry, startLocalRegistry } from '../../tools/local-registry';
import { loadWorld } from '../../tools/replay/environment';
import { taskEvent } from '../../tools/world/events';
import { describeWithMoto, MOTO_ACCOUNT, MOTO_REGION, motoEnvironment } from '../support/moto';

/**
 * The integration tier: the bundled Lambda (exactly what CDK deploys) and `replay --live`, against
 * moto_server for ECS, Cloud Map and Secrets Manager, and the local registry server with Keycloak
 * client-credentials auth, all on 127.0.0.1. After each step the registry's state is asserted.
 */

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const CLUSTER = 'mcp-gateway-ecs-cluster';
const CLUSTER_ARN = `arn:aws:ecs:${MOTO_REGION}:${MOTO_ACCOUNT}:cluster/${CLUSTER}`;
const NAMESPACE = 'mcp-gateway.local';
const CLIENT_ID = 'mcp-gateway-m2m';
const CLIENT_SECRET = 'm2m-secret-5b1f0c2e7d';

interface Task {
  taskId: string;
  ip: string;
}

/** Each registry generation the reconciler speaks; 1.29 with the tasks' subnet allow-listed, as a user must. */
const GENERATIONS = ['1.0.16', '1.29'] as const;

for (const generation of GENERATIONS)
  describeWithMoto(
    `Integration (registry ${generation}): bundled handler and replay --live against moto and a local registry`,
    (moto) => {
      let work: string;
      let bundlePath: string;
      let registry: LocalRegistry;
      let configJson: string;
      let env: NodeJS.ProcessEnv;
      let ecs: ECSClient;
      let cloudMap: ServiceDiscoveryClient;
      const cloudMapServiceIds = new Map<string, string>();
      let subnet: string;
      let eventCounter = 0;

      beforeAll(async () => {
        work = mkdtempSync(join(tmpdir(), 'reconciler-it-'));
        bundlePath = (await bundle(LAMBDA_ENTRY, join(work, 'dist'))).outfile;

        const seed = loadWorld(join(ROOT, 'events', 'world.json'));
        const config = moto.clientConfig();
        const vpc = await defaultSubnet(moto.endpoint);
        subnet = vpc.id;
        registry = await startLocalRegistry({
          generation,
          // moto gives tasks random 10.x addresses whatever the subnet's range: allow-list both.
          allowedCidrs: generation === '1.29' ? [vpc.cidr, '10.0.0.0/8'] : [],
          clients: { [CLIENT_ID]: CLIENT_SECRET },
          seed: {
            servers: seed.servers,
            agents: seed.agents,
            state: Object.fromEntries(seed.servers.map((s) => [String(s.path), true])),
          },
        });

        ecs = new ECSClient(config);
        cloudMap = new ServiceDiscoveryClient(config);
        const secrets = new SecretsManagerClient(config);
        await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
        for (const family of ['currenttime', 'mcpgw', 'registry']) {
          await ecs.send(
            new RegisterTaskDefinitionCommand({
              family,
              networkMode: 'awsvpc',
              requiresCompatibilities: ['FARGATE'],
              cpu: '256',
              memory: '512',
              containerDefinitions: [{ name: 'app', image: `${family}:latest`, memory: 512 }],
            }),
          );
        }
        const namespace = await cloudMap.send(new CreateHttpNamespaceCommand({ Name: NAMESPACE }));
        const namespaceId = await namespaceIdOf(namespace.OperationId);
        for (const name of ['currenttime-server', 'mcpgw-server']) {
          const created = await cloudMap.send(
            new CreateServiceCommand({ Name: name, NamespaceId: namespaceId }),
          );
          cloudMapServiceIds.set(name, created.Service?.Id as string);
        }
        const secret = await secrets.send(
          new CreateSecretCommand({
            Name: 'mcp-gateway-keycloak-m2m-client-secret',
            SecretString: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
          }),
        );

        const document = {
          cluster: CLUSTER_ARN,
          namespace: NAMESPACE,
          registryService: 'mcp-gateway-registry',
          registry: {
            url: registry.url,
            auth: { type: 'keycloak', tokenUrl: registry.tokenUrl, secretArn: secret.ARN },
            timeoutMs: 3000,
          },
          // The two v1.0.16 entries whose services this test runs tasks for.
          targets: V1016_TARGETS.filter((t) => t.path === '/currenttime/' || t.path === '/airegistry-tools/'),
        };
        parseConfig(document); // fail here, not in a child process, if the test's own config is wrong
        configJson = JSON.stringify(document);
        env = {
          ...motoEnvironment(moto.endpoint),
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          POWERTOOLS_DEV: 'false',
        };
        delete env.POWERTOOLS_METRICS_DISABLED;

        async function namespaceIdOf(operationId: string | undefined): Promise<string> {
          const { GetOperationCommand } = await import('@aws-sdk/client-servicediscovery');
          const op = await cloudMap.send(new GetOperationCommand({ OperationId: operationId }));
          return op.Operation?.Targets?.NAMESPACE as string;
        }
      }, 60_000);

      afterAll(async () => {
        await registry?.stop();
        if (work) rmSync(work, { recursive: true, force: true });
      });

      /** Starts Fargate tasks of a service and registers them in Cloud Map, as ECS Service Connect does. */
      async function startTasks(
        family: string,
        service: string,
        cloudMapService: string | undefined,
        count: number,
      ) {
        const out = await ecs.send(
          new RunTaskCommand({
            cluster: CLUSTER,
            taskDefinition: family,
            launchType: 'FARGATE',
            count,
            group: `service:${service}`,
            networkConfiguration: {
              awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-0123456789abcdef0'] },
            },
          }),
        );
        const tasks: Task[] = (out.tasks ?? []).map((t) => ({
          taskId: (t.taskArn as string).split('/').pop() as string,
          ip: t.attachments?.[0]?.details?.find((d) => d.name === 'privateIPv4Address')?.value as string,
        }));
        if (cloudMapService !== undefined) {
          for (const t of tasks) {
            await cloudMap.send(
              new RegisterInstanceCommand({
                ServiceId: cloudMapServiceIds.get(cloudMapService),
                InstanceId: t.taskId,
                Attributes: { AWS_INSTANCE_IPV4: t.ip, AWS_INSTANCE_PORT: '8000' },
              }),
            );
          }
        }
        return tasks;
      }

      /** Stops a task and deregisters it, as ECS does. */
      async function stopTask(task: Task, cloudMapService: string) {
        await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: task.taskId }));
        await cloudMap.send(
          new DeregisterInstanceCommand({
            ServiceId: cloudMapServiceIds.get(cloudMapService),
            InstanceId: task.taskId,
          }),
        );
      }

      function event(
        service: string,
        task: Task,
        lastStatus: string,
        desiredStatus: string,
        version: number,
      ) {
        eventCounter++;
        return taskEvent({
          clusterArn: CLUSTER_ARN,
          taskId: task.taskId,
          service,
          lastStatus,
          desiredStatus,
          version,
          ipv4: task.ip,
          id: `it-${String(eventCounter).padStart(4, '0')}-0000-4000-8000-000000000000`,
          time: new Date().toISOString(),
        });
      }

      /** Invokes the bundled handler in a fresh Node process with an SQS FIFO batch of these events. */
      async function invokeBundle(events: unknown[]): Promise<{ result: unknown; stdout: string }> {
        const file = join(work, `event-${eventCounter}.json`);
        writeFileSync(
          file,
          JSON.stringify({
            Records: events.map((e, i) => ({
              messageId: `m-${eventCounter}-${i}`,
              body: JSON.stringify(e),
              attributes: { ApproximateReceiveCount: '1', MessageGroupId: 'reconciler' },
              eventSource: 'aws:sqs',
            })),
          }),
        );
        const { stdout } = await run(
          process.execPath,
          [join(ROOT, 'test', 'support', 'invoke-bundle.mjs'), bundlePath, file],
          {
            env: { ...env, RECONCILER_CONFIG: configJson },
            timeout: 30_000,
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
          const { stdout, stderr } = await run(process.execPath, args, { env, cwd: ROOT, timeout: 60_000 });
          return { code: 0, records: parseRecords(stdout), stderr };
        } catch (error) {
          const e = error as { code?: number; stdout?: string; stderr?: string };
          return { code: e.code ?? 1, records: parseRecords(e.stdout ?? ''), stderr: e.stderr ?? '' };
        }
      }

      const url = (path: string) => registry.getServer(path)?.proxy_pass_url;

      let current: Task[] = [];

      it('start: the bundled handler points the entry at the first task, authenticated through Keycloak', async () => {
        // Prepare
        current = await startTasks('currenttime', 'mcp-gateway-currenttime', 'currenttime-server', 1);
        const first = current[0] as Task;
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
        expect(registry.requests().filter((r) => r.path === '/api/servers/register')).toHaveLength(1);
        expect(stdout).toContain('"DecisionUpdate"'); // EMF metrics from the real bundle
        expect(stdout).not.toContain(CLIENT_SECRET);
      });

      it('scale-out: replay --live sees two more tasks and writes nothing (sticky)', async () => {
        // Prepare
        const added = await startTasks('currenttime', 'mcp-gateway-currenttime', 'currenttime-server', 2);
        current.push(...added);
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
        expect(url('/currenttime/')).toBe(`http://${(current[0] as Task).ip}:8000/`);
        expect(
          registry.requests().filter((r) => r.method === 'POST' && r.path.startsWith('/api/')),
        ).toHaveLength(0);
      });

      it('stop of the current task: the bundled handler moves the entry to another live task', async () => {
        // Prepare
        const [gone, ...others] = current as [Task, ...Task[]];
        await stopTask(gone, 'currenttime-server');

        // Act
        const { result } = await invokeBundle([
          event('mcp-gateway-currenttime', gone, 'STOPPED', 'STOPPED', 6),
        ]);

        // Assess
        expect(result).toEqual({ batchItemFailures: [] });
        const now = url('/currenttime/');
        expect(others.map((t) => `http://${t.ip}:8000/`)).toContain(now);
        current = others;
      });

      it('registry restart: replay --live re-applies every target after the registry reset its built-in entry', async () => {
        // Prepare
        const [gw] = await startTasks('mcpgw', 'mcp-gateway-mcpgw', 'mcpgw-server', 1);
        const record = registry.getServer('/airegistry-tools/');
        registry.putServer({
          ...(record as NonNullable<typeof record>),
          proxy_pass_url: 'http://mcpgw-server:8003/',
        });
        const [registryTask] = await startTasks('registry', 'mcp-gateway-registry', undefined, 1);
        const before = url('/currenttime/');

        // Act
        const out = await replayLive([
          event('mcp-gateway-registry', registryTask as Task, 'RUNNING', 'RUNNING', 3),
        ]);

        // Assess
        expect([out.code, out.stderr]).toEqual([0, expect.stringContaining('every decision as expected')]);
        expect(out.records.map((r) => [r.target.path, r.action, r.trigger.type]).sort()).toEqual([
          ['/airegistry-tools/', 'update', 'registry-restart'],
          ['/currenttime/', 'noop', 'registry-restart'],
        ]);
        expect(url('/airegistry-tools/')).toBe(`http://${(gw as Task).ip}:8003/`);
        expect(url('/currenttime/')).toBe(before);
      });

      it('replay --live reports an invalid event with its field and exits 1, after replaying the rest', async () => {
        // Prepare
        const good = event('mcp-gateway-currenttime', current[0] as Task, 'RUNNING', 'RUNNING', 4);
        const bad = { ...good, detail: { ...good.detail, version: 'four' } };

        // Act
        const out = await replayLive([bad, good]);

        // Assess
        expect(out.code).toBe(1);
        expect(out.stderr).toContain('detail.version');
        expect(out.records).toHaveLength(1);
      });
    },
  );

function parseRecords(stdout: string): DecisionRecord[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { decision?: DecisionRecord })
    .flatMap((l) => (l.decision === undefined ? [] : [l.decision]));
}

/** moto's default VPC subnet and its range in the test region (EC2's query API; moto ignores the signature). */
async function defaultSubnet(endpoint: string): Promise<{ id: string; cidr: string }> {
  const response = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${MOTO_REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: 'Action=DescribeSubnets&Version=2016-11-15',
  });
  const text = await response.text();
  const subnet = /<subnetId>([^<]+)<\/subnetId>/.exec(text)?.[1];
  const cidr = /<cidrBlock>([^<]+)<\/cidrBlock>/.exec(text)?.[1];
  if (subnet === undefined || cidr === undefined) throw new Error('moto has no default subnet');
  return { id: subnet, cidr };
}
