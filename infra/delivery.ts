/**
 * How triggers reach the function: ECS task events and the periodic resync, through EventBridge
 * rules, into one SQS FIFO queue with its dead-letter queues, consumed by the function in batches.
 * The whole delivery topology is here, so changing it (message groups, a fan-out step) touches this
 * file and the tests of it only.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { ReconcilerConfig } from '../functions/reconciler/config';
import { DEPLOYED } from './deployed-defaults';

/** The single FIFO message group every trigger goes into: one batch at a time, never two writers. */
export const MESSAGE_GROUP_ID = 'registry-reconciler';
/**
 * The task statuses the rule forwards. RUNNING includes the first sign of a task going away
 * (`desiredStatus: STOPPED` while still RUNNING); the rest are the way down. PROVISIONING, PENDING and
 * ACTIVATING are left out: a task is only worth pointing at once it is RUNNING.
 */
export const TASK_STATUSES = ['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'] as const;
/** After this many receives a message goes to the FIFO DLQ, unblocking the group. */
export const MAX_RECEIVE_COUNT = DEPLOYED.maxReceiveCount;
/** The queue's visibility timeout is this many function timeouts. */
const VISIBILITY_FACTOR = DEPLOYED.visibilityFactor;
const BATCH_SIZE = DEPLOYED.batchSize;
/** EventBridge → SQS delivery retries: an event older than an hour says nothing the resync has not. */
const EVENT_MAX_AGE = Duration.hours(1);
const EVENT_RETRY_ATTEMPTS = 185;
const DLQ_RETENTION = Duration.days(14);

/** The queues every trigger goes through. */
export interface ReconcilerQueues {
  /** The FIFO queue the function consumes. */
  readonly queue: sqs.Queue;
  /** Where messages the function failed `MAX_RECEIVE_COUNT` times end up (FIFO). */
  readonly deadLetterQueue: sqs.Queue;
  /** Where events EventBridge could not deliver to the queue end up (standard). */
  readonly deliveryDeadLetterQueue: sqs.Queue;
}

/** The rules that put triggers on the queue. */
export interface ReconcilerRules {
  /** ECS Task State Change events of the cluster → queue. */
  readonly taskStateRule: events.Rule;
  /** The periodic resync → queue. */
  readonly resyncRule: events.Rule;
}

/** The FIFO queue (visibility from the function timeout), its FIFO DLQ and the delivery DLQ. */
export function buildQueues(scope: Construct, functionTimeout: Duration): ReconcilerQueues {
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    fifo: true,
    contentBasedDeduplication: true,
    retentionPeriod: DLQ_RETENTION,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  const queue = new sqs.Queue(scope, 'Queue', {
    fifo: true,
    // EventBridge cannot set a deduplication id; the body (the event, with its id) is the key.
    contentBasedDeduplication: true,
    visibilityTimeout: Duration.seconds(functionTimeout.toSeconds() * VISIBILITY_FACTOR),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
  });
  // EventBridge target DLQs must be standard queues.
  const deliveryDeadLetterQueue = new sqs.Queue(scope, 'DeliveryDeadLetterQueue', {
    retentionPeriod: DLQ_RETENTION,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  Validations.of(deliveryDeadLetterQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself the dead-letter queue of the EventBridge targets (a target DeadLetterConfig, which cdk-nag does not see as a redrive); a DLQ of a DLQ would only move the problem.',
  });
  return { queue, deadLetterQueue, deliveryDeadLetterQueue };
}

/** What the rules need to know. */
export interface RuleSettings {
  readonly config: ReconcilerConfig;
  readonly clusterArn: string;
  readonly resyncInterval: Duration;
}

/** The task-state rule and the resync schedule, both into the FIFO queue's one message group. */
export function buildRules(
  scope: Construct,
  queues: ReconcilerQueues,
  settings: RuleSettings,
): ReconcilerRules {
  const queueTarget = new eventTargets.SqsQueue(queues.queue, {
    messageGroupId: MESSAGE_GROUP_ID,
    deadLetterQueue: queues.deliveryDeadLetterQueue,
    maxEventAge: EVENT_MAX_AGE,
    retryAttempts: EVENT_RETRY_ATTEMPTS,
  });
  const taskStateRule = new events.Rule(scope, 'TaskStateRule', {
    description: `ECS task state changes of ${settings.config.clusterName} to the registry reconciler queue`,
    eventPattern: taskStatePattern(settings.clusterArn, settings.config),
    targets: [queueTarget],
  });
  const resyncRule = new events.Rule(scope, 'ResyncRule', {
    description: `Periodic resync of every registry target (${settings.resyncInterval.toHumanString()})`,
    schedule: events.Schedule.rate(settings.resyncInterval),
    targets: [queueTarget],
  });
  return { taskStateRule, resyncRule };
}

/** The function consumes the queue in batches, reporting the items it failed. */
export function consumeQueue(fn: lambda.Function, queues: ReconcilerQueues): void {
  fn.addEventSource(
    new SqsEventSource(queues.queue, { batchSize: BATCH_SIZE, reportBatchItemFailures: true }),
  );
}

/**
 * The rule's event pattern: task state changes of one cluster, from RUNNING on. When every target
 * names its ECS service, only those services and the registry's own are forwarded; otherwise every
 * service task (`group` = `service:…`), since the function finds the services itself. Standalone
 * tasks (`family:…`) never back a registry entry.
 */
export function taskStatePattern(clusterArn: string, config: ReconcilerConfig): events.EventPattern {
  const named = config.targets.map((t) => t.ecsService);
  const allNamed = named.every((s): s is string => s !== undefined);
  const services = [
    ...new Set([...(allNamed ? named : []), ...(config.registryService ? [config.registryService] : [])]),
  ];
  return {
    source: ['aws.ecs'],
    detailType: ['ECS Task State Change'],
    detail: {
      clusterArn: [clusterArn],
      lastStatus: [...TASK_STATUSES],
      group: allNamed ? services.map((s) => `service:${s}`) : [{ prefix: 'service:' }],
    },
  };
}
