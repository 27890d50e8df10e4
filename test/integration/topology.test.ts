import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Template } from 'aws-cdk-lib/assertions';
import { registryStartRechecks } from '../../functions/fanout/recheck';
import { DELIVERY, TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../../functions/lib/delivery/settings';
import { bundle } from '../../tools/build';
import { resolvePseudo, synthReconciler } from '../infra/helpers';
import { describeWithMoto, MOTO_ACCOUNT, MOTO_REGION } from '../support/moto';
import { buildWorld, ROOT, type Task, type World } from './world';

/**
 * The integration tier for the deployed topology: the queues and the task-state rule exactly as
 * the construct synthesizes them (attributes read from the template), created in moto_server;
 * ECS events put on the bus; the bundled fan-out (exactly what CDK deploys) invoked with what the
 * trigger queue hands out; the bundled reconciler invoked with what the FIFO work queue hands
 * out, against the local registry. The test plays the event source mappings: it receives, invokes
 * and deletes what the invocation did not hand back.
 *
 * Every test starts from a fresh moto (reset), a fresh world and registry, and its own queues and
 * rule under fresh names: no test depends on another's order or leftovers. No assertion depends on
 * how fast the machine is: a message's state is read as a count that holds whether its delay or
 * visibility has run out yet or not (see `messageCount`).
 */

const run = promisify(execFile);
const FANOUT_ENTRY = 'functions/fanout/handler.ts';
const RECONCILER_ENTRY = 'functions/reconciler/handler.ts';

interface CfnQueue {
  Properties: Record<string, unknown> & {
    RedrivePolicy?: { deadLetterTargetArn: unknown; maxReceiveCount: number };
  };
}

/** The construct's queue `id` from the template, as CreateQueue attributes (its DLQ's ARN given). */
function queueAttributes(template: Template, id: string, dlqArn?: string): Record<string, string> {
  const [, queue] = Object.entries(
    template.findResources('AWS::SQS::Queue') as Record<string, CfnQueue>,
  ).find(([logicalId]) => new RegExp(`^Reconciler${id}[0-9A-F]{8}$`).test(logicalId)) ?? [
    undefined,
    undefined,
  ];
  if (queue === undefined) throw new Error(`the template has no queue ${id}`);
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(queue.Properties)) {
    if (key === 'RedrivePolicy') {
      if (dlqArn === undefined) throw new Error(`${id} has a redrive policy: give its DLQ`);
      const policy = value as { maxReceiveCount: number };
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: dlqArn,
        maxReceiveCount: policy.maxReceiveCount,
      });
    } else {
      attributes[key] = String(value);
    }
  }
  return attributes;
}

/** The task-state rule's pattern, resolved for moto's account, and its one target. */
function taskStateRule(template: Template): { pattern: string; target: Record<string, unknown> } {
  const rule = Object.values(template.findResources('AWS::Events::Rule')).find(
    (r) => (r as { Properties: { EventPattern?: unknown } }).Properties.EventPattern !== undefined,
  ) as { Properties: { EventPattern: unknown; Targets: Array<Record<string, unknown>> } };
  const pattern = resolvePseudo(rule.Properties.EventPattern, {
    partition: 'aws',
    region: MOTO_REGION,
    accountId: MOTO_ACCOUNT,
  });
  const [target] = rule.Properties.Targets;
  if (target === undefined) throw new Error('the rule has no target');
  return { pattern: JSON.stringify(pattern), target };
}

/** An SQS event as Lambda's event source mapping builds it from received messages. */
function sqsEvent(messages: Message[], queueArn: string) {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId,
      receiptHandle: m.ReceiptHandle,
      body: m.Body,
      attributes: m.Attributes ?? {},
      messageAttributes: {},
      md5OfBody: m.MD5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: MOTO_REGION,
    })),
  };
}

describeWithMoto(
  'Integration (topology): rule → trigger queue → fan-out → FIFO work queue → reconciler',
  (moto) => {
    const { template } = synthReconciler();
    let work: string;
    const bundles = { fanout: '', reconciler: '' };
    let invocations = 0;
    let stacks = 0;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'reconciler-topology-'));
      bundles.fanout = (await bundle(FANOUT_ENTRY, join(work, 'fanout'))).outfile;
      bundles.reconciler = (await bundle(RECONCILER_ENTRY, join(work, 'reconciler'))).outfile;
    }, 180_000);

    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    /** One test's deployment: a fresh world, its own queues and rule (fresh names), and its clients. */
    interface Topology {
      world: World;
      sqs: SQSClient;
      events: EventBridgeClient;
      queues: { trigger: string; triggerArn: string; work: string; workArn: string };
    }
    let t: Topology;

    beforeEach(async () => {
      await moto.reset();
      const n = ++stacks;
      const world = await buildWorld(moto, '1.0.16');
      const sqs = new SQSClient(moto.clientConfig());
      const events = new EventBridgeClient(moto.clientConfig());
      const create = async (name: string, attributes: Record<string, string>) => {
        const { QueueUrl } = await sqs.send(
          new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
        );
        if (QueueUrl === undefined) throw new Error(`no URL for ${name}`);
        const { Attributes } = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
        );
        return { url: QueueUrl, arn: Attributes?.QueueArn as string };
      };
      const triggerDlq = await create(
        `trigger-dlq-${n}`,
        queueAttributes(template, 'TriggerDeadLetterQueue'),
      );
      const trigger = await create(`trigger-${n}`, queueAttributes(template, 'TriggerQueue', triggerDlq.arn));
      const workDlq = await create(`work-dlq-${n}.fifo`, queueAttributes(template, 'WorkDeadLetterQueue'));
      const workQueue = await create(`work-${n}.fifo`, queueAttributes(template, 'WorkQueue', workDlq.arn));

      const rule = taskStateRule(template);
      const ruleName = `task-state-${n}`;
      await events.send(new PutRuleCommand({ Name: ruleName, EventPattern: rule.pattern, State: 'ENABLED' }));
      // As synthesized: the queue, its retry policy and DLQ; no SqsParameters (no message group).
      expect(rule.target.SqsParameters).toBeUndefined();
      await events.send(
        new PutTargetsCommand({ Rule: ruleName, Targets: [{ Id: 'trigger', Arn: trigger.arn }] }),
      );
      t = {
        world,
        sqs,
        events,
        queues: {
          trigger: trigger.url,
          triggerArn: trigger.arn,
          work: workQueue.url,
          workArn: workQueue.arn,
        },
      };
    }, 120_000);

    afterEach(async () => {
      await t?.world.stop();
      t?.sqs.destroy();
      t?.events.destroy();
    });

    /** Runs a bundle in a fresh Node process, as the Lambda runtime does, with the deployed environment. */
    async function invoke(
      bundlePath: string,
      event: unknown,
    ): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
      invocations++;
      const file = join(work, `event-${invocations}.json`);
      writeFileSync(file, JSON.stringify(event));
      const { stdout } = await run(
        process.execPath,
        [join(ROOT, 'test', 'support', 'invoke-bundle.mjs'), bundlePath, file],
        {
          env: {
            ...t.world.env,
            RECONCILER_CONFIG: t.world.configJson,
            [WORK_QUEUE_URL_ENV]: t.queues.work,
            [TRIGGER_QUEUE_URL_ENV]: t.queues.trigger,
          },
          timeout: 90_000,
        },
      );
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line === undefined) throw new Error(`no result from ${bundlePath}:\n${stdout}`);
      return JSON.parse(line.slice('RESULT '.length));
    }

    /** Receives until the queue hands out nothing more (FIFO: one message per group while in flight). */
    async function receiveAll(queueUrl: string): Promise<Message[]> {
      const all: Message[] = [];
      for (;;) {
        const { Messages = [] } = await t.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            // Longer than any test: a received message stays with the test that received it.
            VisibilityTimeout: 600,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        if (Messages.length === 0) return all;
        all.push(...Messages);
      }
    }

    /** What an event source mapping does after an invocation: deletes every message not handed back. */
    async function deleteDone(queueUrl: string, messages: Message[], failures: { itemIdentifier: string }[]) {
      const failed = new Set(failures.map((f) => f.itemIdentifier));
      for (const m of messages) {
        if (!failed.has(m.MessageId as string))
          await t.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    }

    /**
     * Every message the queue holds, visible, in flight or delayed. A message's delay or visibility
     * may run out between two of SQS's counts, so the sum is read until two reads agree: the figure
     * does not depend on how fast the machine got here.
     */
    async function messageCount(queueUrl: string): Promise<number> {
      const read = async () => {
        const { Attributes = {} } = await t.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
              'ApproximateNumberOfMessagesDelayed',
            ],
          }),
        );
        return (
          Number(Attributes.ApproximateNumberOfMessages) +
          Number(Attributes.ApproximateNumberOfMessagesNotVisible) +
          Number(Attributes.ApproximateNumberOfMessagesDelayed)
        );
      };
      let last = await read();
      for (let i = 0; i < 10; i++) {
        const now = await read();
        if (now === last) return now;
        last = now;
      }
      throw new Error(`the message count of ${queueUrl} did not settle`);
    }

    async function putEvent(e: ReturnType<World['event']>): Promise<void> {
      const put = await t.events.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: e.source,
              DetailType: e['detail-type'],
              Resources: e.resources ?? [],
              Detail: JSON.stringify(e.detail),
            },
          ],
        }),
      );
      expect(put.FailedEntryCount ?? 0).toBe(0);
    }

    const url = (path: string) => t.world.registry.getServer(path)?.proxy_pass_url;

    /**
     * Two task events, every registry request about /airegistry-tools/ failing: the rule, the
     * fan-out and one reconciler invocation on both entries' work.
     */
    async function twoEventsOneEntryFailing() {
      const { world, queues } = t;
      const [currenttime] = (await world.startTasks(
        'currenttime',
        'mcp-gateway-currenttime',
        'currenttime-server',
        1,
      )) as [Task];
      const [mcpgw] = (await world.startTasks('mcpgw', 'mcp-gateway-mcpgw', 'mcpgw-server', 1)) as [Task];
      const stuckBefore = url('/airegistry-tools/');
      world.registry.faults.failNext(1_000, { status: 503, match: { path: /airegistry-tools/ } });

      // EventBridge (moto's matcher, the synthesized pattern) delivers both to the trigger queue.
      await putEvent(world.event('mcp-gateway-currenttime', currenttime, 'RUNNING', 'RUNNING', 3));
      await putEvent(world.event('mcp-gateway-mcpgw', mcpgw, 'RUNNING', 'RUNNING', 3));
      const triggers = await receiveAll(queues.trigger);

      // The fan-out, on what the trigger queue handed out.
      const fanned = await invoke(bundles.fanout, sqsEvent(triggers, queues.triggerArn));
      await deleteDone(queues.trigger, triggers, fanned.batchItemFailures);

      // The reconciler, on what the work queue handed out (both groups in one batch).
      const workMessages = await receiveAll(queues.work);
      const reconciled = await invoke(bundles.reconciler, sqsEvent(workMessages, queues.workArn));
      await deleteDone(queues.work, workMessages, reconciled.batchItemFailures);
      const stuck = workMessages.find((m) => m.Attributes?.MessageGroupId === 'server:/airegistry-tools/');
      return { currenttime, mcpgw, stuckBefore, triggers, fanned, workMessages, reconciled, stuck };
    }

    it('creates the queues as synthesized: a standard trigger queue, a FIFO work queue deduplicating per group', async () => {
      const { Attributes } = await t.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: t.queues.work, AttributeNames: ['All'] }),
      );
      expect(Attributes).toMatchObject({
        FifoQueue: 'true',
        ContentBasedDeduplication: 'false',
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        VisibilityTimeout: '360',
      });
      expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 10 });
    });

    it('two task events, one entry failing: one work message per entry, in its own group; the other entry is still written', async () => {
      // Act
      const run = await twoEventsOneEntryFailing();

      // Assess: the trigger queue got both events, with no message group.
      expect(run.triggers.map((m) => JSON.parse(m.Body ?? '{}')['detail-type'])).toEqual([
        'ECS Task State Change',
        'ECS Task State Change',
      ]);
      expect(run.triggers.every((m) => m.Attributes?.MessageGroupId === undefined)).toBe(true);
      expect(run.fanned).toEqual({ batchItemFailures: [] });
      // One work message per entry, the entry as its message group, deduplicated per entry and event.
      expect(run.workMessages.map((m) => m.Attributes?.MessageGroupId).sort()).toEqual([
        'server:/airegistry-tools/',
        'server:/currenttime/',
      ]);
      for (const m of run.workMessages)
        expect(m.Attributes?.MessageDeduplicationId).toMatch(
          new RegExp(`^${m.Attributes?.MessageGroupId}\\|`),
        );
      // Only the failing entry's message is handed back; the other entry is written.
      expect(run.stuck).toBeDefined();
      expect(run.reconciled).toEqual({ batchItemFailures: [{ itemIdentifier: run.stuck?.MessageId }] });
      expect(url('/currenttime/')).toBe(`http://${run.currenttime.ip}:8000/`);
      expect(url('/airegistry-tools/')).toBe(run.stuckBefore);
      // The handed-back message is all the work queue holds (it waits out its own visibility).
      expect(await messageCount(t.queues.work)).toBe(1);
      // The confirmed write's verification is all the trigger queue holds (delayed for the registry's scan).
      expect(await messageCount(t.queues.trigger)).toBe(1);
    }, 240_000);

    it('the failing entry, once the registry answers again, is written from its own handed-back message', async () => {
      // Prepare: an entry whose message was handed back; the registry recovers; the message's own
      // retry delay is over (made visible now).
      const { stuck, mcpgw } = await twoEventsOneEntryFailing();
      if (stuck === undefined) throw new Error('the failing entry had no work message');
      t.world.registry.faults.clear();
      await t.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: t.queues.work,
          ReceiptHandle: stuck.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );

      // Act
      const again = await receiveAll(t.queues.work);
      const reconciled = await invoke(bundles.reconciler, sqsEvent(again, t.queues.workArn));
      await deleteDone(t.queues.work, again, reconciled.batchItemFailures);

      // Assess: the same message, on its second receive, in its entry's group; the entry is written.
      expect(
        again.map((m) => [m.MessageId, m.Attributes?.MessageGroupId, m.Attributes?.ApproximateReceiveCount]),
      ).toEqual([[stuck.MessageId, 'server:/airegistry-tools/', '2']]);
      expect(reconciled).toEqual({ batchItemFailures: [] });
      expect(url('/airegistry-tools/')).toBe(`http://${mcpgw.ip}:8003/`);
      expect(await messageCount(t.queues.work)).toBe(0);
    }, 240_000);

    it('the schedule: the fan-out plans resync shards; a shard reads the registry by pages and sends work only where a write is needed', async () => {
      // Prepare: /currenttime/ names its live task; the registry reset its built-in entry behind
      // the reconciler's back.
      const { world, queues } = t;
      const [currenttime] = (await world.startTasks(
        'currenttime',
        'mcp-gateway-currenttime',
        'currenttime-server',
        1,
      )) as [Task];
      const [mcpgw] = (await world.startTasks('mcpgw', 'mcp-gateway-mcpgw', 'mcpgw-server', 1)) as [Task];
      const pointAt = (path: string, address: string) => {
        const record = world.registry.getServer(path);
        world.registry.putServer({ ...(record as NonNullable<typeof record>), proxy_pass_url: address });
      };
      pointAt('/currenttime/', `http://${currenttime.ip}:8000/`);
      pointAt('/airegistry-tools/', 'http://mcpgw-server:8003/');
      // What the resync rule puts on the trigger queue.
      await t.sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.trigger,
          MessageBody: JSON.stringify({
            version: '0',
            id: `resync-${stacks}`,
            'detail-type': 'Scheduled Event',
            source: 'aws.events',
            account: MOTO_ACCOUNT,
            time: '2026-01-01T00:00:00Z',
            region: MOTO_REGION,
            resources: [`arn:aws:events:${MOTO_REGION}:${MOTO_ACCOUNT}:rule/resync`],
            detail: {},
          }),
        }),
      );

      // Act 1: the fan-out on the schedule: shards, no work yet.
      const schedule = await receiveAll(queues.trigger);
      expect(await invoke(bundles.fanout, sqsEvent(schedule, queues.triggerArn))).toEqual({
        batchItemFailures: [],
      });
      await deleteDone(queues.trigger, schedule, []);
      expect(await messageCount(queues.work)).toBe(0);
      const shards = await receiveAll(queues.trigger);
      expect(shards.map((m) => Object.keys(JSON.parse(m.Body ?? '{}')))).toEqual([['shard']]);

      // Act 2: the fan-out on the shard.
      world.registry.clearRequests();
      expect(await invoke(bundles.fanout, sqsEvent(shards, queues.triggerArn))).toEqual({
        batchItemFailures: [],
      });
      await deleteDone(queues.trigger, shards, []);

      // Assess: one paged read of the registry, no write; work only for the entry that was reset.
      const api = world.registry.requests().filter((r) => r.path.startsWith('/api/'));
      expect(api.filter((r) => r.method !== 'GET')).toEqual([]);
      // A page as long as the managed servers (two here; at most DELIVERY.pageSize), from the start.
      const managedServers = JSON.parse(world.configJson).targets.filter(
        (target: { kind: string }) => target.kind === 'server',
      );
      expect(api.map((r) => [r.method, r.path, r.query.limit, r.query.offset])).toEqual([
        ['GET', '/api/servers', String(Math.min(DELIVERY.pageSize, managedServers.length)), '0'],
      ]);
      const workMessages = await receiveAll(queues.work);
      expect(workMessages.map((m) => m.Attributes?.MessageGroupId)).toEqual(['server:/airegistry-tools/']);

      // Act 3: the reconciler on that work.
      const reconciled = await invoke(bundles.reconciler, sqsEvent(workMessages, queues.workArn));
      await deleteDone(queues.work, workMessages, reconciled.batchItemFailures);
      expect(reconciled).toEqual({ batchItemFailures: [] });
      expect(url('/airegistry-tools/')).toBe(`http://${mcpgw.ip}:8003/`);
      expect(url('/currenttime/')).toBe(`http://${currenttime.ip}:8000/`);
    }, 240_000);

    it('a registry task reaching RUNNING: the fan-out sends the delayed re-checks, and no work yet', async () => {
      // Prepare
      const { world, queues } = t;
      const [registryTask] = (await world.startTasks('registry', 'mcp-gateway-registry', undefined, 1)) as [
        Task,
      ];
      await putEvent(world.event('mcp-gateway-registry', registryTask, 'RUNNING', 'RUNNING', 3));
      const triggers = await receiveAll(queues.trigger);
      expect(triggers.map((m) => JSON.parse(m.Body ?? '{}').detail?.group)).toEqual([
        'service:mcp-gateway-registry',
      ]);

      // Act
      expect(await invoke(bundles.fanout, sqsEvent(triggers, queues.triggerArn))).toEqual({
        batchItemFailures: [],
      });
      await deleteDone(queues.trigger, triggers, []);

      // Assess: one registry-only shard per re-check (every 4 s for 2 min) and no work. Whatever
      // delay has already run out, each message there is such a re-check.
      const rechecks = registryStartRechecks({
        everySeconds: DELIVERY.recheckEverySeconds,
        windowSeconds: DELIVERY.recheckWindowSeconds,
      });
      expect(rechecks).toHaveLength(30);
      expect(await messageCount(queues.trigger)).toBe(rechecks.length);
      const due = await receiveAll(queues.trigger);
      expect(due.map((m) => JSON.parse(m.Body ?? '{}').shard?.mode)).toEqual(due.map(() => 'registry'));
      expect(await messageCount(queues.work)).toBe(0);
    }, 240_000);
  },
);
