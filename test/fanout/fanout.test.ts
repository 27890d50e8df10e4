import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { ShardFigures } from '../../functions/fanout/fanout';
import type { VerificationRecord } from '../../functions/fanout/verify';
import { createFanoutHandler } from '../../functions/fanout/wiring';
import { SqsAdapter } from '../../functions/lib/aws/sqs';
import { parseEvent } from '../../functions/lib/delivery/event';
import { readTriggerMessage, shardBody, verifyBody } from '../../functions/lib/delivery/messages';
import type { TriggerOut, WorkMessage } from '../../functions/lib/delivery/queues';
import { DELIVERY } from '../../functions/lib/delivery/settings';
import { scheduledEvent, taskEvent } from '../../functions/lib/inmemory/events';
import { MemoryRegistry, World } from '../../functions/lib/inmemory/world';
import type { Ignored } from '../../functions/lib/reconcile/plan';
import type { RegistryEntry, WriteVerification } from '../../functions/lib/reconcile/ports';
import { MetricName } from '../../functions/lib/telemetry/telemetry';
import {
  CLUSTER_ARN,
  DISCOVERED_TARGET,
  NAMESPACE,
  OTHER_CLUSTER_ARN,
  REFS,
  RecordingLogger,
  RecordingMetrics,
  SERVICES,
  TASKS,
  type TargetInput,
  testConfig,
} from '../reconciler/helpers';

/** A fan-out over the test world, with queues that keep what they were sent. */
function setup(
  options: {
    targets?: TargetInput[];
    failWork?: boolean;
    failTriggers?: boolean;
    unmanaged?: { kind: 'server'; path: string }[];
  } = {},
) {
  const config = testConfig(options.targets === undefined ? {} : { targets: options.targets });
  const world = new World({ clusterArn: CLUSTER_ARN, namespace: NAMESPACE, services: SERVICES });
  for (const t of [TASKS.ct1, TASKS.gw1, TASKS.fb1, TASKS.ta1, TASKS.reg1]) world.seedTask(t.service, t);
  const registry = new MemoryRegistry(world.clock);
  registry.seed(REFS.currenttime, `http://${TASKS.ct1.ipv4}:8000/`);
  registry.seed(REFS.mcpgw, `http://${TASKS.gw1.ipv4}:8003/`);
  registry.seed(REFS.flight, `http://${TASKS.fb1.ipv4}:9000/`);
  registry.seed(REFS.travel, `http://${TASKS.ta1.ipv4}:9001/`);
  for (const u of options.unmanaged ?? []) registry.seed(u, 'http://10.9.9.9:80/');
  const work: WorkMessage[] = [];
  const triggers: TriggerOut[] = [];
  const pageReads: { kind: string; offset: number; limit: number }[] = [];
  const verifications: VerificationRecord[] = [];
  const shards: ShardFigures[] = [];
  const ignored: Ignored[] = [];
  const failures: { messageId: string; reason: string }[] = [];
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  let verify: WriteVerification | undefined;
  const { handler } = createFanoutHandler({
    config,
    cloudMap: world,
    ecs: world,
    logger,
    metrics,
    now: world.clock.now,
    sleep: world.clock.sleep,
    ecsBatchWindowMs: 0,
    pages: {
      listPage: async (kind, offset, limit) => {
        pageReads.push({ kind, offset, limit });
        // The registry lists unmanaged entries too, and in its own order.
        const listed = [...(options.unmanaged ?? []), ...config.targets.filter((t) => t.kind === kind)];
        const entries: RegistryEntry[] = [];
        for (const t of listed.slice(offset, offset + limit)) {
          const e = await registry.readEntry(t, { count: () => undefined }).catch(() => undefined);
          if (e === undefined) continue;
          const tags = Array.isArray(e.record.tags) ? e.record.tags : [];
          entries.push({ ...e, securityPending: e.enabled === false && tags.includes('security-pending') });
        }
        return { entries, more: offset + limit < listed.length };
      },
    },
    verifier: {
      verifyWrite: async () => {
        if (verify === undefined) throw new Error('no verification set');
        return verify;
      },
    },
    queues: {
      sendWork: async (m) => {
        if (options.failWork === true) throw new Error('SQS refused');
        work.push(...m);
      },
      sendTriggers: async (m) => {
        if (options.failTriggers === true) throw new Error('SQS refused');
        triggers.push(...m);
      },
    },
    onVerification: (v) => verifications.push(v),
    onShard: (s) => shards.push(s),
    onIgnored: (i) => ignored.push(i),
    onFailure: (messageId, reason) => failures.push({ messageId, reason }),
  });
  const run = (bodies: string[], remainingMs?: number) =>
    handler(
      { Records: bodies.map((body, i) => ({ messageId: `t${i + 1}`, body })) },
      remainingMs === undefined ? undefined : { getRemainingTimeInMillis: () => remainingMs },
    ) as Promise<SQSBatchResponse>;
  return {
    config,
    world,
    registry,
    work,
    triggers,
    pageReads,
    verifications,
    shards,
    ignored,
    logger,
    metrics,
    failures,
    handler,
    run,
    setVerify: (v: WriteVerification) => {
      verify = v;
    },
  };
}

function ev(
  t: { service: string; taskId: string; ipv4: string },
  lastStatus: string,
  clusterArn = CLUSTER_ARN,
) {
  const stopping = ['DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'].includes(lastStatus);
  return JSON.stringify(
    taskEvent({
      clusterArn,
      taskId: t.taskId,
      service: t.service,
      lastStatus,
      desiredStatus: stopping ? 'STOPPED' : 'RUNNING',
      version: stopping ? 6 : 3,
      ipv4: t.ipv4,
    }),
  );
}

describe('Fan-out: task events', () => {
  it('sends one work message per entry the service backs, grouped by the entry, the event as its body', async () => {
    const f = setup();
    const body = ev(TASKS.ct1, 'RUNNING');
    const out = await f.run([body]);
    expect(out.batchItemFailures).toEqual([]);
    expect(f.work).toHaveLength(1);
    const [m] = f.work;
    expect(m?.groupId).toBe('server:/currenttime/');
    expect(m?.dedupId).toBe(`server:/currenttime/|${JSON.parse(body).id}`);
    expect(m?.body).toBe(body);
  });

  it('finds an unnamed entry through DescribeServices, as the reconciler would', async () => {
    const f = setup({ targets: [DISCOVERED_TARGET] });
    await f.run([ev(TASKS.ta1, 'STOPPED')]);
    expect(f.work.map((m) => m.groupId)).toEqual(['agent:/travel-assistant-agent']);
  });

  it('drops what the reconciler would ignore: another cluster, an unmanaged service, a task neither serving nor going away', async () => {
    const f = setup();
    const out = await f.run([
      ev(TASKS.ct1, 'RUNNING', OTHER_CLUSTER_ARN),
      ev(
        { service: 'mcp-gateway-auth-server', taskId: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6', ipv4: '10.0.9.9' },
        'RUNNING',
      ),
      ev(TASKS.ct1, 'PENDING'),
      '"not an event"',
    ]);
    expect(out.batchItemFailures).toEqual([]);
    expect(f.work).toEqual([]);
    expect(f.triggers).toEqual([]);
    // Each dropped event is reported with the reason the reconciler would give, and counted.
    expect(f.ignored.map((i) => i.reason).sort()).toEqual([
      'other-cluster',
      'status-not-actionable',
      'unmanaged-service',
    ]);
    expect(f.metrics.get(MetricName.EventsIgnored)).toBe(3);
    const malformed = f.logger.lines.filter((l) => l.extra.some((e) => 'malformed' in e));
    expect(malformed.map((l) => l.level)).toEqual(['warn']);
    expect(f.metrics.get(MetricName.EventsMalformed)).toBe(1);
  });

  it('reports a registry task that is not running as ignored (registry-task-not-running), and sends nothing', async () => {
    const f = setup();
    await f.run([ev(TASKS.reg1, 'PENDING')]);
    expect(f.ignored.map((i) => i.reason)).toEqual(['registry-task-not-running']);
    expect(f.work).toEqual([]);
    expect(f.triggers).toEqual([]);
  });

  it('handles copies of one event in a batch once: one DescribeServices, one work message', async () => {
    const f = setup({ targets: [DISCOVERED_TARGET] });
    const body = ev(TASKS.ta1, 'STOPPED');
    const out = await f.run(Array.from({ length: 50 }, () => body));
    expect(out.batchItemFailures).toEqual([]);
    expect(f.world.calls.get('ecs.DescribeServices')).toBe(1);
    expect(f.work).toHaveLength(1);
    expect(f.work[0]?.groupId).toBe('agent:/travel-assistant-agent');
  });

  it('hands back every copy of an event whose sends failed, and no other message', async () => {
    const f = setup({ failWork: true });
    const body = ev(TASKS.ct1, 'RUNNING');
    const out = await f.run([body, ev(TASKS.gw1, 'PENDING'), body, body]);
    expect(out.batchItemFailures).toEqual([
      { itemIdentifier: 't1' },
      { itemIdentifier: 't3' },
      { itemIdentifier: 't4' },
    ]);
  });

  it('handles on its own a body that reuses an event id for another task change', async () => {
    const f = setup();
    const running = ev(TASKS.ct1, 'RUNNING');
    const stopped = JSON.stringify({ ...JSON.parse(ev(TASKS.ct1, 'STOPPED')), id: JSON.parse(running).id });
    await f.run([running, stopped]);
    expect(f.work.map((m) => m.body)).toEqual([running, stopped]);
  });

  it('looks a service up once for a burst of different events of it', async () => {
    const f = setup({ targets: [DISCOVERED_TARGET] });
    const other = { ...TASKS.ta1, taskId: 'abababababababababababababababab', ipv4: '10.0.4.52' };
    await f.run([ev(TASKS.ta1, 'STOPPED'), ev(other, 'RUNNING')]);
    expect(f.world.calls.get('ecs.DescribeServices')).toBe(1);
    expect(f.work).toHaveLength(2);
  });

  it('hands back only the message whose sends failed', async () => {
    const f = setup({ failWork: true });
    const out = await f.run([ev(TASKS.gw1, 'PENDING'), ev(TASKS.ct1, 'RUNNING')]);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 't2' }]);
    expect(f.logger.lines.some((l) => l.level === 'error' && l.message.includes('SQS refused'))).toBe(true);
  });

  it('hands the reason of each failed message to onFailure, with its message id', async () => {
    const f = setup({ failWork: true });
    await f.run([ev(TASKS.ct1, 'RUNNING')]);
    expect(f.failures).toEqual([{ messageId: 't1', reason: expect.stringContaining('SQS refused') }]);
  });

  it('drops a record that is no object (null, a string) as malformed, logged with its position, and handles the rest', async () => {
    const f = setup();
    const body = ev(TASKS.ct1, 'RUNNING');
    const out = await f.handler({ Records: [null, 'not a record', { messageId: 't3', body }] });
    expect(out.batchItemFailures).toEqual([]);
    expect(f.work.map((m) => m.body)).toEqual([body]);
    const errors = f.logger.lines.filter((l) => l.level === 'error').map((l) => l.message);
    expect(errors).toEqual([
      'fan-out could not handle message (record 1 of 3, no messageId): Error: malformed: null, not an object; dropped: SQS record has no string body',
      'fan-out could not handle message (record 2 of 3, no messageId): Error: malformed: a string, not an object; dropped: SQS record has no string body',
    ]);
    expect(f.failures.map((x) => x.messageId)).toEqual(['', '']);
  });
});

describe('Fan-out: registry start and schedule', () => {
  it('answers a registry task reaching RUNNING with page-only re-checks every 4 s for 2 min', async () => {
    const f = setup();
    await f.run([ev(TASKS.reg1, 'RUNNING')]);
    // Two kinds, one page each, per re-check.
    expect(f.triggers).toHaveLength(30 * 2);
    const delays = [...new Set(f.triggers.map((t) => t.delaySeconds))].sort((a, b) => a - b);
    expect(delays[0]).toBe(4);
    expect(delays.at(-1)).toBe(120);
    const m = readTriggerMessage(f.triggers[0]?.body as string);
    expect(m.type === 'shard' && m.shard.mode).toBe('registry');
    expect(f.work).toEqual([]);
  });

  it('turns the schedule into resync shards, one per registry page', async () => {
    const f = setup();
    await f.run([JSON.stringify(scheduledEvent('resync-1', '2026-01-01T00:05:00Z'))]);
    const shards = f.triggers.map((t) => readTriggerMessage(t.body));
    expect(shards.map((s) => s.type === 'shard' && [s.shard.kind, s.shard.offset, s.shard.mode])).toEqual([
      ['server', 0, 'full'],
      ['agent', 0, 'full'],
    ]);
  });

  it('a registry re-check sends work only for entries whose host is not an IP address', async () => {
    const f = setup();
    f.registry.set(REFS.mcpgw, 'http://mcpgw-server:8003/');
    const body = shardBody({
      kind: 'server',
      offset: 0,
      limit: 500,
      resync: 'recheck-x',
      time: 't',
      mode: 'registry',
    });
    await f.run([body]);
    expect(f.pageReads).toHaveLength(1);
    expect(f.work.map((m) => m.groupId)).toEqual(['server:/airegistry-tools/']);
  });

  it('a resync shard reads one page, checks read-only, and sends work only where a write is needed', async () => {
    const f = setup();
    // currenttime's task is gone: its entry needs the replacement.
    f.world.seedTask(TASKS.ct2.service, TASKS.ct2);
    const intake = parseEvent(JSON.parse(ev(TASKS.ct1, 'STOPPED')));
    if (intake.kind !== 'task') throw new Error('event did not parse');
    f.world.applyEvent(intake.event);
    const before = f.registry.writes.length;
    await f.run([
      shardBody({ kind: 'server', offset: 0, limit: 500, resync: 'resync-2', time: 't', mode: 'full' }),
    ]);
    expect(f.pageReads).toEqual([{ kind: 'server', offset: 0, limit: 500 }]);
    expect(f.registry.writes.length).toBe(before);
    expect(f.work.map((m) => m.groupId)).toEqual(['server:/currenttime/']);
    expect(f.work[0]?.dedupId).toBe('server:/currenttime/|resync-2');
  });
});

describe('Fan-out: resync reports security-pending', () => {
  it('a managed server the scan disabled is reported by every resync, never re-enabled', async () => {
    const f = setup();
    f.registry.seed(REFS.currenttime, `http://${TASKS.ct1.ipv4}:8000/`, false, {
      tags: ['security-pending'],
    });
    await f.run([
      shardBody({ kind: 'server', offset: 0, limit: 500, resync: 'resync-3', time: 't', mode: 'full' }),
    ]);
    expect(f.metrics.get(MetricName.ServerSecurityPending)).toBe(1);
    expect(f.logger.lines.some((l) => l.level === 'error' && l.message.includes('/currenttime/'))).toBe(true);
    expect(f.registry.writes).toEqual([]);
    expect(f.shards.map((s) => s.securityPending)).toEqual([[{ kind: 'server', path: '/currenttime/' }]]);
  });
});

describe('Fan-out: registry pages not in the plan', () => {
  it('matches managed entries wherever the registry lists them, and chains the page after the last planned one', async () => {
    const unmanaged = Array.from({ length: 3 }, (_, i) => ({ kind: 'server' as const, path: `/other${i}/` }));
    const f = setup({ unmanaged });
    f.registry.set(REFS.mcpgw, 'http://mcpgw-server:8003/');
    // Two servers configured: a plan of one page; with a page size of 2 the managed ones are on later pages.
    const shard = (offset: number) =>
      shardBody({ kind: 'server', offset, limit: 2, resync: 'recheck-y', time: 't', mode: 'registry' });
    await f.run([shard(0)]);
    expect(f.work).toEqual([]);
    // Follow the chain as the trigger queue would deliver it.
    const offsets = [0];
    for (let i = 0; i < f.triggers.length; i++) {
      const m = readTriggerMessage(f.triggers[i]?.body as string);
      if (m.type !== 'shard') continue;
      offsets.push(m.shard.offset);
      await f.run([shardBody(m.shard)]);
    }
    // The chained page has the deployed page size: it reads the rest at once.
    expect(offsets).toEqual([0, 2]);
    expect(f.pageReads).toEqual([
      { kind: 'server', offset: 0, limit: 2 },
      { kind: 'server', offset: 2, limit: 500 },
    ]);
    expect(f.work.map((m) => m.groupId)).toEqual(['server:/airegistry-tools/']);
  });
});

describe('Fan-out: time', () => {
  it('starts no shard without time for it (handed back), while the batch’s events are still sent', async () => {
    const f = setup();
    const shard = shardBody({ kind: 'server', offset: 0, limit: 500, resync: 'r', time: 't', mode: 'full' });
    const out = await f.run([shard, ev(TASKS.ct1, 'RUNNING')], DELIVERY.fanoutReserveMs - 1);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 't1' }]);
    expect(f.pageReads).toEqual([]);
    expect(f.work.map((m) => m.groupId)).toEqual(['server:/currenttime/']);
  });
});

describe('Fan-out: write verification', () => {
  const base = {
    url: 'http://10.0.1.11:8000/',
    confirmed: true,
    disabled: false,
    disabledSecurityPending: false,
    addressWrittenBack: false,
  };
  const entry: RegistryEntry = { ...REFS.currenttime, url: base.url, record: {} };
  const msg = verifyBody({
    ...REFS.currenttime,
    written: base.url,
    eventId: 'e1',
    at: '2026-01-01T00:00:00Z',
  });

  it('reports a server the scan disabled (security-pending) with ServerDisabledAfterWrite, never re-enables or sends work', async () => {
    const f = setup();
    f.setVerify({ ...base, disabled: true, disabledSecurityPending: true, entry });
    const out = await f.run([msg]);
    expect(out.batchItemFailures).toEqual([]);
    expect(f.metrics.get(MetricName.ServerDisabledAfterWrite)).toBe(1);
    expect(f.logger.lines.some((l) => l.level === 'error' && l.message.includes('security-pending'))).toBe(
      true,
    );
    expect(f.verifications[0]?.disabledSecurityPending).toBe(true);
    expect(f.work).toEqual([]);
    expect(f.triggers).toEqual([]);
  });

  it('sends work for an entry whose address a late scan wrote back', async () => {
    const f = setup();
    f.setVerify({
      ...base,
      url: 'http://10.0.1.99:8000/',
      confirmed: false,
      addressWrittenBack: true,
      entry,
    });
    await f.run([msg]);
    expect(f.work.map((m) => m.groupId)).toEqual(['server:/currenttime/']);
    expect(f.metrics.get(MetricName.ServerDisabledAfterWrite)).toBe(0);
    expect(f.triggers).toEqual([]);
  });

  it('an address other than the one before our write is a later write: reported, no work sent', async () => {
    const f = setup();
    f.setVerify({
      ...base,
      url: 'http://10.0.1.12:8000/',
      confirmed: false,
      addressWrittenBack: true,
      entry,
    });
    const withPrevious = verifyBody({
      ...REFS.currenttime,
      written: base.url,
      previous: 'http://10.0.1.7:8000/',
      eventId: 'e2',
      at: '2026-01-01T00:00:00Z',
    });
    await f.run([withPrevious]);
    expect(f.work).toEqual([]);
    expect(f.verifications[0]).toMatchObject({ addressWrittenBack: false, changedSince: true });
    expect(f.triggers).toEqual([]);
  });

  it('the address from before our write, back again, is a write-back: work is sent', async () => {
    const f = setup();
    f.setVerify({ ...base, url: 'http://10.0.1.7:8000/', confirmed: false, addressWrittenBack: true, entry });
    await f.run([
      verifyBody({
        ...REFS.currenttime,
        written: base.url,
        previous: 'http://10.0.1.7:8000/',
        eventId: 'e3',
        at: 'x',
      }),
    ]);
    expect(f.work.map((m) => [m.groupId, m.dedupId])).toEqual([
      ['server:/currenttime/', 'server:/currenttime/|verify-e3'],
    ]);
  });

  it('a write verified before the scan surely ended sends one follow-up at writtenAt + scanSettleMs, no work', async () => {
    // The test clock stands at the write time plus 15 s (the first verification).
    const f = setup();
    f.world.clock.advance(15_000);
    f.setVerify({ ...base, entry });
    await f.run([msg]);
    expect(f.work).toEqual([]);
    expect(f.verifications[0]?.confirmed).toBe(true);
    expect(f.triggers).toHaveLength(1);
    const settle = f.config.registry.scanSettleMs;
    expect(f.triggers[0]?.delaySeconds).toBe(Math.ceil((settle - 15_000) / 1000));
    // The same verification again: the write's time is kept, so the chain ends at the settle time.
    expect(readTriggerMessage(f.triggers[0]?.body as string)).toEqual(readTriggerMessage(msg));
  });

  it('keeps the address from before the write in the follow-up', async () => {
    const f = setup();
    f.setVerify({ ...base, entry });
    const withPrevious = verifyBody({
      ...REFS.currenttime,
      written: base.url,
      previous: 'http://10.0.1.7:8000/',
      eventId: 'e4',
      at: '2026-01-01T00:00:00Z',
    });
    await f.run([withPrevious]);
    expect(f.triggers.map((t) => t.body)).toEqual([withPrevious]);
  });

  it('a write verified at or after the settle time is the last check: nothing is sent', async () => {
    for (const late of [0, 1, 60_000]) {
      const f = setup();
      f.world.clock.advance(f.config.registry.scanSettleMs + late);
      f.setVerify({ ...base, entry });
      await f.run([msg]);
      expect(f.work).toEqual([]);
      expect(f.triggers).toEqual([]);
      expect(f.verifications[0]?.confirmed).toBe(true);
    }
  });

  it('a follow-up that cannot be sent hands the verification back', async () => {
    const f = setup({ failTriggers: true });
    f.setVerify({ ...base, entry });
    const out = await f.run([msg]);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 't1' }]);
  });
});

describe('SqsAdapter', () => {
  const sqs = mockClient(SQSClient);
  afterEach(() => sqs.reset());

  it('sends batches of at most 10 with group and dedup ids, and sends refused entries once more', async () => {
    let call = 0;
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      call++;
      return call === 1
        ? { Successful: [], Failed: [{ Id: '3', Code: 'InternalError', SenderFault: false }] }
        : { Successful: input.Entries.map((e) => ({ Id: e.Id })), Failed: [] };
    });
    const adapter = new SqsAdapter(new SQSClient({ region: 'us-west-2' }));
    const messages = Array.from({ length: 12 }, (_, i) => ({
      body: `b${i}`,
      groupId: `g${i}`,
      dedupId: `d${i}`,
    }));
    await adapter.send('https://sqs/work.fifo', messages);
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Entries?.length)).toEqual([10, 1, 2]);
    expect(calls[0]?.Entries?.[0]).toEqual({
      Id: '0',
      MessageBody: 'b0',
      MessageGroupId: 'g0',
      MessageDeduplicationId: 'd0',
    });
    expect(calls[1]?.Entries?.[0]?.MessageBody).toBe('b3');
  });

  it('fails when SQS still refuses a message, so the trigger comes back', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'InvalidParameterValue', SenderFault: true, Message: 'bad group' }],
    });
    const adapter = new SqsAdapter(new SQSClient({ region: 'us-west-2' }));
    await expect(adapter.send('https://sqs/t', [{ body: 'x', delaySeconds: 5 }])).rejects.toThrow(
      /InvalidParameterValue bad group/,
    );
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries?.[0]?.DelaySeconds).toBe(5);
  });
});
