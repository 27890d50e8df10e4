import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
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
  registryUrl: 'https://registry.example.com',
  auth: {
    type: 'keycloak',
    tokenUrl: 'https://kc.example.com/realms/mcp-gateway/protocol/openid-connect/token',
    secretArn:
      'arn:aws:secretsmanager:us-west-2:111122223333:secret:mcp-gateway-keycloak-m2m-client-secret-AbCdEf',
  },
};

describe('Function: loadParams', () => {
  it('reads the shipped example', () => {
    const params = loadParams(EXAMPLE);
    expect(params).toMatchObject({
      stackName: 'McpGatewayRegistryReconciler',
      cluster: 'mcp-gateway-ecs-cluster',
      namespace: 'mcp-gateway.local',
      registryService: 'mcp-gateway-registry',
      auth: { type: 'keycloak' },
      dryRun: true,
    });
    expect(params.targets).toHaveLength(5);
  });

  it('lets -c context values override single keys, booleans included', () => {
    const context: Record<string, string> = { registryUrl: 'https://other.example.com', dryRun: 'false' };
    const params = loadParams(EXAMPLE, (key) => context[key]);
    expect(params.registryUrl).toBe('https://other.example.com');
    expect(params.dryRun).toBe(false);
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
    const file = writeParams({ ...MINIMAL, target: [], alarm: 1, lagRetry: { attempt: 1, delay: 2 } });
    const error = thrown(() => loadParams(file)) as ParamsError;
    expect(error.lines).toEqual([
      `${file}: lagRetry.attempt: unknown key`,
      `${file}: lagRetry.delay: unknown key`,
      `${file}: target: unknown key (did you mean "targets"?)`,
      `${file}: alarm: unknown key (did you mean "alarms"?)`,
    ]);
  });

  it('refuses an array where an object belongs', () => {
    const file = writeParams({ ...MINIMAL, tags: ['team=mcp'] });
    expect(() => loadParams(file)).toThrow(`${file}: tags: Invalid input: expected object, received array`);
  });

  it('suggests the key an unknown one was probably meant to be', () => {
    const file = writeParams({ ...MINIMAL, target: [] });
    expect(() => loadParams(file)).toThrow(`${file}: target: unknown key (did you mean "targets"?)`);
  });

  it('blames a bad -c value on -c, not on the file', () => {
    const context: Record<string, string> = { dryRun: 'maybe', logLevel: 'LOUD' };
    const error = thrown(() => loadParams(EXAMPLE, (key) => context[key])) as ParamsError;
    expect(error.lines).toEqual([
      '-c dryRun: "maybe" is neither true nor false',
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

describe('Function: toReconcilerProps', () => {
  it('converts minutes, seconds and milliseconds to durations', () => {
    const props = toReconcilerProps(
      loadParams(
        writeParams({
          ...MINIMAL,
          resyncMinutes: 10,
          resyncFullCheckMinutes: 60,
          timeoutSeconds: 45,
          registryTimeoutMs: 2500,
          lagRetry: { attempts: 3, delayMs: 500 },
          alarms: { noLiveInstanceMinutes: 20 },
        }),
      ),
    );
    expect(props.resyncInterval?.toMinutes()).toBe(10);
    expect(props.resyncFullCheck?.toMinutes()).toBe(60);
    expect(props.timeout?.toSeconds()).toBe(45);
    expect(props.registryTimeout?.toMilliseconds()).toBe(2500);
    expect(props.lagRetry?.delay?.toMilliseconds()).toBe(500);
    expect(props.alarms?.noLiveInstanceFor).toEqual(Duration.minutes(20));
  });

  it('rejects a log retention CloudWatch does not offer', () => {
    const file = writeParams({ ...MINIMAL, logRetentionDays: 2 });
    expect(() => toReconcilerProps(loadParams(file), file)).toThrow(
      new RegExp(`^${file}: logRetentionDays: 2 is not a CloudWatch Logs retention`),
    );
  });
});

describe('Stack: RegistryReconcilerStack from the example parameters', () => {
  const app = newApp();
  const stack = new RegistryReconcilerStack(app, 'Example', {
    reconciler: toReconcilerProps(loadParams(EXAMPLE)),
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
