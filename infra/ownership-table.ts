/**
 * Follow mode's ownership table (functions/reconciler/follow/ownership.ts): which registry entries
 * the reconciler wrote, next to nothing else. On demand, encrypted, with point-in-time recovery,
 * and retained when the stack is deleted (the README's Deploy section says how to remove it after
 * `npm run release`). Each function may use this table and its index only, by name.
 */
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import {
  OWNERSHIP_INDEX,
  OWNERSHIP_INDEX_KEY,
  OWNERSHIP_KEY,
} from '../functions/reconciler/aws/ownership-table';
import { parseConfig, type ReconcilerConfig } from '../functions/reconciler/config';
import { ConfigError } from '../functions/reconciler/errors';
import { InvalidReconcilerPropsError } from './validation';

/** Follow mode, as the construct is told it. */
export interface FollowProps {
  /** Adopt at run time every registry entry registered by a Cloud Map name of the namespace. */
  readonly enabled: boolean;
  /** Registry paths never adopted. */
  readonly exclude?: readonly string[];
}

/**
 * A valid table name that stands for the table's own (a token at synth time) while the
 * configuration is validated; `withTableName` puts the real one in its place.
 */
export const OWNERSHIP_TABLE_PLACEHOLDER = 'registry-reconciler-ownership-table';

/**
 * The settings the construct checks first, without follow mode's fields (they are the construct's
 * own): in follow mode, with no target configured, one stand-in target so that the settings' own
 * rule (at least one target) holds; `withFollow` then puts the given targets back.
 */
export function followSettings<T extends { readonly targets?: readonly unknown[] }>(
  props: T,
  follow: FollowProps | undefined,
): T {
  if (follow?.enabled !== true || (props.targets !== undefined && props.targets.length > 0)) return props;
  return { ...props, targets: [FOLLOW_STAND_IN] };
}

/** The stand-in target of `followSettings` (never in the function's configuration). */
const FOLLOW_STAND_IN = { kind: 'server', path: '/', cloudMapService: 'follow-mode' } as const;

/**
 * The checked configuration with follow mode's fields: `follow` as given and `ownership.table`
 * the table's name (a token CloudFormation resolves), validated again by the function's parser.
 */
export function withFollow<T extends { config: ReconcilerConfig; configJson: string }>(
  checked: T,
  follow: FollowProps | undefined,
  table: dynamodb.ITable | undefined,
  constructPath: string,
): T {
  if (follow === undefined) return checked;
  const document = JSON.parse(checked.configJson) as Record<string, unknown>;
  if (follow.enabled && Array.isArray(document.targets))
    document.targets = document.targets.filter(
      (t) => (t as { cloudMapService?: string }).cloudMapService !== FOLLOW_STAND_IN.cloudMapService,
    );
  document.follow = {
    enabled: follow.enabled,
    ...(follow.exclude === undefined ? {} : { exclude: [...follow.exclude] }),
  };
  if (follow.enabled) document.ownership = { table: OWNERSHIP_TABLE_PLACEHOLDER };
  let config: ReconcilerConfig;
  try {
    config = parseConfig(document, 'reconciler configuration');
  } catch (error) {
    const problems =
      error instanceof ConfigError && error.problems.length > 0 ? error.problems : [(error as Error).message];
    throw new InvalidReconcilerPropsError(constructPath, [...problems]);
  }
  const json = JSON.stringify(document);
  return {
    ...checked,
    config,
    configJson: table === undefined ? json : withTableName(json, table),
  };
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
  table: dynamodb.Table,
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
