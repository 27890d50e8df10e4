/**
 * Every check of the props, before anything is built: one error lists every problem, each naming
 * its prop. The function's configuration is checked with the function's own parser, so a bad
 * configuration fails synth, not the first invocation.
 */
import { type Stack, Token } from 'aws-cdk-lib';
import { parseConfig, type ReconcilerConfig } from '../functions/reconciler/config';
import { minFunctionTimeoutMs } from '../functions/reconciler/delivery/budget';
import { ConfigError } from '../functions/reconciler/errors';
import { deployedBudget } from '../functions/reconciler/wiring';
import { DEFAULT_TIMEOUT, MAX_CONFIG_BYTES } from './defaults';
import { buildConfigInput } from './function-config';
import type { RegistryReconcilerProps } from './props';

/** The props are invalid; `problems` has one line per problem, each naming its prop. Thrown at synth. */
/** What the function's configuration is called in the construct's problems. */
const CONFIG_SOURCE = 'reconciler configuration';
/** How each problem of the function's configuration starts in `InvalidReconcilerPropsError`. */
export const CONFIG_PROBLEM_PREFIX = `invalid ${CONFIG_SOURCE}: `;

export class InvalidReconcilerPropsError extends Error {
  constructor(
    readonly constructPath: string,
    readonly problems: readonly string[],
  ) {
    super(`RegistryReconciler ${constructPath}: invalid props:\n- ${problems.join('\n- ')}`);
    this.name = 'InvalidReconcilerPropsError';
  }
}

/** The configuration the function will read, checked, and its JSON for `RECONCILER_CONFIG`. */
export interface CheckedConfig {
  readonly config: ReconcilerConfig;
  readonly configJson: string;
}

/**
 * Checks the props and the configuration they make; throws `InvalidReconcilerPropsError` listing
 * every problem, or returns the configuration.
 */
export function checkProps(
  props: RegistryReconcilerProps,
  stack: Stack,
  constructPath: string,
): CheckedConfig {
  const problems = validateProps(props, stack);
  const configInput = buildConfigInput(props);
  let config: ReconcilerConfig | undefined;
  try {
    config = parseConfig(configInput, CONFIG_SOURCE);
  } catch (error) {
    // One line per problem, each under the name the parameters' error also strips.
    const each = error instanceof ConfigError ? error.problems : [];
    if (each.length > 0) problems.push(...each.map((p) => `${CONFIG_PROBLEM_PREFIX}${p}`));
    else problems.push((error as Error).message);
  }
  if (config !== undefined) {
    const problem = timeoutProblem(props, config);
    if (problem !== undefined) problems.push(problem);
  }
  const configJson = JSON.stringify(configInput);
  if (Buffer.byteLength(configJson) > MAX_CONFIG_BYTES) {
    problems.push(
      `the configuration is ${Buffer.byteLength(configJson)} bytes; Lambda's environment holds 4 KB in all, keep it under ${MAX_CONFIG_BYTES}`,
    );
  }
  if (problems.length > 0 || config === undefined) {
    throw new InvalidReconcilerPropsError(constructPath, problems);
  }
  return { config, configJson };
}

/**
 * The reconciler starts an entry only when its worst case fits in the time left (the budget of
 * functions/reconciler/wiring.ts, from the registry client's limits): a timeout shorter than that
 * would hand every entry back unstarted until it dead-letters.
 */
function timeoutProblem(props: RegistryReconcilerProps, config: ReconcilerConfig): string | undefined {
  const timeout = props.timeout ?? DEFAULT_TIMEOUT;
  const needed = Math.ceil(minFunctionTimeoutMs(deployedBudget(config.registry)) / 1_000);
  if (timeout.toSeconds() >= needed) return undefined;
  return `timeout: ${timeout.toSeconds()} s cannot fit one entry's worst case with these registry limits (${config.registry.maxAttempts} attempts × ${config.registry.timeoutMs} ms per call): at least ${needed} s`;
}

const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SG_ID = /^sg-[0-9a-f]{8,17}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * Checks the props the configuration parser does not see (and a few it does, with a clearer
 * message). Returns one line per problem.
 */
export function validateProps(props: RegistryReconcilerProps, stack: Stack): string[] {
  const problems: string[] = [];
  const concrete = (name: string, value: string | undefined) => {
    if (value !== undefined && Token.isUnresolved(value)) {
      problems.push(
        `${name}: must be a literal value, not a token: it is validated and written into the configuration at synth time`,
      );
    }
  };
  concrete('cluster', props.cluster);
  concrete('namespace', props.namespace);
  concrete('registryService', props.registryService);
  concrete('registryUrl', props.registryUrl);
  if (props.auth.type === 'keycloak') {
    concrete('auth.tokenUrl', props.auth.tokenUrl);
    concrete('auth.secretArn', props.auth.secretArn);
    const name = props.auth.secretArn.split(':secret:')[1] ?? '';
    if (/-m2m-client-secret$/.test(name)) {
      problems.push(
        `auth.secretArn: "${name}" is the secret's name without its random suffix. Its name ends in "-secret" (a hyphen and six characters), which Secrets Manager takes for the suffix, so this partial ARN finds nothing: pass the complete ARN (aws secretsmanager describe-secret --secret-id ${name} --query ARN)`,
      );
    }
    if (
      props.auth.secretKmsKeyArn !== undefined &&
      !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/.test(props.auth.secretKmsKeyArn)
    ) {
      problems.push('auth.secretKmsKeyArn: must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)');
    }
  } else if (props.auth.type === 'static') {
    if (props.auth.tokenSecret.trim() === '') problems.push('auth.tokenSecret: must name a secret');
  } else {
    problems.push(`auth.type: must be "keycloak" or "static"`);
  }

  // The rule only sees events of its own account and Region: a cluster elsewhere would stay silent.
  const clusterArn = props.cluster?.startsWith('arn:') ? props.cluster.split(':') : undefined;
  if (clusterArn !== undefined) {
    const [, , , region, account] = clusterArn;
    if (!Token.isUnresolved(stack.region) && region !== stack.region) {
      problems.push(
        `cluster: is in ${region}, the stack deploys to ${stack.region}; ECS events stay in their Region`,
      );
    }
    if (!Token.isUnresolved(stack.account) && account !== stack.account) {
      problems.push(`cluster: is in account ${account}, the stack deploys to ${stack.account}`);
    }
  }

  const resync = props.resyncInterval;
  if (resync !== undefined) {
    const minutes = resync.toSeconds() / 60;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) {
      problems.push(`resyncInterval: must be whole minutes between 1 and 60 (got ${resync.toHumanString()})`);
    }
  }
  if (props.timeout !== undefined) {
    const s = props.timeout.toSeconds();
    if (!Number.isInteger(s) || s < 10 || s > 300) {
      problems.push(
        `timeout: must be whole seconds between 10 and 300 (got ${props.timeout.toHumanString()})`,
      );
    }
  }
  if (
    props.memorySize !== undefined &&
    (!Number.isInteger(props.memorySize) || props.memorySize < 128 || props.memorySize > 3008)
  ) {
    problems.push(`memorySize: must be an integer between 128 and 3008 MB (got ${props.memorySize})`);
  }
  if (props.registryTimeout !== undefined && !Number.isInteger(props.registryTimeout.toMilliseconds())) {
    problems.push('registryTimeout: must be whole milliseconds');
  }

  const network = props.network;
  if (network !== undefined) {
    if (!VPC_ID.test(network.vpcId))
      problems.push(`network.vpcId: "${network.vpcId}" is not a VPC id (vpc-…)`);
    if (network.subnetIds.length === 0) problems.push('network.subnetIds: name at least one subnet');
    for (const [i, s] of network.subnetIds.entries()) {
      if (!SUBNET_ID.test(s)) problems.push(`network.subnetIds.${i}: "${s}" is not a subnet id (subnet-…)`);
    }
    for (const [i, s] of (network.securityGroupIds ?? []).entries()) {
      if (!SG_ID.test(s))
        problems.push(`network.securityGroupIds.${i}: "${s}" is not a security group id (sg-…)`);
    }
  }

  if (props.alarmTopic !== undefined && props.alarmEmail !== undefined) {
    problems.push(
      'alarmTopic and alarmEmail: give one or the other (subscribe the address to your topic yourself)',
    );
  }
  if (props.alarmEmail !== undefined && !EMAIL.test(props.alarmEmail)) {
    problems.push(`alarmEmail: "${props.alarmEmail}" is not an e-mail address`);
  }
  const alarms = props.alarms ?? {};
  for (const key of ['functionErrors', 'reconcileErrors', 'throttles'] as const) {
    const v = alarms[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      problems.push(`alarms.${key}: must be a whole number ≥ 1`);
  }
  for (const key of ['noLiveInstanceFor', 'oldestMessageAge'] as const) {
    const v = alarms[key];
    if (v !== undefined && (v.toSeconds() < 60 || v.toSeconds() > 86_400)) {
      problems.push(`alarms.${key}: must be between 1 minute and 1 day`);
    }
  }
  if (props.serviceName !== undefined && !/^[A-Za-z0-9_.-]{1,255}$/.test(props.serviceName)) {
    problems.push('serviceName: letters, digits, "_", "." and "-" only');
  }
  return problems;
}
