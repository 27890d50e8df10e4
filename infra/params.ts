/**
 * The deployment parameters: a JSON file (`-c params=infra/params.json`) naming the existing MCP
 * Gateway stack's resources, with a few keys overridable one by one from CDK context
 * (`-c registryUrl=https://…`). The file's shape is checked here; what the values mean is checked by
 * `RegistryReconciler` itself, so a construct user and a params-file user get the same errors.
 * Every error is a `ParamsError`: one line per problem, each naming the key and where its value
 * came from (the file, or `-c <key>`).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as v from 'valibot';
import {
  int,
  issueMessage,
  issuePath,
  notArray,
  strictObject,
  unknownKeys,
} from '../functions/reconciler/validation';
import type { ReconcilerTarget, RegistryReconcilerProps } from './props';
import type { Assert, Same } from './type-checks';
import { CONFIG_PROBLEM_PREFIX, type InvalidReconcilerPropsError } from './validation';

const str = v.pipe(v.string(), v.minLength(1));
const posInt = int(1);

const paramsSchema = strictObject({
  /** Free text for the file's readers; ignored. */
  $comment: v.optional(v.union([v.string(), v.array(v.string())])),
  /** CloudFormation stack name. */
  stackName: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a stack name'))),
  cluster: v.optional(str),
  namespace: v.optional(str),
  registryService: v.optional(str),
  registryUrl: str,
  auth: notArray(
    v.variant('type', [
      strictObject({
        type: v.literal('keycloak'),
        tokenUrl: str,
        secretArn: str,
        secretKmsKeyArn: v.optional(str),
      }),
      strictObject({ type: v.literal('static'), tokenSecret: str, tokenSecretJsonField: v.optional(str) }),
    ]),
  ),
  network: v.optional(
    strictObject({ vpcId: str, subnetIds: v.array(str), securityGroupIds: v.optional(v.array(str)) }),
  ),
  targets: v.optional(
    v.array(
      strictObject({
        kind: v.picklist(['server', 'agent']),
        path: str,
        cloudMapService: str,
        ecsService: v.optional(str),
        port: v.optional(v.picklist(['url', 'instance'])),
      }),
    ),
  ),
  dryRun: v.optional(v.boolean()),
  registryTimeoutMs: v.optional(posInt),
  registryMaxAttempts: v.optional(posInt),
  reenableAfterWrite: v.optional(v.boolean()),
  lagRetry: v.optional(
    strictObject({
      attempts: v.optional(int(0)),
      delayMs: v.optional(int(0)),
    }),
  ),
  resyncMinutes: v.optional(posInt),
  resyncFullCheckMinutes: v.optional(int(0)),
  timeoutSeconds: v.optional(posInt),
  memorySize: v.optional(posInt),
  logRetentionDays: v.optional(posInt),
  logLevel: v.optional(v.picklist(['DEBUG', 'INFO', 'WARN', 'ERROR'])),
  serviceName: v.optional(str),
  alarmEmail: v.optional(str),
  alarms: v.optional(
    strictObject({
      functionErrors: v.optional(posInt),
      reconcileErrors: v.optional(posInt),
      throttles: v.optional(posInt),
      noLiveInstanceMinutes: v.optional(posInt),
      oldestMessageAgeMinutes: v.optional(posInt),
    }),
  ),
  /** Tags for every resource of the stack. */
  tags: v.optional(notArray(v.record(v.string(), v.string()))),
});

/** The parameters file, as written. */
export type ReconcilerParams = v.InferOutput<typeof paramsSchema>;

/**
 * A target in the file is a construct target (`ReconcilerTarget`, itself pinned to the function's
 * configuration in function-config.ts): either changing alone fails `npm run typecheck`.
 */
export type ParamsTargetMatchesProps = Assert<
  Same<Readonly<NonNullable<ReconcilerParams['targets']>[number]>, ReconcilerTarget>
>;

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

/** Bad parameters: one line per problem, each `<where>: <key>: <what is wrong>`. */
export class ParamsError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(lines.join('\n'));
    this.name = 'ParamsError';
  }
}

/** Where the parameters came from: the file, and the keys `-c` set. */
export interface ParamsOrigin {
  /** The parameters file, as it is best shown (relative to the working directory when inside it). */
  readonly file: string;
  /** The keys whose value came from `-c key=value`. */
  readonly fromContext: ReadonlySet<string>;
}

/** How a path is shown in messages: relative to the working directory when it is inside it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** The keys of `CONTEXT_OVERRIDES` that the context sets. */
export function contextKeys(context: (key: string) => unknown): Set<string> {
  return new Set(CONTEXT_OVERRIDES.filter((key) => context(key) !== undefined));
}

/**
 * Reads the parameters: the JSON file, then the context overrides. Throws a `ParamsError` naming
 * every bad key and where it came from.
 */
export function loadParams(
  file: string,
  context: (key: string) => unknown = () => undefined,
): ReconcilerParams {
  const shown = displayPath(file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file (copy infra/params.example.json there and edit it)'
        : cause instanceof SyntaxError
          ? `not valid JSON (${cause.message})`
          : (cause as Error).message;
    throw new ParamsError([`${shown}: cannot read the parameters file: ${why}`]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ParamsError([`${shown}: the parameters file must hold a JSON object`]);
  }
  const origin: ParamsOrigin = { file: shown, fromContext: contextKeys(context) };
  const problems: string[] = [];
  const merged: Record<string, unknown> = { ...raw };
  for (const key of origin.fromContext) {
    const value = context(key);
    if (key !== 'dryRun') merged[key] = value;
    else if (value === true || value === 'true') merged[key] = true;
    else if (value === false || value === 'false') merged[key] = false;
    else problems.push(`-c dryRun: ${JSON.stringify(value)} is neither true nor false`);
  }
  const result = v.safeParse(paramsSchema, merged);
  if (!result.success) problems.push(...describeIssues(result.issues, origin));
  if (problems.length > 0 || !result.success) throw new ParamsError(problems);
  return result.output;
}

/** The schema's issues as problem lines; an unknown key is always the file's (`-c` takes known keys only). */
function describeIssues(issues: readonly v.BaseIssue<unknown>[], origin: ParamsOrigin): string[] {
  return issues.flatMap((issue) => {
    const key = issuePath(issue).join('.');
    const keys = unknownKeys(issue);
    if (keys === undefined) return [located(key === '' ? '(root)' : key, issueMessage(issue), origin)];
    return keys.map((unknown) => {
      const where = [key, unknown].filter((p) => p !== '').join('.');
      return `${origin.file}: ${where}: unknown key${suggestion(unknown)}`;
    });
  });
}

/** ` (did you mean "x"?)` for a key that differs from a known one only in case or by a plural s. */
function suggestion(key: string): string {
  const norm = (k: string) => k.toLowerCase().replace(/s$/, '');
  const known = Object.keys(paramsSchema.entries).find((k) => k !== key && norm(k) === norm(key));
  return known === undefined ? '' : ` (did you mean "${known}"?)`;
}

/** Param keys whose construct prop (or configuration field) has another name. */
const KEY_OF_PROP: Record<string, string> = {
  registryTimeout: 'registryTimeoutMs',
  resyncInterval: 'resyncMinutes',
  resyncFullCheck: 'resyncFullCheckMinutes',
  timeout: 'timeoutSeconds',
  logRetention: 'logRetentionDays',
  'alarms.noLiveInstanceFor': 'alarms.noLiveInstanceMinutes',
  'alarms.oldestMessageAge': 'alarms.oldestMessageAgeMinutes',
  'lagRetry.delay': 'lagRetry.delayMs',
  'registry.url': 'registryUrl',
  'registry.timeoutMs': 'registryTimeoutMs',
  'registry.maxAttempts': 'registryMaxAttempts',
  'registry.reenableAfterWrite': 'reenableAfterWrite',
  'registry.auth': 'auth',
};

/** A problem line of the construct or the configuration parser, with the param key and its origin. */
function attribute(problem: string, origin: ParamsOrigin): string {
  const match = /^([A-Za-z][\w.]*): (.*)$/s.exec(problem);
  if (match === null) return `${origin.file}: ${problem}`;
  const [, propKey = '', message] = match;
  const prefix = Object.keys(KEY_OF_PROP)
    .filter((k) => propKey === k || propKey.startsWith(`${k}.`))
    .sort((a, b) => b.length - a.length)[0];
  const key = prefix === undefined ? propKey : `${KEY_OF_PROP[prefix]}${propKey.slice(prefix.length)}`;
  return located(key, message, origin);
}

/** `<file>: <key>: <message>`, or `-c <key>: <message>` for a value given on the command line. */
function located(key: string, message: string | undefined, origin: ParamsOrigin): string {
  const top = key.split('.')[0] ?? key;
  if (!origin.fromContext.has(top)) return `${origin.file}: ${key}: ${message}`;
  return key === top ? `-c ${top}: ${message}` : `-c ${top}: ${key}: ${message}`;
}

/**
 * The construct's `InvalidReconcilerPropsError` in the parameters' terms: each problem under the
 * param key it concerns and where that value came from.
 */
export function paramsErrorFromProps(error: InvalidReconcilerPropsError, origin: ParamsOrigin): ParamsError {
  const lines = error.problems.map((problem) =>
    attribute(
      problem.startsWith(CONFIG_PROBLEM_PREFIX) ? problem.slice(CONFIG_PROBLEM_PREFIX.length) : problem,
      origin,
    ),
  );
  return new ParamsError(lines);
}

const RETENTION_DAYS = new Set<number>(
  Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number'),
);

/** `f(value)`, or undefined when there is no value (optional props take undefined as "use the default"). */
function map<T, R>(value: T | undefined, f: (v: T) => R): R | undefined {
  return value === undefined ? undefined : f(value);
}

/**
 * Maps the parameters to the construct's props (durations and enums in CDK's types). `file` names
 * the parameters in an error.
 */
export function toReconcilerProps(params: ReconcilerParams, file = 'parameters'): RegistryReconcilerProps {
  const { logRetentionDays, alarms, lagRetry } = params;
  if (logRetentionDays !== undefined && !RETENTION_DAYS.has(logRetentionDays)) {
    throw new ParamsError([
      `${file}: logRetentionDays: ${logRetentionDays} is not a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, …)`,
    ]);
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
