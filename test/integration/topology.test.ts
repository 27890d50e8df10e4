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
import { registryStartRechecks } from '../../functions/reconciler/delivery/recheck';
import {
  DELIVERY,
  TRIGGER_QUEUE_URL_ENV,
  WORK_QUEUE_URL_ENV,
} from '../../functions/reconciler/delivery/settings';
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
    let world: World;
    let sqs: SQSClient;
    let events: EventBridgeClient;
    const bundles = { fanout: '', reconciler: '' };
    const queues = { trigger: '', triggerArn: '', work: '', workArn: '' };
    let invocations = 0;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'reconciler-topology-'));
      bundles.fanout = (await bundle(FANOUT_ENTRY, join(work, 'fanout'))).outfile;
      bundles.reconciler = (await bundle(RECONCILER_ENTRY, join(work, 'reconciler'))).outfile;
      world = await buildWorld(moto, '1.0.16');
      sqs = new SQSClient(moto.clientConfig());
      events = new EventBridgeClient(moto.clientConfig());

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
      const triggerDlq = await create('trigger-dlq', queueAttributes(template, 'TriggerDeadLetterQueue'));
      const trigger = await create('trigger', queueAttributes(template, 'TriggerQueue', triggerDlq.arn));
      const workDlq = await create('work-dlq.fifo', queueAttributes(template, 'WorkDeadLetterQueue'));
      const workQueue = await create('work.fifo', queueAttributes(template, 'WorkQueue', workDlq.arn));
      Object.assign(queues, {
        trigger: trigger.url,
        triggerArn: trigger.arn,
        work: workQueue.url,
        workArn: workQueue.arn,
      });

      const rule = taskStateRule(template);
      await events.send(
        new PutRuleCommand({ Name: 'task-state', EventPattern: rule.pattern, State: 'ENABLED' }),
      );
      // As synthesized: the queue, its retry policy and DLQ; no SqsParameters (no message group).
      expect(rule.target.SqsParameters).toBeUndefined();
      await events.send(
        new PutTargetsCommand({ Rule: 'task-state', Targets: [{ Id: 'trigger', Arn: trigger.arn }] }),
      );
    }, 120_000);

    afterAll(async () => {
      await world?.stop();
      sqs?.destroy();
      events?.destroy();
      if (work) rmSync(work, { recursive: true, force: true });
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
            ...world.env,
            RECONCILER_CONFIG: world.configJson,
            [WORK_QUEUE_URL_ENV]: queues.work,
            [TRIGGER_QUEUE_URL_ENV]: queues.trigger,
          },
          timeout: 60_000,
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
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: 60,
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
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    }

    async function attribute(
      queueUrl: string,
      name:
        | 'ApproximateNumberOfMessagesNotVisible'
        | 'ApproximateNumberOfMessages'
        | 'ApproximateNumberOfMessagesDelayed',
    ) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [name] }),
      );
      return Number(Attributes?.[name] ?? Number.NaN);
    }

    const url = (path: string) => world.registry.getServer(path)?.proxy_pass_url;
    /** What the second test leaves behind: the failing entry's handed-back message, and its task. */
    let handedBack: Message | undefined;
    let mcpgwTask: Task | undefined;

    it('creates the queues as synthesized: a standard trigger queue, a FIFO work queue deduplicating per group', async () => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queues.work, AttributeNames: ['All'] }),
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
      // Prepare: a task of each entry's service; every registry request about /airegistry-tools/ fails.
      const [currenttime] = (await world.startTasks(
        'currenttime',
        'mcp-gateway-currenttime',
        'currenttime-server',
        1,
      )) as [Task];
      const [mcpgw] = (await world.startTasks('mcpgw', 'mcp-gateway-mcpgw', 'mcpgw-server', 1)) as [Task];
      const stuckBefore = url('/airegistry-tools/');
      world.registry.faults.failNext(1_000, { status: 503, match: { path: /airegistry-tools/ } });

      // Act 1: EventBridge (moto's matcher, the synthesized pattern) delivers both to the trigger queue.
      for (const e of [
        world.event('mcp-gateway-currenttime', currenttime, 'RUNNING', 'RUNNING', 3),
        world.event('mcp-gateway-mcpgw', mcpgw, 'RUNNING', 'RUNNING', 3),
      ]) {
        const put = await events.send(
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
      const triggers = await receiveAll(queues.trigger);
      expect(triggers.map((m) => JSON.parse(m.Body ?? '{}')['detail-type'])).toEqual([
        'ECS Task State Change',
        'ECS Task State Change',
      ]);
      expect(triggers.every((m) => m.Attributes?.MessageGroupId === undefined)).toBe(true);

      // Act 2: the fan-out, on what the trigger queue handed out.
      const fanned = await invoke(bundles.fanout, sqsEvent(triggers, queues.triggerArn));
      expect(fanned).toEqual({ batchItemFailures: [] });
      await deleteDone(queues.trigger, triggers, fanned.batchItemFailures);

      // Assess: one work message per entry, the entry as its message group, deduplicated per entry and event.
      const workMessages = await receiveAll(queues.work);
      const groups = workMessages.map((m) => m.Attributes?.MessageGroupId).sort();
      expect(groups).toEqual(['server:/airegistry-tools/', 'server:/currenttime/']);
      for (const m of workMessages)
        expect(m.Attributes?.MessageDeduplicationId).toMatch(
          new RegExp(`^${m.Attributes?.MessageGroupId}\\|`),
        );

      // Act 3: the reconciler, on what the work queue handed out (both groups in one batch).
      const reconciled = await invoke(bundles.reconciler, sqsEvent(workMessages, queues.workArn));

      // Assess: only the failing entry's message is handed back; the other entry is written.
      const stuck = workMessages.find(
        (m) => m.Attributes?.MessageGroupId === 'server:/airegistry-tools/',
      ) as Message;
      handedBack = stuck;
      mcpgwTask = mcpgw;
      expect(reconciled).toEqual({ batchItemFailures: [{ itemIdentifier: stuck.MessageId }] });
      expect(url('/currenttime/')).toBe(`http://${currenttime.ip}:8000/`);
      expect(url('/airegistry-tools/')).toBe(stuckBefore);
      await deleteDone(queues.work, workMessages, reconciled.batchItemFailures);
      // The handed-back message waits out its own visibility; nothing else is left in the work queue.
      expect(await attribute(queues.work, 'ApproximateNumberOfMessagesNotVisible')).toBe(1);
      expect(await attribute(queues.work, 'ApproximateNumberOfMessages')).toBe(0);
      // The confirmed write's verification waits in the trigger queue for the registry's scan (15 s).
      expect(await attribute(queues.trigger, 'ApproximateNumberOfMessagesDelayed')).toBe(1);
      world.registry.faults.clear();
    }, 180_000);
    it('the failing entry, once the registry answers again, is written from its own handed-back message', async () => {
      // Prepare: the registry recovers; the message's own retry delay is over (made visible now).
      if (handedBack === undefined || mcpgwTask === undefined)
        throw new Error('runs after the previous test');
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queues.work,
          ReceiptHandle: handedBack.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );

      // Act
      const again = await receiveAll(queues.work);
      const reconciled = await invoke(bundles.reconciler, sqsEvent(again, queues.workArn));
      await deleteDone(queues.work, again, reconciled.batchItemFailures);

      // Assess: the same message, on its second receive, in its entry's group; the entry is written.
      expect(
        again.map((m) => [m.MessageId, m.Attributes?.MessageGroupId, m.Attributes?.ApproximateReceiveCount]),
      ).toEqual([[handedBack.MessageId, 'server:/airegistry-tools/', '2']]);
      expect(reconciled).toEqual({ batchItemFailures: [] });
      expect(url('/airegistry-tools/')).toBe(`http://${mcpgwTask.ip}:8003/`);
    }, 120_000);

    it('the schedule: the fan-out plans resync shards; a shard reads the registry by pages and sends work only where a write is needed', async () => {
      // Prepare: the registry reset its built-in entry behind the reconciler's back.
      const record = world.registry.getServer('/airegistry-tools/');
      world.registry.putServer({
        ...(record as NonNullable<typeof record>),
        proxy_pass_url: 'http://mcpgw-server:8003/',
      });
      const currenttimeBefore = url('/currenttime/');
      await receiveAll(queues.trigger).then((left) => deleteDone(queues.trigger, left, []));
      // What the resync rule puts on the trigger queue.
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.trigger,
          MessageBody: JSON.stringify({
            version: '0',
            id: `resync-${Date.now()}`,
            'detail-type': 'Scheduled Event',
            source: 'aws.events',
            account: MOTO_ACCOUNT,
            time: new Date().toISOString(),
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
      expect(await receiveAll(queues.work)).toEqual([]);
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
        (t: { kind: string }) => t.kind === 'server',
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
      expect(url('/airegistry-tools/')).toBe(`http://${mcpgwTask?.ip}:8003/`);
      expect(url('/currenttime/')).toBe(currenttimeBefore);
    }, 120_000);

    it('a registry task reaching RUNNING: the fan-out sends the delayed re-checks, and no work yet', async () => {
      // Prepare
      const [registryTask] = (await world.startTasks('registry', 'mcp-gateway-registry', undefined, 1)) as [
        Task,
      ];
      const e = world.event('mcp-gateway-registry', registryTask, 'RUNNING', 'RUNNING', 3);
      await events.send(
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
      const triggers = (await receiveAll(queues.trigger)).filter(
        (m) => !(m.Body ?? '').startsWith('{"verify"'),
      );
      expect(triggers.map((m) => JSON.parse(m.Body ?? '{}').detail?.group)).toEqual([
        'service:mcp-gateway-registry',
      ]);

      // Act
      expect(await invoke(bundles.fanout, sqsEvent(triggers, queues.triggerArn))).toEqual({
        batchItemFailures: [],
      });
      await deleteDone(queues.trigger, triggers, []);

      // Assess: one delayed registry-only shard per re-check (every 4 s for 2 min), nothing visible yet.
      const rechecks = registryStartRechecks({
        everySeconds: DELIVERY.recheckEverySeconds,
        windowSeconds: DELIVERY.recheckWindowSeconds,
      });
      expect(rechecks).toHaveLength(30);
      expect(await attribute(queues.trigger, 'ApproximateNumberOfMessagesDelayed')).toBeGreaterThanOrEqual(
        rechecks.length,
      );
      expect(await receiveAll(queues.work)).toEqual([]);
    }, 120_000);
  },
);
