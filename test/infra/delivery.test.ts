/** infra/delivery.ts in the synthesized construct: the rules, the queues and the event source. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { DELIVERY } from '../../functions/lib/delivery/settings';
import { TASK_STATUSES } from '../../infra/delivery';
import { clusterArnJoin, NETWORK, synthReconciler } from './helpers';

describe('Construct: RegistryReconciler — delivery', () => {
  describe('with the v1.0.16 defaults', () => {
    const { template, reconciler } = synthReconciler({ network: NETWORK, alarmEmail: 'oncall@example.com' });

    describe('EventBridge', () => {
      it('forwards task state changes of the cluster, from RUNNING on, of the managed services only', () => {
        template.hasResourceProperties('AWS::Events::Rule', {
          EventPattern: {
            source: ['aws.ecs'],
            'detail-type': ['ECS Task State Change'],
            detail: {
              clusterArn: [clusterArnJoin('mcp-gateway-ecs-cluster')],
              lastStatus: ['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'],
              group: [
                'service:mcp-gateway-currenttime',
                'service:mcp-gateway-mcpgw',
                'service:mcp-gateway-realserverfaketools',
                'service:mcp-gateway-flight-booking-agent',
                'service:mcp-gateway-travel-assistant-agent',
                'service:mcp-gateway-registry',
              ],
            },
          },
          State: 'ENABLED',
        });
      });

      it('schedules a resync every 5 minutes', () => {
        template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
      });

      it('sends both rules to the standard trigger queue, with no message group, retries and a delivery DLQ', () => {
        const rules = template.findResources('AWS::Events::Rule');
        expect(Object.keys(rules)).toHaveLength(2);
        const triggerId = queueId(template, 'TriggerQueue');
        const deliveryDlqId = queueId(template, 'DeliveryDeadLetterQueue');
        for (const rule of Object.values(rules)) {
          expect((rule as { Properties: { Targets: unknown[] } }).Properties.Targets).toEqual([
            {
              Id: 'Target0',
              Arn: { 'Fn::GetAtt': [triggerId, 'Arn'] },
              RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 },
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deliveryDlqId, 'Arn'] } },
            },
          ]);
        }
      });

      it('lets only these two rules send to the trigger queue and to the delivery DLQ', () => {
        const ruleIds = Object.keys(template.findResources('AWS::Events::Rule'));
        const fromRule = (ruleId: string, actions: unknown) =>
          Match.objectLike({
            Effect: 'Allow',
            Action: actions,
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
          });
        for (const [queue, actions] of [
          ['ReconcilerTriggerQueue', Match.arrayWith(['sqs:SendMessage'])],
          ['ReconcilerDeliveryDeadLetterQueue', 'sqs:SendMessage'],
        ] as const) {
          template.hasResourceProperties('AWS::SQS::QueuePolicy', {
            Queues: [{ Ref: Match.stringLikeRegexp(`^${queue}[0-9A-F]{8}$`) }],
            PolicyDocument: {
              Statement: Match.arrayWith(ruleIds.map((id) => fromRule(id, actions))),
            },
          });
        }
        // Nothing from EventBridge reaches the work queue: only the fan-out sends there.
        const workPolicy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find((p) =>
          JSON.stringify(p).includes(queueId(template, 'WorkQueue')),
        );
        expect(JSON.stringify(workPolicy)).not.toContain('events.amazonaws.com');
      });
    });

    describe('SQS', () => {
      it('makes a standard trigger queue: SSE, visibility 6 × the fan-out timeout, a standard DLQ after 5 receives', () => {
        const props = queueProps(template, 'TriggerQueue');
        expect(props).toEqual({
          SqsManagedSseEnabled: true,
          VisibilityTimeout: 6 * DELIVERY.fanoutTimeoutSeconds,
          RedrivePolicy: {
            deadLetterTargetArn: { 'Fn::GetAtt': [queueId(template, 'TriggerDeadLetterQueue'), 'Arn'] },
            maxReceiveCount: 5,
          },
        });
        expect(queueProps(template, 'TriggerDeadLetterQueue')).toEqual({
          MessageRetentionPeriod: 1_209_600,
          SqsManagedSseEnabled: true,
        });
      });

      it('makes a FIFO work queue: SSE, dedup ids from the sender per message group, high throughput, visibility 6 × timeout, a FIFO DLQ after 10 receives', () => {
        expect(queueProps(template, 'WorkQueue')).toEqual({
          FifoQueue: true,
          ContentBasedDeduplication: false,
          DeduplicationScope: 'messageGroup',
          FifoThroughputLimit: 'perMessageGroupId',
          SqsManagedSseEnabled: true,
          VisibilityTimeout: 360,
          RedrivePolicy: {
            deadLetterTargetArn: { 'Fn::GetAtt': [queueId(template, 'WorkDeadLetterQueue'), 'Arn'] },
            maxReceiveCount: 10,
          },
        });
        expect(queueProps(template, 'WorkDeadLetterQueue')).toEqual({
          FifoQueue: true,
          MessageRetentionPeriod: 1_209_600,
          SqsManagedSseEnabled: true,
        });
      });

      it('keeps undeliverable events 14 days in a standard queue, and makes no other queue', () => {
        expect(queueProps(template, 'DeliveryDeadLetterQueue')).toEqual({
          MessageRetentionPeriod: 1_209_600,
          SqsManagedSseEnabled: true,
        });
        template.resourceCountIs('AWS::SQS::Queue', 5);
      });

      it('encrypts every queue and denies every queue non-TLS access', () => {
        template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
        template.resourcePropertiesCountIs(
          'AWS::SQS::QueuePolicy',
          {
            PolicyDocument: {
              Statement: Match.arrayWith([
                Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
              ]),
            },
          },
          5,
        );
      });

      it('lets the fan-out consume the trigger queue 10 at a time, at most 5 at once, reporting failed items', () => {
        template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
        template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          EventSourceArn: { 'Fn::GetAtt': [queueId(template, 'TriggerQueue'), 'Arn'] },
          FunctionName: { Ref: Match.stringLikeRegexp('^ReconcilerFanoutFunction') },
          BatchSize: 10,
          ScalingConfig: { MaximumConcurrency: 5 },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          MaximumBatchingWindowInSeconds: Match.absent(),
        });
      });

      it('lets the reconciler consume the work queue 10 at a time, at most 20 at once, reporting failed items', () => {
        template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          EventSourceArn: { 'Fn::GetAtt': [queueId(template, 'WorkQueue'), 'Arn'] },
          FunctionName: { Ref: Match.stringLikeRegexp('^ReconcilerFunction') },
          BatchSize: 10,
          ScalingConfig: { MaximumConcurrency: 20 },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          MaximumBatchingWindowInSeconds: Match.absent(),
        });
      });

      it('schedules the resync at the configuration’s resyncMinutes, the period the fan-out plans its shards in', () => {
        template.hasResourceProperties('AWS::Events::Rule', {
          ScheduleExpression: `rate(${reconciler.config.resyncMinutes} minutes)`,
        });
      });

      it('takes its numbers from the delivery settings the handlers apply', () => {
        expect([DELIVERY.workMaxConcurrency, DELIVERY.fanoutMaxConcurrency]).toEqual([20, 5]);
        expect([DELIVERY.workMaxReceiveCount, DELIVERY.triggerMaxReceiveCount]).toEqual([10, 5]);
        expect(DELIVERY.workVisibilitySeconds).toBe(6 * DELIVERY.workerTimeoutSeconds);
        expect(DELIVERY.triggerVisibilitySeconds).toBe(6 * DELIVERY.fanoutTimeoutSeconds);
      });
    });
  });

  describe('variants', () => {
    it('forwards every service task when some target leaves its ECS service to discovery', () => {
      const { template } = synthReconciler({
        targets: [{ kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server' }],
      });
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({ detail: Match.objectLike({ group: [{ prefix: 'service:' }] }) }),
      });
    });
  });
});

/** The logical id of the construct's queue `id` (`Reconciler<id><hash>`). */
function queueId(template: Template, id: string): string {
  const ids = Object.keys(template.findResources('AWS::SQS::Queue')).filter((k) =>
    new RegExp(`^Reconciler${id}[0-9A-F]{8}$`).test(k),
  );
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

function queueProps(template: Template, id: string): Record<string, unknown> {
  const queues = template.findResources('AWS::SQS::Queue') as Record<
    string,
    { Properties: Record<string, unknown> }
  >;
  return (queues[queueId(template, id)] as { Properties: Record<string, unknown> }).Properties;
}

describe('Constant: TASK_STATUSES', () => {
  it('starts at RUNNING and follows the task down to STOPPED', () => {
    expect(TASK_STATUSES).toEqual(['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED']);
  });
});
