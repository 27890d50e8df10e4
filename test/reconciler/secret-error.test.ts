/**
 * A secret that cannot be read reaches the decision record with the AWS error's name and what to
 * check: the real registry client and Secrets Manager source, the SDK mocked.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { taskEvent } from '../../functions/lib/inmemory/events';
import { secretsManagerSource } from '../../functions/lib/registry/auth';
import { createRegistryClient } from '../../functions/lib/registry/client';
import type { DecisionRecord } from '../../functions/lib/telemetry/record';
import { CLUSTER_ARN, harness, REFS, TASKS } from './helpers';

const SECRET_ARN = 'arn:aws:secretsmanager:us-west-2:111122223333:secret:mcp-gateway-m2m-AbCdEf';
const sdk = mockClient(SecretsManagerClient);
afterEach(() => sdk.reset());

test.each([
  ['AccessDeniedException', 'allow secretsmanager:GetSecretValue on this secret'],
  ['DecryptionFailure', 'allow kms:Decrypt'],
])('%s: the record says which AWS error and what to check', async (name, check) => {
  // Prepare
  sdk
    .on(GetSecretValueCommand)
    .rejects(Object.assign(new Error('not for the record'), { name, $metadata: { httpStatusCode: 400 } }));
  const registry = createRegistryClient(
    {
      // Never reached: the token is needed first.
      url: 'http://127.0.0.1:9',
      auth: { type: 'keycloak', tokenUrl: 'http://127.0.0.1:9/token', secretArn: SECRET_ARN },
      timeoutMs: 1_000,
      maxAttempts: 1,
      reenableAfterWrite: false,
    },
    { secrets: secretsManagerSource({ client: new SecretsManagerClient({ region: 'us-west-2' }) }) },
  );
  const h = harness({ deps: { registry } });

  // Act
  // A task event of the mcpgw service: the fan-out plans from the configuration, the worker reads.
  await h.handler(
    taskEvent({
      clusterArn: CLUSTER_ARN,
      taskId: TASKS.gw1.taskId,
      service: TASKS.gw1.service,
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 3,
      ipv4: TASKS.gw1.ipv4,
    }),
  );

  // Assess
  const record = h.records.find((r) => r.target.path === REFS.mcpgw.path) as DecisionRecord;
  expect(record.action).toBe('error');
  expect(record.detail).toContain(`cannot read secret ${SECRET_ARN} (${name})`);
  expect(record.detail).toContain(check);
  expect(record.detail).not.toContain('not for the record');
});
