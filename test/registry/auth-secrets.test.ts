/**
 * Secret read failures keep their cause: each Secrets Manager error is named, with what to check,
 * and no message ever holds the secret's value. The SDK is mocked (aws-sdk-client-mock) under
 * the real Secrets Manager source, so the error is the SDK's own.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { isRetryable } from '../../functions/lib/errors';
import { SecretReadError, secretsManagerSource } from '../../functions/lib/registry/auth';

const SECRET_ARN = 'arn:aws:secretsmanager:us-west-2:123456789012:secret:mcp-gateway-m2m-AbCdEf';
const sdk = mockClient(SecretsManagerClient);

beforeEach(() => sdk.reset());

function source() {
  return secretsManagerSource({ client: new SecretsManagerClient({ region: 'us-west-2' }) });
}

async function failure(error: Error): Promise<SecretReadError> {
  sdk.on(GetSecretValueCommand).rejects(error);
  try {
    await source().read(SECRET_ARN, { forceFetch: true });
  } catch (thrown) {
    return thrown as SecretReadError;
  }
  throw new Error('the read did not fail');
}

const awsError = (name: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name, ...extra });

describe('Function: secretsManagerSource, when the read fails', () => {
  test.each([
    ['AccessDeniedException', 'secretsmanager:GetSecretValue', false],
    ['ResourceNotFoundException', 'registry.auth.secretArn', false],
    ['DecryptionFailure', 'kms:Decrypt', false],
  ])('%s is named with what to check (%s)', async (name, check, retryable) => {
    const error = await failure(
      awsError(name, `User is not authorized (${name})`, { $metadata: { httpStatusCode: 400 } }),
    );

    expect(error).toBeInstanceOf(SecretReadError);
    expect(error.name).toBe(name);
    expect(error.message).toContain(`cannot read secret ${SECRET_ARN}: ${name}:`);
    expect(error.message).toContain(check);
    expect(isRetryable(error)).toBe(retryable);
  });

  test('a network error says the endpoint could not be reached and is retryable', async () => {
    const error = await failure(
      awsError('Error', 'connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' }),
    );

    expect(error.name).toBe('NetworkError');
    expect(error.message).toContain('could not be reached (ECONNREFUSED)');
    expect(isRetryable(error)).toBe(true);
  });

  test('a throttled read stays retryable', async () => {
    const error = await failure(
      awsError('ThrottlingException', 'Rate exceeded', { $retryable: { throttling: true } }),
    );

    expect(error.name).toBe('ThrottlingException');
    expect(isRetryable(error)).toBe(true);
  });

  test('an unknown error is still named; the secret value never appears', async () => {
    const error = await failure(awsError('SomethingNewException', 'value was {"client_secret":"s3cr3t"}'));

    expect(error.name).toBe('SomethingNewException');
    expect(error.message).not.toContain('s3cr3t');
  });

  test('a successful read still returns the value', async () => {
    sdk.on(GetSecretValueCommand).resolves({ SecretString: '{"client_id":"a","client_secret":"b"}' });

    const read = await source().read(SECRET_ARN, { forceFetch: true });

    expect(read).toEqual({ value: '{"client_id":"a","client_secret":"b"}', fetched: true });
  });
});
