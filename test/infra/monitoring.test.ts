/** infra/monitoring/ in the synthesized construct: the alarms, their topic and the dashboard. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE, MetricName } from '../../functions/reconciler/telemetry';
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

      it('creates eleven alarms, each notifying the topic on ALARM and OK', () => {
        template.resourceCountIs('AWS::CloudWatch::Alarm', 11);
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

      it('alarms on failed and throttled invocations', () => {
        for (const metricName of ['Errors', 'Throttles']) {
          template.hasResourceProperties('AWS::CloudWatch::Alarm', {
            Namespace: 'AWS/Lambda',
            MetricName: metricName,
            Dimensions: [
              { Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('ReconcilerFunction') } },
            ],
            Threshold: 1,
          });
        }
      });

      it('alarms when either DLQ holds a message and when the FIFO queue is stuck', () => {
        for (const id of ['ReconcilerDeadLetterQueue', 'ReconcilerDeliveryDeadLetterQueue']) {
          template.hasResourceProperties('AWS::CloudWatch::Alarm', {
            Namespace: 'AWS/SQS',
            MetricName: 'ApproximateNumberOfMessagesVisible',
            Dimensions: [
              {
                Name: 'QueueName',
                Value: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${id}[0-9A-F]{8}$`), 'QueueName'] },
              },
            ],
            Statistic: 'Maximum',
            Threshold: 1,
          });
        }
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateAgeOfOldestMessage',
          Threshold: 900,
        });
      });

      it('builds a dashboard over every published metric, both DLQs, the queue and the function', () => {
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
          'Throttles',
          'Invocations',
        ]) {
          expect(body).toContain(name);
        }
        expect(body).toContain('alarm');
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

    it('sizes the queue from the timeout and the no-live-instance alarm from the resync interval', () => {
      const { template } = synthReconciler({
        timeout: Duration.seconds(60),
        resyncInterval: Duration.minutes(10),
        alarms: { noLiveInstanceFor: Duration.minutes(30) },
      });
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: Match.anyValue(),
        VisibilityTimeout: 180,
      });
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
