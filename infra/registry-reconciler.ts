/**
 * The registration reconciler construct. Its constructor reads as the list of what it builds; each
 * part has its own module: settings.ts (what it can be told: the configuration document plus the
 * deployment keys, with their defaults; props.ts types it), validation.ts, delivery.ts (queues, rules, event sources), permissions.ts, network.ts,
 * house-lambda.ts (what both functions share), fanout-function.ts, reconciler-function.ts,
 * monitoring/ (metrics, alarms, dashboard) and webhook.ts (the optional receiver of the registry webhook).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ReconcilerConfig } from '../functions/lib/config/config';
import { arnParts } from './arns';
import { buildQueues, buildRules, consumeTriggers, consumeWork } from './delivery';
import { buildFanoutFunction } from './fanout-function';
import { buildLogGroup, type HouseSettings } from './house-lambda';
import type { ReconcilerAlarms } from './monitoring/alarms';
import { addWebhookRow } from './monitoring/dashboard';
import { buildMonitoring } from './monitoring/monitoring';
import { importNetwork } from './network';
import { grantOwnership, ownershipTable, withTableName } from './ownership-table';
import { buildRole, grantReads, grantSend } from './permissions';
import type { ReconcilerAlarmProps, RegistryReconcilerProps } from './props';
import { buildFunction } from './reconciler-function';
import { FIXED, type ReconcilerSettings } from './settings';
import { checkProps } from './validation';
import { buildWebhook, type ReconcilerWebhook } from './webhook';

// The construct's public API, importable from this one module.
export type { ReconcilerAlarms } from './monitoring/alarms';
export type * from './props';
export { InvalidReconcilerPropsError } from './validation';
export type { ReconcilerWebhook } from './webhook';

/**
 * The registration reconciler, deployed next to an existing MCP Gateway Registry stack on ECS:
 * ECS task events and a periodic resync go to a standard SQS trigger queue; a fan-out function
 * sends one message per registry entry to an SQS FIFO work queue, the entry as the message group;
 * the reconciler function consumes it, one invocation per entry at a time and entries in parallel,
 * and keeps each entry pointed at a live task. With alarms and a dashboard.
 *
 * All props are checked before anything is built; the functions' configuration is validated with
 * the function's own parser, so a bad configuration fails synth, not the first invocation.
 */
export class RegistryReconciler extends Construct {
  /** The reconciler function (consumes the work queue). */
  readonly function: nodejs.NodejsFunction;
  /** Its execution role. */
  readonly role: iam.Role;
  /** Its log group (decision records). */
  readonly logGroup: logs.LogGroup;
  /** The fan-out function (consumes the trigger queue, sends work). */
  readonly fanoutFunction: nodejs.NodejsFunction;
  readonly fanoutRole: iam.Role;
  readonly fanoutLogGroup: logs.LogGroup;
  /** The standard queue every trigger goes to. */
  readonly triggerQueue: sqs.Queue;
  /** Where triggers the fan-out failed repeatedly end up (standard). */
  readonly triggerDeadLetterQueue: sqs.Queue;
  /** The FIFO queue of per-entry work (message group = `<kind>:<path>`). */
  readonly workQueue: sqs.Queue;
  /** Where work the reconciler failed repeatedly ends up (FIFO; the group id names the entry). */
  readonly workDeadLetterQueue: sqs.Queue;
  /** Where events EventBridge could not deliver to the trigger queue end up (standard). */
  readonly deliveryDeadLetterQueue: sqs.Queue;
  /** ECS Task State Change events of the cluster → trigger queue. */
  readonly taskStateRule: events.Rule;
  /** The periodic resync → trigger queue. */
  readonly resyncRule: events.Rule;
  readonly alarms: ReconcilerAlarms;
  readonly dashboard: cloudwatch.Dashboard;
  /** The topic alarms notify, when there is one. */
  readonly topic?: sns.ITopic;
  /** The functions' security group, when the construct created one. */
  readonly securityGroup?: ec2.SecurityGroup;
  /** The configuration passed in `RECONCILER_CONFIG`, as the functions will read it. */
  readonly config: ReconcilerConfig;
  /** The settings as validated, every default filled in. */
  readonly settings: ReconcilerSettings;
  /**
   * Follow mode's ownership table, when follow is on: the one the construct created (retained when
   * the stack is deleted), or the one `ownership.table` names.
   */
  readonly ownershipTable?: dynamodb.ITable;
  /** The cluster's ARN (a token when the cluster was given by name in an environment-agnostic stack). */
  readonly clusterArn: string;
  /** The registry webhook's receiver, its URL and signing secret, when `webhook.enabled` (infra/webhook.ts). */
  readonly webhook?: ReconcilerWebhook;

  constructor(scope: Construct, id: string, props: RegistryReconcilerProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const checked = checkProps(props, stack, this.node.path);
    const { settings, config } = checked;
    this.config = config;
    this.settings = settings;
    // Follow mode: the ownership table, its name in the configuration (infra/ownership-table.ts).
    this.ownershipTable = ownershipTable(this, settings);
    const configJson =
      this.ownershipTable === undefined || settings.ownership !== undefined
        ? checked.configJson
        : withTableName(checked.configJson, this.ownershipTable);
    const { serviceName } = settings;
    const timeout = Duration.seconds(settings.timeoutSeconds);
    const resyncInterval = Duration.minutes(settings.resyncMinutes);
    const { clusterName, namespace } = config;
    this.clusterArn = arnParts(config.cluster, stack, 'ecs').arn(`cluster/${clusterName}`);

    const queues = buildQueues(this, { fanout: FIXED.fanoutTimeout, reconciler: timeout });
    ({
      triggerQueue: this.triggerQueue,
      triggerDeadLetterQueue: this.triggerDeadLetterQueue,
      workQueue: this.workQueue,
      workDeadLetterQueue: this.workDeadLetterQueue,
      deliveryDeadLetterQueue: this.deliveryDeadLetterQueue,
    } = queues);
    ({ taskStateRule: this.taskStateRule, resyncRule: this.resyncRule } = buildRules(this, queues, {
      config,
      clusterArn: this.clusterArn,
      resyncInterval,
    }));

    this.logGroup = buildLogGroup(this, 'LogGroup', settings.logRetentionDays);
    this.role = buildRole(
      this,
      'Role',
      this.logGroup,
      'Registry reconciler: reads ECS/Cloud Map, reads one secret, consumes its work queue, sends to its trigger queue, writes its logs',
    );
    this.fanoutLogGroup = buildLogGroup(this, 'FanoutLogGroup', settings.logRetentionDays);
    this.fanoutRole = buildRole(
      this,
      'FanoutRole',
      this.fanoutLogGroup,
      'Registry reconciler fan-out: reads ECS/Cloud Map, reads one secret, consumes its trigger queue, sends to its work and trigger queues, writes its logs',
    );
    const network =
      settings.network === undefined
        ? undefined
        : importNetwork(this, [this.role, this.fanoutRole], settings.network, settings.registry);
    this.securityGroup = network?.created;
    const house: HouseSettings = {
      props,
      settings,
      configJson,
      serviceName,
      logLevel: settings.logLevel,
      network,
    };
    this.function = buildFunction(this, house, {
      clusterName,
      namespace,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      queues,
    });
    this.fanoutFunction = buildFanoutFunction(this, house, {
      clusterName,
      role: this.fanoutRole,
      logGroup: this.fanoutLogGroup,
      queues,
    });
    consumeWork(this.function, queues);
    consumeTriggers(this.fanoutFunction, queues);
    grantReads(this.role, settings, config);
    grantReads(this.fanoutRole, settings, config);
    if (this.ownershipTable !== undefined) {
      grantOwnership(this.role, this.ownershipTable, config, true);
      grantOwnership(this.fanoutRole, this.ownershipTable, config, false);
    }
    // The reconciler sends the delayed verification of a write it made (the fan-out reads it back
    // after the registry's scan); the fan-out sends work, and its own delayed re-checks and shards.
    grantSend(this.role, 'SendTriggers', [queues.triggerQueue]);
    grantSend(this.fanoutRole, 'SendWorkAndTriggers', [queues.workQueue, queues.triggerQueue]);

    const monitoring = buildMonitoring(this, {
      props: {
        alarms: alarmThresholds(settings.alarms),
        alarmTopic: props.alarmTopic,
        alarmEmail: settings.alarmEmail,
      },
      serviceName,
      resyncInterval,
      clusterName,
      namespace,
      fn: this.function,
      fanout: this.fanoutFunction,
      queues,
    });
    this.topic = monitoring.topic;
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;

    // Off by default; when on it only adds resources of its own (infra/webhook.ts).
    this.webhook = buildWebhook(this, {
      settings,
      configJson,
      queues,
      topic: this.topic,
      ...(props.webhookEntry === undefined ? {} : { entry: props.webhookEntry }),
    });
    if (this.webhook !== undefined) addWebhookRow(this.dashboard, monitoring.metrics, this.webhook);
  }
}

/** The alarm thresholds in the monitoring's terms. */
function alarmThresholds(alarms: ReconcilerSettings['alarms']): ReconcilerAlarmProps {
  return {
    functionErrors: alarms.functionErrors,
    reconcileErrors: alarms.reconcileErrors,
    throttles: alarms.throttles,
    noLiveInstanceFor: Duration.minutes(alarms.noLiveInstanceMinutes),
    oldestMessageAge: Duration.minutes(alarms.oldestMessageAgeMinutes),
  };
}
