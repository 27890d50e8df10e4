/**
 * What a `RegistryReconciler` can be told, in one place: every field with its `@default`. The
 * defaults themselves are in defaults.ts; each field's checks are in validation.ts.
 */

import type { Duration } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { FollowProps } from './ownership-table';

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
   * Failed invocations (crash, timeout, bad configuration) of either function within 5 minutes.
   * @default 1
   */
  readonly functionErrors?: number;
  /**
   * Reconcile failures (metric `Errors`) within 15 minutes.
   * @default 5
   */
  readonly reconcileErrors?: number;
  /**
   * Throttled invocations of both functions per 5 minutes, in 2 of 3 periods.
   * @default 1
   */
  readonly throttles?: number;
  /**
   * How long some target may have no live Cloud Map instance before the alarm fires.
   * @default Duration.minutes(15)
   */
  readonly noLiveInstanceFor?: Duration;
  /**
   * Age of the oldest message in the work queue: some entry's work has waited this long (its
   * retries, or no consumer). The trigger queue's alarm waits this plus the longest delay the
   * fan-out gives its own messages (15 min).
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
   * @default DEFAULT_TARGETS (the five entries of the v1.0.16 stack, defaults.ts)
   */
  readonly targets?: readonly ReconcilerTarget[];
  /**
   * Follow mode: adopt at run time every registry entry registered by a Cloud Map name of the
   * namespace. The construct then creates the ownership table (infra/ownership-table.ts).
   * @default off
   */
  readonly follow?: FollowProps;
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
   * The reconciler's timeout (10–300 s). The work queue's visibility timeout is six times this. The
   * reconciler starts an entry only when its worst case (56.4 s with the default registry limits)
   * fits in the time left, so synth refuses a timeout shorter than that (58 s by default).
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * Memory of both functions in MB (128–3008).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Retention of both functions' log groups (the reconciler's holds the decision records).
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
   * The reconciler handler's source file.
   * @default functions/reconciler/handler.ts
   */
  readonly entry?: string;
  /**
   * The fan-out handler's source file.
   * @default functions/fanout/handler.ts
   */
  readonly fanoutEntry?: string;
}
