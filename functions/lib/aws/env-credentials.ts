/**
 * The Lambda bundle's credential source: the role's credentials that the Lambda runtime always puts
 * in the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and nothing
 * else. infra/bundling.ts substitutes this module for `@aws-sdk/credential-provider-node` in the
 * Lambda build only, so the SDK's default chain (profiles, SSO, STS web identity, instance metadata,
 * with its nested STS/SSO clients, about 130 KB minified) is not bundled, parsed or run at cold start.
 * The local tools import the SDK unbundled and keep the full default chain.
 *
 * Drop-in for the one export the SDK clients' runtime configuration reads: `defaultProvider`.
 */

/** The identity the SDK signs with (the shape of `@smithy/types` `AwsCredentialIdentity`). */
export interface EnvironmentCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Reads the credentials from `env` on every call, so a test or a rotated environment is seen. */
export function fromEnvironment(env: NodeJS.ProcessEnv = process.env): () => Promise<EnvironmentCredentials> {
  return async () => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        'AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set. The Lambda runtime sets them from the function role; this bundle reads no other credential source',
      );
    }
    const sessionToken = env.AWS_SESSION_TOKEN;
    return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
  };
}

/** What the SDK clients call in place of the default chain (its `init` options do not apply). */
export const defaultProvider = (_init?: unknown): (() => Promise<EnvironmentCredentials>) =>
  fromEnvironment();
