import { ECSClient } from '@aws-sdk/client-ecs';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { SDK_CLIENT_SETTINGS } from '../../functions/lib/aws/clients';

/**
 * SDK clients for the CLIs, on the standard credential chain and region, honouring
 * `AWS_ENDPOINT_URL_*` (so they also reach moto_server). Cloud Map's `DiscoverInstances` goes to a
 * `data-` host prefix, which a custom endpoint does not have.
 */
export function awsClients(env: NodeJS.ProcessEnv = process.env): {
  ecs: ECSClient;
  cloudMap: ServiceDiscoveryClient;
} {
  const custom = Boolean(env.AWS_ENDPOINT_URL_SERVICEDISCOVERY || env.AWS_ENDPOINT_URL);
  // One retry fewer than the Lambda's: an operator at a terminal waits for the answer.
  const common = { ...SDK_CLIENT_SETTINGS, maxAttempts: 2 };
  return {
    ecs: new ECSClient({ ...common }),
    cloudMap: new ServiceDiscoveryClient({ ...common, disableHostPrefix: custom }),
  };
}

export const REGION_HINT =
  'no AWS region: set AWS_REGION (for example AWS_REGION=us-west-2), or a region in your AWS profile';
export const CREDENTIALS_HINT =
  'no AWS credentials: set AWS_PROFILE (after `aws sso login` or `aws configure`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

/**
 * Checks before any call that the SDK has a region and credentials, so a tool says how to provide
 * them instead of failing every call with "Region is missing". Returns the problem, or undefined.
 */
export async function checkAwsSetup(client: ECSClient = new ECSClient({})): Promise<string | undefined> {
  try {
    const region = await client.config.region();
    if (!region) return REGION_HINT;
  } catch {
    return REGION_HINT;
  }
  try {
    await client.config.credentials();
  } catch {
    return CREDENTIALS_HINT;
  }
  return undefined;
}

/** How to fix a known AWS setup problem that an error's text shows, or '' when it shows none. */
export function awsHint(text: string): string {
  if (/Region is missing/i.test(text)) return REGION_HINT;
  if (/CredentialsProviderError|Could not load credentials/i.test(text)) return CREDENTIALS_HINT;
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(text))
    return 'the AWS endpoint cannot be reached: check the network and any AWS_ENDPOINT_URL setting';
  return '';
}

/** One line about an AWS failure, with a hint where the cause is a known setup problem. */
export function explainAwsError(error: unknown): string {
  const e = (error ?? {}) as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  const text = `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
  const hint = awsHint(`${text} ${e.code ?? ''} ${e.cause?.code ?? ''}`);
  return hint === '' ? text : `${text} (${hint})`;
}
