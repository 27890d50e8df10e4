/** infra/permissions.ts in the synthesized construct: the role and what it may do. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_TARGETS } from '../../infra/defaults';
import { secretResource } from '../../infra/permissions';
import { actionsOf, ecsArnJoin, iamStatements, NETWORK, SECRET_ARN, synthReconciler } from './helpers';

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
