/**
 * The task-state rule's pattern, matched by EventBridge's own matcher (moto's): a rule with the
 * synthesized pattern and the synthesized target (a standard queue), real ECS events put on the bus, and what
 * arrives in the queue. moto does not implement TestEventPattern, hence the round trip.
 */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Template } from 'aws-cdk-lib/assertions';
import { describeWithMoto, MOTO_ACCOUNT, MOTO_REGION } from '../support/moto';
import { REPO_ROOT, resolvePseudo, synthReconciler } from './helpers';

/** The real ECS events: the repository's copy, else the shared originals next to the clone. */
const FIXTURES =
  [
    path.join(REPO_ROOT, 'test', 'fixtures', 'ecs-events'),
    path.join(REPO_ROOT, '..', 'shared', 'fixtures', 'ecs-events'),
  ].find((dir) => existsSync(dir)) ?? 'test/fixtures/ecs-events (missing)';
const CLUSTER_ARN = `arn:aws:ecs:${MOTO_REGION}:${MOTO_ACCOUNT}:cluster/mcp-gateway-ecs-cluster`;

interface EcsEvent {
  source: string;
  'detail-type': string;
  resources?: string[];
  detail: Record<string, unknown>;
}

/** A fixture, copied (the originals are read-only) and changed where a case needs it. */
function fixture(
  name: string,
  detail: Record<string, unknown> = {},
  envelope: Partial<EcsEvent> = {},
): EcsEvent {
  const event = JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as EcsEvent;
  return { ...event, ...envelope, detail: { ...event.detail, ...detail } };
}

const RUNNING_SDI = 'fargate-awsvpc-running-serviceregistries-sdi-attachment-defra-cdp.json';
const RUNNING_2025 = 'awsdocs-current-fargate-awsvpc-running-2025.json';
const STANDALONE_2020 = 'awsdocs-fargate-awsvpc-running-2020.json';
const STOPPED = 'fargate-awsvpc-stopped-userinitiated-jenademoodley.json';
const PROVISIONING = 'fargate-awsvpc-provisioning-service-redacted-aws-to-slack.json';

const ours = (group: string) => ({ clusterArn: CLUSTER_ARN, group });
const CURRENTTIME = 'service:mcp-gateway-currenttime';

/** Events of the cluster that the reconciler must see. */
const MATCHING: Array<[string, EcsEvent]> = [
  ['RUNNING (ServiceRegistries task)', fixture(RUNNING_SDI, ours(CURRENTTIME))],
  ['RUNNING of the registry itself', fixture(RUNNING_2025, ours('service:mcp-gateway-registry'))],
  [
    'RUNNING with desiredStatus STOPPED (first sign of going away)',
    fixture(RUNNING_SDI, { ...ours('service:mcp-gateway-mcpgw'), desiredStatus: 'STOPPED', version: 6 }),
  ],
  ['DEACTIVATING', fixture(STOPPED, { ...ours(CURRENTTIME), lastStatus: 'DEACTIVATING', version: 3 })],
  ['STOPPING', fixture(STOPPED, { ...ours(CURRENTTIME), lastStatus: 'STOPPING', version: 4 })],
  ['DEPROVISIONING', fixture(STOPPED, { ...ours(CURRENTTIME), lastStatus: 'DEPROVISIONING', version: 5 })],
  ['STOPPED', fixture(STOPPED, ours('service:mcp-gateway-flight-booking-agent'))],
];

/** Events the rule must drop. */
const NOT_MATCHING: Array<[string, EcsEvent]> = [
  ['RUNNING in another cluster (fixture as published)', fixture(RUNNING_SDI)],
  ['STOPPED in another cluster (fixture as published)', fixture(STOPPED)],
  [
    'a cluster whose name only starts like ours',
    fixture(RUNNING_SDI, { clusterArn: `${CLUSTER_ARN}-2`, group: CURRENTTIME }),
  ],
  ['PROVISIONING', fixture(PROVISIONING, ours(CURRENTTIME))],
  ['PENDING', fixture(RUNNING_SDI, { ...ours(CURRENTTIME), lastStatus: 'PENDING', version: 2 })],
  ['a standalone task (family:)', fixture(STANDALONE_2020, { clusterArn: CLUSTER_ARN })],
  ['an unmanaged service of the cluster', fixture(RUNNING_SDI, ours('service:mcp-gateway-auth-server'))],
  [
    'another detail-type with the same detail',
    fixture(RUNNING_SDI, ours(CURRENTTIME), { 'detail-type': 'ECS Container Instance State Change' }),
  ],
  ['another source with the same detail', fixture(RUNNING_SDI, ours(CURRENTTIME), { source: 'custom.ecs' })],
];

/** The synthesized task-state rule: its pattern (resolved for moto's account) and its target's SQS parameters. */
function taskStateRule(template: Template): { pattern: string; sqsParameters: unknown } {
  const rule = Object.values(template.findResources('AWS::Events::Rule')).find(
    (r) => (r as { Properties: { EventPattern?: unknown } }).Properties.EventPattern !== undefined,
  ) as {
    Properties: { EventPattern: unknown; Targets: Array<{ SqsParameters?: unknown }> };
  };
  const pattern = resolvePseudo(rule.Properties.EventPattern, {
    partition: 'aws',
    region: MOTO_REGION,
    accountId: MOTO_ACCOUNT,
  });
  const target = rule.Properties.Targets[0];
  if (target === undefined) throw new Error('the rule has no target');
  return { pattern: JSON.stringify(pattern), sqsParameters: target.SqsParameters };
}

describeWithMoto('Rule: ECS task state changes (EventBridge matching via moto)', (moto) => {
  let events: EventBridgeClient;
  let sqs: SQSClient;
  /** The queue of the rule synthesized with the default targets (every ECS service named). */
  let namedQueue: string;
  /** The queue of the rule synthesized with a target left to discovery (`service:` prefix). */
  let anyServiceQueue: string;

  /** A rule with the given stack's pattern, sending to a fresh standard queue as the trigger queue is. */
  async function deployRule(name: string, template: Template): Promise<string> {
    const { pattern, sqsParameters } = taskStateRule(template);
    // The trigger queue is standard: the target sets no message group.
    expect(sqsParameters).toBeUndefined();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    if (QueueUrl === undefined) throw new Error('no queue URL');
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await events.send(new PutRuleCommand({ Name: name, EventPattern: pattern, State: 'ENABLED' }));
    await events.send(
      new PutTargetsCommand({
        Rule: name,
        Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }],
      }),
    );
    return QueueUrl;
  }

  /** What one queue holds now; empties it. */
  async function drain(queueUrl: string): Promise<Array<Record<string, unknown>>> {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    return Messages.map((m) => JSON.parse(m.Body ?? '{}') as Record<string, unknown>);
  }

  /** Puts one event on the default bus (moto delivers synchronously) and returns what each rule's queue got. */
  async function deliver(event: EcsEvent): Promise<{ named: unknown[]; anyService: unknown[] }> {
    const put = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: event.source,
            DetailType: event['detail-type'],
            Resources: event.resources ?? [],
            Detail: JSON.stringify(event.detail),
          },
        ],
      }),
    );
    expect(put.FailedEntryCount ?? 0).toBe(0);
    return { named: await drain(namedQueue), anyService: await drain(anyServiceQueue) };
  }

  let namedTemplate: ReturnType<typeof synthReconciler>['template'];
  let anyServiceTemplate: ReturnType<typeof synthReconciler>['template'];
  let rules = 0;

  beforeAll(() => {
    events = new EventBridgeClient(moto.clientConfig());
    sqs = new SQSClient(moto.clientConfig());
    // The default targets all name their ECS service: the rule lists them.
    namedTemplate = synthReconciler().template;
    // A target left to discovery: the rule takes every service task.
    anyServiceTemplate = synthReconciler({
      targets: [{ kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server' }],
    }).template;
  }, 180_000);

  // Each test its own rules and queues (fresh names, a fresh moto): nothing one test put is seen by another.
  beforeEach(async () => {
    await moto.reset();
    rules++;
    namedQueue = await deployRule(`named-services-${rules}`, namedTemplate);
    anyServiceQueue = await deployRule(`any-service-${rules}`, anyServiceTemplate);
  }, 60_000);

  afterAll(() => {
    events?.destroy();
    sqs?.destroy();
  });

  it.each(MATCHING)('forwards %s', async (_, event) => {
    const { named, anyService } = await deliver(event);
    expect(anyService).toHaveLength(1);
    expect(named).toHaveLength(1);
    expect(named[0]).toMatchObject({
      source: 'aws.ecs',
      'detail-type': 'ECS Task State Change',
      detail: { clusterArn: CLUSTER_ARN, lastStatus: event.detail.lastStatus },
    });
  });

  it.each(NOT_MATCHING)('drops %s', async (_, event) => {
    const { named } = await deliver(event);
    expect(named).toEqual([]);
  });

  it('with a target left to discovery, forwards any service of the cluster but no standalone task', async () => {
    expect(
      (await deliver(fixture(RUNNING_SDI, ours('service:mcp-gateway-auth-server')))).anyService,
    ).toHaveLength(1);
    expect((await deliver(fixture(STANDALONE_2020, { clusterArn: CLUSTER_ARN }))).anyService).toEqual([]);
    expect((await deliver(fixture(RUNNING_SDI))).anyService).toEqual([]);
  });
});
