/**
 * How triggers reach the functions: ECS task events, the periodic resync and (follow mode) the
 * names sweep, through EventBridge rules, into a standard SQS trigger queue that the fan-out
 * consumes; the fan-out sends one message per registry entry to an SQS FIFO work queue, the entry
 * as the message group, which the reconciler consumes. Each queue has its dead-letter queue. The whole delivery topology is here,
 * so changing it touches this file and the tests of it only.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { ReconcilerConfig } from '../functions/lib/config/config';
import { DELIVERY } from '../functions/lib/delivery/settings';

/**
 * The task statuses the rule forwards. RUNNING includes the first sign of a task going away
 * (`desiredStatus: STOPPED` while still RUNNING); the rest are the way down. PROVISIONING, PENDING and
 * ACTIVATING are left out: a task is only worth pointing at once it is RUNNING.
 */
export const TASK_STATUSES = ['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'] as const;
/** After this many receives a work message goes to the work DLQ; only its own entry waited for it. */
export const WORK_MAX_RECEIVE_COUNT = DELIVERY.workMaxReceiveCount;
/** After this many receives a trigger goes to the trigger DLQ. */
export const TRIGGER_MAX_RECEIVE_COUNT = DELIVERY.triggerMaxReceiveCount;
/**
 * Both queues' visibility timeout is this many timeouts of their consumer (AWS's advice for a
 * Lambda event source), as settings.ts sizes it for the default timeouts.
 */
export const VISIBILITY_FACTOR = DELIVERY.workVisibilitySeconds / DELIVERY.workerTimeoutSeconds;
/** EventBridge → SQS delivery retries: an event older than an hour says nothing the resync has not. */
const EVENT_MAX_AGE = Duration.hours(1);
const EVENT_RETRY_ATTEMPTS = 185;
const DLQ_RETENTION = Duration.days(14);
/** Every queue: SSE with an SQS-owned key (EventBridge can send to it without a key policy), TLS only. */
const PROTECTED = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;

/** The queues of the delivery. */
export interface ReconcilerQueues {
  /** Standard queue: every trigger (task events, the schedule, the fan-out's delayed re-checks and resync shards). */
  readonly triggerQueue: sqs.Queue;
  /** Where triggers the fan-out failed `TRIGGER_MAX_RECEIVE_COUNT` times end up (standard). */
  readonly triggerDeadLetterQueue: sqs.Queue;
  /** FIFO queue: one message per entry and trigger, the entry (`<kind>:<path>`) as the message group. */
  readonly workQueue: sqs.Queue;
  /** Where work messages the reconciler failed `WORK_MAX_RECEIVE_COUNT` times end up (FIFO). */
  readonly workDeadLetterQueue: sqs.Queue;
  /** Where events EventBridge could not deliver to the trigger queue end up (standard). */
  readonly deliveryDeadLetterQueue: sqs.Queue;
}

/** The rules that put triggers on the trigger queue. */
export interface ReconcilerRules {
  /** ECS Task State Change events of the cluster → trigger queue. */
  readonly taskStateRule: events.Rule;
  /** The periodic resync → trigger queue. */
  readonly resyncRule: events.Rule;
  /**
   * Follow mode only: the names sweep, every `DELIVERY.namesSweepSeconds` → trigger queue, as a
   * `{"sweep": {"id", "time"}}` message (functions/lib/delivery/messages.ts). A rule of its own, so
   * no existing resource changes when follow mode is turned on or off.
   */
  readonly namesSweepRule?: events.Rule;
}

/** The function timeouts the queues' visibility timeouts follow. */
export interface QueueTimeouts {
  readonly fanout: Duration;
  readonly reconciler: Duration;
}

const visibility = (timeout: Duration) => Duration.seconds(timeout.toSeconds() * VISIBILITY_FACTOR);

/** The trigger queue, the work queue, their DLQs and the delivery DLQ. */
export function buildQueues(scope: Construct, timeouts: QueueTimeouts): ReconcilerQueues {
  const triggerDeadLetterQueue = new sqs.Queue(scope, 'TriggerDeadLetterQueue', {
    retentionPeriod: DLQ_RETENTION,
    ...PROTECTED,
  });
  // Standard, not FIFO: the fan-out delays its re-checks and resync shards per message
  // (DelaySeconds), which FIFO queues do not allow; order does not matter before the fan-out.
  const triggerQueue = new sqs.Queue(scope, 'TriggerQueue', {
    visibilityTimeout: visibility(timeouts.fanout),
    ...PROTECTED,
    deadLetterQueue: { queue: triggerDeadLetterQueue, maxReceiveCount: TRIGGER_MAX_RECEIVE_COUNT },
  });
  const workDeadLetterQueue = new sqs.Queue(scope, 'WorkDeadLetterQueue', {
    fifo: true,
    retentionPeriod: DLQ_RETENTION,
    ...PROTECTED,
  });
  const workQueue = new sqs.Queue(scope, 'WorkQueue', {
    fifo: true,
    // The fan-out sets MessageDeduplicationId (`<group>|<event id>`): a duplicate EventBridge event
    // is dropped for its entry only, and two entries' messages for one event are never taken for one.
    contentBasedDeduplication: false,
    // One message group per entry: high-throughput FIFO (limits per group, not per queue).
    deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
    fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
    // Only for an invocation that crashed: a handed-back message sets its own, shorter visibility.
    visibilityTimeout: visibility(timeouts.reconciler),
    ...PROTECTED,
    deadLetterQueue: { queue: workDeadLetterQueue, maxReceiveCount: WORK_MAX_RECEIVE_COUNT },
  });
  // EventBridge target DLQs must be standard queues.
  const deliveryDeadLetterQueue = new sqs.Queue(scope, 'DeliveryDeadLetterQueue', {
    retentionPeriod: DLQ_RETENTION,
    ...PROTECTED,
  });
  Validations.of(deliveryDeadLetterQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself the dead-letter queue of the EventBridge targets (a target DeadLetterConfig, which cdk-nag does not see as a redrive); a DLQ of a DLQ would only move the problem.',
  });
  return { triggerQueue, triggerDeadLetterQueue, workQueue, workDeadLetterQueue, deliveryDeadLetterQueue };
}

/** What the rules need to know. */
export interface RuleSettings {
  readonly config: ReconcilerConfig;
  readonly clusterArn: string;
  readonly resyncInterval: Duration;
}

/** The task-state rule and the resync schedule, both into the trigger queue. */
export function buildRules(
  scope: Construct,
  queues: ReconcilerQueues,
  settings: RuleSettings,
): ReconcilerRules {
  const queueTarget = new eventTargets.SqsQueue(queues.triggerQueue, {
    deadLetterQueue: queues.deliveryDeadLetterQueue,
    maxEventAge: EVENT_MAX_AGE,
    retryAttempts: EVENT_RETRY_ATTEMPTS,
  });
  const taskStateRule = new events.Rule(scope, 'TaskStateRule', {
    description: `ECS task state changes of ${settings.config.clusterName} to the registry reconciler trigger queue`,
    eventPattern: taskStatePattern(settings.clusterArn, settings.config),
    targets: [queueTarget],
  });
  const resyncRule = new events.Rule(scope, 'ResyncRule', {
    description: `Periodic resync of every registry target (${settings.resyncInterval.toHumanString()})`,
    schedule: events.Schedule.rate(settings.resyncInterval),
    targets: [queueTarget],
  });
  if (settings.config.follow.enabled !== true) return { taskStateRule, resyncRule };
  const namesSweepRule = new events.Rule(scope, 'NamesSweepRule', {
    description: `Follow mode: registry entries registered by a Cloud Map name, found every ${DELIVERY.namesSweepSeconds} s`,
    schedule: events.Schedule.rate(Duration.seconds(DELIVERY.namesSweepSeconds)),
    targets: [
      new eventTargets.SqsQueue(queues.triggerQueue, {
        // What the fan-out reads as a sweep (messages.ts `sweepBody`): the event's id and time.
        message: events.RuleTargetInput.fromObject({
          sweep: { id: events.EventField.eventId, time: events.EventField.time },
        }),
        deadLetterQueue: queues.deliveryDeadLetterQueue,
        // A sweep later than the next one says nothing the next one does not.
        maxEventAge: Duration.seconds(2 * DELIVERY.namesSweepSeconds),
        retryAttempts: EVENT_RETRY_ATTEMPTS,
      }),
    ],
  });
  return { taskStateRule, resyncRule, namesSweepRule };
}

/** The fan-out consumes the trigger queue; its batch failures are per message (no order to keep). */
export function consumeTriggers(fanout: lambda.Function, queues: ReconcilerQueues): void {
  fanout.addEventSource(
    new SqsEventSource(queues.triggerQueue, {
      batchSize: DELIVERY.fanoutBatchSize,
      maxConcurrency: DELIVERY.fanoutMaxConcurrency,
      reportBatchItemFailures: true,
    }),
  );
}

/**
 * The reconciler consumes the work queue: SQS hands each message group (entry) to one invocation at
 * a time, and up to `maxConcurrency` invocations work different entries at once.
 */
export function consumeWork(reconciler: lambda.Function, queues: ReconcilerQueues): void {
  reconciler.addEventSource(
    new SqsEventSource(queues.workQueue, {
      batchSize: DELIVERY.workBatchSize,
      maxConcurrency: DELIVERY.workMaxConcurrency,
      reportBatchItemFailures: true,
    }),
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
  // Follow mode adopts entries of any service of the cluster: every service task is forwarded.
  const allNamed = config.follow.enabled !== true && named.every((s): s is string => s !== undefined);
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
