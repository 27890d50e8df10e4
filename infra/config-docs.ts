/**
 * What each field of the settings means, and the Configuration table of docs/configuration.md
 * generated from the schema (names, types, defaults) and these descriptions. The descriptions live
 * here, not in the schema, so they stay out of the functions' bundle. A test fails when a field has
 * no description, a description names no field, or the table in the docs is not what this prints.
 *
 * `npm run docs:config` rewrites the table between the markers (creating the page if needed).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as v from 'valibot';
import { CONFIG_ENTRIES, RETIRED_FIELDS } from '../functions/lib/config/config';
import { DEPLOYMENT_ENTRIES, FORMER_NAMES, PARAMS_ENTRIES, PARAMS_RENAMES } from './settings';

/** Every field by its dotted path (`targets[].path`, `registry.auth.tokenUrl`). */
export const DESCRIPTIONS: Readonly<Record<string, string>> = {
  cluster: "ECS cluster name or ARN (a name is in the stack's account and Region).",
  namespace: 'Cloud Map namespace name.',
  registryService:
    "The registry's own ECS service. A task of it reaching RUNNING starts re-checks of every entry (every 4 s for 2 min, page reads only), because the registry resets its built-in entries once its app has booted.",
  'registry.url': "The registry's base URL, through nginx (never port 7860): `https://registry.example.com`.",
  'registry.auth.type':
    '`keycloak`: OAuth2 client credentials from Keycloak (the production setup). `static`: a fixed bearer token (a registry with `REGISTRY_STATIC_TOKEN_AUTH_ENABLED=true`).',
  'registry.auth.tokenUrl':
    'keycloak: `https://<keycloak>/realms/mcp-gateway/protocol/openid-connect/token`.',
  'registry.auth.secretArn':
    'keycloak: the complete ARN of the secret holding `{"client_id","client_secret"}` (`aws secretsmanager describe-secret --secret-id mcp-gateway-keycloak-m2m-client-secret --query ARN`); a partial ARN of this secret finds nothing. The functions may read this secret and nothing else.',
  'registry.auth.secretKmsKeyArn':
    'keycloak, deployed: the customer-managed KMS key of the secret; the functions get `kms:Decrypt` on it through Secrets Manager only. Absent: the AWS managed key.',
  'registry.auth.tokenEnv':
    'static: the environment variable the functions read the token from (never the token itself).',
  'registry.auth.tokenSecret':
    'static, deployed (required there): name or complete ARN of the Secrets Manager secret holding the token; CloudFormation resolves it into `tokenEnv` at deploy time, so anyone who may read the function configuration can read it, and a rotated token needs a redeploy.',
  'registry.auth.tokenSecretJsonField':
    'static, deployed: the JSON key holding the token, when the secret is a JSON object.',
  'registry.timeoutMs': 'Deadline for each registry HTTP call, ms.',
  'registry.maxAttempts': 'Attempts for each registry call on network errors and 5xx (1 = no retry).',
  'registry.reenableAfterWrite':
    'Re-enable a server that the registry disabled after our write. Overrides a security control: off by default.',
  'registry.api':
    "The registry contract to speak: `auto` finds out from the registry's answers (once per container); `1.0.16` (list read, register, PUT) or `1.29` (single read, PATCH with If-Match) pins it.",
  'registry.maxResponseBytes':
    'Largest HTTP answer body read from the registry or the token endpoint, bytes.',
  'registry.verifyAfterMs':
    "How long after a write the entry is read again to see what the registry's background scan did, ms.",
  'registry.scanSettleMs':
    "When the registry's background scan has surely ended: set it to the registry's `SECURITY_SCAN_TIMEOUT` plus a margin. A write still confirmed before then is verified once more at this time after it, ms.",
  targets:
    'The registry entries to keep pointed at live tasks. Empty or absent with `follow.enabled`: only adopted entries are kept.',
  'targets[].kind': '`server` (field `proxy_pass_url`) or `agent` (field `url`).',
  'targets[].path':
    'The registry path exactly as stored: servers keep their trailing slash (`/currenttime/`).',
  'targets[].cloudMapService':
    'The Cloud Map service whose instances are the candidates: the bare name, without the namespace (`currenttime-server`).',
  'targets[].ecsService':
    'The ECS service that runs it; found through DescribeServices when absent. When every target names one, the task-state rule forwards only those services (and the registry service).',
  'targets[].port':
    "Where the written port comes from: the entry URL's own port, or the instance's `AWS_INSTANCE_PORT`.",
  'follow.enabled':
    'Adopt and keep every server and agent entry whose address host is the short name or `<name>.<namespace>` of a Cloud Map service of the namespace published by exactly one ECS service of the cluster. `targets` may then be absent or empty; configured targets still win for their paths.',
  'follow.exclude': 'Registry paths never adopted, exactly as stored (`/weather/`).',
  ownership:
    'Where follow mode records which entries the reconciler wrote. Absent with `follow.enabled`: the construct creates the table (on demand, encrypted, point-in-time recovery, retained when the stack is deleted) and names it here.',
  'ownership.table':
    'The DynamoDB table of ownership rows (its index `byEcsService` included): required with `follow.enabled` in a configuration document; set in the parameters file or props, the construct uses that table instead of creating one.',
  dryRun: 'Decide and report, never write.',
  resyncMinutes:
    "How often every target is reconciled whatever the events: the schedule rule's rate, and the period the fan-out spreads a resync's look-ups over.",
  resyncFullCheckMinutes:
    "The resync re-checks an entry's known live task with ECS alone (one batched DescribeTasks) and asks Cloud Map only when that task is gone or the entry changed, or when the target's last full check is this old. 0 asks Cloud Map on every resync.",
  network:
    "Run both functions in the stack's VPC (ids taken as given: synth needs no credentials). Absent: outside any VPC (only for a registry with a public URL).",
  'network.vpcId': '`vpc-…`',
  'network.subnetIds':
    'Private subnets (`subnet-…`) with a route to the registry, to Keycloak and to ECS, Cloud Map (`data-servicediscovery`) and Secrets Manager (a NAT gateway or interface endpoints).',
  'network.securityGroupIds':
    "Security groups (`sg-…`) for the functions. Absent: a new group allowing outbound TCP 443 and the registry's and Keycloak's ports, nothing inbound.",
  timeoutSeconds:
    "The reconciler's timeout, s. The work queue's visibility timeout is six times this; synth refuses a timeout shorter than one entry's worst case with the registry limits (58 s with the defaults).",
  memorySize: 'Memory of both functions, MB.',
  logRetentionDays:
    "Retention of both functions' log groups, days (the reconciler's holds the decision records).",
  logLevel: "Level of the functions' own logs (`POWERTOOLS_LOG_LEVEL`).",
  serviceName: '`POWERTOOLS_SERVICE_NAME`, and so the `service` dimension of every metric the alarms read.',
  alarmEmail:
    'E-mail address subscribed to a new alarm topic (confirm the subscription mail). Not with the construct prop `alarmTopic`.',
  'alarms.functionErrors':
    'Failed invocations (crash, timeout, bad configuration) of either function within 5 minutes.',
  'alarms.reconcileErrors': 'Reconcile failures (metric `Errors`) within 15 minutes.',
  'alarms.throttles': 'Throttled invocations of both functions per 5 minutes, in 2 of 3 periods.',
  'alarms.noLiveInstanceMinutes':
    'How long some target may have no live Cloud Map instance before the alarm fires, minutes.',
  'alarms.oldestMessageAgeMinutes':
    "Age of the oldest message in the work queue, minutes; the trigger queue's alarm waits this plus the fan-out's longest delay (15 min).",
  'webhook.enabled':
    "Create the receiver of the registry's registration webhook: a function behind a Lambda Function URL (auth NONE: the registry's HMAC-SHA256 signature is the authentication), a generated signing secret, an alarm. Set the stack outputs WebhookUrl and WebhookSecretArn's value as the registry's `REGISTRATION_WEBHOOK_URL` and `REGISTRATION_WEBHOOK_SIGNING_SECRET` (docs/deploy.md). A signed `registration` or `update` becomes work for that entry at once, `scan_complete` a verification. Off: nothing of it is created.",
  $comment: "Free text for the file's readers; ignored.",
  stackName: 'CloudFormation stack name.',
  tags: 'Tags for every resource of the stack (stack tags: CloudFormation propagates them).',
};

/** Where a field can be set and who reads it. */
export type FieldHome = 'configuration' | 'deployment' | 'parameters file';

/** One row of the table: a field as the schema has it. */
export interface FieldRow {
  readonly path: string;
  readonly home: FieldHome;
  readonly type: string;
  /** The default as shown, or undefined when the field is required or absent by default. */
  readonly fallback: string | undefined;
  readonly required: boolean;
}

type AnySchema = v.GenericSchema & {
  type: string;
  entries?: Record<string, AnySchema>;
  options?: AnySchema[] | readonly unknown[];
  item?: AnySchema;
  wrapped?: AnySchema;
  pipe?: readonly { kind: string; type: string; requirement?: unknown; expects?: string }[];
  literal?: unknown;
  default?: unknown;
};

/** Shown instead of a default that does not fit a cell. */
const DEFAULT_TEXT: Readonly<Record<string, string>> = {
  targets: 'the five entries of the MCP Gateway v1.0.16 stack; none with `follow.enabled`',
};

/** Every field of the parameters file, in the order of the schema, objects and lists opened. */
export function fieldRows(): FieldRow[] {
  const rows: FieldRow[] = [];
  const groups: [FieldHome, Record<string, unknown>][] = [
    ['configuration', CONFIG_ENTRIES],
    ['deployment', DEPLOYMENT_ENTRIES],
    ['parameters file', PARAMS_ENTRIES],
  ];
  for (const [home, entries] of groups) {
    for (const [key, schema] of Object.entries(entries)) walk(rows, home, key, schema as AnySchema);
  }
  return rows;
}

function walk(rows: FieldRow[], home: FieldHome, path: string, entry: AnySchema): void {
  const optional = entry.type === 'optional';
  const schema = optional ? (entry.wrapped as AnySchema) : entry;
  const fallback = optional ? v.getDefault(entry as v.OptionalSchema<v.GenericSchema, unknown>) : undefined;
  if (schema.type === 'strict_object' && schema.entries !== undefined) {
    // A group of fields: its own row only when the group itself may be absent with a meaning.
    if (optional && fallback === undefined)
      rows.push({ path, home, type: 'object', fallback: undefined, required: false });
    for (const [key, inner] of Object.entries(schema.entries)) walk(rows, home, `${path}.${key}`, inner);
    return;
  }
  if (schema.type === 'variant' && Array.isArray(schema.options)) {
    const seen = new Set<string>();
    const types = schema.options.map((o) => JSON.stringify((o as AnySchema).entries?.type?.literal));
    rows.push({ path: `${path}.type`, home, type: types.join(' \\| '), fallback: undefined, required: true });
    seen.add('type');
    for (const option of schema.options as AnySchema[]) {
      for (const [key, inner] of Object.entries(option.entries ?? {})) {
        if (seen.has(key)) continue;
        seen.add(key);
        walk(rows, home, `${path}.${key}`, inner);
      }
    }
    return;
  }
  rows.push({
    path,
    home,
    type: typeText(schema),
    fallback: DEFAULT_TEXT[path] ?? (fallback === undefined ? undefined : `\`${JSON.stringify(fallback)}\``),
    required: !optional,
  });
  if (schema.type === 'array' && schema.item?.type === 'strict_object') {
    for (const [key, inner] of Object.entries(schema.item.entries ?? {}))
      walk(rows, home, `${path}[].${key}`, inner);
  }
}

/** The type as a reader wants it: `integer 100–60000`, `"url" \| "instance"`, `list of objects`. */
function typeText(schema: AnySchema): string {
  const base = (schema.pipe?.[0] as AnySchema | undefined) ?? schema;
  const actions = schema.pipe ?? [];
  const bound = (type: string) => actions.find((a) => a.type === type)?.requirement as number | undefined;
  switch (base.type) {
    case 'number': {
      if (!actions.some((a) => a.type === 'integer')) return 'number';
      const [min, max] = [bound('min_value'), bound('max_value')];
      if (min !== undefined && max !== undefined && max < Number.MAX_SAFE_INTEGER)
        return `integer ${min}–${max}`;
      return min === undefined ? 'integer' : `integer ≥ ${min}`;
    }
    case 'picklist':
      return (base.options as readonly unknown[]).map((o) => JSON.stringify(o)).join(' \\| ');
    case 'literal':
      return JSON.stringify(base.literal);
    case 'array':
      return base.item?.type === 'strict_object' ? 'list of objects' : 'list of strings';
    case 'record':
      return 'object of strings';
    case 'union':
      return 'string or list of strings';
    default:
      return base.type;
  }
}

export const TABLE_START = '<!-- config-table:start -->';
export const TABLE_END = '<!-- config-table:end -->';

const HOMES: Readonly<Record<FieldHome, string>> = {
  configuration: 'config',
  deployment: 'deploy',
  'parameters file': 'params',
};

/** The Markdown table of every field, between its markers. */
export function configurationTable(): string {
  const lines = [
    TABLE_START,
    '',
    '`config`: the configuration document both functions read (`RECONCILER_CONFIG`); the parameters file and the construct take it as it is. `deploy`: the parameters file and the construct only. `params`: the parameters file only.',
    '',
    '| Field | In | Type | Default | Description |',
    '| --- | --- | --- | --- | --- |',
    ...fieldRows().map((row) => {
      const fallback = row.fallback ?? (row.required ? '(required)' : '(none)');
      const description = (DESCRIPTIONS[row.path] ?? '').replace(/\|/g, '\\|');
      return `| \`${row.path}\` | ${HOMES[row.home]} | ${row.type} | ${fallback} | ${description} |`;
    }),
    '',
    'Names of earlier versions. A parameters file still loads with a moved key (read under its new name, with a synth warning) and with `lagRetry` (dropped, with a warning); a construct prop of an earlier name, or `lagRetry` in a configuration document, is refused naming its successor.',
    '',
    '| Earlier name | Now |',
    '| --- | --- |',
    ...Object.entries(FORMER_NAMES).map(([former, now]) => {
      const loads =
        PARAMS_RENAMES[former] === undefined ? 'construct prop' : 'parameters file and construct prop';
      const [name = now, unit = ''] = now.split(/ (?=\()/);
      return `| \`${former}\` (${loads}) | \`${name}\`${unit === '' ? '' : ` ${unit}`} |`;
    }),
    ...Object.entries(RETIRED_FIELDS).map(([former, why]) => `| \`${former}\` | ${why} |`),
    '',
    TABLE_END,
  ];
  return lines.join('\n');
}

/** The page with its table replaced (or the page created, with a heading and the table). */
export function withTable(page: string | undefined): string {
  const table = configurationTable();
  if (page === undefined) return `# Configuration\n\n${table}\n`;
  const start = page.indexOf(TABLE_START);
  const end = page.indexOf(TABLE_END);
  if (start < 0 || end < start) return `${page.trimEnd()}\n\n${table}\n`;
  return page.slice(0, start) + table + page.slice(end + TABLE_END.length);
}

export const CONFIGURATION_PAGE = path.join(__dirname, '..', 'docs', 'configuration.md');

if (require.main === module) {
  const page = existsSync(CONFIGURATION_PAGE) ? readFileSync(CONFIGURATION_PAGE, 'utf8') : undefined;
  writeFileSync(CONFIGURATION_PAGE, withTable(page));
  console.log(`wrote the configuration table (${fieldRows().length} fields) into docs/configuration.md`);
}
