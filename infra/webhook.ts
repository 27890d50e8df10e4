/**
 * The optional receiver of the registry's registration webhook (functions/webhook), off by default
 * (`webhook.enabled`). When on, the construct adds, and changes nothing it already had:
 * - the signing secret in Secrets Manager, generated (64 letters and digits), for the registry's
 *   `REGISTRATION_WEBHOOK_SIGNING_SECRET`;
 * - the receiver function (Node.js 24, arm64, bundled as the other functions are), outside any VPC:
 *   it calls only SQS and Secrets Manager;
 * - a Lambda Function URL with auth NONE: the registry signs its POSTs with HMAC-SHA256 and cannot
 *   sign AWS SigV4, so the signature, checked on every request, is the authentication;
 * - its role: write its own log group, send to the work and trigger queues, read that one secret;
 * - its log group with the stack's retention, and an alarm on its failed invocations.
 * Every id starts with `Webhook`, so the resources of a deployment without it keep their ids.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { CONFIG_ENV } from '../functions/lib/config/config';
import { WEBHOOK_SECRET_ARN_ENV } from '../functions/webhook/settings';
import { CDK_BUNDLING } from './bundling';
import type { ReconcilerQueues } from './delivery';
import { buildLogGroup } from './house-lambda';
import { buildRole, grantSend } from './permissions';
import { queueEnvironment } from './reconciler-function';
import { FIXED, type ReconcilerSettings } from './settings';

/** What the receiver is built from. */
export interface WebhookSpec {
  readonly settings: ReconcilerSettings;
  /** `RECONCILER_CONFIG`, as the other functions read it (the targets and follow mode). */
  readonly configJson: string;
  readonly queues: ReconcilerQueues;
  /** The topic the other alarms notify, when there is one. */
  readonly topic: sns.ITopic | undefined;
  /** The receiver's handler file (tests). */
  readonly entry?: string;
}

/** The receiver's resources. */
export interface ReconcilerWebhook {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** The signing secret: the registry's `REGISTRATION_WEBHOOK_SIGNING_SECRET`. */
  readonly secret: secretsmanager.Secret;
  /** The URL for the registry's `REGISTRATION_WEBHOOK_URL`. */
  readonly url: lambda.FunctionUrl;
  /** Failed invocations (the secret or a queue failed; the registry saw a 5xx). */
  readonly errorsAlarm: cloudwatch.Alarm;
}

/** The receiver, or undefined when `webhook.enabled` is false (then nothing is added). */
export function buildWebhook(scope: Construct, spec: WebhookSpec): ReconcilerWebhook | undefined {
  const { settings, queues } = spec;
  if (!settings.webhook.enabled) return undefined;
  const secret = new secretsmanager.Secret(scope, 'WebhookSecret', {
    description:
      "Signs the registry's registration webhook: set it as the registry's REGISTRATION_WEBHOOK_SIGNING_SECRET",
    generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
  });
  const logGroup = buildLogGroup(scope, 'WebhookLogGroup', settings.logRetentionDays);
  const role = buildRole(
    scope,
    'WebhookRole',
    logGroup,
    'Registry reconciler webhook receiver: reads its signing secret, sends to its work and trigger queues, writes its logs',
  );
  grantSend(role, 'SendWorkAndVerifications', [queues.workQueue, queues.triggerQueue]);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadWebhookSigningSecret',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secret.secretArn],
    }),
  );
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      "The registry reads the signing secret from its own REGISTRATION_WEBHOOK_SIGNING_SECRET and its rotation is a hard cutover (the registry's docs): rotated here alone, every delivery would be refused until the registry is redeployed. Rotate both together (docs/operate.md).",
  });

  const fn = new nodejs.NodejsFunction(scope, 'WebhookFunction', {
    entry: spec.entry ?? FIXED.webhookEntry,
    handler: 'handler',
    description: "Receives the registry's registration webhook: signed events become work for the reconciler",
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: FIXED.webhookMemoryMb,
    timeout: FIXED.webhookTimeout,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2:
      settings.logLevel === 'DEBUG' ? lambda.ApplicationLogLevel.DEBUG : lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: lambda.SystemLogLevel.INFO,
    environment: {
      POWERTOOLS_SERVICE_NAME: `${settings.serviceName}-webhook`,
      POWERTOOLS_LOG_LEVEL: settings.logLevel,
      [CONFIG_ENV]: spec.configJson,
      NODE_OPTIONS: '--enable-source-maps',
      [WEBHOOK_SECRET_ARN_ENV]: secret.secretArn,
      ...queueEnvironment(queues),
    },
    // The options every function of the construct is bundled with (infra/bundling.ts).
    bundling: {
      ...CDK_BUNDLING,
      format: nodejs.OutputFormat.ESM,
      sourceMapMode: nodejs.SourceMapMode.DEFAULT,
      metafile: false,
      mainFields: [...CDK_BUNDLING.mainFields],
      externalModules: [...CDK_BUNDLING.externalModules],
    },
  });
  const url = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

  const errorsAlarm = new cloudwatch.Alarm(scope, 'WebhookErrorsAlarm', {
    alarmName: `${Stack.of(scope).stackName}-${scope.node.id}-webhook-errors`,
    alarmDescription:
      "Webhook receiver invocations failed (the signing secret unreadable, a queue refusing, a bad configuration): the registry got a 5xx and does not retry; the resync still reaches its entries. See the receiver's log. Refused signatures (401) are not failures: see docs/operate.md.",
    metric: fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    threshold: settings.alarms.functionErrors,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (spec.topic !== undefined) {
    const action = new cloudwatchActions.SnsAction(spec.topic);
    errorsAlarm.addAlarmAction(action);
    errorsAlarm.addOkAction(action);
  }
  return { function: fn, role, logGroup, secret, url, errorsAlarm };
}
