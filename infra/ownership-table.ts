/**
 * Follow mode's ownership table (functions/lib/follow/ownership.ts): which registry entries
 * the reconciler wrote, next to nothing else. On demand, encrypted, with point-in-time recovery,
 * and retained when the stack is deleted (docs/deploy.md says how to remove it after
 * `npm run release`). Each function may use this table and its index only, by name.
 */
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { OWNERSHIP_INDEX, OWNERSHIP_INDEX_KEY, OWNERSHIP_KEY } from '../functions/lib/aws/ownership-table';
import type { ReconcilerConfig } from '../functions/lib/config/config';
import type { ReconcilerSettings } from './settings';

/**
 * A valid table name that stands for the table's own (a token at synth time) while the
 * configuration is validated; `withTableName` puts the real one in its place.
 */
export const OWNERSHIP_TABLE_PLACEHOLDER = 'registry-reconciler-ownership-table';

/**
 * The configuration's `ownership` as the function reads it: as given, or, with follow mode on and
 * no table named, the placeholder of the table the construct creates.
 */
export function ownershipInput(
  follow: { readonly enabled?: boolean } | undefined,
  ownership: { readonly table: string } | undefined,
): { table: string } | undefined {
  if (ownership !== undefined) return { table: ownership.table };
  return follow?.enabled === true ? { table: OWNERSHIP_TABLE_PLACEHOLDER } : undefined;
}

/**
 * Follow mode's table: the one `ownership.table` names (imported, not created), or a new one when
 * none is named; none without follow mode.
 */
export function ownershipTable(
  scope: Construct,
  settings: Pick<ReconcilerSettings, 'follow' | 'ownership'>,
): dynamodb.ITable | undefined {
  if (!settings.follow.enabled) return undefined;
  if (settings.ownership !== undefined)
    return dynamodb.Table.fromTableName(scope, 'NamedOwnershipTable', settings.ownership.table);
  return buildOwnershipTable(scope);
}

/** The table (logical id `OwnershipTable`, kept stable). */
export function buildOwnershipTable(scope: Construct): dynamodb.Table {
  const table = new dynamodb.Table(scope, 'OwnershipTable', {
    partitionKey: { name: OWNERSHIP_KEY, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.RETAIN,
  });
  table.addGlobalSecondaryIndex({
    indexName: OWNERSHIP_INDEX,
    partitionKey: { name: OWNERSHIP_INDEX_KEY, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  });
  return table;
}

/** The configuration's JSON with the table's name (a token, resolved by CloudFormation) in place. */
export function withTableName(configJson: string, table: dynamodb.ITable): string {
  return configJson.replace(JSON.stringify(OWNERSHIP_TABLE_PLACEHOLDER), JSON.stringify(table.tableName));
}

/**
 * What each function does with the table, on the table and its one index by ARN: the reconciler
 * reads a row, writes and deletes it conditionally, and queries the index; the fan-out reads rows
 * and queries the index. Follow mode also lists the namespace's Cloud Map services and the
 * cluster's ECS services (read-only, no resource-level permissions: limited by condition).
 */
export function grantOwnership(
  role: iam.Role,
  table: dynamodb.ITable,
  config: ReconcilerConfig,
  writes: boolean,
): void {
  const index = `${table.tableArn}/index/${OWNERSHIP_INDEX}`;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'OwnershipRows',
      actions: [
        'dynamodb:GetItem',
        ...(writes ? ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'] : []),
      ],
      resources: [table.tableArn],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'OwnershipByEcsService',
      actions: ['dynamodb:Query'],
      resources: [index],
    }),
  );
  const stack = Stack.of(role);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'FollowListServices',
      actions: ['servicediscovery:ListNamespaces', 'servicediscovery:ListServices'],
      resources: ['*'],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'FollowListEcsServices',
      actions: ['ecs:ListServices'],
      resources: ['*'],
      conditions: {
        ArnEquals: {
          'ecs:cluster': stack.formatArn({
            service: 'ecs',
            resource: 'cluster',
            resourceName: config.clusterName,
          }),
        },
      },
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'servicediscovery:ListNamespaces/ListServices and ecs:ListServices (read-only) support no resource type; ecs:ListServices is limited to the one cluster by the ecs:cluster condition. Follow mode lists them to match registry entries to services.',
  });
}
