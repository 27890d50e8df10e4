import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsAdapter } from '../../functions/lib/aws/sqs';
import { parseEvent } from '../../functions/lib/delivery/event';
import { readTriggerMessage } from '../../functions/lib/delivery/messages';
import { RetryableError } from '../../functions/lib/errors';
import { taskEvent } from '../../functions/lib/inmemory/events';
import { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
import type { RegistryPort } from '../../functions/lib/reconcile/ports';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import {
  createWorkerHandler,
  DIRECT_INVOCATION_REFUSED,
  deployedBudget,
} from '../../functions/reconciler/wiring';
import { workQueueFromEnv } from '../../functions/reconciler/work-queue';
import {
  CLUSTER_ARN,
  NAMESPACE,
  REFS,
  RecordingLogger,
  RecordingMetrics,
  SERVICES,
  TASKS,
  testConfig,
} from './helpers';

const WORK = 'https://sqs.us-west-2.amazonaws.com/111122223333/work.fifo';
const TRIGGER = 'https://sqs.us-west-2.amazonaws.com/111122223333/trigger';
const sqs = mockClient(SQSClient);

beforeEach(() => {
  sqs.reset();
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id })),
    Failed: [],
  }));
});

/** The deployed queue path over the test world, its SQS calls through the SDK (mocked). */
function setup(options: { registrationLagMs?: number; registry?: (r: MemoryRegistry) => RegistryPort } = {}) {
  const config = testConfig();
  const world = new World({
    clusterArn: CLUSTER_ARN,
    namespace: NAMESPACE,
    services: SERVICES,
    registrationLagMs: options.registrationLagMs ?? 0,
  });
  for (const t of [TASKS.ct1, TASKS.gw1, TASKS.fb1, TASKS.reg1]) world.seedTask(t.service, t);
  const memory = new MemoryRegistry(world.clock);
  memory.seed(REFS.currenttime, `http://${TASKS.ct1.ipv4}:8000/`);
  memory.seed(REFS.mcpgw, `http://${TASKS.gw1.ipv4}:8003/`);
  memory.seed(REFS.flight, `http://${TASKS.fb1.ipv4}:9000/`);
  const records: DecisionRecord[] = [];
  const logger = new RecordingLogger();
  const { handler } = createWorkerHandler({
    config,
    cloudMap: world,
    ecs: world,
    registry: options.registry?.(memory) ?? memory,
    logger,
    metrics: new RecordingMetrics(),
    sleep: world.clock.sleep,
    now: world.clock.now,
    onRecord: (r) => records.push(r),
    queue: workQueueFromEnv(
      logger,
      { WORK_QUEUE_URL: WORK, TRIGGER_QUEUE_URL: TRIGGER },
      new SqsAdapter(new SQSClient({ region: 'us-west-2' })),
    ),
  });
  return { config, world, memory, records, logger, handler };
}

type Task = { service: string; taskId: string; ipv4: string };

function event(t: Task, lastStatus: string, version = 3) {
  const stopping = lastStatus === 'STOPPED';
  return taskEvent({
    clusterArn: CLUSTER_ARN,
    taskId: t.taskId,
    service: t.service,
    lastStatus,
    desiredStatus: stopping ? 'STOPPED' : 'RUNNING',
    version: stopping ? 6 : version,
    ipv4: t.ipv4,
  });
}

function happen(world: World, e: ReturnType<typeof event>) {
  const intake = parseEvent(e);
  if (intake.kind !== 'task') throw new Error('test event did not parse');
  world.applyEvent(intake.event);
}

/** A work-queue batch: [message id, group id, event]. */
function batch(items: [string, string, unknown][], receiveCount = 1) {
  return {
    Records: items.map(([id, group, body]) => ({
      messageId: id,
      receiptHandle: `rh-${id}`,
      body: JSON.stringify(body),
      attributes: { ApproximateReceiveCount: String(receiveCount), MessageGroupId: group },
    })),
  };
}

const CT = 'server:/currenttime/';
const GW = 'server:/airegistry-tools/';
const ct3 = { service: TASKS.ct1.service, taskId: '7c7c7c7c7c7c47c7a7c7c7c7c7c7c7c7', ipv4: '10.0.1.13' };
const gw2 = { service: TASKS.gw1.service, taskId: '6b6b6b6b6b6b46b6a6b6b6b6b6b6b6b6', ipv4: '10.0.2.22' };
const long = { getRemainingTimeInMillis: () => 60_000 };

function visibilities() {
  return sqs
    .commandCalls(ChangeMessageVisibilityCommand)
    .map((c) => [c.args[0].input.ReceiptHandle, c.args[0].input.VisibilityTimeout]);
}

describe('Reconciler queue path: per-group failures and visibility', () => {
  it('hands back the failing entry’s message and its later messages only, each with its own backoff', async () => {
    const s = setup({
      registry: (m) => ({
        readEntry: (ref, ctx) => m.readEntry(ref, ctx),
        writeUrl: (entry, url, ctx, o) =>
          entry.path === '/currenttime/'
            ? Promise.reject(new RetryableError('registry answered 503'))
            : m.writeUrl(entry, url, ctx, o),
      }),
    });
    // Both services replaced their task: both entries need a write; currenttime's fails.
    for (const [old, next] of [
      [TASKS.ct1, ct3],
      [TASKS.gw1, gw2],
    ] as const) {
      happen(s.world, event(next, 'RUNNING'));
      happen(s.world, event(old, 'STOPPED'));
    }
    const out = (await s.handler(
      batch([
        ['a1', GW, event(gw2, 'RUNNING')],
        ['b1', CT, event(ct3, 'RUNNING')],
        ['b2', CT, event(TASKS.ct1, 'STOPPED')],
        ['a2', GW, event(TASKS.gw1, 'STOPPED')],
      ]),
      long,
    )) as SQSBatchResponse;
    expect(out.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['b1', 'b2']);
    expect(s.memory.url(REFS.mcpgw)).toBe(`http://${gw2.ipv4}:8003/`);
    expect(visibilities().sort()).toEqual([
      ['rh-b1', 10],
      ['rh-b2', 10],
    ]);
  });

  it('defers Cloud Map lag with one look-up round and a 2 s visibility on that message alone', async () => {
    const s = setup({ registrationLagMs: 60_000 });
    happen(s.world, event(ct3, 'RUNNING'));
    happen(s.world, event(TASKS.ct1, 'STOPPED'));
    const started = s.world.clock.now();
    const out = (await s.handler(batch([['b1', CT, event(ct3, 'RUNNING')]]), long)) as SQSBatchResponse;
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'b1' }]);
    expect(visibilities()).toEqual([['rh-b1', 2]]);
    const record = s.records.at(-1);
    expect(record?.reason).toBe('cloud-map-lag');
    expect(record?.calls['cloudmap.DiscoverInstances']).toBe(1);
    // No waiting inside the invocation.
    expect(s.world.clock.now() - started).toBeLessThan(1_000);
  });

  it('backs off 4 s for Cloud Map lag after the fourth delivery', async () => {
    const s = setup({ registrationLagMs: 60_000 });
    happen(s.world, event(ct3, 'RUNNING'));
    happen(s.world, event(TASKS.ct1, 'STOPPED'));
    await s.handler(batch([['b1', CT, event(ct3, 'RUNNING')]], 5), long);
    expect(visibilities()).toEqual([['rh-b1', 4]]);
  });

  it("defers the stop signal of the entry's own task while Cloud Map lists no replacement, then moves once it does", async () => {
    const s = setup({ registrationLagMs: 60_000 });
    happen(s.world, event(ct3, 'RUNNING'));
    happen(s.world, event(TASKS.ct1, 'STOPPED'));
    const stop = event(TASKS.ct1, 'STOPPED');
    const out = (await s.handler(batch([['b1', CT, stop]]), long)) as SQSBatchResponse;
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'b1' }]);
    expect(visibilities()).toEqual([['rh-b1', 2]]);
    expect(s.records.at(-1)?.reason).toBe('awaiting-replacement');
    expect(s.memory.url(REFS.currenttime)).toBe(`http://${TASKS.ct1.ipv4}:8000/`);

    // Cloud Map lists the replacement: the next delivery of the same message moves the entry.
    s.world.clock.advance(60_000);
    const again = (await s.handler(batch([['b1', CT, stop]], 2), long)) as SQSBatchResponse;
    expect(again.batchItemFailures).toEqual([]);
    expect(s.records.at(-1)?.reason).toBe('current-not-live');
    expect(s.memory.url(REFS.currenttime)).toBe(`http://${ct3.ipv4}:8000/`);
  });

  it('keeps the address once the stop signal has used the deferral budget (no-live-instance), handing nothing back', async () => {
    const s = setup({ registrationLagMs: 60_000 });
    happen(s.world, event(ct3, 'RUNNING'));
    happen(s.world, event(TASKS.ct1, 'STOPPED'));
    const out = (await s.handler(
      batch([['b1', CT, event(TASKS.ct1, 'STOPPED')]], 8),
      long,
    )) as SQSBatchResponse;
    expect(out.batchItemFailures).toEqual([]);
    expect(visibilities()).toEqual([]);
    expect(s.records.at(-1)?.reason).toBe('no-live-instance');
    expect(s.records.at(-1)?.detail).toContain('within the retry budget');
  });

  it('hands back only the messages within the deferral budget: an older one that spent it is consumed', async () => {
    const s = setup({ registrationLagMs: 60_000 });
    happen(s.world, event(ct3, 'RUNNING'));
    happen(s.world, event(TASKS.ct1, 'STOPPED'));
    const old = batch([['b1', CT, event(TASKS.ct1, 'STOPPED')]], 8).Records;
    const fresh = batch([['b2', CT, event(ct3, 'RUNNING')]], 1).Records;
    const out = (await s.handler({ Records: [...old, ...fresh] }, long)) as SQSBatchResponse;
    // The RUNNING event still defers for Cloud Map lag; the spent stop signal is not handed back.
    expect(s.records.at(-1)?.reason).toBe('cloud-map-lag');
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'b2' }]);
    expect(visibilities()).toEqual([['rh-b2', 2]]);
  });

  it("gives a deferred group its freshest message's wait: a new event behind a stop signal deferred four times waits 2 s, not 4 s", async () => {
    const s = setup({ registrationLagMs: 60_000 });
    happen(s.world, event(ct3, 'RUNNING'));
    happen(s.world, event(TASKS.ct1, 'STOPPED'));
    const old = batch([['b1', CT, event(TASKS.ct1, 'STOPPED')]], 5).Records;
    const fresh = batch([['b2', CT, event(ct3, 'RUNNING')]], 1).Records;
    const out = (await s.handler({ Records: [...old, ...fresh] }, long)) as SQSBatchResponse;
    expect(out.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['b1', 'b2']);
    expect(visibilities().sort()).toEqual([
      ['rh-b1', 2],
      ['rh-b2', 2],
    ]);
  });

  it('drops a message of a group the configuration does not name, with a warning, and decides nothing', async () => {
    const s = setup();
    happen(s.world, event(ct3, 'RUNNING'));
    happen(s.world, event(TASKS.ct1, 'STOPPED'));
    const out = (await s.handler(
      batch([['x1', 'ecs-task-events', event(TASKS.ct1, 'STOPPED')]]),
      long,
    )) as SQSBatchResponse;
    expect(out.batchItemFailures).toEqual([]);
    expect(s.records).toEqual([]);
    expect(s.memory.url(REFS.currenttime)).toBe(`http://${TASKS.ct1.ipv4}:8000/`);
    expect(s.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      expect.stringContaining('group ecs-task-events: the configuration names no such entry'),
    ]);
  });

  it('refuses a direct EventBridge invocation, saying what to send instead, and decides nothing', async () => {
    const s = setup();
    await expect(s.handler(event(TASKS.ct1, 'RUNNING'), long)).rejects.toThrow(DIRECT_INVOCATION_REFUSED);
    expect(DIRECT_INVOCATION_REFUSED).toContain('send the event to the trigger queue');
    expect(s.records).toEqual([]);
  });
});

describe('Reconciler queue path: time budget', () => {
  const budget = deployedBudget(testConfig().registry);

  it('starts no entry it cannot finish: every message goes back unstarted, visible again at once', async () => {
    const s = setup();
    const out = (await s.handler(batch([['b1', CT, event(TASKS.ct1, 'RUNNING')]]), {
      getRemainingTimeInMillis: () => budget.entryMs,
    })) as SQSBatchResponse;
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'b1' }]);
    expect(s.records).toEqual([]);
    expect(visibilities()).toEqual([['rh-b1', 0]]);
  });

  it('never starts a registry write the remaining time cannot cover', async () => {
    const s = setup();
    happen(s.world, event(ct3, 'RUNNING'));
    happen(s.world, event(TASKS.ct1, 'STOPPED'));
    // Enough to start the entry; by the write only a write's worst case minus a second is left.
    let calls = 0;
    const clock = { getRemainingTimeInMillis: () => (calls++ === 0 ? 60_000 : budget.writeMs) };
    const out = (await s.handler(
      batch([['b1', CT, event(TASKS.ct1, 'STOPPED')]]),
      clock,
    )) as SQSBatchResponse;
    expect(s.memory.writes).toEqual([]);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'b1' }]);
    expect(visibilities()).toEqual([['rh-b1', 0]]);
    expect(s.records.at(-1)?.retryable).toBe(true);
  });
});

describe('Reconciler queue path: write verification', () => {
  it('after a confirmed write, sends a delayed verification to the trigger queue', async () => {
    const s = setup();
    happen(s.world, event(ct3, 'RUNNING'));
    happen(s.world, event(TASKS.ct1, 'STOPPED'));
    const out = (await s.handler(batch([['b1', CT, event(TASKS.ct1, 'STOPPED')]]), long)) as SQSBatchResponse;
    expect(out.batchItemFailures).toEqual([]);
    const sent = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.QueueUrl).toBe(TRIGGER);
    const entry = sent[0]?.Entries?.[0];
    expect(entry?.DelaySeconds).toBe(Math.ceil(s.config.registry.verifyAfterMs / 1000));
    const m = readTriggerMessage(entry?.MessageBody as string);
    expect(m.type === 'verify' && m.verify).toMatchObject({
      kind: 'server',
      path: '/currenttime/',
      written: `http://${ct3.ipv4}:8000/`,
    });
  });

  it('sends no verification when nothing was written', async () => {
    const s = setup();
    await s.handler(batch([['b1', CT, event(TASKS.ct1, 'RUNNING')]]), long);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});

describe('Reconciler queue path: log correlation', () => {
  it('ties the invocation to its first event, and each decision’s log line to its own trigger', async () => {
    // Prepare: a logger that stamps each line with the correlation id set when it is written.
    const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services: SERVICES });
    for (const t of [TASKS.ct1, TASKS.gw1]) world.seedTask(t.service, t);
    const memory = new MemoryRegistry(world.clock);
    memory.seed(REFS.currenttime, `http://${TASKS.ct1.ipv4}:8000/`);
    memory.seed(REFS.mcpgw, `http://${TASKS.gw1.ipv4}:8003/`);
    let current: string | undefined;
    const correlated: string[] = [];
    const lines: [string, string | undefined][] = [];
    const write = (message: string) => void lines.push([message, current]);
    const { handler } = createWorkerHandler({
      config: testConfig(),
      cloudMap: world,
      ecs: world,
      registry: memory,
      now: world.clock.now,
      logger: { debug: write, info: write, warn: write, error: write },
      correlate: (id) => {
        current = id;
        correlated.push(id);
      },
      queue: { changeVisibility: async () => undefined, sendTrigger: async () => undefined },
    });
    const gw = { ...event(TASKS.gw1, 'RUNNING'), id: 'event-of-mcpgw' };
    const ct = { ...event(TASKS.ct1, 'RUNNING'), id: 'event-of-currenttime' };

    // Act
    await handler(
      batch([
        ['a1', GW, gw],
        ['b1', CT, ct],
      ]),
      long,
    );

    // Assess
    expect(correlated[0]).toBe('event-of-mcpgw');
    expect(lines.filter(([message]) => message.startsWith('noop '))).toEqual([
      ['noop server /airegistry-tools/: current-live', 'event-of-mcpgw'],
      ['noop server /currenttime/: current-live', 'event-of-currenttime'],
    ]);
  });
});
