/**
 * Every check of the props, before anything is built: one error lists every problem, each naming
 * its field as the parameters file and docs/configuration.md name it. The settings schema
 * (settings.ts) checks each field; the function's own parser checks the configuration the
 * functions will read, so a bad configuration fails synth, not the first invocation.
 */
import { type Stack, Token } from 'aws-cdk-lib';
import * as v from 'valibot';
import {
  configProblems,
  parseConfig,
  RETIRED_FIELDS,
  type ReconcilerConfig,
} from '../functions/lib/config/config';
import { issueLines, issuePath, unknownKeys } from '../functions/lib/config/validation';
import { minFunctionTimeoutMs } from '../functions/lib/delivery/budget';
import { TRIGGER_QUEUE_URL_ENV, WORK_QUEUE_URL_ENV } from '../functions/lib/delivery/settings';
import { ConfigError } from '../functions/lib/errors';
import { deployedBudget } from '../functions/reconciler/wiring';
import type { RegistryReconcilerProps } from './props';
import {
  FIXED,
  FORMER_NAMES,
  functionDocument,
  type ReconcilerSettings,
  type SettingsInput,
  settingsSchema,
} from './settings';

/** The props are invalid; `problems` has one line per problem, each naming its field. Thrown at synth. */
export class InvalidReconcilerPropsError extends Error {
  constructor(
    readonly constructPath: string,
    readonly problems: readonly string[],
  ) {
    super(`RegistryReconciler ${constructPath}: invalid props:\n- ${problems.join('\n- ')}`);
    this.name = 'InvalidReconcilerPropsError';
  }
}

/** The settings, checked, the configuration the functions will read, and its JSON for `RECONCILER_CONFIG`. */
export interface CheckedProps {
  readonly settings: ReconcilerSettings;
  readonly config: ReconcilerConfig;
  readonly configJson: string;
}

/** Variables the construct or Lambda sets: a static token cannot be read from one of them. */
const TAKEN_ENV = /^(AWS_|LAMBDA_|_HANDLER$|_X_AMZN|POWERTOOLS_|NODE_OPTIONS$|RECONCILER_CONFIG|TZ$)/;

/**
 * Checks the props and the configuration they make; throws `InvalidReconcilerPropsError` listing
 * every problem, or returns the settings and the configuration.
 */
export function checkProps(
  props: RegistryReconcilerProps,
  stack: Stack,
  constructPath: string,
): CheckedProps {
  const {
    alarmTopic,
    entry: _entry,
    fanoutEntry: _fanoutEntry,
    webhookEntry: _webhookEntry,
    ...document
  } = props;
  const problems = tokenProblems(document as SettingsInput);
  const result = v.safeParse(settingsSchema, document);
  if (!result.success) problems.push(...settingsIssues(result.issues));
  if (problems.length > 0 || !result.success) throw new InvalidReconcilerPropsError(constructPath, problems);
  const settings = result.output;
  problems.push(...configProblems(settings, true), ...crossProblems(settings, stack));
  if (alarmTopic !== undefined && settings.alarmEmail !== undefined) {
    problems.push(
      'alarmTopic and alarmEmail: give one or the other (subscribe the address to your topic yourself)',
    );
  }

  const configInput = functionDocument(document as SettingsInput, settings);
  let config: ReconcilerConfig | undefined;
  try {
    config = parseConfig(configInput, 'reconciler configuration');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...(error.problems.length > 0 ? error.problems : [error.message]));
  }
  const configJson = JSON.stringify(configInput);
  if (Buffer.byteLength(configJson) > FIXED.maxConfigBytes) {
    problems.push(
      `the configuration is ${Buffer.byteLength(configJson)} bytes; Lambda's environment holds 4 KB in all, keep it under ${FIXED.maxConfigBytes}`,
    );
  }
  if (problems.length > 0 || config === undefined)
    throw new InvalidReconcilerPropsError(constructPath, problems);
  return { settings, config, configJson };
}

/** The schema's problems; a name of an earlier version is named with its new name. */
export function settingsIssues(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.flatMap((issue) => {
    const keys = unknownKeys(issue);
    if (keys === undefined) return issueLines([issue]);
    const where = issuePath(issue);
    return keys.map((key) => {
      const name = [...where, key].join('.');
      const now = FORMER_NAMES[name];
      const retired = RETIRED_FIELDS[name];
      if (retired !== undefined) return `${name}: ${retired}`;
      return now === undefined ? `${name}: unknown key` : `${name}: renamed: use ${now}`;
    });
  });
}

/** Values written into the configuration at synth time must be literals. */
function tokenProblems(input: SettingsInput): string[] {
  const auth = (input.registry?.auth ?? {}) as Record<string, unknown>;
  const literals: [string, unknown][] = [
    ['cluster', input.cluster],
    ['namespace', input.namespace],
    ['registryService', input.registryService],
    ['registry.url', input.registry?.url],
    ['registry.auth.tokenUrl', auth.tokenUrl],
    ['registry.auth.secretArn', auth.secretArn],
  ];
  return literals
    .filter(([, value]) => typeof value === 'string' && Token.isUnresolved(value))
    .map(
      ([name]) =>
        `${name}: must be a literal value, not a token: it is validated and written into the configuration at synth time`,
    );
}

/** Checks that span fields, or need the stack. */
function crossProblems(settings: ReconcilerSettings, stack: Stack): string[] {
  const problems: string[] = [];
  const { auth } = settings.registry;
  if (auth.type === 'keycloak') {
    const name = auth.secretArn.split(':secret:')[1] ?? '';
    if (/-m2m-client-secret$/.test(name)) {
      problems.push(
        `registry.auth.secretArn: "${name}" is the secret's name without its random suffix. Its name ends in "-secret" (a hyphen and six characters), which Secrets Manager takes for the suffix, so this partial ARN finds nothing: pass the complete ARN (aws secretsmanager describe-secret --secret-id ${name} --query ARN)`,
      );
    }
  } else {
    if (auth.tokenSecret === undefined) {
      problems.push('registry.auth.tokenSecret: required where deployed: the secret that holds the token');
    }
    if (
      TAKEN_ENV.test(auth.tokenEnv) ||
      [WORK_QUEUE_URL_ENV, TRIGGER_QUEUE_URL_ENV].includes(auth.tokenEnv)
    ) {
      problems.push(
        `registry.auth.tokenEnv: ${auth.tokenEnv} is set by Lambda or the construct; choose another name`,
      );
    }
  }

  // The rule only sees events of its own account and Region: a cluster elsewhere would stay silent.
  if (settings.cluster.startsWith('arn:')) {
    const [, , , region, account] = settings.cluster.split(':');
    if (!Token.isUnresolved(stack.region) && region !== stack.region) {
      problems.push(
        `cluster: is in ${region}, the stack deploys to ${stack.region}; ECS events stay in their Region`,
      );
    }
    if (!Token.isUnresolved(stack.account) && account !== stack.account) {
      problems.push(`cluster: is in account ${account}, the stack deploys to ${stack.account}`);
    }
  }

  // The reconciler starts an entry only when its worst case fits in the time left (the budget of
  // functions/reconciler/wiring.ts, from the registry client's limits): a timeout shorter than that
  // would hand every entry back unstarted until it dead-letters.
  const { registry, timeoutSeconds } = settings;
  const needed = Math.ceil(minFunctionTimeoutMs(deployedBudget(registry)) / 1_000);
  if (timeoutSeconds < needed) {
    problems.push(
      `timeoutSeconds: ${timeoutSeconds} s cannot fit one entry's worst case with these registry limits (${registry.maxAttempts} attempts × ${registry.timeoutMs} ms per call): at least ${needed} s`,
    );
  }
  return problems;
}
