/**
 * The functions' execution roles and what each may do: both read ECS and Cloud Map, read the one
 * secret and write their own log group; the fan-out sends to both queues, the reconciler to the
 * trigger queue (the consuming grants, ChangeMessageVisibility included, come with each event
 * source). Each cdk-nag finding that remains is acknowledged here with its reason.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { ReconcilerConfig } from '../functions/lib/config/config';
import { arnParts } from './arns';
import type { ReconcilerSettings } from './settings';

/**
 * A function's own role: the default one brings AWSLambdaBasicExecutionRole (logs on every group
 * in the account), this one writes only `logGroup`.
 */
export function buildRole(
  scope: Construct,
  id: string,
  logGroup: logs.LogGroup,
  description: string,
): iam.Role {
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description,
  });
  logGroup.grantWrite(role);
  return role;
}

/** `sqs:SendMessage` (and nothing else) on the given queues. */
export function grantSend(role: iam.Role, sid: string, queues: readonly sqs.IQueue[]): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid,
      actions: ['sqs:SendMessage'],
      resources: queues.map((q) => q.queueArn),
    }),
  );
}

/** The reads both functions make: Cloud Map discovery, ECS tasks and services of the cluster, the secret. */
export function grantReads(role: iam.Role, settings: ReconcilerSettings, config: ReconcilerConfig): void {
  const stack = Stack.of(role);
  const { auth } = settings.registry;
  const clusterName = config.clusterName;
  const clusterRef = arnParts(config.cluster, stack, 'ecs');
  const cloudMapServices = [...new Set(config.targets.map((t) => t.cloudMapService))];
  const statements = [
    // DiscoverInstances has no resource type: it can only be narrowed by these condition keys.
    new iam.PolicyStatement({
      sid: 'DiscoverTargetInstances',
      actions: ['servicediscovery:DiscoverInstances'],
      resources: ['*'],
      conditions: {
        StringEquals: {
          'servicediscovery:NamespaceName': config.namespace,
          // Follow mode adopts entries of any service of the namespace: the namespace alone limits it.
          ...(config.follow.enabled ? {} : { 'servicediscovery:ServiceName': cloudMapServices }),
        },
      },
    }),
    // Maps a ServiceRegistries ARN (srv-…) to a name; service ids are unknown until deployed.
    new iam.PolicyStatement({
      sid: 'ReadCloudMapServices',
      actions: ['servicediscovery:GetService'],
      resources: [stack.formatArn({ service: 'servicediscovery', resource: 'service', resourceName: '*' })],
    }),
    new iam.PolicyStatement({
      sid: 'DescribeClusterTasks',
      actions: ['ecs:DescribeTasks'],
      resources: [clusterRef.arn(`task/${clusterName}/*`)],
    }),
    new iam.PolicyStatement({
      sid: 'DescribeClusterServices',
      actions: ['ecs:DescribeServices'],
      resources: [clusterRef.arn(`service/${clusterName}/*`)],
    }),
  ];
  if (auth.type === 'keycloak') {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ReadM2MClientSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretResource(auth.secretArn)],
      }),
    );
    if (auth.secretKmsKeyArn !== undefined) {
      const region = auth.secretArn.split(':')[3] ?? stack.region;
      statements.push(
        new iam.PolicyStatement({
          sid: 'DecryptM2MClientSecret',
          actions: ['kms:Decrypt'],
          resources: [auth.secretKmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
        }),
      );
    }
  }
  for (const statement of statements) role.addToPrincipalPolicy(statement);

  Validations.of(role).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'servicediscovery:DiscoverInstances supports no resource type; the statement is limited by the servicediscovery:NamespaceName and servicediscovery:ServiceName conditions to the targets of one namespace.',
    },
    {
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:servicediscovery:<AWS::Region>:<AWS::AccountId>:service/*]',
      reason:
        'servicediscovery:GetService (read-only) needs the service id, which ECS ServiceRegistries hands over only at run time; limited to Cloud Map services of this account and Region.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::${clusterRef.nagArn(`task/${clusterName}/*`)}]`,
      reason:
        'ecs:DescribeTasks (read-only) on the tasks of the one cluster; task ids change with every deployment.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::${clusterRef.nagArn(`service/${clusterName}/*`)}]`,
      reason:
        'ecs:DescribeServices (read-only) on the services of the one cluster, to find which ECS service backs a target that does not name one.',
    },
  );
  if (auth.type === 'keycloak' && secretResource(auth.secretArn).endsWith('-??????')) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${secretResource(auth.secretArn)}]`,
      reason:
        'A partial secret ARN: `-??????` matches only the random suffix Secrets Manager adds to this one secret.',
    });
  }
  if (settings.network !== undefined) {
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason:
        'The AWS-maintained minimum for a function in a VPC (ENI create/describe/delete); its ec2:Describe* actions support no resource-level permissions.',
    });
  }
}

/** What IAM should name for a secret ARN: the ARN itself when complete, `<arn>-??????` when partial. */
export function secretResource(secretArn: string): string {
  const name = secretArn.split(':secret:')[1] ?? '';
  // A complete ARN ends in `-` + 6 random characters. A partial ARN whose name happens to end that
  // way is indistinguishable, but Secrets Manager mistakes it for a complete one too (see KeycloakAuthProps).
  return /-[A-Za-z0-9]{6}$/.test(name) ? secretArn : `${secretArn}-??????`;
}
