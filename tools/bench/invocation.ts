import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { V1016_TARGETS } from '../../infra/deployed-defaults';
import { ROOT } from '../build';
import { type LocalRegistry, startLocalRegistry } from '../local-registry';
import { loadWorld } from '../replay/environment';
import { scheduledEvent, taskEvent } from '../world/events';
import { type AwsStandIn, type StandInTask, standInQueueUrls, startAwsStandIn } from './aws-standin';
import { probeEnv } from './coldstart';

const run = promisify(execFile);

const REGION = 'us-west-2';
const ACCOUNT = '111122223333';
const CLUSTER = 'mcp-gateway-ecs-cluster';
const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`;
const NAMESPACE = 'mcp-gateway.local';
const CLIENT_ID = 'mcp-gateway-m2m';
const CLIENT_SECRET = 'bench-m2m-secret';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:mcp-gateway-keycloak-m2m-client-secret-AbCdEf`;
/** An address no task has: the entries start pointing here, so the first event must move them. */
const DEAD_IP = '10.0.9.99';

/** The two v1.0.16 entries the invocations reconcile, with the tasks of events/world.json. */
const TARGET_PATHS = ['/currenttime/', '/airegistry-tools/'];

/** What one fresh process measured (all times in ms, memory in KB). */
export interface ProbeFigures {
  node: string;
  readyMs: number;
  importMs: number;
  readyCpuMs: number;
  readyRssKb: number;
  firstMs: number;
  firstCpuMs: number;
  firstRssKb: number;
  warmMs: number[];
  /** CPU time (user + system) per warm invocation, averaged over the process's warm invocations. */
  warmCpuMsPerEvent: number;
  peakRssKb: number;
  results: unknown[];
}

/** Calls of one delivery, by API: AWS (from the stand-in) and registry (from its request log). */
export type CallCounts = Record<string, number>;

export interface PathCalls {
  path: string;
  description: string;
  calls: CallCounts;
  /** Targets the delivery reconciles. */
  targets: number;
  /** DiscoverInstances and DescribeTasks calls of the delivery (all its targets). */
  lookups: { discoverInstances: number; describeTasks: number };
  ms: number;
  result: unknown;
}

/**
 * The loopback world of the invocation benchmarks: the local registry (Keycloak client-credentials
 * auth, entries pointing at a dead address) and the AWS stand-in with the tasks of events/world.json.
 */
export interface InvocationWorld {
  env: (nodeOptions?: string) => NodeJS.ProcessEnv;
  /** Writes an events file (an array of SQS events, one invocation each) and returns its path. */
  eventsFile: (name: string, invocations: unknown[][]) => string;
  /** One RUNNING event of a live task of a target, as SQS delivers it (FIFO, one message). */
  taskRecord: (index: number, n: number) => unknown;
  scheduleRecord: (n: number) => unknown;
  sqs: (bodies: unknown[], n: number) => unknown;
  registry: LocalRegistry;
  aws: AwsStandIn;
  tasks: StandInTask[];
  /** Entries back to the dead address, call logs cleared, every task listed. */
  reset: () => void;
  close: () => Promise<void>;
}

export async function startInvocationWorld(): Promise<InvocationWorld> {
  const work = mkdtempSync(join(tmpdir(), 'reconciler-bench-'));
  const world = loadWorld(join(ROOT, 'events', 'world.json'));
  const targets = V1016_TARGETS.filter((t) => TARGET_PATHS.includes(t.path));
  const tasks: StandInTask[] = targets.flatMap((t) => {
    const service = world.world.services.find((s) => s.ecsService === t.ecsService);
    return (service?.tasks ?? []).map((task) => ({
      taskId: task.taskId,
      ecsService: t.ecsService,
      cloudMapService: t.cloudMapService,
      ipv4: task.ipv4,
      port: Number((service as { port?: number } | undefined)?.port ?? 8000),
      startedAt: task.startedAt ?? '2026-03-01T08:00:00Z',
    }));
  });
  if (tasks.length === 0) throw new Error('events/world.json has no tasks for the benchmark targets');
  const servers = world.servers.map((s) =>
    TARGET_PATHS.includes(String(s.path)) && typeof s.proxy_pass_url === 'string'
      ? { ...s, proxy_pass_url: s.proxy_pass_url.replace(/\/\/[^/:]+/, `//${DEAD_IP}`) }
      : s,
  );
  const registry = await startLocalRegistry({
    clients: { [CLIENT_ID]: CLIENT_SECRET },
    seed: {
      servers,
      agents: world.agents,
      state: Object.fromEntries(world.servers.map((s) => [String(s.path), true])),
    },
  });
  const aws = await startAwsStandIn({
    region: REGION,
    account: ACCOUNT,
    cluster: CLUSTER,
    tasks,
    secretString: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
  });
  const queues = standInQueueUrls(aws.endpoint, ACCOUNT);
  const config = JSON.stringify({
    cluster: CLUSTER_ARN,
    namespace: NAMESPACE,
    registryService: 'mcp-gateway-registry',
    registry: {
      url: registry.url,
      auth: { type: 'keycloak', tokenUrl: registry.tokenUrl, secretArn: SECRET_ARN },
      timeoutMs: 3000,
    },
    targets,
  });
  let files = 0;
  const sqs = (bodies: unknown[], n: number) => ({
    Records: bodies.map((body, i) => ({
      messageId: `bench-${n}-${i}`,
      receiptHandle: `rh-${n}-${i}`,
      body: JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: '1',
        MessageGroupId: 'reconciler',
        MessageDeduplicationId: `d-${n}-${i}`,
        SentTimestamp: '0',
        SenderId: 'events',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:registry-reconciler.fifo`,
      awsRegion: REGION,
    })),
  });
  const taskBody = (index: number, n: number) => {
    const task = tasks[index % tasks.length] as StandInTask;
    return taskEvent({
      clusterArn: CLUSTER_ARN,
      taskId: task.taskId,
      service: task.ecsService,
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 3 + n,
      ipv4: task.ipv4,
      startedAt: task.startedAt,
      id: `b${String(n).padStart(7, '0')}-0000-4000-8000-000000000000`,
      time: new Date().toISOString(),
    });
  };
  return {
    // Metrics on, as the construct deploys the function; a write sends its verification to the
    // trigger queue and a hand-back sets its visibility on the work queue.
    env: (nodeOptions) =>
      probeEnv({
        config,
        region: REGION,
        endpoint: aws.endpoint,
        queues,
        logLevel: 'INFO',
        metricsNamespace: 'RegistryReconciler',
        sessionToken: 'bench-session-token',
        nodeOptions,
      }),
    eventsFile: (name, invocations) => {
      const file = join(work, `${name}-${files++}.json`);
      writeFileSync(file, JSON.stringify(invocations.map((bodies, n) => sqs(bodies, n))));
      return file;
    },
    taskRecord: taskBody,
    scheduleRecord: (n) => scheduledEvent(`s${String(n).padStart(7, '0')}-0000-4000-8000-000000000000`),
    sqs,
    registry,
    aws,
    tasks,
    reset: () => {
      registry.reset();
      aws.resetCalls();
      aws.unlisted.clear();
    },
    close: async () => {
      await registry.stop();
      await aws.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Runs the invocation probe once: a fresh process on `execPath`. */
export async function runProbe(
  execPath: string,
  bundle: string,
  eventsFile: string,
  env: NodeJS.ProcessEnv,
): Promise<ProbeFigures> {
  const { stdout } = await run(execPath, [join(__dirname, 'invoke-probe.mjs'), bundle, eventsFile], {
    env,
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('PROBE '));
  if (line === undefined) throw new Error(`invocation probe printed no figures: ${stdout.slice(-500)}`);
  return JSON.parse(line.slice('PROBE '.length)) as ProbeFigures;
}

/** Registry requests by kind, from the local registry's request log. */
export function registryCalls(registry: LocalRegistry): CallCounts {
  const out: CallCounts = {};
  for (const r of registry.requests()) {
    const kind = r.path.includes('/protocol/openid-connect/token')
      ? 'registry.token'
      : r.method === 'GET'
        ? 'registry.GET'
        : `registry.${r.method} ${r.path.replace(/^\/api\/servers\/(register|toggle).*/, '/api/servers/$1')}`;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

/**
 * The calls of one delivery on each path, each in a fresh process of the bundle (counts do not
 * depend on the Node version): an entry that must move, the same event once the entry is right, a
 * RUNNING task that Cloud Map does not list yet (lag, the delivery's look-up loop as configured),
 * and the scheduled resync.
 */
export async function measurePaths(
  world: InvocationWorld,
  execPath: string,
  bundle: string,
): Promise<PathCalls[]> {
  const out: PathCalls[] = [];
  const once = async (path: string, description: string, bodies: unknown[], targets = 1): Promise<void> => {
    world.aws.resetCalls();
    world.registry.clearRequests();
    const figures = await runProbe(execPath, bundle, world.eventsFile(path, [bodies]), world.env());
    const aws = world.aws.calls();
    out.push({
      path,
      description,
      calls: { ...aws, ...registryCalls(world.registry) },
      targets,
      lookups: {
        discoverInstances: aws['cloudmap.DiscoverInstances'] ?? 0,
        describeTasks: aws['ecs.DescribeTasks'] ?? 0,
      },
      ms: figures.firstMs,
      result: figures.results[0],
    });
  };
  world.reset();
  await once('move', 'RUNNING event; the entry points at a dead address and must move', [
    world.taskRecord(0, 1),
  ]);
  await once('noop', 'the same RUNNING event again; the entry is right (nothing written)', [
    world.taskRecord(0, 2),
  ]);
  await once(
    'schedule',
    'scheduled resync, fresh container (no pointer memory); one entry right, one at a dead address',
    [world.scheduleRecord(3)],
    TARGET_PATHS.length,
  );
  world.reset();
  const lagged = world.tasks[0] as StandInTask;
  world.aws.unlisted.add(lagged.taskId);
  await once(
    'lag',
    'RUNNING event of a task Cloud Map does not list yet; the entry points at a dead address',
    [world.taskRecord(0, 4)],
  );
  world.reset();
  return out;
}
