/**
 * The reconciler function: its log group, its environment (the checked configuration, Powertools'
 * settings, the static token when there is one) and the bundling shared with `npm run build`.
 */
import { type Duration, SecretValue } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { CONFIG_ENV } from '../functions/reconciler/config';
import { METRICS_NAMESPACE } from '../functions/reconciler/telemetry';
import { CDK_BUNDLING } from './bundling';
import { DEFAULT_HANDLER, DEFAULT_LOG_RETENTION, DEFAULT_MEMORY_MB, STATIC_TOKEN_ENV } from './defaults';
import type { ReconcilerNetwork } from './network';
import type { ReconcilerLogLevel, RegistryReconcilerProps } from './props';

/** The function's log group (decision records). */
export function buildLogGroup(scope: Construct, retention: logs.RetentionDays | undefined): logs.LogGroup {
  return new logs.LogGroup(scope, 'LogGroup', { retention: retention ?? DEFAULT_LOG_RETENTION });
}

/** What the function is built from, defaults already applied where the construct needs them too. */
export interface FunctionSettings {
  readonly props: RegistryReconcilerProps;
  /** `RECONCILER_CONFIG`, checked by the function's parser. */
  readonly configJson: string;
  /** For the description. */
  readonly clusterName: string;
  readonly namespace: string;
  readonly serviceName: string;
  readonly logLevel: ReconcilerLogLevel;
  readonly timeout: Duration;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly network: ReconcilerNetwork | undefined;
}

/** The `NodejsFunction`, bundled locally with esbuild. */
export function buildFunction(scope: Construct, settings: FunctionSettings): nodejs.NodejsFunction {
  const { props, network, logLevel } = settings;
  return new nodejs.NodejsFunction(scope, 'Function', {
    entry: props.entry ?? DEFAULT_HANDLER,
    handler: 'handler',
    description: `Keeps MCP Gateway Registry entries pointed at live ECS tasks (${settings.clusterName}, ${settings.namespace})`,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
    timeout: settings.timeout,
    role: settings.role,
    logGroup: settings.logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    // Lambda files EMF metric lines (which carry no level) as INFO: a stricter filter would drop
    // every metric, so Lambda never filters above INFO and Powertools applies WARN/ERROR itself.
    applicationLogLevelV2:
      logLevel === 'DEBUG' ? lambda.ApplicationLogLevel.DEBUG : lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: lambda.SystemLogLevel.INFO,
    environment: functionEnvironment(settings),
    ...(network === undefined
      ? {}
      : {
          vpc: network.vpc,
          vpcSubnets: { subnets: network.subnets },
          securityGroups: network.securityGroups,
        }),
    // The very options `npm run build`, the benchmarks and the integration tier bundle with
    // (infra/bundling.ts), so the bundle that is measured and tested is the one deployed.
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
}

function functionEnvironment(settings: FunctionSettings): Record<string, string> {
  const { auth } = settings.props;
  const environment: Record<string, string> = {
    POWERTOOLS_SERVICE_NAME: settings.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: settings.logLevel,
    [CONFIG_ENV]: settings.configJson,
    NODE_OPTIONS: '--enable-source-maps',
  };
  if (auth.type === 'static') {
    // A CloudFormation dynamic reference: resolved at deploy time, never written into the template.
    environment[STATIC_TOKEN_ENV] = SecretValue.secretsManager(auth.tokenSecret, {
      ...(auth.tokenSecretJsonField === undefined ? {} : { jsonField: auth.tokenSecretJsonField }),
    }).unsafeUnwrap();
  }
  return environment;
}
