/**
 * What every function of the construct shares: Node.js 24 on arm64, JSON logs into its own log
 * group, the bundling `npm run build` uses (infra/bundling.ts), the Powertools settings, the
 * registry's static token when there is one, and the VPC placement.
 */
import { type Duration, SecretValue } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { CONFIG_ENV } from '../functions/lib/config/config';
import { METRICS_NAMESPACE } from '../functions/lib/telemetry/telemetry';
import { CDK_BUNDLING, followDefine } from './bundling';
import type { ReconcilerNetwork } from './network';
import type { ReconcilerLogLevel, RegistryReconcilerProps } from './props';
import type { ReconcilerSettings } from './settings';

/** A function's log group (its logs and, for the reconciler, the decision records). */
export function buildLogGroup(scope: Construct, id: string, retentionDays: number): logs.LogGroup {
  return new logs.LogGroup(scope, id, { retention: retentionDays as logs.RetentionDays });
}

/** What both functions are built from, defaults already applied where the construct needs them too. */
export interface HouseSettings {
  /** For the construct-only props (the handlers' files). */
  readonly props: RegistryReconcilerProps;
  readonly settings: ReconcilerSettings;
  /** `RECONCILER_CONFIG`, checked by the function's parser. */
  readonly configJson: string;
  readonly serviceName: string;
  readonly logLevel: ReconcilerLogLevel;
  readonly network: ReconcilerNetwork | undefined;
}

/** One function: its entry, what it is for, its sizing, role, logs and extra environment. */
export interface FunctionSpec {
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly environment: Record<string, string>;
}

/** A `NodejsFunction` with the house settings, bundled locally with esbuild. */
export function buildHouseFunction(
  scope: Construct,
  id: string,
  house: HouseSettings,
  spec: FunctionSpec,
): nodejs.NodejsFunction {
  const { network, logLevel } = house;
  return new nodejs.NodejsFunction(scope, id, {
    entry: spec.entry,
    handler: 'handler',
    description: spec.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: spec.memorySize,
    timeout: spec.timeout,
    role: spec.role,
    logGroup: spec.logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    // Lambda files EMF metric lines (which carry no level) as INFO: a stricter filter would drop
    // every metric, so Lambda never filters above INFO and Powertools applies WARN/ERROR itself.
    applicationLogLevelV2:
      logLevel === 'DEBUG' ? lambda.ApplicationLogLevel.DEBUG : lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: lambda.SystemLogLevel.INFO,
    environment: { ...houseEnvironment(house), ...spec.environment },
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
      // Follow mode (and the DynamoDB client) is in the bundle only when the configuration enables it.
      define: followDefine(house.settings.follow.enabled),
      mainFields: [...CDK_BUNDLING.mainFields],
      externalModules: [...CDK_BUNDLING.externalModules],
    },
  });
}

function houseEnvironment(house: HouseSettings): Record<string, string> {
  const { auth } = house.settings.registry;
  const environment: Record<string, string> = {
    POWERTOOLS_SERVICE_NAME: house.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: house.logLevel,
    [CONFIG_ENV]: house.configJson,
    NODE_OPTIONS: '--enable-source-maps',
  };
  if (auth.type === 'static' && auth.tokenSecret !== undefined) {
    // A CloudFormation dynamic reference: resolved at deploy time, never written into the template.
    environment[auth.tokenEnv] = SecretValue.secretsManager(auth.tokenSecret, {
      ...(auth.tokenSecretJsonField === undefined ? {} : { jsonField: auth.tokenSecretJsonField }),
    }).unsafeUnwrap();
  }
  return environment;
}
