/**
 * A v1.0.16-like account in moto_server and a local registry over HTTP, for the CLI tests of
 * discover, plan and replay --live: an ECS cluster whose services publish Cloud Map services of an
 * HTTP namespace through ServiceRegistries, Fargate tasks registered as instances, and registry
 * entries of every kind (short name, FQDN, instance IP, foreign host, unknown name, orphan service,
 * a Cloud Map service published by two ECS services).
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { type LocalRegistry, startLocalRegistry } from '../../../tools/local-registry';
import { loadWorld } from '../../../tools/replay/environment';
import { defaultSubnet, runAndRegister, seedMotoWorld } from '../../../tools/try/moto-world';
import type { AwsClientConfig } from '../../support/moto';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const CLUSTER = 'mcp-gateway-ecs-cluster';
export const NAMESPACE = 'mcp-gateway.local';
export const TOKEN_ENV = 'TOOLS_TEST_REGISTRY_TOKEN';
export const TOKEN = 'tools-test-static-token-0123456789';

export interface Account {
  /** Task IPs by Cloud Map service. */
  ips: Record<string, string[]>;
  cloudMapArns: Record<string, string>;
}

/** Cloud Map services, the ECS services that publish them (ServiceRegistries), and tasks each. */
const LAYOUT = [
  { cloudMap: 'currenttime-server', ecs: ['mcp-gateway-currenttime'], tasks: 1, port: '8000' },
  { cloudMap: 'mcpgw-server', ecs: ['mcp-gateway-mcpgw'], tasks: 1, port: '8003' },
  { cloudMap: 'travel-assistant-agent', ecs: ['mcp-gateway-travel-assistant-agent'], tasks: 1, port: '9000' },
  { cloudMap: 'flight-booking-agent', ecs: ['mcp-gateway-flight-booking-agent'], tasks: 1, port: '9000' },
  { cloudMap: 'orphan-server', ecs: [], tasks: 0, port: '8000' },
  {
    cloudMap: 'shared-server',
    ecs: ['mcp-gateway-shared-a', 'mcp-gateway-shared-b'],
    tasks: 0,
    port: '8000',
  },
] as const;

/** Seeds moto. `serviceConnect` names ECS services created with Service Connect instead of ServiceRegistries. */
export async function seedAccount(
  config: AwsClientConfig,
  endpoint: string,
  options: { serviceConnect?: string[] } = {},
): Promise<Account> {
  const subnet = await defaultSubnet(endpoint, config.region);
  const world = await seedMotoWorld(clientsOf(config), {
    cluster: CLUSTER,
    namespace: NAMESPACE,
    subnet: subnet.id,
    services: LAYOUT,
    ...(options.serviceConnect === undefined ? {} : { serviceConnect: options.serviceConnect }),
  });
  return { ips: world.ips, cloudMapArns: world.cloudMapArns };
}

/**
 * A rogue Cloud Map instance: runs a Fargate task in ECS group `group` and registers it under the
 * Cloud Map service `cloudMap` with `ipv4` (the task's own IP when absent). Returns the task id
 * and both IPs.
 */
export async function addInstance(
  config: AwsClientConfig,
  endpoint: string,
  account: Account,
  options: { group: string; cloudMap: string; ipv4?: string; port?: string },
): Promise<{ taskId: string; taskIp: string; listedIp: string }> {
  const subnet = await defaultSubnet(endpoint, config.region);
  return runAndRegister(clientsOf(config), {
    cluster: CLUSTER,
    subnet: subnet.id,
    group: options.group,
    serviceArn: account.cloudMapArns[options.cloudMap] as string,
    ...(options.ipv4 === undefined ? {} : { ipv4: options.ipv4 }),
    port: options.port ?? '8000',
  });
}

function clientsOf(config: AwsClientConfig) {
  return { ecs: new ECSClient(config), cloudMap: new ServiceDiscoveryClient(config) };
}

/**
 * The registry: the v1.0.16 records of events/registry with their addresses set per kind of
 * match, plus entries that must not match. `travelIp` is an instance IP of travel-assistant-agent.
 */
export async function startRegistry(travelIp: string): Promise<LocalRegistry> {
  const seed = loadWorld(join(ROOT, 'events', 'world.json'));
  const server = (path: string) => seed.servers.find((s) => s.path === path) as Record<string, unknown>;
  const agent = (path: string) => seed.agents.find((a) => a.path === path) as Record<string, unknown>;
  const currenttime = server('/currenttime/');
  const servers: Record<string, unknown>[] = [
    { ...currenttime, proxy_pass_url: 'http://currenttime-server:8000/' },
    { ...server('/airegistry-tools/'), proxy_pass_url: `http://mcpgw-server.${NAMESPACE}:8003/` },
    {
      ...currenttime,
      path: '/weather/',
      server_name: 'Weather',
      proxy_pass_url: 'https://weather.example.com/mcp/',
    },
    {
      ...currenttime,
      path: '/missing/',
      server_name: 'Missing',
      proxy_pass_url: 'http://missing-server:8000/',
    },
    { ...currenttime, path: '/orphan/', server_name: 'Orphan', proxy_pass_url: 'http://orphan-server:8000/' },
    { ...currenttime, path: '/shared/', server_name: 'Shared', proxy_pass_url: 'http://shared-server:8000/' },
  ];
  const agents = [
    { ...agent('/travel-assistant-agent'), url: `http://${travelIp}:9000/` },
    { ...agent('/flight-booking-agent'), url: 'http://flight-booking-agent:9000/' },
  ];
  return startLocalRegistry({
    staticToken: TOKEN,
    seed: { servers, agents, state: Object.fromEntries(servers.map((s) => [String(s.path), true])) },
  });
}

/** The partial configuration discover starts from. */
export function partialConfig(registryUrl: string): Record<string, unknown> {
  return {
    cluster: CLUSTER,
    namespace: NAMESPACE,
    registryService: 'mcp-gateway-registry',
    registry: {
      url: registryUrl,
      auth: { type: 'static', tokenEnv: TOKEN_ENV },
      // A guard against a hung request, not a speed limit.
      timeoutMs: 30_000,
      maxAttempts: 1,
    },
  };
}

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool's CLI in a fresh Node process, as `npm run <tool>` would (tsx), from `cwd`. */
export async function runCli(
  tool: 'discover' | 'plan' | 'replay',
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = ROOT,
): Promise<CliResult> {
  const argv = ['--import', 'tsx', join(ROOT, 'tools', tool, 'cli.ts'), ...args];
  try {
    const { stdout, stderr } = await run(process.execPath, argv, { env, cwd, timeout: 110_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * `env` without the AWS set-up a user may lack: `noRegion` has neither a region nor config files
 * (under `work`, which hold none); `noCredentials` has a region but no keys and no files.
 */
export function withoutAwsSetup(
  env: NodeJS.ProcessEnv,
  work: string,
): { noRegion: NodeJS.ProcessEnv; noCredentials: NodeJS.ProcessEnv } {
  const noRegion: NodeJS.ProcessEnv = {
    ...env,
    AWS_CONFIG_FILE: join(work, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'none'),
  };
  delete noRegion.AWS_REGION;
  delete noRegion.AWS_DEFAULT_REGION;
  const noCredentials: NodeJS.ProcessEnv = { ...noRegion, AWS_REGION: 'us-west-2' };
  delete noCredentials.AWS_ACCESS_KEY_ID;
  delete noCredentials.AWS_SECRET_ACCESS_KEY;
  return { noRegion, noCredentials };
}
