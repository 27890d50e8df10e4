import fc from 'fast-check';
import { screen } from '../../functions/lib/core/screen';
import { hostOf, swapHost } from '../../functions/lib/core/url';
import { isRunning, isStopping, parseEvent, parseEventText } from '../../functions/lib/delivery/event';
import { taskEvent } from '../../functions/lib/inmemory/events';
import { MetricName } from '../../functions/lib/telemetry/telemetry';
import {
  CLUSTER_ARN,
  CLUSTER_NAME,
  DEFAULT_TARGETS,
  type Harness,
  harness,
  OTHER_CLUSTER_ARN,
  REFS,
  SERVICES,
  sqsBatch,
  TASKS,
} from './helpers';

/**
 * Property-based fuzzing of the whole handler. Thousands of generated inputs (arbitrary JSON,
 * arbitrary text, and valid ECS events with fields dropped, retyped or randomised) go through
 * the deployed path (fan-out → per-entry work → worker) over a fixed world. Events never change the world here: whatever they claim,
 * the only addresses that may be written are those of live, eligible Cloud Map instances.
 */

const SEED = 20260301;
const CT3 = { service: TASKS.ct1.service, taskId: '6c7d8e9f0a1b42c3d4e5f6a7b8c9d0e1', ipv4: '10.0.1.13' };
const FB2 = { service: TASKS.fb1.service, taskId: '2b3c4d5e6f7a48b9c0d1e2f3a4b5c6d7', ipv4: '10.0.4.42' };
const FB3 = { service: TASKS.fb1.service, taskId: '1a9b8c7d6e5f40a1b2c3d4e5f6a7b8c9', ipv4: '10.0.4.43' };

/**
 * The fixed world: currenttime has ct1 and ct2 live and ct3 stopped but still listed (Cloud Map
 * lags); mcpgw has gw1; flight has fb1 and fb3 live and fb2 PENDING (not listed). The entries:
 * currenttime holds its name, mcpgw a stale IP, flight fb1's IP.
 */
function fuzzHarness(): Harness {
  const h = harness();
  h.world.deregistrationLagMs = 600_000;
  h.world.seedTask(CT3.service, CT3);
  h.world.seedTask(FB3.service, { ...FB3, startedAt: '2026-01-01T00:30:00.000Z' });
  const stop = parseEvent(
    taskEvent({
      clusterArn: CLUSTER_ARN,
      taskId: CT3.taskId,
      service: CT3.service,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      version: 9,
      ipv4: CT3.ipv4,
    }),
  );
  if (stop.kind !== 'task') throw new Error('setup event did not parse');
  h.world.applyEvent(stop.event);
  const pending = parseEvent(
    taskEvent({
      clusterArn: CLUSTER_ARN,
      taskId: FB2.taskId,
      service: FB2.service,
      lastStatus: 'PENDING',
      desiredStatus: 'RUNNING',
      version: 2,
      ipv4: FB2.ipv4,
    }),
  );
  if (pending.kind !== 'task') throw new Error('setup event did not parse');
  h.world.applyEvent(pending.event);
  h.registry.set(REFS.currenttime, 'http://currenttime-server:8000/');
  h.registry.set(REFS.mcpgw, 'http://10.0.2.99:8003/mcp/');
  h.registry.set(REFS.flight, `http://${TASKS.fb1.ipv4}:9000/`);
  return h;
}

/** IPs that Cloud Map lists for a target's service and ECS shows RUNNING/RUNNING right now. */
function liveListedIps(h: Harness, cloudMapService: string): Map<string, string> {
  const ips = new Map<string, string>();
  const ecsService = SERVICES.find((s) => s.cloudMapService === cloudMapService)?.ecsService as string;
  for (const taskId of h.world.listed(cloudMapService)) {
    const task = h.world.task(taskId);
    if (task !== undefined && isRunning(task) && task.ipv4 !== undefined && ecsService !== undefined) {
      ips.set(task.ipv4, taskId);
    }
  }
  return ips;
}

/**
 * Task ids that a well-formed, acted-on event of our cluster in the batch shows going away. An event whose
 * id an earlier one of the batch had is not counted: the work queue deduplicates by event id, as
 * SQS FIFO does for EventBridge's (unique) ids.
 */
function stoppedByBatch(h: Harness, events: unknown[]): Set<string> {
  const ids = new Set<string>();
  const seen = new Set<string>();
  for (const e of events) {
    const intake = typeof e === 'string' ? parseEventText(e) : parseEvent(e);
    if (intake.kind !== 'task') continue;
    if (seen.has(intake.event.eventId)) continue;
    seen.add(intake.event.eventId);
    // An event the fan-out ignores (screen) changes nothing, however it is worded.
    if (screen(intake.event, h.config) !== undefined) continue;
    if (intake.event.clusterName === CLUSTER_NAME && isStopping(intake.event)) ids.add(intake.event.taskId);
  }
  return ids;
}

/** Runs one event or batch through the deployed path; it must never throw. */
async function invoke(h: Harness, event: unknown): Promise<unknown> {
  return h.handler(event);
}

let writesSeen = 0;

/**
 * Every write went to a live, eligible Cloud Map instance, changing only the host. The deployed
 * path takes an entry's events one message at a time, in order: a write may go to a task that a
 * later event of the batch shows stopping, but an entry's last write never does.
 */
function assertWritesAreSafe(h: Harness, stopped: Set<string>): void {
  const last = new Map(h.registry.writes.map((w) => [`${w.kind} ${w.path}`, w]));
  for (const w of h.registry.writes) {
    writesSeen++;
    const target = DEFAULT_TARGETS.find((t) => t.kind === w.kind && t.path === w.path);
    expect(target).toBeDefined();
    const live = liveListedIps(h, target?.cloudMapService ?? '');
    const host = hostOf(w.to) ?? '';
    const taskId = live.get(host);
    const final = last.get(`${w.kind} ${w.path}`) === w;
    expect({ write: w, eligible: taskId !== undefined && !(final && stopped.has(taskId)) }).toEqual({
      write: w,
      eligible: true,
    });
    expect(w.to).toBe(swapHost(w.from, host));
  }
}

// ---- generators ----

const knownTask = fc.constantFrom(TASKS.ct1, TASKS.ct2, CT3, TASKS.gw1, TASKS.fb1, FB2, FB3, TASKS.reg1);
const randomTask = fc.record({
  service: fc.constantFrom('mcp-gateway-currenttime', 'mcp-gateway-mcpgw', 'mcp-gateway-auth-server'),
  taskId: fc.stringMatching(/^[0-9a-f]{32}$/),
  ipv4: fc.ipV4(),
});
const STATUSES = [
  'PROVISIONING',
  'PENDING',
  'ACTIVATING',
  'RUNNING',
  'DEACTIVATING',
  'STOPPING',
  'DEPROVISIONING',
  'STOPPED',
  'DELETED',
];
const status = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...STATUSES) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z_]{1,12}$/) },
);

/** A well-formed ECS event with randomised fields, before mutation. */
const baseEvent = fc
  .record({
    task: fc.oneof({ weight: 4, arbitrary: knownTask }, { weight: 1, arbitrary: randomTask }),
    lastStatus: status,
    desiredStatus: fc.constantFrom('RUNNING', 'STOPPED'),
    version: fc.nat({ max: 30 }),
    ip: fc.oneof(fc.constant(undefined), fc.ipV4(), fc.constantFrom('10.0.1.11', '10.0.1.12', '6.6.6.6')),
    clusterArn: fc.constantFrom(
      CLUSTER_ARN,
      CLUSTER_ARN,
      CLUSTER_ARN,
      OTHER_CLUSTER_ARN,
      `arn:aws:ecs:eu-west-1:999999999999:cluster/${CLUSTER_NAME}`,
    ),
    group: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'service:mcp-gateway-registry',
          'family:batch',
          'service:',
          'service:nope',
        ),
      },
    ),
    network: fc.constantFrom<'eni' | 'none'>('eni', 'eni', 'eni', 'none'),
  })
  .map((r) => {
    const task = r.task;
    const ip = r.ip ?? task.ipv4;
    return taskEvent({
      clusterArn: r.clusterArn,
      taskId: task.taskId,
      service: task.service,
      ...(r.group === undefined ? {} : { group: r.group }),
      lastStatus: r.lastStatus,
      desiredStatus: r.desiredStatus,
      version: r.version,
      ipv4: ip,
      network: r.network,
    }) as unknown as Record<string, unknown>;
  });

const PATHS: (string | number)[][] = [
  ['id'],
  ['source'],
  ['detail-type'],
  ['time'],
  ['detail'],
  ['detail', 'clusterArn'],
  ['detail', 'taskArn'],
  ['detail', 'lastStatus'],
  ['detail', 'desiredStatus'],
  ['detail', 'version'],
  ['detail', 'group'],
  ['detail', 'attachments'],
  ['detail', 'attachments', 0, 'type'],
  ['detail', 'attachments', 0, 'details'],
  ['detail', 'containers'],
  ['detail', 'containers', 0, 'networkInterfaces'],
  ['detail', 'startedAt'],
  ['detail', 'stopCode'],
  ['detail', '__proto__'],
  ['__proto__'],
  ['detail', 'constructor'],
];

const junkValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    -1,
    3.5,
    1e300,
    2 ** 53 + 2,
    '',
    'RUNNING',
    'running',
    '10.0.1.11',
    '6.6.6.6',
    'arn:aws:ecs:us-west-2:111122223333:task/mcp-gateway-ecs-cluster/evil',
    'service:mcp-gateway-currenttime',
    '\u0000\u001b[2J',
    { lastStatus: 'RUNNING' },
    [],
  ),
);

type Mutation =
  | { path: (string | number)[]; op: 'delete' }
  | { path: (string | number)[]; op: 'set'; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ path: fc.constantFrom(...PATHS), op: fc.constant('delete' as const) }),
  fc.record({ path: fc.constantFrom(...PATHS), op: fc.constant('set' as const), value: junkValue }),
);

/** Applies mutations as JSON.parse would leave them: own properties, even for `__proto__`. */
function mutate(event: Record<string, unknown>, mutations: Mutation[]): Record<string, unknown> {
  const copy = structuredClone(event);
  for (const m of mutations) {
    let node: unknown = copy;
    for (const key of m.path.slice(0, -1)) {
      node =
        typeof node === 'object' && node !== null
          ? (node as Record<string | number, unknown>)[key]
          : undefined;
    }
    if (typeof node !== 'object' || node === null) continue;
    const last = m.path.at(-1) as string | number;
    if (m.op === 'delete') delete (node as Record<string | number, unknown>)[last];
    else
      Object.defineProperty(node, last, {
        value: structuredClone(m.value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return copy;
}

const mutatedEvent = fc
  .tuple(baseEvent, fc.array(mutation, { maxLength: 3 }))
  .map(([event, mutations]) => mutate(event, mutations));

/** A well-formed STOPPED event naming one of our live tasks, but from another cluster: it must change nothing. */
const foreignStop = fc.constantFrom(TASKS.ct1, TASKS.ct2, TASKS.fb1, FB3, TASKS.gw1).map(
  (t) =>
    taskEvent({
      clusterArn: OTHER_CLUSTER_ARN,
      taskId: t.taskId,
      service: t.service,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      version: 12,
      ipv4: t.ipv4,
    }) as unknown as Record<string, unknown>,
);

const batchEvent = fc.oneof({ weight: 5, arbitrary: mutatedEvent }, { weight: 1, arbitrary: foreignStop });

describe('Property: the handler under fuzzing', () => {
  afterAll(() => {
    expect(({} as Record<string, unknown>).lastStatus).toBeUndefined();
  });

  it('never throws, writes or reconciles for arbitrary JSON values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.boolean(), async (value, viaQueue) => {
        // Prepare
        const h = fuzzHarness();
        const event = viaQueue ? sqsBatch([value]) : value;

        // Act
        const result = await h.handler(event);

        // Assess
        expect(h.registry.writes).toEqual([]);
        expect(h.metrics.get(MetricName.EventsMalformed)).toBe(1);
        expect(result.outcome.records).toEqual([]);
        expect(h.failures).toEqual([]);
        expect(h.world.calls.size).toBe(0);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('never throws, writes or reconciles for arbitrary SQS body text and record shapes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.string({ unit: 'binary', maxLength: 200 }),
            fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
            fc.anything({ maxDepth: 2 }),
          ),
          { minLength: 1, maxLength: 5 },
        ),
        async (bodies) => {
          // Prepare
          const h = fuzzHarness();
          const batch = sqsBatch(bodies, { raw: true });

          // Act
          const result = await h.handler(batch);

          // Assess: text is dropped as malformed; a body that is no string (never from SQS) is
          // handed back by the fan-out, logged.
          const texts = bodies.filter((b) => typeof b === 'string').length;
          expect(result.outcome.records).toEqual([]);
          expect(h.registry.writes).toEqual([]);
          expect(h.metrics.get(MetricName.EventsMalformed)).toBe(texts);
          expect(h.failures).toHaveLength(bodies.length - texts);
        },
      ),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('only ever writes a live, eligible Cloud Map IP, whatever mutated events say', async () => {
    let malformedOnlyRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchEvent, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        async (events, viaQueue) => {
          // Prepare
          const h = fuzzHarness();
          const delivered = viaQueue ? events : events.slice(0, 1);
          const kinds = delivered.map((e) => parseEvent(e).kind);
          const stopped = stoppedByBatch(h, delivered);
          const before = Object.values(REFS).map((ref) => [ref, h.registry.url(ref)] as const);

          // Act
          await invoke(h, viaQueue ? sqsBatch(delivered) : delivered[0]);

          // Assess
          expect(h.metrics.get(MetricName.EventsMalformed)).toBe(
            kinds.filter((k) => k === 'malformed').length,
          );
          if (kinds.every((k) => k === 'malformed')) {
            malformedOnlyRuns++;
            expect(h.registry.writes).toEqual([]);
            expect(h.world.calls.size).toBe(0);
          }
          assertWritesAreSafe(h, stopped);
          // Sticky: an entry on a live task moves only when a well-formed event of ours showed that task stopping.
          for (const [ref, url] of before) {
            const target = DEFAULT_TARGETS.find((t) => t.kind === ref.kind && t.path === ref.path);
            const liveTask = liveListedIps(h, target?.cloudMapService ?? '').get(hostOf(url ?? '') ?? '');
            if (liveTask !== undefined && !stopped.has(liveTask)) expect(h.registry.url(ref)).toBe(url);
          }
        },
      ),
      { seed: SEED, numRuns: 3_000 },
    );
    // The property was exercised: both dropped batches and real writes happened.
    expect(malformedOnlyRuns).toBeGreaterThan(100);
    expect(writesSeen).toBeGreaterThan(100);
  });
});
