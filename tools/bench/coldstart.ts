import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../../functions/reconciler/delivery/settings';
import { V1016_TARGETS } from '../../infra/deployed-defaults';
import { runProbe } from './invocation';
import type { NodeRuntime } from './node-runtime';
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

/** What differs between the probes' environments. */
export interface ProbeEnvOptions {
  /** `RECONCILER_CONFIG`, as JSON. */
  config: string;
  region: string;
  /** `AWS_ENDPOINT_URL`: every SDK client's endpoint. */
  endpoint: string;
  queues: { work: string; trigger: string };
  logLevel: string;
  /** `POWERTOOLS_METRICS_NAMESPACE`, when metrics are on. */
  metricsNamespace?: string;
  sessionToken?: string;
  nodeOptions?: string;
}

/**
 * The environment of a probe process: only what Lambda would set (the variables as the construct
 * sets them, infra/reconciler-function.ts), plus fake credentials and no instance metadata look-up.
 */
export function probeEnv(o: ProbeEnvOptions): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    RECONCILER_CONFIG: o.config,
    AWS_REGION: o.region,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ...(o.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: o.sessionToken }),
    AWS_ENDPOINT_URL: o.endpoint,
    [WORK_QUEUE_URL_ENV]: o.queues.work,
    [TRIGGER_QUEUE_URL_ENV]: o.queues.trigger,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'registry-reconciler',
    ...(o.metricsNamespace === undefined ? {} : { POWERTOOLS_METRICS_NAMESPACE: o.metricsNamespace }),
    POWERTOOLS_LOG_LEVEL: o.logLevel,
    ...(o.nodeOptions === undefined ? {} : { NODE_OPTIONS: o.nodeOptions }),
  };
}

/**
 * The environment of each load-only probe. Every SDK endpoint is a closed loopback port and the
 * queue URLs point there too: nothing is sent at load.
 */
export function coldStartEnv(nodeOptions?: string): NodeJS.ProcessEnv {
  return probeEnv({
    config: JSON.stringify(COLD_START_CONFIG),
    region: 'us-west-2',
    endpoint: 'http://127.0.0.1:9',
    queues: {
      work: 'http://127.0.0.1:9/111122223333/registry-reconciler-work.fifo',
      trigger: 'http://127.0.0.1:9/111122223333/registry-reconciler-trigger',
    },
    logLevel: 'WARN',
    nodeOptions,
  });
}

/** What the invocation probe adds to a series: the first invocation, memory and warm events. */
export interface InvocationSummary {
  /** The first invocation alone (handler called → answered), in ms. */
  firstMs: Summary;
  /** Process start → first invocation answered, in ms. */
  initPlusFirstMs: Summary;
  firstCpuMs: Summary;
  /** Peak RSS (`process.resourceUsage().maxRSS`) when the first invocation answered, in MB. */
  firstRssMb: Summary;
  /** Peak RSS at the end of the process (after the warm invocations), in MB. */
  peakRssMb: Summary;
  /** Every warm invocation (one event each) of every process, pooled, in ms. */
  warmMs: Summary;
  /** CPU time per warm invocation (one value per process), in ms. */
  warmCpuMs: Summary;
}

export interface ColdStartSeries {
  name: string;
  /** The Node version the processes ran (`v24.22.3`). */
  node: string;
  bundle: string;
  nodeOptions?: string;
  /** Process start → handler ready (module evaluated, clients built), in ms. */
  readyMs: Summary;
  /** Just the `import()` of the bundle, in ms. */
  importMs: Summary;
  /** CPU time (user + system, all threads) from process start to ready, in ms. */
  cpuMs: Summary;
  invocation?: InvocationSummary;
}

export interface ColdProbe {
  name: string;
  node: NodeRuntime;
  bundle: string;
  nodeOptions?: string;
  /** Invoke the handler after loading it: the events file and the environment of the loopback world. */
  invoke?: { eventsFile: string; env: (nodeOptions?: string) => NodeJS.ProcessEnv; before?: () => void };
}

const MB = 1024;

/**
 * Starts `runs` fresh Node processes per probe (after `warmup` discarded ones, which fill the file
 * cache), interleaving the probes so that drift on the machine hits all of them alike.
 */
export async function measureColdStart(
  probes: ColdProbe[],
  options: { runs: number; warmup: number },
): Promise<ColdStartSeries[]> {
  const script = join(__dirname, 'cold-probe.mjs');
  const samples = probes.map(() => ({
    ready: [] as number[],
    imported: [] as number[],
    cpu: [] as number[],
    first: [] as number[],
    initPlusFirst: [] as number[],
    firstCpu: [] as number[],
    firstRss: [] as number[],
    peakRss: [] as number[],
    warm: [] as number[],
    warmCpu: [] as number[],
  }));
  for (let i = 0; i < options.warmup + options.runs; i++) {
    for (const [p, probe] of probes.entries()) {
      const s = samples[p];
      if (s === undefined) continue;
      if (probe.invoke !== undefined) {
        probe.invoke.before?.();
        const f = await runProbe(
          probe.node.execPath,
          probe.bundle,
          probe.invoke.eventsFile,
          probe.invoke.env(probe.nodeOptions),
        );
        if (i < options.warmup) continue;
        s.ready.push(f.readyMs);
        s.imported.push(f.importMs);
        s.cpu.push(f.readyCpuMs);
        s.first.push(f.firstMs);
        s.initPlusFirst.push(f.readyMs + f.firstMs);
        s.firstCpu.push(f.firstCpuMs);
        s.firstRss.push(f.firstRssKb / MB);
        s.peakRss.push(f.peakRssKb / MB);
        s.warm.push(...f.warmMs);
        s.warmCpu.push(f.warmCpuMsPerEvent);
        continue;
      }
      const { stdout } = await run(probe.node.execPath, [script, probe.bundle], {
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
      s.ready.push(readyMs);
      s.imported.push(importMs);
      s.cpu.push(cpuMs);
    }
  }
  return probes.map((probe, p) => {
    const s = samples[p] ?? { ready: [], imported: [], cpu: [] };
    const series: ColdStartSeries = {
      name: probe.name,
      node: probe.node.version,
      bundle: probe.bundle,
      ...(probe.nodeOptions === undefined ? {} : { nodeOptions: probe.nodeOptions }),
      readyMs: summarize(s.ready),
      importMs: summarize(s.imported),
      cpuMs: summarize(s.cpu),
    };
    const v = samples[p];
    if (probe.invoke !== undefined && v !== undefined)
      series.invocation = {
        firstMs: summarize(v.first),
        initPlusFirstMs: summarize(v.initPlusFirst),
        firstCpuMs: summarize(v.firstCpu),
        firstRssMb: summarize(v.firstRss),
        peakRssMb: summarize(v.peakRss),
        warmMs: summarize(v.warm),
        warmCpuMs: summarize(v.warmCpu),
      };
    return series;
  });
}
