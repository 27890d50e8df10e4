import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONFIG_ENV, parseConfig } from '../../functions/reconciler/config';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE, MetricName } from '../../functions/reconciler/telemetry';
import { DEFAULT_TARGETS, STATIC_TOKEN_ENV } from '../../infra/defaults';
import { MESSAGE_GROUP_ID, TASK_STATUSES } from '../../infra/delivery';
import { egressPorts } from '../../infra/network';
import { secretResource } from '../../infra/permissions';
import { InvalidReconcilerPropsError, RegistryReconciler } from '../../infra/registry-reconciler';
import { actionsOf, iamStatements, minimalProps, newApp, SECRET_ARN, synthReconciler } from './helpers';

const NETWORK = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
};

/** The one `AWS::Lambda::Function` of the template. */
function functionProps(template: Template): Record<string, unknown> {
  const fns = Object.values(template.findResources('AWS::Lambda::Function'));
  expect(fns).toHaveLength(1);
  return (fns[0] as { Properties: Record<string, unknown> }).Properties;
}

function environmentOf(template: Template): Record<string, unknown> {
  return (functionProps(template).Environment as { Variables: Record<string, unknown> }).Variables;
}

/** An ECS resource ARN as CDK writes it in an environment-agnostic stack. */
function ecsArnJoin(resource: string) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':ecs:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:${resource}`,
      ],
    ],
  };
}

function clusterArnJoin(cluster: string) {
  return ecsArnJoin(`cluster/${cluster}`);
}

describe('Construct: RegistryReconciler', () => {
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

    describe('Lambda', () => {
      it('runs Node.js 24 on arm64 with JSON logs into its own log group with retention', () => {
        const logGroupId = template.getResourceId('AWS::Logs::LogGroup', {
          Properties: { RetentionInDays: 30 },
        });
        template.hasResourceProperties('AWS::Lambda::Function', {
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          MemorySize: 256,
          Timeout: 30,
          LoggingConfig: {
            LogFormat: 'JSON',
            ApplicationLogLevel: 'INFO',
            SystemLogLevel: 'INFO',
            LogGroup: { Ref: logGroupId },
          },
          VpcConfig: {
            SubnetIds: NETWORK.subnetIds,
            SecurityGroupIds: [
              { 'Fn::GetAtt': [Match.stringLikeRegexp('ReconcilerSecurityGroup'), 'GroupId'] },
            ],
          },
        });
      });

      it('sets the Powertools variables from telemetry.ts and a configuration the function accepts', () => {
        const env = environmentOf(template);
        expect(env).toEqual({
          POWERTOOLS_SERVICE_NAME: DEFAULT_SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          POWERTOOLS_LOG_LEVEL: 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
          [CONFIG_ENV]: expect.any(String),
        });
        const config = parseConfig(JSON.parse(String(env[CONFIG_ENV])));
        expect(config).toMatchObject({
          cluster: 'mcp-gateway-ecs-cluster',
          namespace: 'mcp-gateway.local',
          registryService: 'mcp-gateway-registry',
          registry: {
            url: 'https://registry.example.com',
            auth: { type: 'keycloak', secretArn: SECRET_ARN },
          },
          dryRun: false,
        });
        expect(config.targets.map((t) => t.path)).toEqual(DEFAULT_TARGETS.map((t) => t.path));
        expect(reconciler.config).toEqual(config);
      });

      it('opens only outbound TCP 443 from its own security group', () => {
        template.hasResourceProperties('AWS::EC2::SecurityGroup', {
          VpcId: NETWORK.vpcId,
          SecurityGroupEgress: [
            {
              CidrIp: '0.0.0.0/0',
              IpProtocol: 'tcp',
              FromPort: 443,
              ToPort: 443,
              Description: Match.anyValue(),
            },
          ],
          SecurityGroupIngress: Match.absent(),
        });
      });
    });

    describe('IAM', () => {
      const statements = iamStatements(template);

      it('grants no wildcard action', () => {
        for (const statement of statements) {
          for (const action of actionsOf(statement)) expect(action).not.toContain('*');
        }
      });

      it('grants exactly the actions the function uses', () => {
        expect(statements.flatMap(actionsOf).sort()).toEqual(
          [
            'ecs:DescribeServices',
            'ecs:DescribeTasks',
            'logs:CreateLogStream',
            'logs:PutLogEvents',
            'secretsmanager:GetSecretValue',
            'servicediscovery:DiscoverInstances',
            'servicediscovery:GetService',
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:GetQueueUrl',
            'sqs:ReceiveMessage',
          ].sort(),
        );
      });

      it('limits DiscoverInstances to the namespace and the targets’ Cloud Map services', () => {
        expect(statements).toContainEqual(
          expect.objectContaining({
            Action: 'servicediscovery:DiscoverInstances',
            Resource: '*',
            Condition: {
              StringEquals: {
                'servicediscovery:NamespaceName': 'mcp-gateway.local',
                'servicediscovery:ServiceName': DEFAULT_TARGETS.map((t) => t.cloudMapService),
              },
            },
          }),
        );
      });

      it('limits ECS reads to the cluster’s tasks and services', () => {
        const arn = ecsArnJoin;
        expect(statements).toContainEqual(
          expect.objectContaining({
            Action: 'ecs:DescribeTasks',
            Resource: arn('task/mcp-gateway-ecs-cluster/*'),
          }),
        );
        expect(statements).toContainEqual(
          expect.objectContaining({
            Action: 'ecs:DescribeServices',
            Resource: arn('service/mcp-gateway-ecs-cluster/*'),
          }),
        );
      });

      it('reads the one secret, writes the one log group and consumes the one queue', () => {
        expect(statements).toContainEqual(
          expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN }),
        );
        expect(statements).toContainEqual(
          expect.objectContaining({
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ReconcilerLogGroup/), 'Arn'] },
          }),
        );
      });

      it('attaches no managed policy but the VPC one', () => {
        template.hasResourceProperties('AWS::IAM::Role', {
          AssumeRolePolicyDocument: {
            Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
          },
          ManagedPolicyArns: [
            {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole',
                ],
              ],
            },
          ],
        });
      });
    });

    describe('CloudWatch', () => {
      const alarmMetric = (metricName: string) => ({
        Namespace: METRICS_NAMESPACE,
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: DEFAULT_SERVICE_NAME }],
      });

      it('creates eight alarms, each notifying the topic on ALARM and OK', () => {
        template.resourceCountIs('AWS::CloudWatch::Alarm', 8);
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

    it('passes the AWS Solutions checks with every acknowledgement explained', () => {
      const report = new AwsSolutionsChecks().validateScope(Stack.of(reconciler));
      expect(report.violations).toEqual([]);
      expect(report.success).toBe(true);
    });
  });

  describe('variants', () => {
    it('uses a cluster ARN as given, for the rule and for IAM', () => {
      const clusterArn = 'arn:aws:ecs:eu-west-1:444455556666:cluster/other';
      const { template } = synthReconciler({ cluster: clusterArn });
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({ detail: Match.objectLike({ clusterArn: [clusterArn] }) }),
      });
      expect(iamStatements(template)).toContainEqual(
        expect.objectContaining({
          Action: 'ecs:DescribeTasks',
          Resource: 'arn:aws:ecs:eu-west-1:444455556666:task/other/*',
        }),
      );
    });

    it('forwards every service task when some target leaves its ECS service to discovery', () => {
      const { template } = synthReconciler({
        targets: [{ kind: 'server', path: '/currenttime/', cloudMapService: 'currenttime-server' }],
      });
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({ detail: Match.objectLike({ group: [{ prefix: 'service:' }] }) }),
      });
    });

    it('injects a static token from Secrets Manager at deploy time and grants no secret read', () => {
      const { template } = synthReconciler({
        auth: { type: 'static', tokenSecret: 'registry-admin-token', tokenSecretJsonField: 'token' },
      });
      const env = environmentOf(template);
      expect(env[STATIC_TOKEN_ENV]).toBe(
        '{{resolve:secretsmanager:registry-admin-token:SecretString:token::}}',
      );
      expect(JSON.parse(String(env[CONFIG_ENV])).registry.auth).toEqual({
        type: 'static',
        tokenEnv: STATIC_TOKEN_ENV,
      });
      expect(iamStatements(template).flatMap(actionsOf)).not.toContain('secretsmanager:GetSecretValue');
    });

    it('grants kms:Decrypt through Secrets Manager only, for a secret under a customer key', () => {
      const key = 'arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
      const { template } = synthReconciler({
        auth: {
          type: 'keycloak',
          tokenUrl: 'https://kc.example.com:8443/token',
          secretArn: SECRET_ARN,
          secretKmsKeyArn: key,
        },
      });
      expect(iamStatements(template)).toContainEqual(
        expect.objectContaining({
          Action: 'kms:Decrypt',
          Resource: key,
          Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-west-2.amazonaws.com' } },
        }),
      );
    });

    it('runs outside a VPC without the VPC policy, and uses given security groups as they are', () => {
      const outside = synthReconciler().template;
      expect(functionProps(outside).VpcConfig).toBeUndefined();
      outside.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });

      const inside = synthReconciler({
        network: { ...NETWORK, securityGroupIds: ['sg-0123456789abcdef0'] },
      }).template;
      inside.resourceCountIs('AWS::EC2::SecurityGroup', 0);
      inside.hasResourceProperties('AWS::IAM::Role', {
        ManagedPolicyArns: [
          { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('AWSLambdaVPCAccessExecutionRole$')])] },
        ],
      });
      expect(functionProps(inside).VpcConfig).toEqual({
        SubnetIds: NETWORK.subnetIds,
        SecurityGroupIds: ['sg-0123456789abcdef0'],
      });
    });

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

    it('never lets Lambda filter above INFO, so metric lines survive a WARN level', () => {
      const { template } = synthReconciler({ logLevel: 'WARN' });
      expect(environmentOf(template).POWERTOOLS_LOG_LEVEL).toBe('WARN');
      template.hasResourceProperties('AWS::Lambda::Function', {
        LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'INFO' }),
      });
    });

    it.each([
      ['static auth', { auth: { type: 'static' as const, tokenSecret: 'registry-admin-token' } }],
      ['a cluster ARN', { cluster: 'arn:aws:ecs:us-west-2:111122223333:cluster/mcp-gateway-ecs-cluster' }],
      ['given security groups', { network: { ...NETWORK, securityGroupIds: ['sg-0123456789abcdef0'] } }],
    ])('passes the AWS Solutions checks with %s', (_, overrides) => {
      const { stack } = synthReconciler(overrides);
      expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
    });
  });

  describe('validation', () => {
    const invalid =
      (overrides: Parameters<typeof minimalProps>[0], stackProps = {}) =>
      () =>
        synthReconciler(overrides, stackProps);

    it('fails synth on a configuration the function would reject, naming the field', () => {
      expect(invalid({ registryUrl: 'ftp://registry' })).toThrow(/registry\.url: must be an http\(s\) URL/);
      expect(
        invalid({
          targets: [
            { kind: 'server', path: '/a/', cloudMapService: 'a' },
            { kind: 'server', path: '/a/', cloudMapService: 'b' },
          ],
        }),
      ).toThrow(/targets\.1\.path: duplicates targets\.0/);
      expect(invalid({ cluster: 'not a cluster' })).toThrow(/cluster: must be an ECS cluster name or ARN/);
    });

    it('rejects the M2M secret’s partial ARN, which Secrets Manager would misread', () => {
      expect(
        invalid({
          auth: {
            type: 'keycloak',
            tokenUrl: 'https://kc.example.com/token',
            secretArn:
              'arn:aws:secretsmanager:us-west-2:111122223333:secret:mcp-gateway-keycloak-m2m-client-secret',
          },
        }),
      ).toThrow(/pass the complete ARN/);
    });

    it('lists every problem at once', () => {
      let error: unknown;
      try {
        synthReconciler({
          network: { vpcId: 'vpc-1', subnetIds: [] },
          resyncInterval: Duration.seconds(90),
          memorySize: 100,
          alarmEmail: 'nobody',
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidReconcilerPropsError);
      const problems = (error as InvalidReconcilerPropsError).problems;
      expect(problems).toEqual([
        expect.stringMatching(/^resyncInterval: must be whole minutes/),
        expect.stringMatching(/^memorySize: /),
        expect.stringMatching(/^network\.vpcId: /),
        'network.subnetIds: name at least one subnet',
        expect.stringMatching(/^alarmEmail: /),
      ]);
      expect((error as Error).message).toContain('RegistryReconciler TestStack/Reconciler: invalid props:');
    });

    it('rejects a cluster in another Region than a concrete stack environment', () => {
      expect(
        invalid(
          { cluster: 'arn:aws:ecs:eu-west-1:111122223333:cluster/c' },
          { env: { account: '111122223333', region: 'us-west-2' } },
        ),
      ).toThrow(/cluster: is in eu-west-1, the stack deploys to us-west-2/);
    });

    it('rejects both an alarm topic and an e-mail address', () => {
      const app = newApp();
      const stack = new Stack(app, 'S');
      const topic = new sns.Topic(stack, 'T');
      expect(
        () =>
          new RegistryReconciler(
            stack,
            'R',
            minimalProps({ alarmTopic: topic, alarmEmail: 'a@example.com' }),
          ),
      ).toThrow(/alarmTopic and alarmEmail/);
    });
  });
});

describe('Function: secretResource', () => {
  it('keeps a complete ARN and adds the suffix wildcard to a partial one', () => {
    expect(secretResource(SECRET_ARN)).toBe(SECRET_ARN);
    expect(secretResource('arn:aws:secretsmanager:us-west-2:111122223333:secret:my-token')).toBe(
      'arn:aws:secretsmanager:us-west-2:111122223333:secret:my-token-??????',
    );
  });
});

describe('Function: egressPorts', () => {
  it('opens 443 plus the registry’s and Keycloak’s ports', () => {
    expect(
      egressPorts({
        registryUrl: 'http://registry.internal',
        auth: { type: 'keycloak', tokenUrl: 'https://kc.internal:8443/token', secretArn: SECRET_ARN },
      }),
    ).toEqual([80, 443, 8443]);
  });
});

describe('Constant: TASK_STATUSES', () => {
  it('starts at RUNNING and follows the task down to STOPPED', () => {
    expect(TASK_STATUSES).toEqual(['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED']);
  });
});
