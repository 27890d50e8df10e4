/**
 * The deployment parameters: a JSON file (`-c params=infra/params.json`) naming the existing MCP
 * Gateway stack's resources, with a few keys overridable one by one from CDK context
 * (`-c registryUrl=https://…`). The file's shape is checked here; what the values mean is checked by
 * `RegistryReconciler` itself, so a construct user and a params-file user get the same errors.
 */
import { readFileSync } from 'node:fs';
import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as z from 'zod/mini';
import { formatIssues } from '../functions/reconciler/validation';
import type { RegistryReconcilerProps } from './registry-reconciler';

const str = z.string().check(z.minLength(1));
const posInt = z.int().check(z.minimum(1));

const paramsSchema = z.strictObject({
  /** Free text for the file's readers; ignored. */
  $comment: z.optional(z.union([z.string(), z.array(z.string())])),
  /** CloudFormation stack name. */
  stackName: z.optional(z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a stack name'))),
  cluster: z.optional(str),
  namespace: z.optional(str),
  registryService: z.optional(str),
  registryUrl: str,
  auth: z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('keycloak'),
      tokenUrl: str,
      secretArn: str,
      secretKmsKeyArn: z.optional(str),
    }),
    z.strictObject({ type: z.literal('static'), tokenSecret: str, tokenSecretJsonField: z.optional(str) }),
  ]),
  network: z.optional(
    z.strictObject({ vpcId: str, subnetIds: z.array(str), securityGroupIds: z.optional(z.array(str)) }),
  ),
  targets: z.optional(
    z.array(
      z.strictObject({
        kind: z.enum(['server', 'agent']),
        path: str,
        cloudMapService: str,
        ecsService: z.optional(str),
        port: z.optional(z.enum(['url', 'instance'])),
      }),
    ),
  ),
  dryRun: z.optional(z.boolean()),
  registryTimeoutMs: z.optional(posInt),
  registryMaxAttempts: z.optional(posInt),
  reenableAfterWrite: z.optional(z.boolean()),
  lagRetry: z.optional(
    z.strictObject({
      attempts: z.optional(z.int().check(z.minimum(0))),
      delayMs: z.optional(z.int().check(z.minimum(0))),
    }),
  ),
  resyncMinutes: z.optional(posInt),
  resyncFullCheckMinutes: z.optional(z.int().check(z.minimum(0))),
  timeoutSeconds: z.optional(posInt),
  memorySize: z.optional(posInt),
  logRetentionDays: z.optional(posInt),
  logLevel: z.optional(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR'])),
  serviceName: z.optional(str),
  alarmEmail: z.optional(str),
  alarms: z.optional(
    z.strictObject({
      functionErrors: z.optional(posInt),
      reconcileErrors: z.optional(posInt),
      throttles: z.optional(posInt),
      noLiveInstanceMinutes: z.optional(posInt),
      oldestMessageAgeMinutes: z.optional(posInt),
    }),
  ),
  /** Tags for every resource of the stack. */
  tags: z.optional(z.record(z.string(), z.string())),
});

/** The parameters file, as written. */
export type ReconcilerParams = z.output<typeof paramsSchema>;

/** Keys that `-c key=value` may set or override (CDK context values from the command line are strings). */
export const CONTEXT_OVERRIDES = [
  'stackName',
  'cluster',
  'namespace',
  'registryService',
  'registryUrl',
  'alarmEmail',
  'logLevel',
  'dryRun',
] as const;

/** The default stack name. */
export const DEFAULT_STACK_NAME = 'McpGatewayRegistryReconciler';

/**
 * Reads the parameters: the JSON file, then the context overrides. Throws one error naming every
 * bad field and the file.
 */
export function loadParams(
  file: string,
  context: (key: string) => unknown = () => undefined,
): ReconcilerParams {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new Error(`cannot read parameters file ${file}: ${(cause as Error).message}`, { cause });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`parameters file ${file}: must hold a JSON object`);
  }
  const merged: Record<string, unknown> = { ...raw };
  for (const key of CONTEXT_OVERRIDES) {
    const value = context(key);
    if (value === undefined) continue;
    merged[key] = key === 'dryRun' ? parseBoolean(value) : value;
  }
  const result = paramsSchema.safeParse(merged);
  if (!result.success) throw new Error(`invalid parameters (${file}): ${formatIssues(result.error)}`);
  return result.data;
}

function parseBoolean(value: unknown): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

const RETENTION_DAYS = new Set<number>(
  Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number'),
);

/** `f(value)`, or undefined when there is no value (optional props take undefined as "use the default"). */
function map<T, R>(value: T | undefined, f: (v: T) => R): R | undefined {
  return value === undefined ? undefined : f(value);
}

/** Maps the parameters to the construct's props (durations and enums in CDK's types). */
export function toReconcilerProps(params: ReconcilerParams): RegistryReconcilerProps {
  const { logRetentionDays, alarms, lagRetry } = params;
  if (logRetentionDays !== undefined && !RETENTION_DAYS.has(logRetentionDays)) {
    throw new Error(
      `invalid parameters: logRetentionDays: ${logRetentionDays} is not a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, …)`,
    );
  }
  return {
    cluster: params.cluster,
    namespace: params.namespace,
    registryService: params.registryService,
    registryUrl: params.registryUrl,
    auth: params.auth,
    network: params.network,
    targets: params.targets,
    dryRun: params.dryRun,
    registryTimeout: map(params.registryTimeoutMs, Duration.millis),
    registryMaxAttempts: params.registryMaxAttempts,
    reenableAfterWrite: params.reenableAfterWrite,
    lagRetry: map(lagRetry, (l) => ({ attempts: l.attempts, delay: map(l.delayMs, Duration.millis) })),
    resyncInterval: map(params.resyncMinutes, Duration.minutes),
    resyncFullCheck: map(params.resyncFullCheckMinutes, Duration.minutes),
    timeout: map(params.timeoutSeconds, Duration.seconds),
    memorySize: params.memorySize,
    logRetention: map(logRetentionDays, (d) => d as logs.RetentionDays),
    logLevel: params.logLevel,
    serviceName: params.serviceName,
    alarmEmail: params.alarmEmail,
    alarms: map(alarms, (a) => ({
      functionErrors: a.functionErrors,
      reconcileErrors: a.reconcileErrors,
      throttles: a.throttles,
      noLiveInstanceFor: map(a.noLiveInstanceMinutes, Duration.minutes),
      oldestMessageAge: map(a.oldestMessageAgeMinutes, Duration.minutes),
    })),
  };
}
