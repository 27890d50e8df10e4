/**
 * The registration reconciler construct. Its constructor reads as the list of what it builds; each
 * part has its own module: props.ts (what it can be told, with defaults in defaults.ts),
 * validation.ts, delivery.ts (queues and rules), permissions.ts, network.ts,
 * reconciler-function.ts and monitoring/ (metrics, alarms, dashboard).
 */
import { Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ReconcilerConfig } from '../functions/reconciler/config';
import { DEFAULT_SERVICE_NAME } from '../functions/reconciler/telemetry';
import { arnParts } from './arns';
import { DEFAULT_LOG_LEVEL, DEFAULT_RESYNC, DEFAULT_TIMEOUT } from './defaults';
import { buildQueues, buildRules, consumeQueue } from './delivery';
import type { ReconcilerAlarms } from './monitoring/alarms';
import { buildMonitoring } from './monitoring/monitoring';
import { importNetwork } from './network';
import { buildRole, grantReads } from './permissions';
import type { RegistryReconcilerProps } from './props';
import { buildFunction, buildLogGroup } from './reconciler-function';
import { checkProps } from './validation';

// The construct's public API, importable from this one module.
export type { ReconcilerAlarms } from './monitoring/alarms';
export type * from './props';
export { InvalidReconcilerPropsError } from './validation';

/**
 * The registration reconciler, deployed next to an existing MCP Gateway Registry stack on ECS:
 * ECS task events and a periodic resync go through one SQS FIFO message group to a Lambda function
 * that keeps the registry's entries pointed at live tasks, with alarms and a dashboard.
 *
 * All props are checked before anything is built; the function's configuration is validated with
 * the function's own parser, so a bad configuration fails synth, not the first invocation.
 */
export class RegistryReconciler extends Construct {
  /** The reconciler function. */
  readonly function: nodejs.NodejsFunction;
  /** Its execution role. */
  readonly role: iam.Role;
  /** Its log group (decision records). */
  readonly logGroup: logs.LogGroup;
  /** The FIFO queue every trigger goes through. */
  readonly queue: sqs.Queue;
  /** Where messages the function failed `MAX_RECEIVE_COUNT` times end up (FIFO). */
  readonly deadLetterQueue: sqs.Queue;
  /** Where events EventBridge could not deliver to the queue end up (standard). */
  readonly deliveryDeadLetterQueue: sqs.Queue;
  /** ECS Task State Change events of the cluster → queue. */
  readonly taskStateRule: events.Rule;
  /** The periodic resync → queue. */
  readonly resyncRule: events.Rule;
  readonly alarms: ReconcilerAlarms;
  readonly dashboard: cloudwatch.Dashboard;
  /** The topic alarms notify, when there is one. */
  readonly topic?: sns.ITopic;
  /** The function's security group, when the construct created one. */
  readonly securityGroup?: ec2.SecurityGroup;
  /** The configuration passed in `RECONCILER_CONFIG`, as the function will read it. */
  readonly config: ReconcilerConfig;
  /** The cluster's ARN (a token when the cluster was given by name in an environment-agnostic stack). */
  readonly clusterArn: string;

  constructor(scope: Construct, id: string, props: RegistryReconcilerProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const { config, configJson } = checkProps(props, stack, this.node.path);
    this.config = config;
    const serviceName = props.serviceName ?? DEFAULT_SERVICE_NAME;
    const timeout = props.timeout ?? DEFAULT_TIMEOUT;
    const resyncInterval = props.resyncInterval ?? DEFAULT_RESYNC;
    const { clusterName, namespace } = config;
    this.clusterArn = arnParts(config.cluster, stack, 'ecs').arn(`cluster/${clusterName}`);

    const queues = buildQueues(this, timeout);
    ({
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      deliveryDeadLetterQueue: this.deliveryDeadLetterQueue,
    } = queues);
    ({ taskStateRule: this.taskStateRule, resyncRule: this.resyncRule } = buildRules(this, queues, {
      config,
      clusterArn: this.clusterArn,
      resyncInterval,
    }));

    this.logGroup = buildLogGroup(this, props.logRetention);
    this.role = buildRole(this, this.logGroup);
    const network =
      props.network === undefined ? undefined : importNetwork(this, this.role, props.network, props);
    this.securityGroup = network?.created;
    this.function = buildFunction(this, {
      props,
      configJson,
      clusterName,
      namespace,
      serviceName,
      logLevel: props.logLevel ?? DEFAULT_LOG_LEVEL,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      network,
    });
    consumeQueue(this.function, queues);
    grantReads(this.role, props, config);

    const monitoring = buildMonitoring(this, {
      props,
      serviceName,
      resyncInterval,
      clusterName,
      namespace,
      fn: this.function,
      queues,
    });
    this.topic = monitoring.topic;
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;
  }
}
