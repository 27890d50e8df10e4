import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { ConfigError } from '../errors';
import { parseJson } from '../json';
import {
  DEFAULT_CLUSTER,
  DEFAULT_NAMESPACE,
  DEFAULT_REGISTRY_SERVICE,
  STATIC_TOKEN_ENV,
  V1016_TARGETS,
} from './defaults';
import { int, issueLines, issuePath, notArray, strictObject, unknownKeys } from './validation';

/** A name that must say something: trimmed first, so a blank one is rejected. */
const nonEmpty = v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty or blank'));

/** Dot-separated labels (Cloud Map service and namespace names): no empty label, no `.` or `..`. */
const LABELS = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Why a registry path cannot be used as written, or undefined. The path is joined to the
 * registry's URL with the bearer token attached: a `.`/`..` segment (also percent-encoded), a
 * query, a fragment, whitespace or a control character could send that token elsewhere on the host.
 */
export function registryPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must start with /';
  if (/[\s\p{Cc}]/u.test(path)) return 'must contain no whitespace or control characters';
  if (path.includes('?') || path.includes('#'))
    return 'must contain no ? or # (a path, not a query or fragment)';
  if (path.includes('\\')) return 'must contain no backslash';
  // `//` would read as a host to anything that resolves the path as a URL reference.
  if (path.includes('//')) return 'must contain no empty segment (//)';
  for (const segment of path.split('/').slice(1)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return `has a malformed percent-encoding in segment ${JSON.stringify(segment)}`;
    }
    if (decoded === '.' || decoded === '..')
      return `must have no "." or ".." segments (also percent-encoded): ${JSON.stringify(segment)}`;
    if (decoded !== segment && /[/\\?#\s\p{Cc}]/u.test(decoded))
      return `must not percent-encode a /, \\, ?, # or control character: ${JSON.stringify(segment)}`;
  }
  return undefined;
}

/**
 * An http(s) URL with its `//` (so `http:example.com` is refused), trimmed, and without the tabs
 * and newlines that the URL parser would silently drop from the middle of a host.
 */
const httpUrl = v.pipe(
  v.string(),
  v.trim(),
  v.check(isHttpUrl, 'must be an http(s) URL'),
  v.transform((url) => url.replace(/[\t\n\r]/g, '')),
);

function isHttpUrl(text: string): boolean {
  if (!/^https?:\/\//i.test(text)) return false;
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

const CLUSTER_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/([A-Za-z0-9_-]{1,255})$/;
const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/;

const keycloakAuth = strictObject({
  type: v.literal('keycloak'),
  tokenUrl: httpUrl,
  secretArn: v.pipe(v.string(), v.regex(SECRET_ARN, 'must be a Secrets Manager secret ARN')),
  /** Read by the deployment only (IAM). */
  secretKmsKeyArn: v.optional(
    v.pipe(
      v.string(),
      v.regex(KMS_KEY_ARN, 'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)'),
    ),
  ),
});

const staticAuth = strictObject({
  type: v.literal('static'),
  /** The environment variable that holds the bearer token (never the token itself). */
  tokenEnv: v.optional(
    v.pipe(v.string(), v.regex(ENV_NAME, 'must be an environment variable name')),
    STATIC_TOKEN_ENV,
  ),
  /** Read by the deployment only: the secret CloudFormation resolves into `tokenEnv`. */
  tokenSecret: v.optional(nonEmpty),
  tokenSecretJsonField: v.optional(nonEmpty),
});

const targetSchema = strictObject({
  kind: v.picklist(['server', 'agent']),
  path: v.pipe(
    v.string(),
    v.rawCheck(({ dataset, addIssue }) => {
      const problem = dataset.typed ? registryPathProblem(dataset.value) : undefined;
      if (problem !== undefined) addIssue({ message: problem });
    }),
  ),
  cloudMapService: v.pipe(
    v.string(),
    v.maxLength(127, 'must be a Cloud Map service name (at most 127 characters)'),
    v.regex(LABELS, 'must be a Cloud Map service name'),
  ),
  ecsService: v.optional(
    v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be an ECS service name')),
  ),
  port: v.optional(v.picklist(['url', 'instance']), 'url'),
});

/**
 * The fields of the configuration document, in one place: both functions read it, and the CDK
 * parameters file and the construct's props are this document plus deployment keys
 * (infra/settings.ts). What each field means is in infra/config-docs.ts (kept out of the
 * functions' bundle), from which docs/configuration.md's table is generated (`npm run docs:config`).
 */
export const CONFIG_ENTRIES = {
  cluster: v.optional(
    v.pipe(
      v.string(),
      v.check((c) => CLUSTER_NAME.test(c) || CLUSTER_ARN.test(c), 'must be an ECS cluster name or ARN'),
    ),
    DEFAULT_CLUSTER,
  ),
  namespace: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(1024, 'must be a Cloud Map namespace name (at most 1024 characters)'),
      v.regex(LABELS, 'must be a Cloud Map namespace name'),
    ),
    DEFAULT_NAMESPACE,
  ),
  registryService: v.optional(nonEmpty, DEFAULT_REGISTRY_SERVICE),
  registry: strictObject({
    url: httpUrl,
    auth: notArray(v.variant('type', [keycloakAuth, staticAuth])),
    timeoutMs: v.optional(int(100, 60_000), 5_000),
    maxAttempts: v.optional(int(1, 10), 3),
    reenableAfterWrite: v.optional(v.boolean(), false),
    api: v.optional(v.picklist(['auto', '1.0.16', '1.29']), 'auto'),
    maxResponseBytes: v.optional(int(1024, 64 * 1024 * 1024), 4 * 1024 * 1024),
    verifyAfterMs: v.optional(int(0, 300_000), 15_000),
    scanSettleMs: v.optional(int(0, 900_000), 75_000),
  }),
  /**
   * Absent: the five entries of the v1.0.16 stack, or none with `follow.enabled` (`withTargets`).
   * Empty only with `follow.enabled`: then the registry's own entries are adopted at run time.
   */
  targets: v.optional(v.array(targetSchema)),
  /** Adopt at run time every registry entry registered by a Cloud Map name of the namespace (follow/). */
  follow: v.optional(
    strictObject({
      enabled: v.optional(v.boolean(), false),
      /** Registry paths never adopted (exactly as stored). */
      exclude: v.optional(v.array(v.string()), []),
    }),
    {},
  ),
  /** The DynamoDB table that records which entries the reconciler wrote (required with follow). */
  ownership: v.optional(
    strictObject({
      table: v.pipe(
        v.string(),
        v.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)'),
      ),
    }),
  ),
  dryRun: v.optional(v.boolean(), false),
  resyncMinutes: v.optional(int(1, 60), 5),
  resyncFullCheckMinutes: v.optional(int(0, 1440), 30),
} as const;

/** The configuration document's schema. */
export const configSchema = strictObject(CONFIG_ENTRIES);

/**
 * Fields that configurations of earlier versions may hold, with what became of them: a document
 * naming one is refused with this message rather than as an unknown key.
 */
export const RETIRED_FIELDS: Readonly<Record<string, string>> = {
  lagRetry:
    "removed: the deployed reconciler never used it (it looks at Cloud Map once per delivery, and a task Cloud Map has not listed yet is looked at again by the work queue's next delivery); delete it",
};

/** The reconciler's configuration, validated, with defaults filled in. */
export type ReconcilerConfig = Omit<v.InferOutput<typeof configSchema>, 'targets'> & {
  /** The targets as written; absent, those of `targetsOf`. */
  targets: TargetConfig[];
  /** The cluster's name, whether `cluster` was given as a name or an ARN. */
  clusterName: string;
};
/** The configuration as written (defaults optional). */
export type ConfigInput = v.InferInput<typeof configSchema>;
/** One target as validated, with defaults filled in. */
export type TargetConfig = v.InferOutput<typeof targetSchema>;
/** One target as written in the configuration (`port` may be left out). */
export type TargetInput = v.InferInput<typeof targetSchema>;
export type RegistryAuthConfig = ReconcilerConfig['registry']['auth'];

/**
 * The checks that span fields (two targets with the same kind and path; a Cloud Map service name
 * that carries the namespace), one line per problem. `parseConfig` runs them, and so does the
 * construct on its settings.
 */
export function configProblems(
  config: Pick<v.InferOutput<typeof configSchema>, 'namespace' | 'targets' | 'follow' | 'ownership'>,
  /** The construct creates the ownership table and names it when `ownership` is left out. */
  tableByConstruct = false,
): string[] {
  const seen = new Map<string, number>();
  const problems: string[] = [];
  const suffix = `.${config.namespace.toLowerCase()}`;
  if (config.targets?.length === 0 && !config.follow.enabled)
    problems.push('targets: must list at least one target (or set follow.enabled)');
  if (config.follow.enabled && config.ownership === undefined && !tableByConstruct)
    problems.push('ownership.table: required when follow.enabled is true (the construct sets it)');
  config.follow.exclude.forEach((path, i) => {
    const problem = registryPathProblem(path);
    if (problem !== undefined) problems.push(`follow.exclude.${i}: ${problem}`);
  });
  (config.targets ?? []).forEach((t, i) => {
    const key = `${t.kind} ${t.path}`;
    const first = seen.get(key);
    if (first !== undefined) problems.push(`targets.${i}.path: duplicates targets.${first} (${key})`);
    seen.set(key, i);
    // The namespace is added by the reconciler; a name that already carries it never matches an entry.
    if (t.cloudMapService.toLowerCase().endsWith(suffix)) {
      const bare = t.cloudMapService.slice(0, -suffix.length);
      problems.push(
        `targets.${i}.cloudMapService: must be the bare Cloud Map service name, without the namespace: use ${JSON.stringify(bare)}, not ${JSON.stringify(t.cloudMapService)}`,
      );
    }
  });
  return problems;
}

/**
 * The targets a configuration keeps: as written; when absent, the five entries of the v1.0.16
 * stack, or none with `follow.enabled` (the registry's own entries are then adopted at run time).
 */
export function targetsOf(config: {
  readonly targets?: TargetConfig[] | undefined;
  readonly follow: { readonly enabled: boolean };
}): TargetConfig[] {
  if (config.targets !== undefined) return config.targets;
  return config.follow.enabled ? [] : V1016_TARGETS.map((t) => ({ ...t, port: 'url' }));
}

/** The problems of a schema's issues, a retired field named with what became of it. */
export function describeConfigIssues(issues: readonly v.BaseIssue<unknown>[], root = ''): string[] {
  return issues.flatMap((issue) => {
    const keys = unknownKeys(issue);
    if (keys === undefined || root !== '' || issuePath(issue).length > 0) return issueLines([issue], root);
    const known = keys.filter((k) => RETIRED_FIELDS[k] === undefined);
    return [
      ...keys.filter((k) => RETIRED_FIELDS[k] !== undefined).map((k) => `${k}: ${RETIRED_FIELDS[k]}`),
      ...(known.length === 0
        ? []
        : [
            `(root): Unrecognized key${known.length === 1 ? '' : 's'}: ${known.map((k) => JSON.stringify(k)).join(', ')}`,
          ]),
    ];
  });
}

/**
 * Validates a configuration object. Throws `ConfigError` naming every bad field.
 * Also rejects two targets with the same kind and path.
 */
export function parseConfig(input: unknown, source = 'configuration'): ReconcilerConfig {
  const result = v.safeParse(configSchema, input);
  if (!result.success) throw invalid(source, describeConfigIssues(result.issues));
  const config = result.output;
  const problems = configProblems(config);
  if (problems.length > 0) throw invalid(source, problems);
  const clusterName = CLUSTER_ARN.exec(config.cluster)?.[1] ?? config.cluster;
  return { ...config, targets: targetsOf(config), clusterName };
}

/** Environment variables the configuration is read from. */
export const CONFIG_ENV = 'RECONCILER_CONFIG';
export const CONFIG_FILE_ENV = 'RECONCILER_CONFIG_FILE';

/**
 * Reads the configuration once, at cold start: JSON in `RECONCILER_CONFIG`, or a JSON file named
 * by `RECONCILER_CONFIG_FILE` (for local use). Throws `ConfigError` when neither is usable.
 */
export function loadConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ReconcilerConfig {
  const inline = env[CONFIG_ENV];
  const file = env[CONFIG_FILE_ENV];
  if (inline !== undefined && inline.trim() !== '')
    return parseConfig(decodeJson(inline, CONFIG_ENV), CONFIG_ENV);
  if (file !== undefined && file.trim() !== '') return loadConfigFile(file);
  throw new ConfigError(
    `no configuration: set ${CONFIG_ENV} (JSON) or ${CONFIG_FILE_ENV} (a JSON file path)`,
  );
}

/** Reads and validates a configuration file. */
export function loadConfigFile(path: string): ReconcilerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read configuration file ${path}: ${(cause as Error).message}`, { cause });
  }
  // Editors on Windows save UTF-8 with a byte-order mark, which JSON.parse refuses as an invisible character.
  return parseConfig(decodeJson(text.replace(/^\uFEFF/, ''), path), path);
}

/** `invalid <source>: a: …; b: …`, with each problem kept apart for the construct's error. */
function invalid(source: string, problems: string[]): ConfigError {
  return new ConfigError(`invalid ${source}: ${problems.join('; ')}`, { problems });
}

function decodeJson(text: string, source: string): unknown {
  const parsed = parseJson(text);
  if (parsed.ok) return parsed.value;
  throw new ConfigError(`invalid ${source}: not valid JSON (${parsed.error.message})`, {
    cause: parsed.error,
  });
}
