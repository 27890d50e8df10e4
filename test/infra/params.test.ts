import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadParams, ParamsError, toReconcilerProps } from '../../infra/params';
import { RegistryReconcilerStack } from '../../infra/registry-reconciler-stack';
import { newApp, REPO_ROOT } from './helpers';

const EXAMPLE = path.join(REPO_ROOT, 'infra', 'params.example.json');

function writeParams(content: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'reconciler-params-')), 'params.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** What `f` throws (the test fails if it throws nothing). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

const MINIMAL = {
  registry: {
    url: 'https://registry.example.com',
    auth: {
      type: 'keycloak',
      tokenUrl: 'https://kc.example.com/realms/mcp-gateway/protocol/openid-connect/token',
      secretArn:
        'arn:aws:secretsmanager:us-west-2:111122223333:secret:mcp-gateway-keycloak-m2m-client-secret-AbCdEf',
    },
  },
};

describe('Function: loadParams', () => {
  it('reads the shipped example, with nothing to rename', () => {
    const { params, warnings } = loadParams(EXAMPLE);
    expect(params).toMatchObject({
      stackName: 'McpGatewayRegistryReconciler',
      cluster: 'mcp-gateway-ecs-cluster',
      namespace: 'mcp-gateway.local',
      registryService: 'mcp-gateway-registry',
      registry: { auth: { type: 'keycloak' } },
      dryRun: true,
    });
    expect(params.targets).toHaveLength(5);
    expect(warnings).toEqual([]);
  });

  it('lets -c context values override single keys, nested and boolean ones included', () => {
    const context: Record<string, string> = { 'registry.url': 'https://other.example.com', dryRun: 'false' };
    const { params } = loadParams(EXAMPLE, (key) => context[key]);
    expect(params.registry.url).toBe('https://other.example.com');
    expect(params.dryRun).toBe(false);
  });

  it('reads -c registryUrl, the earlier name, as registry.url and says so', () => {
    const context: Record<string, string> = { registryUrl: 'https://other.example.com' };
    const { params, warnings } = loadParams(EXAMPLE, (key) => context[key]);
    expect(params.registry.url).toBe('https://other.example.com');
    expect(warnings).toEqual(['-c registryUrl is now -c registry.url: read as registry.url']);
  });

  it('names every bad key and the file, one line each', () => {
    const file = writeParams({ ...MINIMAL, resyncMinutes: 'five', unknownKey: 1 });
    const error = thrown(() => loadParams(file));
    expect(error).toBeInstanceOf(ParamsError);
    expect((error as ParamsError).lines).toEqual([
      `${file}: resyncMinutes: Invalid input: expected number, received string`,
      `${file}: unknownKey: unknown key`,
    ]);
  });

  it('names every unknown key on its own line, nested ones by their path', () => {
    const file = writeParams({ ...MINIMAL, target: [], alarm: 1, alarms: { throttle: 1, errors: 2 } });
    const error = thrown(() => loadParams(file)) as ParamsError;
    expect(error.lines).toEqual([
      `${file}: alarms.throttle: unknown key`,
      `${file}: alarms.errors: unknown key`,
      `${file}: target: unknown key (did you mean "targets"?)`,
      `${file}: alarm: unknown key (did you mean "alarms"?)`,
    ]);
  });

  it('refuses an array where an object belongs', () => {
    const file = writeParams({ ...MINIMAL, tags: ['team=mcp'] });
    expect(() => loadParams(file)).toThrow(`${file}: tags: Invalid input: expected object, received array`);
  });

  it('refuses a log retention CloudWatch does not offer', () => {
    const file = writeParams({ ...MINIMAL, logRetentionDays: 2 });
    expect(() => loadParams(file)).toThrow(
      `${file}: logRetentionDays: must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, …)`,
    );
  });

  it('blames a bad -c value on -c, not on the file', () => {
    const context: Record<string, string> = { dryRun: 'maybe', logLevel: 'LOUD', 'registry.url': 'ftp://x' };
    const error = thrown(() => loadParams(EXAMPLE, (key) => context[key])) as ParamsError;
    expect(error.lines).toEqual([
      '-c dryRun: "maybe" is neither true nor false',
      '-c registry.url: must be an http(s) URL',
      expect.stringMatching(/^-c logLevel: .*"DEBUG"/),
    ]);
    expect(error.message).not.toContain('params.example.json');
  });

  it('says when the file is missing or not JSON', () => {
    expect(() => loadParams('/nonexistent/params.json')).toThrow(
      '/nonexistent/params.json: cannot read the parameters file: no such file (copy infra/params.example.json there and edit it)',
    );
    expect(() => loadParams(writeParams('{ not json'))).toThrow(
      /cannot read the parameters file: not valid JSON/,
    );
    expect(() => loadParams(writeParams('[]'))).toThrow(/must hold a JSON object/);
  });
});

describe('Function: loadParams on a file of the earlier shape', () => {
  it('reads each moved key under its new name and names both in a warning', () => {
    const file = writeParams({
      registryUrl: 'https://registry.example.com',
      auth: { type: 'static', tokenSecret: 'registry-admin-token', tokenSecretJsonField: 'token' },
      registryTimeoutMs: 2_500,
      registryMaxAttempts: 2,
      reenableAfterWrite: true,
      lagRetry: { attempts: 3, delayMs: 500 },
    });
    const { params, warnings } = loadParams(file);
    expect(params.registry).toEqual({
      url: 'https://registry.example.com',
      auth: { type: 'static', tokenSecret: 'registry-admin-token', tokenSecretJsonField: 'token' },
      timeoutMs: 2_500,
      maxAttempts: 2,
      reenableAfterWrite: true,
    });
    expect(params).not.toHaveProperty('lagRetry');
    expect(warnings).toEqual([
      `${file}: registryUrl is now registry.url: the file still loads; rename it there`,
      `${file}: auth is now registry.auth: the file still loads; rename it there`,
      `${file}: registryTimeoutMs is now registry.timeoutMs: the file still loads; rename it there`,
      `${file}: registryMaxAttempts is now registry.maxAttempts: the file still loads; rename it there`,
      `${file}: reenableAfterWrite is now registry.reenableAfterWrite: the file still loads; rename it there`,
      expect.stringMatching(
        new RegExp(`^${file}: lagRetry is ignored: removed: the deployed reconciler never used it`),
      ),
    ]);
  });

  it('refuses a key set under both its earlier and its new name', () => {
    const file = writeParams({ ...MINIMAL, registryUrl: 'https://old.example.com' });
    expect(() => loadParams(file)).toThrow(
      `${file}: registryUrl: renamed to registry.url, which the file also sets: keep registry.url only`,
    );
  });

  it('blames a bad value on the earlier name it was read from', () => {
    const old = writeParams({ registryUrl: 'ftp://registry', auth: MINIMAL.registry.auth });
    expect(() => loadParams(old)).toThrow(
      `${old}: registry.url (read from registryUrl): must be an http(s) URL`,
    );
  });
});

describe('Stack: RegistryReconcilerStack from the example parameters', () => {
  const app = newApp();
  const stack = new RegistryReconcilerStack(app, 'Example', {
    reconciler: toReconcilerProps(loadParams(EXAMPLE).params),
  });
  const template = Template.fromStack(stack);

  it('is environment-agnostic', () => {
    expect(stack.resolve(stack.account)).toEqual({ Ref: 'AWS::AccountId' });
    expect(stack.resolve(stack.region)).toEqual({ Ref: 'AWS::Region' });
  });

  it('outputs what an operator looks for', () => {
    for (const name of [
      'FunctionName',
      'LogGroupName',
      'FanoutFunctionName',
      'FanoutLogGroupName',
      'TriggerQueueUrl',
      'WorkQueueUrl',
      'WorkDeadLetterQueueUrl',
      'TriggerDeadLetterQueueUrl',
      'DeliveryDeadLetterQueueUrl',
      'DashboardName',
    ]) {
      template.hasOutput(name, {});
    }
  });

  it('passes the AWS Solutions checks', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });
});
