/** infra/delivery.ts in the synthesized construct: the rules, the queues and the event source. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Match } from 'aws-cdk-lib/assertions';
import { MESSAGE_GROUP_ID, TASK_STATUSES } from '../../infra/delivery';
import { clusterArnJoin, NETWORK, synthReconciler } from './helpers';

describe('Construct: RegistryReconciler — delivery', () => {
  describe('with the v1.0.16 defaults', () => {
    const { template } = synthReconciler({ network: NETWORK, alarmEmail: 'oncall@example.com' });

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

      it('sends both rules to the FIFO queue in one message group, with retries and a delivery DLQ', () => {
        const rules = template.findResources('AWS::Events::Rule');
        expect(Object.keys(rules)).toHaveLength(2);
        const queueId = template.getResourceId('AWS::SQS::Queue', {
          Properties: { FifoQueue: true, RedrivePolicy: Match.anyValue() },
        });
        const deliveryDlqId = template.getResourceId('AWS::SQS::Queue', {
          Properties: { FifoQueue: Match.absent() },
        });
        for (const rule of Object.values(rules)) {
          expect((rule as { Properties: { Targets: unknown[] } }).Properties.Targets).toEqual([
            {
              Id: 'Target0',
              Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
              SqsParameters: { MessageGroupId: MESSAGE_GROUP_ID },
              RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 },
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deliveryDlqId, 'Arn'] } },
            },
          ]);
        }
      });

      it('lets only these two rules send to the queue and to the delivery DLQ', () => {
        const ruleIds = Object.keys(template.findResources('AWS::Events::Rule'));
        const fromRule = (ruleId: string, actions: unknown) =>
          Match.objectLike({
            Effect: 'Allow',
            Action: actions,
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
          });
        for (const [queue, actions] of [
          ['ReconcilerQueue', Match.arrayWith(['sqs:SendMessage'])],
          ['ReconcilerDeliveryDeadLetterQueue', 'sqs:SendMessage'],
        ] as const) {
          template.hasResourceProperties('AWS::SQS::QueuePolicy', {
            Queues: [{ Ref: Match.stringLikeRegexp(`^${queue}[0-9A-F]{8}$`) }],
            PolicyDocument: {
              Statement: Match.arrayWith(ruleIds.map((id) => fromRule(id, actions))),
            },
          });
        }
      });
    });

    describe('SQS', () => {
      it('makes a FIFO queue with content-based deduplication, SSE, visibility 3 × timeout and a redrive to a FIFO DLQ after 5 receives', () => {
        const dlqId = template.getResourceId('AWS::SQS::Queue', {
          Properties: { FifoQueue: true, RedrivePolicy: Match.absent() },
        });
        template.hasResourceProperties('AWS::SQS::Queue', {
          FifoQueue: true,
          ContentBasedDeduplication: true,
          SqsManagedSseEnabled: true,
          VisibilityTimeout: 90,
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
        });
        template.hasResourceProperties('AWS::SQS::Queue', {
          FifoQueue: true,
          ContentBasedDeduplication: true,
          MessageRetentionPeriod: 1_209_600,
          SqsManagedSseEnabled: true,
        });
      });

      it('keeps undeliverable events 14 days in a standard queue', () => {
        template.hasResourceProperties('AWS::SQS::Queue', {
          FifoQueue: Match.absent(),
          MessageRetentionPeriod: 1_209_600,
          SqsManagedSseEnabled: true,
        });
        template.resourceCountIs('AWS::SQS::Queue', 3);
      });

      it('denies every queue non-TLS access', () => {
        template.resourcePropertiesCountIs(
          'AWS::SQS::QueuePolicy',
          {
            PolicyDocument: {
              Statement: Match.arrayWith([
                Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
              ]),
            },
          },
          3,
        );
      });

      it('consumes the queue 10 messages at a time, reporting failed items', () => {
        template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
        template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ReconcilerQueue'), 'Arn'] },
          BatchSize: 10,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          MaximumBatchingWindowInSeconds: Match.absent(),
        });
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

describe('Constant: TASK_STATUSES', () => {
  it('starts at RUNNING and follows the task down to STOPPED', () => {
    expect(TASK_STATUSES).toEqual(['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED']);
  });
});
