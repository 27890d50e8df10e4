import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../../functions/lib/delivery/settings';
import type { NodeRuntime } from './node-runtime';
import { median } from './stats';

const run = promisify(execFile);

/**
 * A configuration that passes validation and points every endpoint at a closed loopback port:
 * loading the handler builds its clients but must not (and cannot) reach a network.
 */
const CONFIG = {
  cluster: 'mcp-gateway-ecs-cluster',
  namespace: 'mcp-gateway.local',
  registryService: 'mcp-gateway-registry',
  registry: {
    url: 'http://127.0.0.1:9',
    auth: {
      type: 'keycloak',
      tokenUrl: 'http://127.0.0.1:9/realms/mcp-gateway/protocol/openid-connect/token',
      secretArn:
        'arn:aws:secretsmanager:us-west-2:111122223333:secret:mcp-gateway-keycloak-m2m-client-secret-AbCdEf',
    },
  },
  targets: [
    { kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server' },
    { kind: 'server', path: '/airegistry-tools/', cloudMapService: 'mcpgw-server' },
    { kind: 'agent', path: '/flight-booking', cloudMapService: 'flight-booking-agent' },
  ],
};

/** The same with follow mode on, its table named as the construct would. */
export const FOLLOW_CONFIG = {
  ...CONFIG,
  follow: { enabled: true },
  ownership: { table: 'registry-reconciler-ownership' },
};

/**
 * The environment of a load probe: what Lambda would set (the variables as the construct sets
 * them), fake credentials, every SDK endpoint and queue URL on a closed loopback port.
 */
export function coldLoadEnv(config: object = CONFIG): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    RECONCILER_CONFIG: JSON.stringify(config),
    AWS_REGION: 'us-west-2',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'bench-session-token',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    [WORK_QUEUE_URL_ENV]: 'http://127.0.0.1:9/111122223333/registry-reconciler-work.fifo',
    [TRIGGER_QUEUE_URL_ENV]: 'http://127.0.0.1:9/111122223333/registry-reconciler-trigger',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'registry-reconciler',
    POWERTOOLS_METRICS_NAMESPACE: 'RegistryReconciler',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  };
}

/** One series: a bundle loaded in fresh processes of one Node. */
export interface LoadSeries {
  name: string;
  bundle: string;
  /** Process start → handler ready (module evaluated, clients built), ms, one per process. */
  readyMs: number[];
  median: number;
  /**
   * CPU time (user + system, all threads) to the same point, ms, one per process, and its median:
   * less sensitive than the wall time to a busy machine. Reported beside the gate, not gated.
   */
  cpuMs: number[];
  cpuMedian: number;
}

/**
 * Loads each bundle in `runs` fresh processes of `node` (after `warmup` discarded rounds, which
 * fill the file cache), the bundles interleaved round by round so that drift on the machine hits
 * all of them alike: an A/B in one run.
 */
export async function measureLoads(
  node: NodeRuntime,
  bundles: { name: string; bundle: string; env?: NodeJS.ProcessEnv }[],
  options: { runs: number; warmup: number },
): Promise<LoadSeries[]> {
  const script = join(__dirname, 'cold-probe.mjs');
  const samples = bundles.map(() => [] as number[]);
  const cpuSamples = bundles.map(() => [] as number[]);
  for (let i = 0; i < options.warmup + options.runs; i++) {
    for (const [b, { bundle, env }] of bundles.entries()) {
      const { stdout } = await run(node.execPath, [script, bundle], {
        env: env ?? coldLoadEnv(),
        timeout: 60_000,
      });
      const { readyMs, cpuMs } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
        readyMs?: number;
        cpuMs?: number;
      };
      if (!(typeof readyMs === 'number' && readyMs > 0 && typeof cpuMs === 'number'))
        throw new Error(`the load probe of ${bundle} printed no timing: ${stdout}`);
      if (i >= options.warmup) {
        samples[b]?.push(readyMs);
        cpuSamples[b]?.push(cpuMs);
      }
    }
  }
  return bundles.map(({ env: _env, ...b }, i) => {
    const readyMs = samples[i] ?? [];
    const cpuMs = cpuSamples[i] ?? [];
    return { ...b, readyMs, median: median(readyMs), cpuMs, cpuMedian: median(cpuMs) };
  });
}
