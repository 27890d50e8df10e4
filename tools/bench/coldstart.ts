import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { V1016_TARGETS } from '../../infra/deployed-defaults';
import { type Summary, summarize } from './stats';

const run = promisify(execFile);

/**
 * A configuration that passes validation and points every endpoint at a closed loopback port:
 * loading the handler builds its clients but must not (and cannot) reach a network.
 */
export const COLD_START_CONFIG = {
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
  targets: V1016_TARGETS,
};

/** The environment of each probe process: only what Lambda would set, plus fake credentials. */
export function coldStartEnv(nodeOptions?: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    RECONCILER_CONFIG: JSON.stringify(COLD_START_CONFIG),
    AWS_REGION: 'us-west-2',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    // Belt and braces: every SDK endpoint on a closed loopback port, and no instance metadata look-up.
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'registry-reconciler',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }),
  };
}

export interface ColdStartSeries {
  name: string;
  bundle: string;
  nodeOptions?: string;
  /** Process start → handler ready (module evaluated, clients built), in ms. */
  readyMs: Summary;
  /** Just the `import()` of the bundle, in ms. */
  importMs: Summary;
  /** CPU time (user + system, all threads) from process start to ready, in ms. */
  cpuMs: Summary;
}

interface Probe {
  name: string;
  bundle: string;
  nodeOptions?: string;
}

/**
 * Starts `runs` fresh Node processes per bundle (after `warmup` discarded ones, which fill the file
 * cache), interleaving the bundles so that drift on the machine hits all of them alike.
 */
export async function measureColdStart(
  probes: Probe[],
  options: { runs: number; warmup: number },
): Promise<ColdStartSeries[]> {
  const script = join(__dirname, 'cold-probe.mjs');
  const samples = probes.map(() => ({
    ready: [] as number[],
    imported: [] as number[],
    cpu: [] as number[],
  }));
  for (let i = 0; i < options.warmup + options.runs; i++) {
    for (const [p, probe] of probes.entries()) {
      const { stdout } = await run(process.execPath, [script, probe.bundle], {
        env: coldStartEnv(probe.nodeOptions),
        timeout: 30_000,
      });
      const { readyMs, importMs, cpuMs } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
        readyMs: number;
        importMs: number;
        cpuMs: number;
      };
      if (!(readyMs > 0)) throw new Error(`cold-start probe of ${probe.bundle} printed no timing: ${stdout}`);
      if (i < options.warmup) continue;
      samples[p]?.ready.push(readyMs);
      samples[p]?.imported.push(importMs);
      samples[p]?.cpu.push(cpuMs);
    }
  }
  return probes.map((probe, p) => ({
    ...probe,
    readyMs: summarize(samples[p]?.ready ?? []),
    importMs: summarize(samples[p]?.imported ?? []),
    cpuMs: summarize(samples[p]?.cpu ?? []),
  }));
}
