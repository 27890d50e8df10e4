/** infra/monitoring/ in the synthesized construct: the alarms, their topic and the dashboard. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE, MetricName } from '../../functions/lib/telemetry/telemetry';
import { RegistryReconciler } from '../../infra/registry-reconciler';
import { minimalProps, NETWORK, newApp, synthReconciler } from './helpers';

describe('Construct: RegistryReconciler — monitoring', () => {
  describe('with the v1.0.16 defaults', () => {
    const { template, reconciler } = synthReconciler({ network: NETWORK, alarmEmail: 'oncall@example.com' });

    describe('CloudWatch', () => {
      const alarmMetric = (metricName: string) => ({
        Namespace: METRICS_NAMESPACE,
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: DEFAULT_SERVICE_NAME }],
      });

      it('creates fourteen alarms, each notifying the topic on ALARM and OK', () => {
        template.resourceCountIs('AWS::CloudWatch::Alarm', 14);
        const topicRef = { Ref: template.getResourceId('AWS::SNS::Topic', {}) };
        template.allResourcesProperties('AWS::CloudWatch::Alarm', {
          AlarmActions: [topicRef],
          OKActions: [topicRef],
          TreatMissingData: 'notBreaching',
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
        template.hasResourceProperties('AWS::SNS::Subscription', {
          Protocol: 'email',
          Endpoint: 'oncall@example.com',
        });
      });

      it('alarms on the function’s own metrics with the Powertools service dimension', () => {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...alarmMetric(MetricName.ServerDisabledAfterWrite),
          Statistic: 'Sum',
          Threshold: 1,
          EvaluationPeriods: 1,
        });
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...alarmMetric(MetricName.NoLiveInstance),
          Period: 300,
          Threshold: 1,
          EvaluationPeriods: 3,
          DatapointsToAlarm: 3,
        });
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...alarmMetric(MetricName.Errors),
          Period: 900,
          Threshold: 5,
        });
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...alarmMetric(MetricName.PolicyDenied),
          Threshold: 1,
          AlarmDescription: Match.stringLikeRegexp('SSRF_ALLOWED_CIDRS'),
        });
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...alarmMetric(MetricName.ServerSecurityPending),
          Period: 900,
          Threshold: 1,
          AlarmDescription: Match.stringLikeRegexp('security-pending'),
        });
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...alarmMetric(MetricName.UntrustedInstance),
          Period: 300,
          Threshold: 1,
        });
      });

      it('alarms on failed invocations of each function', () => {
        for (const fn of ['ReconcilerFunction', 'ReconcilerFanoutFunction']) {
          template.hasResourceProperties('AWS::CloudWatch::Alarm', {
            Namespace: 'AWS/Lambda',
            MetricName: 'Errors',
            Dimensions: [
              { Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp(`^${fn}[0-9A-F]{8}$`) } },
            ],
            Threshold: 1,
          });
        }
      });

      it('alarms on throttles of both functions together', () => {
        const throttle = (fn: string) =>
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: {
                Namespace: 'AWS/Lambda',
                MetricName: 'Throttles',
                Dimensions: [
                  { Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp(`^${fn}[0-9A-F]{8}$`) } },
                ],
              },
              Stat: 'Sum',
            }),
            ReturnData: false,
          });
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: Match.stringLikeRegexp('-throttles$'),
          Metrics: Match.arrayWith([
            Match.objectLike({ Expression: 'FILL(reconciler, 0) + FILL(fanout, 0)' }),
            throttle('ReconcilerFunction'),
            throttle('ReconcilerFanoutFunction'),
          ]),
          Threshold: 1,
          EvaluationPeriods: 3,
          DatapointsToAlarm: 2,
        });
      });

      const queueMetric = (metricName: string, id: string) => ({
        Namespace: 'AWS/SQS',
        MetricName: metricName,
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^Reconciler${id}[0-9A-F]{8}$`), 'QueueName'] },
          },
        ],
        Statistic: 'Maximum',
      });

      it('alarms when any of the three DLQs holds a message', () => {
        for (const id of ['WorkDeadLetterQueue', 'TriggerDeadLetterQueue', 'DeliveryDeadLetterQueue']) {
          template.hasResourceProperties('AWS::CloudWatch::Alarm', {
            ...queueMetric('ApproximateNumberOfMessagesVisible', id),
            Threshold: 1,
            EvaluationPeriods: 1,
          });
        }
      });

      it('keeps every alarm description within CloudWatch’s 1,024 characters', () => {
        const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Array<{
          Properties: { AlarmDescription: string };
        }>;
        for (const a of alarms) expect(a.Properties.AlarmDescription.length).toBeLessThanOrEqual(1024);
      });

      it('tells the operator how to find the entry of a dead-lettered work message', () => {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...queueMetric('ApproximateNumberOfMessagesVisible', 'WorkDeadLetterQueue'),
          AlarmName: Match.stringLikeRegexp('-work-dlq-not-empty$'),
          AlarmDescription: Match.stringLikeRegexp(
            '<kind>:<path>.*aws sqs receive-message --queue-url <WorkDeadLetterQueueUrl output> --attribute-names MessageGroupId',
          ),
        });
      });

      it('alarms when work waits 15 min, and when a trigger waits 15 min past the longest delay', () => {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...queueMetric('ApproximateAgeOfOldestMessage', 'WorkQueue'),
          AlarmName: Match.stringLikeRegexp('-work-queue-waiting$'),
          Threshold: 900,
        });
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...queueMetric('ApproximateAgeOfOldestMessage', 'TriggerQueue'),
          AlarmName: Match.stringLikeRegexp('-trigger-queue-stuck$'),
          Threshold: 900 + 900,
        });
      });

      it('builds a dashboard over every published metric, the DLQs, both queues and both functions', () => {
        const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
        expect(dashboards).toHaveLength(1);
        const body = JSON.stringify(
          Stack.of(reconciler).resolve(
            (dashboards[0] as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody,
          ),
        );
        for (const name of Object.values(MetricName)) expect(body).toContain(`\\"${name}\\"`);
        for (const name of [
          'ApproximateNumberOfMessagesVisible',
          'ApproximateAgeOfOldestMessage',
          'ApproximateNumberOfMessagesDelayed',
          'Throttles',
          'Invocations',
        ]) {
          expect(body).toContain(name);
        }
        expect(body).toContain('alarm');
        for (const id of [
          'WorkQueue',
          'TriggerQueue',
          'WorkDeadLetterQueue',
          'TriggerDeadLetterQueue',
          'DeliveryDeadLetterQueue',
        ]) {
          expect(body).toMatch(new RegExp(`Reconciler${id}[0-9A-F]{8}`));
        }
        expect(body).toMatch(/ReconcilerFanoutFunction[0-9A-F]{8}/);
      });
    });
  });

  describe('variants', () => {
    it('notifies a given topic and creates none', () => {
      const stack = new Stack(newApp(), 'S');
      const topic = new sns.Topic(stack, 'Ops');
      const reconciler = new RegistryReconciler(stack, 'Reconciler', minimalProps({ alarmTopic: topic }));
      expect(reconciler.topic).toBe(topic);
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SNS::Topic', 1);
      template.allResourcesProperties('AWS::CloudWatch::Alarm', {
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^Ops') }],
      });
    });

    it('sizes the work queue from the timeout and the no-live-instance alarm from the resync interval', () => {
      const { template } = synthReconciler({
        timeoutSeconds: 90,
        resyncMinutes: 10,
        alarms: { noLiveInstanceMinutes: 30 },
      });
      template.hasResourceProperties('AWS::SQS::Queue', {
        FifoQueue: true,
        RedrivePolicy: Match.anyValue(),
        VisibilityTimeout: 540,
      });
      template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 90 });
      template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: MetricName.NoLiveInstance,
        Period: 600,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
      });
    });
  });
});
