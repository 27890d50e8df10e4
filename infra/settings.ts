/**
 * What a deployment can be told, in one schema: the reconciler's configuration document
 * (functions/lib/config/config.ts, `CONFIG_ENTRIES`, which both functions read) plus the keys only
 * a deployment has (network, sizing, logs, alarms). The construct's props are this document; the
 * parameters file is it plus `PARAMS_ENTRIES` (stack name, tags). No field has two names.
 *
 * To add a field: a configuration field goes into `CONFIG_ENTRIES` (it then reaches both functions
 * through `RECONCILER_CONFIG`), a deployment field into `DEPLOYMENT_ENTRIES` below (and is used
 * where the construct builds what it sizes), each with its default; its meaning goes into
 * config-docs.ts. `npm run docs:config` regenerates the table in docs/configuration.md; the tests
 * fail until the field has a description, the table is current, and the every-field parameters
 * file (test/infra/fixtures/every-field.json) sets it to a value other than its default.
 */
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as v from 'valibot';
import { CONFIG_ENTRIES, RETIRED_FIELDS, targetsOf } from '../functions/lib/config/config';
import { int, notArray, strictObject } from '../functions/lib/config/validation';
import { DELIVERY } from '../functions/lib/delivery/settings';
import { DEFAULT_SERVICE_NAME } from '../functions/lib/telemetry/telemetry';
import { ownershipInput } from './ownership-table';

const RETENTION_DAYS = new Set<number>(
  Object.values(logs.RetentionDays).filter((d): d is number => typeof d === 'number'),
);
const id = (pattern: RegExp, what: string) => v.pipe(v.string(), v.regex(pattern, `is not ${what}`));

/** Keys of a deployment that the functions never read (what each means: config-docs.ts). */
export const DEPLOYMENT_ENTRIES = {
  network: v.optional(
    strictObject({
      vpcId: id(/^vpc-[0-9a-f]{8,17}$/, 'a VPC id (vpc-…)'),
      subnetIds: v.pipe(
        v.array(id(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id (subnet-…)')),
        v.minLength(1, 'name at least one subnet'),
      ),
      securityGroupIds: v.optional(v.array(id(/^sg-[0-9a-f]{8,17}$/, 'a security group id (sg-…)'))),
    }),
  ),
  timeoutSeconds: v.optional(int(10, 300), DELIVERY.workerTimeoutSeconds),
  memorySize: v.optional(int(128, 3008), 256),
  logRetentionDays: v.optional(
    v.pipe(
      v.number(),
      v.check(
        (d) => RETENTION_DAYS.has(d),
        'must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, …)',
      ),
    ),
    30,
  ),
  logLevel: v.optional(v.picklist(['DEBUG', 'INFO', 'WARN', 'ERROR']), 'INFO'),
  serviceName: v.optional(
    id(/^[A-Za-z0-9_.-]{1,255}$/, 'a service name (letters, digits, "_", "." and "-" only)'),
    DEFAULT_SERVICE_NAME,
  ),
  alarmEmail: v.optional(id(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an e-mail address')),
  alarms: v.optional(
    strictObject({
      functionErrors: v.optional(int(1), 1),
      reconcileErrors: v.optional(int(1), 5),
      throttles: v.optional(int(1), 1),
      noLiveInstanceMinutes: v.optional(int(1, 1440), 15),
      oldestMessageAgeMinutes: v.optional(int(1, 1440), 15),
    }),
    {},
  ),
  /** The receiver of the registry's registration webhook (infra/webhook.ts): off unless enabled. */
  webhook: v.optional(strictObject({ enabled: v.optional(v.boolean(), false) }), {}),
} as const;

/** Keys of the parameters file only: the stack around the construct. */
export const PARAMS_ENTRIES = {
  $comment: v.optional(v.union([v.string(), v.array(v.string())])),
  stackName: v.optional(id(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a stack name'), 'McpGatewayRegistryReconciler'),
  tags: v.optional(notArray(v.record(v.string(), v.string()))),
} as const;

/** The construct's settings: the configuration document plus the deployment keys. */
export const settingsSchema = strictObject({ ...CONFIG_ENTRIES, ...DEPLOYMENT_ENTRIES });
/** The parameters file: the settings plus the stack's keys. */
export const paramsSchema = strictObject({ ...CONFIG_ENTRIES, ...DEPLOYMENT_ENTRIES, ...PARAMS_ENTRIES });

/** The settings as validated, every default filled in. */
export type ReconcilerSettings = v.InferOutput<typeof settingsSchema>;
/** The settings as written (defaults optional). */
export type SettingsInput = v.InferInput<typeof settingsSchema>;
/** The parameters file as written. */
export type ParamsInput = v.InferInput<typeof paramsSchema>;

/**
 * Names of earlier versions and what they are now, in the parameters file and the construct's
 * props (a prop that took a `Duration` is now a number in the named unit). A parameters file's
 * rename (`PARAMS_RENAMES`) still loads, with a warning; anything else here is refused with this
 * message.
 */
export const FORMER_NAMES: Readonly<Record<string, string>> = {
  registryUrl: 'registry.url',
  auth: 'registry.auth',
  registryTimeoutMs: 'registry.timeoutMs',
  registryMaxAttempts: 'registry.maxAttempts',
  reenableAfterWrite: 'registry.reenableAfterWrite',
  registryTimeout: 'registry.timeoutMs (milliseconds, a number)',
  resyncInterval: 'resyncMinutes (a number)',
  resyncFullCheck: 'resyncFullCheckMinutes (a number)',
  timeout: 'timeoutSeconds (a number)',
  logRetention: 'logRetentionDays (a number)',
  'alarms.noLiveInstanceFor': 'alarms.noLiveInstanceMinutes (a number)',
  'alarms.oldestMessageAge': 'alarms.oldestMessageAgeMinutes (a number)',
};

/** Keys of a parameters file of earlier versions that moved unchanged: read under their new name. */
export const PARAMS_RENAMES: Readonly<Record<string, string>> = {
  registryUrl: 'registry.url',
  auth: 'registry.auth',
  registryTimeoutMs: 'registry.timeoutMs',
  registryMaxAttempts: 'registry.maxAttempts',
  reenableAfterWrite: 'registry.reenableAfterWrite',
};

/** Keys of a parameters file of earlier versions that never had an effect where deployed: dropped, with a warning. */
export const PARAMS_REMOVED: Readonly<Record<string, string>> = {
  lagRetry: RETIRED_FIELDS.lagRetry as string,
};

/** The construct's fixed settings, not configuration. */
export const FIXED = {
  /** The handlers the functions bundle. */
  reconcilerEntry: path.join(__dirname, '..', 'functions', 'reconciler', 'handler.ts'),
  fanoutEntry: path.join(__dirname, '..', 'functions', 'fanout', 'handler.ts'),
  webhookEntry: path.join(__dirname, '..', 'functions', 'webhook', 'handler.ts'),
  /** The webhook receiver checks a signature and sends one message: the smallest size with a fast cold start. */
  webhookMemoryMb: 256,
  /** Within the registry's default webhook timeout (REGISTRATION_WEBHOOK_TIMEOUT_SECONDS, 10 s). */
  webhookTimeout: Duration.seconds(10),
  /** The fan-out's timeout: a resync shard's read-only check of 500 entries took ≤ 8.5 s in `npm run sim`. */
  fanoutTimeout: Duration.seconds(DELIVERY.fanoutTimeoutSeconds),
  /** Lambda environment variables may total 4 KB; keep the configuration well under it. */
  maxConfigBytes: 3_072,
} as const;

/**
 * The Keycloak M2M client secret's name in the v1.0.16 stack. Its ARN ends in a random suffix that
 * only the deployed account knows, so the construct asks for the complete ARN.
 */
export const DEFAULT_M2M_SECRET_NAME = 'mcp-gateway-keycloak-m2m-client-secret';

/**
 * Configuration fields the functions of earlier versions do not know (their parser refuses an
 * unknown field): left out of the functions' copy at their default, so that while CloudFormation
 * updates a function's configuration and code one after the other, a default deployment's function
 * reads the document it read before. Add a new configuration field here.
 */
export const NEWER_FIELDS: readonly string[] = ['resyncMinutes', 'follow'];

/** Fields of the configuration document that only the deployment reads: left out of the function's copy. */
const DEPLOYMENT_ONLY_AUTH = ['secretKmsKeyArn', 'tokenSecret', 'tokenSecretJsonField'];

/**
 * The configuration document the functions read (`RECONCILER_CONFIG`): the settings' configuration
 * fields as written, with the names the v1.0.16 stack defaults to and the targets always spelled
 * out (a function of an earlier version reads it during an update), the auth without what only the
 * deployment uses, and a static token's variable named.
 */
export function functionDocument(
  input: SettingsInput,
  settings: ReconcilerSettings,
): Record<string, unknown> {
  const given = input as Record<string, unknown>;
  const auth = Object.fromEntries(
    Object.entries(input.registry.auth).filter(([key]) => !DEPLOYMENT_ONLY_AUTH.includes(key)),
  );
  if (settings.registry.auth.type === 'static') auth.tokenEnv = settings.registry.auth.tokenEnv;
  const document: Record<string, unknown> = {
    cluster: settings.cluster,
    namespace: settings.namespace,
    registryService: settings.registryService,
    registry: { ...input.registry, auth },
    targets: input.targets ?? targetsOf(settings).map(({ port: _port, ...t }) => t),
    dryRun: settings.dryRun,
  };
  const ownership = ownershipInput(input.follow, input.ownership);
  if (ownership !== undefined) document.ownership = ownership;
  for (const [key, entry] of Object.entries(CONFIG_ENTRIES)) {
    const value = given[key];
    if (key in document || value === undefined) continue;
    const fallback = v.getDefault(entry as v.OptionalSchema<v.GenericSchema, unknown>);
    if (NEWER_FIELDS.includes(key) && isDeepStrictEqual(value, fallback)) continue;
    document[key] = value;
  }
  return document;
}
