/** infra/permissions.ts in the synthesized construct: the two roles and what each may do. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Match } from 'aws-cdk-lib/assertions';
import { V1016_TARGETS } from '../../functions/lib/config/defaults';
import { secretResource } from '../../infra/permissions';
import {
  actionsOf,
  ecsArnJoin,
  iamStatements,
  NETWORK,
  roleStatements,
  SECRET_ARN,
  synthReconciler,
} from './helpers';

describe('Construct: RegistryReconciler — permissions', () => {
  describe('with the v1.0.16 defaults', () => {
    const { template } = synthReconciler({ network: NETWORK, alarmEmail: 'oncall@example.com' });

    describe('IAM', () => {
      const statements = iamStatements(template);

      it('grants no wildcard action', () => {
        for (const statement of statements) {
          for (const action of actionsOf(statement)) expect(action).not.toContain('*');
        }
      });

      const READS = [
        'ecs:DescribeServices',
        'ecs:DescribeTasks',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        'servicediscovery:DiscoverInstances',
        'servicediscovery:GetService',
      ];
      const CONSUME = [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
      ];
      const queueArn = (id: string) => ({
        'Fn::GetAtt': [expect.stringMatching(new RegExp(`^Reconciler${id}[0-9A-F]{8}$`)), 'Arn'],
      });

      it('grants each role exactly the actions its function uses', () => {
        for (const role of ['Role', 'FanoutRole'] as const) {
          expect(roleStatements(template, role).flatMap(actionsOf).sort()).toEqual(
            [...READS, ...CONSUME, 'sqs:SendMessage'].sort(),
          );
        }
        // Both roles, and the VPC policy: nothing else in the template grants anything.
        expect(statements).toHaveLength(
          roleStatements(template, 'Role').length + roleStatements(template, 'FanoutRole').length,
        );
      });

      it('lets the reconciler consume the work queue (ChangeMessageVisibility included) and send only to the trigger queue', () => {
        const reconciler = roleStatements(template, 'Role');
        expect(reconciler).toContainEqual(
          expect.objectContaining({ Action: CONSUME, Resource: queueArn('WorkQueue') }),
        );
        expect(reconciler).toContainEqual(
          expect.objectContaining({ Action: 'sqs:SendMessage', Resource: queueArn('TriggerQueue') }),
        );
      });

      it('lets the fan-out consume the trigger queue and send to the work and trigger queues', () => {
        const fanout = roleStatements(template, 'FanoutRole');
        expect(fanout).toContainEqual(
          expect.objectContaining({ Action: CONSUME, Resource: queueArn('TriggerQueue') }),
        );
        const send = fanout.find((st) => st.Action === 'sqs:SendMessage');
        expect(send?.Resource).toEqual(
          expect.arrayContaining([queueArn('WorkQueue'), queueArn('TriggerQueue')]),
        );
        expect(send?.Resource).toHaveLength(2);
      });

      it('writes each function’s logs to its own log group only', () => {
        for (const [role, group] of [
          ['Role', 'LogGroup'],
          ['FanoutRole', 'FanoutLogGroup'],
        ] as const) {
          expect(roleStatements(template, role)).toContainEqual(
            expect.objectContaining({
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: {
                'Fn::GetAtt': [expect.stringMatching(new RegExp(`^Reconciler${group}[0-9A-F]{8}$`)), 'Arn'],
              },
            }),
          );
        }
      });

      it('limits DiscoverInstances to the namespace and the targets’ Cloud Map services', () => {
        expect(statements).toContainEqual(
          expect.objectContaining({
            Action: 'servicediscovery:DiscoverInstances',
            Resource: '*',
            Condition: {
              StringEquals: {
                'servicediscovery:NamespaceName': 'mcp-gateway.local',
                'servicediscovery:ServiceName': V1016_TARGETS.map((t) => t.cloudMapService),
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

      it('reads the one secret, from both roles', () => {
        for (const role of ['Role', 'FanoutRole'] as const) {
          expect(roleStatements(template, role)).toContainEqual(
            expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN }),
          );
        }
      });

      it('attaches no managed policy but the VPC one, to both roles', () => {
        template.resourceCountIs('AWS::IAM::Role', 2);
        template.allResourcesProperties('AWS::IAM::Role', {
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

    it('grants kms:Decrypt through Secrets Manager only, for a secret under a customer key', () => {
      const key = 'arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
      const { template } = synthReconciler({
        registry: {
          url: 'https://registry.example.com',
          auth: {
            type: 'keycloak',
            tokenUrl: 'https://kc.example.com:8443/token',
            secretArn: SECRET_ARN,
            secretKmsKeyArn: key,
          },
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
