import { parseConfig, type ReconcilerConfig, type TargetInput } from '../../functions/lib/config/config';
import { V1016_TARGETS } from '../../functions/lib/config/defaults';
import { scheduledEventBody } from '../../functions/lib/delivery/bodies';
import { MemoryRegistry, World, type WorldService } from '../../functions/lib/inmemory/world';
import type { Ignored } from '../../functions/lib/reconcile/plan';
import type { CloudMapPort, EcsPort, EntryRef, RegistryPort } from '../../functions/lib/reconcile/ports';
import { verificationOf } from '../../functions/lib/registry/client';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import {
  type LoggerLike,
  type MetricNameValue,
  type MetricsSink,
  NO_METRICS,
} from '../../functions/lib/telemetry/telemetry';
import { DeployedPath, type DeployedPathOptions } from '../../tools/replay/deployed';

/**
 * Shared fakes for the core tests: a v1.0.16-shaped world (in-memory Cloud Map + ECS on a virtual
 * clock), an in-memory registry, and a logger and metrics sink that record what they are given.
 */

export const CLUSTER_NAME = 'mcp-gateway-ecs-cluster';
export const CLUSTER_ARN = `arn:aws:ecs:us-west-2:111122223333:cluster/${CLUSTER_NAME}`;
export const OTHER_CLUSTER_ARN = 'arn:aws:ecs:us-west-2:111122223333:cluster/some-other-cluster';
export const NAMESPACE = 'mcp-gateway.local';

/** A recognisable secret: the value of the static-token env var. It must never reach a record or a log. */
export const SECRET_TOKEN = 'tok-SECRET-5f0c1e9a7b3d4c2e8a6f-MUST-NOT-LEAK';
export const TOKEN_ENV = 'RECONCILER_TEST_REGISTRY_TOKEN';

export const SERVICES: WorldService[] = [
  { ecsService: 'mcp-gateway-currenttime', cloudMapService: 'currenttime-server', port: 8000 },
  { ecsService: 'mcp-gateway-mcpgw', cloudMapService: 'mcpgw-server', port: 8003 },
  { ecsService: 'mcp-gateway-flight-booking-agent', cloudMapService: 'flight-booking-agent', port: 9000 },
  { ecsService: 'mcp-gateway-travel-assistant-agent', cloudMapService: 'travel-assistant-agent', port: 9001 },
  { ecsService: 'mcp-gateway-registry', cloudMapService: 'registry', port: 80 },
  { ecsService: 'mcp-gateway-auth-server', cloudMapService: 'auth-server', port: 8888 },
];

export const REFS = {
  currenttime: { kind: 'server', path: '/currenttime/' },
  mcpgw: { kind: 'server', path: '/airegistry-tools/' },
  flight: { kind: 'agent', path: '/flight-booking-agent' },
  travel: { kind: 'agent', path: '/travel-assistant-agent' },
} as const satisfies Record<string, EntryRef>;

/** Seeded tasks: id, IP and start time per ECS service. */
export const TASKS = {
  ct1: { service: 'mcp-gateway-currenttime', taskId: '3f1c2a9b8e7d4c6a9b0e1f2a3b4c5d6e', ipv4: '10.0.1.11' },
  ct2: { service: 'mcp-gateway-currenttime', taskId: '4a2d3b0c9f8e4d7b8c1f2a3b4c5d6e7f', ipv4: '10.0.1.12' },
  gw1: { service: 'mcp-gateway-mcpgw', taskId: '5a6b7c8d9e0f41a2b3c4d5e6f7a8b9c0', ipv4: '10.0.2.21' },
  fb1: {
    service: 'mcp-gateway-flight-booking-agent',
    taskId: '8d9e0f1a2b3c44d5e6f7a8b9c0d1e2f3',
    ipv4: '10.0.4.41',
  },
  ta1: {
    service: 'mcp-gateway-travel-assistant-agent',
    taskId: '9e0f1a2b3c4d45e6f7a8b9c0d1e2f3a4',
    ipv4: '10.0.4.51',
  },
  reg1: { service: 'mcp-gateway-registry', taskId: '0f1a2b3c4d5e46f7a8b9c0d1e2f3a4b5', ipv4: '10.0.0.10' },
} as const;

export type { TargetInput };

/** Three of the v1.0.16 entries: two servers and an agent, each naming its ECS service. */
export const DEFAULT_TARGETS: TargetInput[] = V1016_TARGETS.filter((t) =>
  ['/currenttime/', '/airegistry-tools/', '/flight-booking-agent'].includes(t.path),
);

/** The travel agent without `ecsService`: it is found through DescribeServices. */
export const DISCOVERED_TARGET: TargetInput = {
  kind: 'agent',
  path: '/travel-assistant-agent',
  cloudMapService: 'travel-assistant-agent',
  port: 'instance',
};

export function testConfig(
  overrides: { targets?: TargetInput[]; dryRun?: boolean; cluster?: string } = {},
): ReconcilerConfig {
  return parseConfig({
    cluster: overrides.cluster ?? CLUSTER_NAME,
    namespace: NAMESPACE,
    registryService: 'mcp-gateway-registry',
    registry: { url: 'http://127.0.0.1:7860', auth: { type: 'static', tokenEnv: TOKEN_ENV } },
    targets: overrides.targets ?? DEFAULT_TARGETS,
    dryRun: overrides.dryRun ?? false,
  });
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  extra: Record<string, unknown>[];
}

/** A logger that keeps every line, so tests can assert that a reason was logged. */
export class RecordingLogger implements LoggerLike {
  readonly lines: LogLine[] = [];
  debug(message: string, ...extra: Record<string, unknown>[]): void {
    this.lines.push({ level: 'debug', message, extra });
  }
  info(message: string, ...extra: Record<string, unknown>[]): void {
    this.lines.push({ level: 'info', message, extra });
  }
  warn(message: string, ...extra: Record<string, unknown>[]): void {
    this.lines.push({ level: 'warn', message, extra });
  }
  error(message: string, ...extra: Record<string, unknown>[]): void {
    this.lines.push({ level: 'error', message, extra });
  }
}

/** A metrics sink that totals counts and keeps timings. */
export class RecordingMetrics implements MetricsSink {
  readonly counts = new Map<MetricNameValue, number>();
  readonly timings: { name: MetricNameValue; value: number }[] = [];
  count(name: MetricNameValue, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  milliseconds(name: MetricNameValue, value: number): void {
    this.timings.push({ name, value });
  }
  get(name: MetricNameValue): number {
    return this.counts.get(name) ?? 0;
  }
}

export interface Harness {
  config: ReconcilerConfig;
  world: World;
  registry: MemoryRegistry;
  logger: RecordingLogger;
  metrics: RecordingMetrics;
  /** The deployed path (fan-out → one FIFO group per entry → worker) over in-memory queues. */
  path: DeployedPath;
  /**
   * Puts an EventBridge event (or the bodies of an SQS batch) on the trigger queue and runs both
   * functions until the queues are empty; answers with what the worker decided meanwhile.
   */
  handler: (event: unknown) => Promise<{ outcome: Outcome }>;
  /** Every decision record of the worker. */
  records: DecisionRecord[];
  /** Every read-only check of a resync's shard in the fan-out (an entry found right gets no work). */
  checks: DecisionRecord[];
  /** Messages the path gave up on (dead-lettered work, failed trigger messages). */
  failures: string[];
}

/**
 * What one `handler` call saw: the worker's decisions, the resync's checks of entries that got no
 * work, and the events ignored.
 */
export interface Outcome {
  records: DecisionRecord[];
  ignored: Ignored[];
}

export interface HarnessOptions {
  config?: ReconcilerConfig;
  /** Seed the standard tasks (one or two per service) and entries pointing at them. @default true */
  seed?: boolean;
  registrationLagMs?: number;
  /** Overrides for the ports (e.g. a custom `describeService`). */
  deps?: Partial<{ ecs: EcsPort; cloudMap: CloudMapPort; registry: RegistryPort }>;
}

/**
 * The deployed path (tools/replay/deployed.ts) over the world and an in-memory registry.
 * Seeded: currenttime has two live tasks (ct1 older, ct2 newer) and its entry on ct1's IP; every
 * other entry holds its Service Connect name, as the v1.0.16 stack registers them.
 */
export function harness(options: HarnessOptions = {}): Harness {
  const config = options.config ?? testConfig();
  const world = new World({
    clusterArn: CLUSTER_ARN,
    namespace: NAMESPACE,
    services: SERVICES,
    registrationLagMs: options.registrationLagMs ?? 0,
  });
  const registry = new MemoryRegistry(world.clock);
  if (options.seed !== false) {
    world.seedTask(TASKS.ct1.service, { ...TASKS.ct1, startedAt: '2026-01-01T00:00:00.000Z' });
    world.seedTask(TASKS.ct2.service, { ...TASKS.ct2, startedAt: '2026-01-01T00:01:00.000Z' });
    world.seedTask(TASKS.gw1.service, TASKS.gw1);
    world.seedTask(TASKS.fb1.service, TASKS.fb1);
    world.seedTask(TASKS.ta1.service, TASKS.ta1);
    world.seedTask(TASKS.reg1.service, TASKS.reg1);
    registry.seed(REFS.currenttime, `http://${TASKS.ct1.ipv4}:8000/`);
    registry.seed(REFS.mcpgw, 'http://mcpgw-server:8003/');
    registry.seed(REFS.flight, 'http://flight-booking-agent:9000/');
    registry.seed(REFS.travel, 'http://travel-assistant-agent:9000/');
  }
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const records: DecisionRecord[] = [];
  const checks: DecisionRecord[] = [];
  const failures: string[] = [];
  let seen: Outcome = { records: [], ignored: [] };
  let seenChecks: DecisionRecord[] = [];
  const port = options.deps?.registry ?? registry;
  const path = new DeployedPath({
    config,
    cloudMap: options.deps?.cloudMap ?? world,
    ecs: options.deps?.ecs ?? world,
    registry: port,
    reads: {
      // The registry lists its entries a page at a time, unmanaged ones included.
      pages: () => ({
        listPage: async (kind, offset, limit) => {
          const listed = registry.list(kind);
          return { entries: listed.slice(offset, offset + limit), more: offset + limit < listed.length };
        },
      }),
      verifyWrite: async (ref, written, ctx) => verificationOf(await port.readEntry(ref, ctx), written),
    },
    logger,
    metrics,
    now: world.clock.now,
    sleep: world.clock.sleep,
    onRecord: (record) => {
      records.push(record);
      seen.records.push(record);
    },
    // A resync checks each entry read-only in the fan-out; only a wrong one becomes work.
    onCheck: (record) => {
      checks.push(record);
      seenChecks.push(record);
    },
    onIgnored: (ignored) => seen.ignored.push(ignored),
    onFailure: (failure) => failures.push(failure),
  });
  const handler = async (event: unknown): Promise<{ outcome: Outcome }> => {
    seen = { records: [], ignored: [] };
    seenChecks = [];
    const batch = event as { Records?: unknown } | null;
    if (Array.isArray(batch?.Records)) {
      const answer = await path.deliverTriggers(event);
      for (const f of answer.batchItemFailures) failures.push(`trigger message ${f.itemIdentifier} failed`);
    } else path.send([JSON.stringify(event)]);
    await path.drain();
    // An entry's worker decision where it got work, else the fan-out's read-only check of it.
    const worked = new Set(seen.records.map((r) => `${r.target.kind} ${r.target.path}`));
    const unworked = seenChecks.filter((c) => !worked.has(`${c.target.kind} ${c.target.path}`));
    return { outcome: { records: [...seen.records, ...unworked], ignored: seen.ignored } };
  };
  return { config, world, registry, logger, metrics, path, handler, records, checks, failures };
}

/** Wraps event bodies as an SQS FIFO batch, as the Lambda's event source mapping delivers it. */
export function sqsBatch(
  bodies: unknown[],
  options: { receiveCount?: number; raw?: boolean } = {},
): { Records: Record<string, unknown>[] } {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m${i + 1}`,
      receiptHandle: `rh-${i + 1}`,
      body: options.raw === true ? body : JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: String(options.receiveCount ?? 1),
        SentTimestamp: '1767225600000',
        MessageGroupId: 'ecs-task-events',
        MessageDeduplicationId: `dedup-${i + 1}`,
      },
      messageAttributes: {},
      md5OfBody: '00000000000000000000000000000000',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-west-2:111122223333:registry-reconciler.fifo',
      awsRegion: 'us-west-2',
    })),
  };
}

/**
 * One scheduled resync through the deployed path (fan-out, work queue, worker): each entry's last
 * decision, the worker's where it had work, else its shard check's.
 */
export async function resyncOnce(
  options: Pick<
    DeployedPathOptions,
    'config' | 'cloudMap' | 'ecs' | 'registry' | 'reads' | 'follow' | 'now' | 'sleep'
  >,
  eventId: string,
): Promise<DecisionRecord[]> {
  const last = new Map<string, DecisionRecord>();
  const keep = (r: DecisionRecord) => last.set(`${r.target.kind}:${r.target.path}`, r);
  const path = new DeployedPath({
    ...options,
    logger: new RecordingLogger(),
    metrics: NO_METRICS,
    onCheck: keep,
    onRecord: keep,
  });
  path.send([scheduledEventBody(eventId, new Date(options.now()).toISOString())]);
  await path.drain();
  return [...last.values()];
}
