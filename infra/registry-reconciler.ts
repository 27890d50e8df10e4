import * as path from 'node:path';
import { Duration, Fn, SecretValue, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONFIG_ENV, parseConfig, type ReconcilerConfig } from '../functions/reconciler/config';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE, MetricName } from '../functions/reconciler/telemetry';
import { CDK_BUNDLING } from '../tools/build';
import { DEPLOYED, V1016_TARGETS } from './deployed-defaults';

// ---------------------------------------------------------------------------------------------
// Defaults: the names of the MCP Gateway Registry v1.0.16 CloudFormation stack (EnvironmentName
// `mcp-gateway`).
// ---------------------------------------------------------------------------------------------

/** The v1.0.16 stack's ECS cluster. */
export const DEFAULT_CLUSTER = 'mcp-gateway-ecs-cluster';
/** The v1.0.16 stack's Cloud Map namespace (Service Connect). */
export const DEFAULT_NAMESPACE = 'mcp-gateway.local';
/** The registry's own ECS service: one of its tasks reaching RUNNING re-applies every target. */
export const DEFAULT_REGISTRY_SERVICE = 'mcp-gateway-registry';
/**
 * Name of the Keycloak M2M client secret in the v1.0.16 stack. Its ARN ends in a random suffix that
 * only the deployed account knows, so the construct asks for the complete ARN (see `KeycloakAuthProps`).
 */
export const DEFAULT_M2M_SECRET_NAME = 'mcp-gateway-keycloak-m2m-client-secret';
/** Environment variable that carries the registry's static bearer token (`StaticTokenAuthProps`). */
export const STATIC_TOKEN_ENV = 'REGISTRY_API_TOKEN';
/** The single FIFO message group every trigger goes into: one batch at a time, never two writers. */
export const MESSAGE_GROUP_ID = 'registry-reconciler';
/**
 * The task statuses the rule forwards. RUNNING includes the first sign of a task going away
 * (`desiredStatus: STOPPED` while still RUNNING); the rest are the way down. PROVISIONING, PENDING and
 * ACTIVATING are left out: a task is only worth pointing at once it is RUNNING.
 */
export const TASK_STATUSES = ['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'] as const;

/** One registry entry to keep pointed at a live task. Mirrors a target of the reconciler's configuration. */
export interface ReconcilerTarget {
  /** `server` (field `proxy_pass_url`) or `agent` (field `url`). */
  readonly kind: 'server' | 'agent';
  /** The registry path exactly as stored: servers keep their trailing slash (`/currenttime/`). */
  readonly path: string;
  /** The Cloud Map service whose instances are the candidates (`currenttime-server`). */
  readonly cloudMapService: string;
  /**
   * The ECS service that runs it. When every target names one, the EventBridge rule forwards only
   * those services' task events.
   * @default - found at run time through ECS DescribeServices
   */
  readonly ecsService?: string;
  /**
   * Where the written port comes from: the entry URL's own port, or the instance's `AWS_INSTANCE_PORT`.
   * @default 'url'
   */
  readonly port?: 'url' | 'instance';
}

/** The five entries of the v1.0.16 stack (the CloudFormation deployment's ECS layout). */
export const DEFAULT_TARGETS: readonly ReconcilerTarget[] = V1016_TARGETS;

/**
 * OAuth2 client credentials from Keycloak: the function reads `{"client_id","client_secret"}` from
 * Secrets Manager at cold start and caches the access token (the production setup).
 */
export interface KeycloakAuthProps {
  readonly type: 'keycloak';
  /** `https://<keycloak>/realms/mcp-gateway/protocol/openid-connect/token` */
  readonly tokenUrl: string;
  /**
   * The **complete** ARN of the M2M client secret (`…:secret:mcp-gateway-keycloak-m2m-client-secret-AbCdEf`),
   * from `aws secretsmanager describe-secret --secret-id mcp-gateway-keycloak-m2m-client-secret --query ARN`.
   * A partial ARN does not work for this secret: its name ends in `-secret`, a hyphen and six
   * characters, which Secrets Manager takes for the random suffix. The function may read this one
   * secret and nothing else.
   */
  readonly secretArn: string;
  /**
   * The customer-managed KMS key that encrypts the secret, if any: the function gets `kms:Decrypt`
   * on it, only through Secrets Manager.
   * @default - the secret uses the AWS managed key `aws/secretsmanager`
   */
  readonly secretKmsKeyArn?: string;
}

/**
 * A fixed bearer token (a registry with `REGISTRY_STATIC_TOKEN_AUTH_ENABLED=true`: test and local
 * registries). The token stays in Secrets Manager; CloudFormation resolves it at deploy time into the
 * function's `REGISTRY_API_TOKEN` variable, so it is never in the template or the cloud assembly, but
 * whoever may call `lambda:GetFunctionConfiguration` can read it, and a rotated token needs a redeploy.
 */
export interface StaticTokenAuthProps {
  readonly type: 'static';
  /** Name or complete ARN of the secret holding the token. */
  readonly tokenSecret: string;
  /**
   * The JSON key that holds the token, when the secret is a JSON object.
   * @default - the whole secret string is the token
   */
  readonly tokenSecretJsonField?: string;
}

/** How the reconciler authenticates to the registry. */
export type RegistryAuthProps = KeycloakAuthProps | StaticTokenAuthProps;

/**
 * Where the function runs. The registry URL is usually reachable only inside the stack's VPC. All
 * ids are taken as given (no lookups), so synth needs no AWS credentials.
 */
export interface ReconcilerNetworkProps {
  /** `vpc-…` */
  readonly vpcId: string;
  /**
   * Private subnets (`subnet-…`) with a route to the registry, to Keycloak and to the AWS APIs the
   * function calls: ECS, Cloud Map (`data-servicediscovery`) and Secrets Manager, through a NAT
   * gateway or interface VPC endpoints. (SQS is polled by the Lambda service, not from the VPC.)
   */
  readonly subnetIds: readonly string[];
  /**
   * Security groups (`sg-…`) for the function.
   * @default - a new group allowing outbound TCP 443 and the registry's and Keycloak's ports, nothing inbound
   */
  readonly securityGroupIds?: readonly string[];
}

/** Alarm thresholds. */
export interface ReconcilerAlarmProps {
  /**
   * Failed invocations (crash, timeout, bad configuration) within 5 minutes.
   * @default 1
   */
  readonly functionErrors?: number;
  /**
   * Reconcile failures (metric `Errors`) within 15 minutes.
   * @default 5
   */
  readonly reconcileErrors?: number;
  /**
   * Throttled invocations per 5 minutes, in 2 of 3 periods.
   * @default 1
   */
  readonly throttles?: number;
  /**
   * How long some target may have no live Cloud Map instance before the alarm fires.
   * @default Duration.minutes(15)
   */
  readonly noLiveInstanceFor?: Duration;
  /**
   * Age of the oldest message in the FIFO queue: the single message group is stuck.
   * @default Duration.minutes(15)
   */
  readonly oldestMessageAge?: Duration;
}

/** Log levels for the function's own logs. */
export type ReconcilerLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Properties of `RegistryReconciler`. */
export interface RegistryReconcilerProps {
  /**
   * ECS cluster name or ARN. A name is taken to be in the stack's account and Region.
   * @default 'mcp-gateway-ecs-cluster'
   */
  readonly cluster?: string;
  /**
   * Cloud Map namespace name.
   * @default 'mcp-gateway.local'
   */
  readonly namespace?: string;
  /**
   * The registry's own ECS service; a task of it reaching RUNNING re-applies every target.
   * @default 'mcp-gateway-registry'
   */
  readonly registryService?: string;
  /** The registry's base URL, through nginx (never port 7860): `https://registry.example.com`. */
  readonly registryUrl: string;
  /** How to authenticate to the registry. */
  readonly auth: RegistryAuthProps;
  /**
   * The entries to keep pointed at live tasks.
   * @default DEFAULT_TARGETS (the five entries of the v1.0.16 stack)
   */
  readonly targets?: readonly ReconcilerTarget[];
  /**
   * Decide and report, never write.
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * Deadline for each registry HTTP call.
   * @default Duration.seconds(5)
   */
  readonly registryTimeout?: Duration;
  /**
   * Attempts for each registry call on network errors and 5xx (1 = no retry).
   * @default 3
   */
  readonly registryMaxAttempts?: number;
  /**
   * Re-enable a server the registry disabled after our write. Overrides the registry's security scan.
   * @default false
   */
  readonly reenableAfterWrite?: boolean;
  /**
   * Extra looks at Cloud Map when a RUNNING task is not listed yet, and the pause between them.
   * @default { attempts: 2, delay: Duration.millis(1500) }
   */
  readonly lagRetry?: { readonly attempts?: number; readonly delay?: Duration };
  /**
   * How old a target's last full check (Cloud Map + ECS) may get before a resync asks Cloud Map
   * again; in between, a resync re-checks the pointed task with one batched DescribeTasks. Zero
   * asks Cloud Map on every resync.
   * @default Duration.minutes(30)
   */
  readonly resyncFullCheck?: Duration;
  /**
   * Run the function in the stack's VPC.
   * @default - outside any VPC (only for a registry with a public URL)
   */
  readonly network?: ReconcilerNetworkProps;
  /**
   * How often every target is reconciled whatever the events (whole minutes, 1–60).
   * @default Duration.minutes(5)
   */
  readonly resyncInterval?: Duration;
  /**
   * Function timeout (10–300 s). The queue's visibility timeout is three times this.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Function memory in MB (128–3008).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Retention of the function's log group (decision records).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Level of the function's own logs (`POWERTOOLS_LOG_LEVEL`).
   * @default 'INFO'
   */
  readonly logLevel?: ReconcilerLogLevel;
  /**
   * `POWERTOOLS_SERVICE_NAME`, and so the `service` dimension of every metric the alarms read.
   * @default DEFAULT_SERVICE_NAME ('registry-reconciler')
   */
  readonly serviceName?: string;
  /**
   * Alarm thresholds.
   * @default - the defaults of each field
   */
  readonly alarms?: ReconcilerAlarmProps;
  /**
   * Topic the alarms notify (on ALARM and on OK).
   * @default - a new topic when `alarmEmail` is set, otherwise none
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * E-mail address subscribed to a new alarm topic (confirm the subscription mail). Not with `alarmTopic`.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * The handler's source file.
   * @default functions/reconciler/handler.ts
   */
  readonly entry?: string;
}

/** The alarms the construct creates, by name. */
export interface ReconcilerAlarms {
  readonly functionErrors: cloudwatch.Alarm;
  readonly reconcileErrors: cloudwatch.Alarm;
  readonly throttles: cloudwatch.Alarm;
  readonly queueDeadLetters: cloudwatch.Alarm;
  readonly deliveryDeadLetters: cloudwatch.Alarm;
  readonly oldestMessageAge: cloudwatch.Alarm;
  readonly noLiveInstance: cloudwatch.Alarm;
  readonly serverDisabledAfterWrite: cloudwatch.Alarm;
}

// Sizing (README, "Sizing"). A batch holds at most 10 events and they coalesce to at most one
// reconcile per target: ~0.2 s for a no-op, ~2-3 s for a write with its read-back, +3 s when
// Cloud Map lags. 30 s covers five writes plus a lag retry with room to spare.
const DEFAULT_TIMEOUT = Duration.seconds(DEPLOYED.functionTimeoutSeconds);
const VISIBILITY_FACTOR = DEPLOYED.visibilityFactor;
const DEFAULT_MEMORY_MB = 256;
const MAX_RECEIVE_COUNT = DEPLOYED.maxReceiveCount;
const BATCH_SIZE = DEPLOYED.batchSize;
/** EventBridge → SQS delivery retries: an event older than an hour says nothing the resync has not. */
const EVENT_MAX_AGE = Duration.hours(1);
const EVENT_RETRY_ATTEMPTS = 185;
const DLQ_RETENTION = Duration.days(14);
const DEFAULT_RESYNC = Duration.minutes(DEPLOYED.resyncMinutes);
const ALARM_PERIOD = Duration.minutes(5);
/** Lambda environment variables may total 4 KB; keep the configuration well under it. */
const MAX_CONFIG_BYTES = 3_072;

const DEFAULT_HANDLER = path.join(__dirname, '..', 'functions', 'reconciler', 'handler.ts');

/** The props are invalid; `problems` has one line per problem, each naming its prop. Thrown at synth. */
export class InvalidReconcilerPropsError extends Error {
  constructor(
    readonly constructPath: string,
    readonly problems: readonly string[],
  ) {
    super(`RegistryReconciler ${constructPath}: invalid props:\n- ${problems.join('\n- ')}`);
    this.name = 'InvalidReconcilerPropsError';
  }
}

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

    // ---- Validate everything first: one error listing every problem. ----
    const problems = validateProps(props, stack);
    const configInput = buildConfigInput(props);
    let config: ReconcilerConfig | undefined;
    try {
      config = parseConfig(configInput, 'reconciler configuration');
    } catch (error) {
      problems.push((error as Error).message);
    }
    const configJson = JSON.stringify(configInput);
    if (Buffer.byteLength(configJson) > MAX_CONFIG_BYTES) {
      problems.push(
        `the configuration is ${Buffer.byteLength(configJson)} bytes; Lambda's environment holds 4 KB in all, keep it under ${MAX_CONFIG_BYTES}`,
      );
    }
    if (problems.length > 0 || config === undefined) {
      throw new InvalidReconcilerPropsError(this.node.path, problems);
    }
    this.config = config;

    const serviceName = props.serviceName ?? DEFAULT_SERVICE_NAME;
    const timeout = props.timeout ?? DEFAULT_TIMEOUT;
    const resyncInterval = props.resyncInterval ?? DEFAULT_RESYNC;
    const logLevel = props.logLevel ?? 'INFO';
    const clusterName = config.clusterName;
    const clusterRef = arnParts(config.cluster, stack, 'ecs');
    this.clusterArn = clusterRef.arn(`cluster/${clusterName}`);

    // ---- Queues ----
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      contentBasedDeduplication: true,
      retentionPeriod: DLQ_RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      // EventBridge cannot set a deduplication id; the body (the event, with its id) is the key.
      contentBasedDeduplication: true,
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * VISIBILITY_FACTOR),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    // EventBridge target DLQs must be standard queues.
    this.deliveryDeadLetterQueue = new sqs.Queue(this, 'DeliveryDeadLetterQueue', {
      retentionPeriod: DLQ_RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deliveryDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the EventBridge targets (a target DeadLetterConfig, which cdk-nag does not see as a redrive); a DLQ of a DLQ would only move the problem.',
    });

    // ---- Rules → the FIFO queue (one message group) ----
    const queueTarget = new eventTargets.SqsQueue(this.queue, {
      messageGroupId: MESSAGE_GROUP_ID,
      deadLetterQueue: this.deliveryDeadLetterQueue,
      maxEventAge: EVENT_MAX_AGE,
      retryAttempts: EVENT_RETRY_ATTEMPTS,
    });
    this.taskStateRule = new events.Rule(this, 'TaskStateRule', {
      description: `ECS task state changes of ${clusterName} to the registry reconciler queue`,
      eventPattern: taskStatePattern(this.clusterArn, config),
      targets: [queueTarget],
    });
    this.resyncRule = new events.Rule(this, 'ResyncRule', {
      description: `Periodic resync of every registry target (${resyncInterval.toHumanString()})`,
      schedule: events.Schedule.rate(resyncInterval),
      targets: [queueTarget],
    });

    // ---- Function ----
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    // Our own role: the default one brings AWSLambdaBasicExecutionRole (logs on every group in the account).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description:
        'Registry reconciler: reads ECS/Cloud Map, reads one secret, consumes its queue, writes its logs',
    });
    this.logGroup.grantWrite(this.role);

    const network = props.network === undefined ? undefined : this.importNetwork(props.network, props);
    this.securityGroup = network?.created;

    const environment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: logLevel,
      [CONFIG_ENV]: configJson,
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (props.auth.type === 'static') {
      // A CloudFormation dynamic reference: resolved at deploy time, never written into the template.
      environment[STATIC_TOKEN_ENV] = SecretValue.secretsManager(props.auth.tokenSecret, {
        ...(props.auth.tokenSecretJsonField === undefined
          ? {}
          : { jsonField: props.auth.tokenSecretJsonField }),
      }).unsafeUnwrap();
    }

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry ?? DEFAULT_HANDLER,
      handler: 'handler',
      description: `Keeps MCP Gateway Registry entries pointed at live ECS tasks (${clusterName}, ${config.namespace})`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // Lambda files EMF metric lines (which carry no level) as INFO: a stricter filter would drop
      // every metric, so Lambda never filters above INFO and Powertools applies WARN/ERROR itself.
      applicationLogLevelV2:
        logLevel === 'DEBUG' ? lambda.ApplicationLogLevel.DEBUG : lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      environment,
      ...(network === undefined
        ? {}
        : {
            vpc: network.vpc,
            vpcSubnets: { subnets: network.subnets },
            securityGroups: network.securityGroups,
          }),
      // The very options `npm run build`, the benchmarks and the integration tier bundle with
      // (tools/build.ts), so the bundle that is measured and tested is the one deployed.
      bundling: {
        ...CDK_BUNDLING,
        format: nodejs.OutputFormat.ESM,
        sourceMapMode: nodejs.SourceMapMode.DEFAULT,
        // The metafile is for the size report; it has no place in the deployed zip.
        metafile: false,
        mainFields: [...CDK_BUNDLING.mainFields],
        externalModules: [...CDK_BUNDLING.externalModules],
      },
    });
    this.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: BATCH_SIZE, reportBatchItemFailures: true }),
    );
    this.grantReads(props, config, clusterRef, clusterName);

    // ---- Alarms and dashboard ----
    this.topic =
      props.alarmTopic ?? (props.alarmEmail === undefined ? undefined : this.createTopic(props.alarmEmail));
    this.alarms = this.createAlarms(props.alarms ?? {}, serviceName, resyncInterval);
    if (this.topic !== undefined) {
      const action = new cloudwatchActions.SnsAction(this.topic);
      for (const alarm of Object.values(this.alarms) as cloudwatch.Alarm[]) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
    this.dashboard = this.createDashboard(serviceName, clusterName, config.namespace);
  }

  /** Builds a metric the function publishes (namespace and `service` dimension as Powertools sets them). */
  private customMetric(serviceName: string, metricName: string, statistic: string, period: Duration) {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: serviceName },
      statistic,
      period,
    });
  }

  private importNetwork(network: ReconcilerNetworkProps, props: RegistryReconcilerProps) {
    // Attribute imports, not fromLookup: synth must work without credentials. The VPC's AZs are
    // never read (the subnets are passed explicitly), but the import needs a non-empty list.
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: network.vpcId,
      availabilityZones: Fn.getAzs(),
    });
    const subnets = network.subnetIds.map((subnetId, i) =>
      ec2.Subnet.fromSubnetId(this, `Subnet${i}`, subnetId),
    );
    Validations.of(vpc).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      reason: 'Nothing selects subnets from this VPC: the function is given its subnets by id.',
    });
    for (const subnet of subnets) {
      Validations.of(subnet).acknowledge({
        id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason:
          "Only the subnet id is used (the function's VPC configuration); its route table is never read.",
      });
    }
    // Lambda creates the function's network interfaces with the function's own role.
    this.role.addManagedPolicy(
      iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'),
    );
    if (network.securityGroupIds !== undefined && network.securityGroupIds.length > 0) {
      const securityGroups = network.securityGroupIds.map((sg, i) =>
        ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, sg, { mutable: false }),
      );
      return { vpc, subnets, securityGroups, created: undefined };
    }
    const created = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Registry reconciler function: outbound HTTPS to AWS APIs, the registry and Keycloak',
      allowAllOutbound: false,
    });
    for (const port of egressPorts(props)) {
      created.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), `HTTP(S) on ${port}`);
    }
    return { vpc, subnets, securityGroups: [created], created };
  }

  private grantReads(
    props: RegistryReconcilerProps,
    config: ReconcilerConfig,
    clusterRef: ArnParts,
    clusterName: string,
  ): void {
    const stack = Stack.of(this);
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
            'servicediscovery:ServiceName': cloudMapServices,
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
    if (props.auth.type === 'keycloak') {
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadM2MClientSecret',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [secretResource(props.auth.secretArn)],
        }),
      );
      if (props.auth.secretKmsKeyArn !== undefined) {
        const region = props.auth.secretArn.split(':')[3] ?? stack.region;
        statements.push(
          new iam.PolicyStatement({
            sid: 'DecryptM2MClientSecret',
            actions: ['kms:Decrypt'],
            resources: [props.auth.secretKmsKeyArn],
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
          }),
        );
      }
    }
    for (const statement of statements) this.role.addToPrincipalPolicy(statement);

    Validations.of(this.role).acknowledge(
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
    if (props.auth.type === 'keycloak' && secretResource(props.auth.secretArn).endsWith('-??????')) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${secretResource(props.auth.secretArn)}]`,
        reason:
          'A partial secret ARN: `-??????` matches only the random suffix Secrets Manager adds to this one secret.',
      });
    }
    if (props.network !== undefined) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason:
          'The AWS-maintained minimum for a function in a VPC (ENI create/describe/delete); its ec2:Describe* actions support no resource-level permissions.',
      });
    }
  }

  private createTopic(email: string): sns.Topic {
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Registry reconciler alarms',
      enforceSSL: true,
    });
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }

  private createAlarms(
    thresholds: ReconcilerAlarmProps,
    serviceName: string,
    resync: Duration,
  ): ReconcilerAlarms {
    const prefix = `${Stack.of(this).stackName}-${this.node.id}`;
    const notBreaching = cloudwatch.TreatMissingData.NOT_BREACHING;
    const atLeast = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    const alarm = (
      id: string,
      props: Omit<cloudwatch.AlarmProps, 'treatMissingData' | 'comparisonOperator'>,
    ) =>
      new cloudwatch.Alarm(this, id, {
        treatMissingData: notBreaching,
        comparisonOperator: atLeast,
        ...props,
        alarmName: `${prefix}-${props.alarmName}`,
      });

    // A target without an instance is counted once per reconcile; the resync reconciles every target
    // once per interval, so a period shorter than the interval would have gaps and never alarm.
    const noLivePeriod = Duration.seconds(Math.max(ALARM_PERIOD.toSeconds(), resync.toSeconds()));
    const noLiveFor = thresholds.noLiveInstanceFor ?? Duration.minutes(15);
    const noLivePeriods = Math.max(1, Math.ceil(noLiveFor.toSeconds() / noLivePeriod.toSeconds()));
    const oldestAge = thresholds.oldestMessageAge ?? Duration.minutes(15);

    return {
      functionErrors: alarm('FunctionErrorsAlarm', {
        alarmName: 'function-errors',
        alarmDescription:
          'Invocations failed as a whole (crash, timeout, bad configuration): their messages return to the queue and block it. See the function log.',
        metric: this.function.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }),
        threshold: thresholds.functionErrors ?? 1,
        evaluationPeriods: 1,
      }),
      reconcileErrors: alarm('ReconcileErrorsAlarm', {
        alarmName: 'reconcile-errors',
        alarmDescription:
          'Reconciles keep failing (registry, Keycloak, ECS or Cloud Map unreachable or refusing). Query the decision records with action "error".',
        metric: this.customMetric(serviceName, MetricName.Errors, 'Sum', Duration.minutes(15)),
        threshold: thresholds.reconcileErrors ?? 5,
        evaluationPeriods: 1,
      }),
      throttles: alarm('ThrottlesAlarm', {
        alarmName: 'throttles',
        alarmDescription:
          'The function is being throttled (account concurrency exhausted): events wait in the queue and may reach the DLQ.',
        metric: this.function.metricThrottles({ period: ALARM_PERIOD, statistic: 'Sum' }),
        threshold: thresholds.throttles ?? 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      }),
      queueDeadLetters: alarm('QueueDeadLettersAlarm', {
        alarmName: 'queue-dlq-not-empty',
        alarmDescription: `Messages the function failed ${MAX_RECEIVE_COUNT} times are in the FIFO DLQ. Fix the cause, then redrive or purge it.`,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: ALARM_PERIOD,
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
      }),
      deliveryDeadLetters: alarm('DeliveryDeadLettersAlarm', {
        alarmName: 'delivery-dlq-not-empty',
        alarmDescription:
          'EventBridge could not deliver events to the FIFO queue (queue policy, deleted queue, SQS outage). Read the error attributes of the messages.',
        metric: this.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: ALARM_PERIOD,
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
      }),
      oldestMessageAge: alarm('OldestMessageAgeAlarm', {
        alarmName: 'queue-stuck',
        alarmDescription:
          'The oldest message in the FIFO queue is too old: the single message group is blocked by a failing message or the function is not consuming.',
        metric: this.queue.metricApproximateAgeOfOldestMessage({
          period: ALARM_PERIOD,
          statistic: 'Maximum',
        }),
        threshold: oldestAge.toSeconds(),
        evaluationPeriods: 1,
      }),
      noLiveInstance: alarm('NoLiveInstanceAlarm', {
        alarmName: 'no-live-instance',
        alarmDescription: `Some target has had no live Cloud Map instance for ${noLiveFor.toHumanString()}: its entry keeps a stale address. Check the ECS service's running tasks.`,
        metric: this.customMetric(serviceName, MetricName.NoLiveInstance, 'Sum', noLivePeriod),
        threshold: 1,
        evaluationPeriods: noLivePeriods,
        datapointsToAlarm: noLivePeriods,
      }),
      serverDisabledAfterWrite: alarm('ServerDisabledAfterWriteAlarm', {
        alarmName: 'server-disabled-after-write',
        alarmDescription:
          'The registry disabled a server right after the reconciler rewrote its address (security scan). Review the scan, then re-enable it in the registry.',
        metric: this.customMetric(serviceName, MetricName.ServerDisabledAfterWrite, 'Sum', ALARM_PERIOD),
        threshold: 1,
        evaluationPeriods: 1,
      }),
    };
  }

  private createDashboard(serviceName: string, clusterName: string, namespace: string): cloudwatch.Dashboard {
    const sum = (name: string, label: string) =>
      this.customMetric(serviceName, name, 'Sum', ALARM_PERIOD).with({ label });
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
    const dlqDepth = (queue: sqs.IQueue, label: string) =>
      queue.metricApproximateNumberOfMessagesVisible({ period: ALARM_PERIOD, statistic: 'Maximum', label });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Registry reconciler\nCluster \`${clusterName}\`, namespace \`${namespace}\`, metrics \`${METRICS_NAMESPACE}\` / service \`${serviceName}\`. One FIFO message group: one batch at a time.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      graph('Events received', [
        sum(MetricName.EventsReceived, 'received'),
        sum(MetricName.EventsIgnored, 'ignored'),
        sum(MetricName.EventsMalformed, 'malformed'),
      ]),
      graph('Decisions by action', [
        sum(MetricName.DecisionNoop, 'noop'),
        sum(MetricName.DecisionUpdate, 'update'),
        sum(MetricName.DecisionDefer, 'defer'),
        sum(MetricName.DecisionSkip, 'skip'),
        sum(MetricName.DecisionError, 'error'),
      ]),
      graph('Errors', [
        sum(MetricName.Errors, 'reconcile errors'),
        this.function.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum', label: 'failed invocations' }),
      ]),
    );
    dashboard.addWidgets(
      graph('Reconcile duration (ms)', [
        this.customMetric(serviceName, MetricName.ReconcileDuration, 'Average', ALARM_PERIOD).with({
          label: 'avg',
        }),
        this.customMetric(serviceName, MetricName.ReconcileDuration, 'p99', ALARM_PERIOD).with({
          label: 'p99',
        }),
        this.customMetric(serviceName, MetricName.ReconcileDuration, 'Maximum', ALARM_PERIOD).with({
          label: 'max',
        }),
      ]),
      graph('Needs attention', [
        sum(MetricName.DecisionDefer, 'deferred'),
        sum(MetricName.NoLiveInstance, 'no live instance'),
        sum(MetricName.ForeignEntry, 'foreign entry'),
        sum(MetricName.ServerDisabledAfterWrite, 'server disabled after write'),
      ]),
      graph('Dead-letter queues (messages)', [
        dlqDepth(this.deadLetterQueue, 'FIFO DLQ (failed processing)'),
        dlqDepth(this.deliveryDeadLetterQueue, 'delivery DLQ (EventBridge)'),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Queue backlog',
        [
          this.queue.metricApproximateNumberOfMessagesVisible({ period: ALARM_PERIOD, label: 'waiting' }),
          this.queue.metricApproximateNumberOfMessagesNotVisible({
            period: ALARM_PERIOD,
            label: 'in flight',
          }),
        ],
        [this.queue.metricApproximateAgeOfOldestMessage({ period: ALARM_PERIOD, label: 'oldest age (s)' })],
      ),
      graph(
        'Function',
        [
          this.function.metricInvocations({ period: ALARM_PERIOD, label: 'invocations' }),
          this.function.metricErrors({ period: ALARM_PERIOD, label: 'errors' }),
          this.function.metricThrottles({ period: ALARM_PERIOD, label: 'throttles' }),
        ],
        [
          this.function.metricDuration({
            period: ALARM_PERIOD,
            statistic: 'Maximum',
            label: 'max duration (ms)',
          }),
        ],
      ),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: Object.values(this.alarms) as cloudwatch.IAlarm[],
        width: 8,
        height: 6,
      }),
    );
    return dashboard;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers (pure, exported for tests)
// ---------------------------------------------------------------------------------------------

/**
 * The configuration object the function reads from `RECONCILER_CONFIG`, built from the props with
 * the construct's defaults. Only what is set is written: the function fills in its own defaults.
 */
export function buildConfigInput(props: RegistryReconcilerProps): Record<string, unknown> {
  const auth =
    props.auth.type === 'keycloak'
      ? { type: 'keycloak', tokenUrl: props.auth.tokenUrl, secretArn: props.auth.secretArn }
      : { type: 'static', tokenEnv: STATIC_TOKEN_ENV };
  const registry: Record<string, unknown> = { url: props.registryUrl, auth };
  if (props.registryTimeout !== undefined) registry.timeoutMs = props.registryTimeout.toMilliseconds();
  if (props.registryMaxAttempts !== undefined) registry.maxAttempts = props.registryMaxAttempts;
  if (props.reenableAfterWrite !== undefined) registry.reenableAfterWrite = props.reenableAfterWrite;

  const config: Record<string, unknown> = {
    cluster: props.cluster ?? DEFAULT_CLUSTER,
    namespace: props.namespace ?? DEFAULT_NAMESPACE,
    registryService: props.registryService ?? DEFAULT_REGISTRY_SERVICE,
    registry,
    targets: (props.targets ?? DEFAULT_TARGETS).map((t) => ({ ...t })),
    dryRun: props.dryRun ?? false,
  };
  if (props.lagRetry !== undefined) {
    const lagRetry: Record<string, number> = {};
    if (props.lagRetry.attempts !== undefined) lagRetry.attempts = props.lagRetry.attempts;
    if (props.lagRetry.delay !== undefined) lagRetry.delayMs = props.lagRetry.delay.toMilliseconds();
    config.lagRetry = lagRetry;
  }
  if (props.resyncFullCheck !== undefined) config.resyncFullCheckMinutes = props.resyncFullCheck.toMinutes();
  return config;
}

/**
 * The rule's event pattern: task state changes of one cluster, from RUNNING on. When every target
 * names its ECS service, only those services and the registry's own are forwarded; otherwise every
 * service task (`group` = `service:…`), since the function finds the services itself. Standalone
 * tasks (`family:…`) never back a registry entry.
 */
export function taskStatePattern(clusterArn: string, config: ReconcilerConfig): events.EventPattern {
  const named = config.targets.map((t) => t.ecsService);
  const allNamed = named.every((s): s is string => s !== undefined);
  const services = [
    ...new Set([...(allNamed ? named : []), ...(config.registryService ? [config.registryService] : [])]),
  ];
  return {
    source: ['aws.ecs'],
    detailType: ['ECS Task State Change'],
    detail: {
      clusterArn: [clusterArn],
      lastStatus: [...TASK_STATUSES],
      group: allNamed ? services.map((s) => `service:${s}`) : [{ prefix: 'service:' }],
    },
  };
}

/** What IAM should name for a secret ARN: the ARN itself when complete, `<arn>-??????` when partial. */
export function secretResource(secretArn: string): string {
  const name = secretArn.split(':secret:')[1] ?? '';
  // A complete ARN ends in `-` + 6 random characters. A partial ARN whose name happens to end that
  // way is indistinguishable, but Secrets Manager mistakes it for a complete one too (see KeycloakAuthProps).
  return /-[A-Za-z0-9]{6}$/.test(name) ? secretArn : `${secretArn}-??????`;
}

/** An account/Region context for ARNs: the given ARN's when the resource was given by ARN, else the stack's. */
interface ArnParts {
  arn(resource: string): string;
  /** The same ARN as cdk-nag prints it (pseudo parameters as `<AWS::Region>`). */
  nagArn(resource: string): string;
}

function arnParts(nameOrArn: string, stack: Stack, service: string): ArnParts {
  const [, partition, , region, account] = nameOrArn.startsWith('arn:') ? nameOrArn.split(':') : [];
  if (partition !== undefined && region !== undefined && account !== undefined) {
    const arn = (resource: string) => `arn:${partition}:${service}:${region}:${account}:${resource}`;
    return { arn, nagArn: arn };
  }
  return {
    arn: (resource) => `arn:${stack.partition}:${service}:${stack.region}:${stack.account}:${resource}`,
    nagArn: (resource) =>
      `arn:${Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition}:${service}:${
        Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region
      }:${Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account}:${resource}`,
  };
}

/** Outbound TCP ports the created security group opens: 443 (AWS APIs) and those of the registry and Keycloak. */
export function egressPorts(props: Pick<RegistryReconcilerProps, 'registryUrl' | 'auth'>): number[] {
  const urls = [props.registryUrl, ...(props.auth.type === 'keycloak' ? [props.auth.tokenUrl] : [])];
  const ports = new Set<number>([443]);
  for (const url of urls) {
    try {
      const u = new URL(url);
      ports.add(u.port !== '' ? Number(u.port) : u.protocol === 'http:' ? 80 : 443);
    } catch {
      // reported by validation
    }
  }
  return [...ports].sort((a, b) => a - b);
}

const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SG_ID = /^sg-[0-9a-f]{8,17}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * Checks the props the configuration parser does not see (and a few it does, with a clearer
 * message). Returns one line per problem.
 */
export function validateProps(props: RegistryReconcilerProps, stack: Stack): string[] {
  const problems: string[] = [];
  const concrete = (name: string, value: string | undefined) => {
    if (value !== undefined && Token.isUnresolved(value)) {
      problems.push(
        `${name}: must be a literal value, not a token: it is validated and written into the configuration at synth time`,
      );
    }
  };
  concrete('cluster', props.cluster);
  concrete('namespace', props.namespace);
  concrete('registryService', props.registryService);
  concrete('registryUrl', props.registryUrl);
  if (props.auth.type === 'keycloak') {
    concrete('auth.tokenUrl', props.auth.tokenUrl);
    concrete('auth.secretArn', props.auth.secretArn);
    const name = props.auth.secretArn.split(':secret:')[1] ?? '';
    if (/-m2m-client-secret$/.test(name)) {
      problems.push(
        `auth.secretArn: "${name}" is the secret's name without its random suffix. Its name ends in "-secret" (a hyphen and six characters), which Secrets Manager takes for the suffix, so this partial ARN finds nothing: pass the complete ARN (aws secretsmanager describe-secret --secret-id ${name} --query ARN)`,
      );
    }
    if (
      props.auth.secretKmsKeyArn !== undefined &&
      !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/.test(props.auth.secretKmsKeyArn)
    ) {
      problems.push('auth.secretKmsKeyArn: must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)');
    }
  } else if (props.auth.type === 'static') {
    if (props.auth.tokenSecret.trim() === '') problems.push('auth.tokenSecret: must name a secret');
  } else {
    problems.push(`auth.type: must be "keycloak" or "static"`);
  }

  // The rule only sees events of its own account and Region: a cluster elsewhere would stay silent.
  const clusterArn = props.cluster?.startsWith('arn:') ? props.cluster.split(':') : undefined;
  if (clusterArn !== undefined) {
    const [, , , region, account] = clusterArn;
    if (!Token.isUnresolved(stack.region) && region !== stack.region) {
      problems.push(
        `cluster: is in ${region}, the stack deploys to ${stack.region}; ECS events stay in their Region`,
      );
    }
    if (!Token.isUnresolved(stack.account) && account !== stack.account) {
      problems.push(`cluster: is in account ${account}, the stack deploys to ${stack.account}`);
    }
  }

  const resync = props.resyncInterval;
  if (resync !== undefined) {
    const minutes = resync.toSeconds() / 60;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) {
      problems.push(`resyncInterval: must be whole minutes between 1 and 60 (got ${resync.toHumanString()})`);
    }
  }
  if (props.timeout !== undefined) {
    const s = props.timeout.toSeconds();
    if (!Number.isInteger(s) || s < 10 || s > 300) {
      problems.push(
        `timeout: must be whole seconds between 10 and 300 (got ${props.timeout.toHumanString()})`,
      );
    }
  }
  if (
    props.memorySize !== undefined &&
    (!Number.isInteger(props.memorySize) || props.memorySize < 128 || props.memorySize > 3008)
  ) {
    problems.push(`memorySize: must be an integer between 128 and 3008 MB (got ${props.memorySize})`);
  }
  if (props.registryTimeout !== undefined && !Number.isInteger(props.registryTimeout.toMilliseconds())) {
    problems.push('registryTimeout: must be whole milliseconds');
  }

  const network = props.network;
  if (network !== undefined) {
    if (!VPC_ID.test(network.vpcId))
      problems.push(`network.vpcId: "${network.vpcId}" is not a VPC id (vpc-…)`);
    if (network.subnetIds.length === 0) problems.push('network.subnetIds: name at least one subnet');
    for (const [i, s] of network.subnetIds.entries()) {
      if (!SUBNET_ID.test(s)) problems.push(`network.subnetIds.${i}: "${s}" is not a subnet id (subnet-…)`);
    }
    for (const [i, s] of (network.securityGroupIds ?? []).entries()) {
      if (!SG_ID.test(s))
        problems.push(`network.securityGroupIds.${i}: "${s}" is not a security group id (sg-…)`);
    }
  }

  if (props.alarmTopic !== undefined && props.alarmEmail !== undefined) {
    problems.push(
      'alarmTopic and alarmEmail: give one or the other (subscribe the address to your topic yourself)',
    );
  }
  if (props.alarmEmail !== undefined && !EMAIL.test(props.alarmEmail)) {
    problems.push(`alarmEmail: "${props.alarmEmail}" is not an e-mail address`);
  }
  const alarms = props.alarms ?? {};
  for (const key of ['functionErrors', 'reconcileErrors', 'throttles'] as const) {
    const v = alarms[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      problems.push(`alarms.${key}: must be a whole number ≥ 1`);
  }
  for (const key of ['noLiveInstanceFor', 'oldestMessageAge'] as const) {
    const v = alarms[key];
    if (v !== undefined && (v.toSeconds() < 60 || v.toSeconds() > 86_400)) {
      problems.push(`alarms.${key}: must be between 1 minute and 1 day`);
    }
  }
  if (props.serviceName !== undefined && !/^[A-Za-z0-9_.-]{1,255}$/.test(props.serviceName)) {
    problems.push('serviceName: letters, digits, "_", "." and "-" only');
  }
  return problems;
}
