/**
 * Every field of the parameters file reaches what it configures: a parameters file that sets each
 * field to a value other than its default (fixtures/every-field.json) is synthesized as `cdk synth`
 * does (infra/app.ts), and each value is found where it takes effect: a field of the configuration
 * document in both functions' `RECONCILER_CONFIG`, a deployment field in the resource it sizes.
 * A new field fails here until the fixture sets it and, for a deployment field, an assertion
 * below says where it arrives.
 */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as v from 'valibot';
import { CONFIG_ENTRIES, CONFIG_ENV, parseConfig } from '../../functions/lib/config/config';
import { buildApp } from '../../infra/app';
import { fieldRows } from '../../infra/config-docs';
import { DEPLOYMENT_ENTRIES, PARAMS_ENTRIES } from '../../infra/settings';
import { cdkJsonContext, environmentOf, functionProps, iamStatements, REPO_ROOT } from './helpers';

const FIXTURE = path.join(REPO_ROOT, 'test', 'infra', 'fixtures', 'every-field.json');
const PARAMS = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown> & {
  stackName: string;
  registry: Record<string, unknown>;
  targets: Record<string, unknown>[];
  network: { vpcId: string; subnetIds: string[]; securityGroupIds: string[] };
  alarms: Record<string, number>;
  tags: Record<string, string>;
};
/** The static variant of `registry.auth`, every field set. */
const STATIC_AUTH = {
  type: 'static',
  tokenEnv: 'REGISTRY_BEARER',
  tokenSecret: 'other-registry-token',
  tokenSecretJsonField: 'token',
};

/** The value at a dotted path; `targets[].port` is the list of every target's `port`. */
function at(value: unknown, dotted: string): unknown {
  const [head, ...rest] = dotted.split('.');
  if (head === undefined || head === '') return value;
  if (head.endsWith('[]')) {
    const list = (value as Record<string, unknown>)?.[head.slice(0, -2)];
    return Array.isArray(list) ? list.map((item) => at(item, rest.join('.'))) : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  return at((value as Record<string, unknown>)[head], rest.join('.'));
}

/** The default of a field, by its path in the schema (undefined when it has none). */
function defaultOf(dotted: string): unknown {
  const entries: Record<string, unknown> = { ...CONFIG_ENTRIES, ...DEPLOYMENT_ENTRIES, ...PARAMS_ENTRIES };
  let schema: unknown = { type: 'strict_object', entries };
  for (const key of dotted.replace(/\[\]/g, '').split('.')) {
    let s = schema as {
      type: string;
      wrapped?: unknown;
      entries?: Record<string, unknown>;
      item?: unknown;
      options?: unknown[];
    };
    if (s.type === 'optional') s = s.wrapped as typeof s;
    if (s.type === 'array') s = s.item as typeof s;
    if (s.type === 'variant') {
      schema = (s.options as { entries: Record<string, unknown> }[]).find((o) => key in o.entries)?.entries[
        key
      ];
      continue;
    }
    schema = s.entries?.[key];
  }
  const last = schema as { type: string };
  return last.type === 'optional'
    ? v.getDefault(last as v.OptionalSchema<v.GenericSchema, unknown>)
    : undefined;
}

function writeParams(content: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'reconciler-every-field-')), 'params.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

/** The stack `cdk synth -c params=<file>` builds (without bundling), and its template. */
function synth(params: unknown): { stack: Stack; template: Template } {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], params: writeParams(params) },
  });
  const stack = buildApp(app);
  return { stack, template: Template.fromStack(stack) };
}

const FUNCTIONS = ['Function', 'FanoutFunction'] as const;
const withStaticAuth = { ...PARAMS, registry: { ...PARAMS.registry, auth: STATIC_AUTH } };

/** Configuration fields only the deployment reads: they arrive elsewhere (asserted below). */
const DEPLOYMENT_READ = new Set([
  'registry.auth.secretKmsKeyArn',
  'registry.auth.tokenEnv',
  'registry.auth.tokenSecret',
  'registry.auth.tokenSecretJsonField',
]);

describe('A parameters file setting every field', () => {
  const { stack, template } = synth(PARAMS);
  const statics = synth(withStaticAuth);
  const alarm = (name: string) =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).find(
      (a) =>
        (a as { Properties: { AlarmName: string } }).Properties.AlarmName ===
        `${PARAMS.stackName}-Reconciler-${name}`,
    ) as { Properties: Record<string, number> };

  /** Where each field that is not in the functions' configuration takes effect. */
  const ARRIVES: Record<string, () => void> = {
    $comment: () => {
      // Free text, ignored by design: it only has to load.
    },
    stackName: () => expect(stack.stackName).toBe(PARAMS.stackName),
    // Stack tags (cdk.json's explicitStackTags): CloudFormation puts them on every resource at deploy time.
    tags: () => expect(stack.tags.tagValues()).toEqual(PARAMS.tags),
    network: () => expect(functionProps(template).VpcConfig).toBeDefined(),
    'network.vpcId': () => {
      // The VPC id is read only for a security group the construct creates.
      const { network: _given, ...rest } = PARAMS;
      const created = synth({ ...rest, network: { ...PARAMS.network, securityGroupIds: undefined } });
      created.template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: PARAMS.network.vpcId });
    },
    'network.subnetIds': () => {
      for (const id of FUNCTIONS) {
        expect(functionProps(template, id).VpcConfig).toMatchObject({ SubnetIds: PARAMS.network.subnetIds });
      }
    },
    'network.securityGroupIds': () => {
      for (const id of FUNCTIONS) {
        expect(functionProps(template, id).VpcConfig).toMatchObject({
          SecurityGroupIds: PARAMS.network.securityGroupIds,
        });
      }
    },
    timeoutSeconds: () => expect(functionProps(template).Timeout).toBe(PARAMS.timeoutSeconds),
    memorySize: () => {
      for (const id of FUNCTIONS) expect(functionProps(template, id).MemorySize).toBe(PARAMS.memorySize);
    },
    logRetentionDays: () => {
      const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
      expect(
        groups.map((g) => (g as { Properties: { RetentionInDays: number } }).Properties.RetentionInDays),
      ).toEqual([PARAMS.logRetentionDays, PARAMS.logRetentionDays, PARAMS.logRetentionDays]);
    },
    logLevel: () => {
      for (const id of FUNCTIONS)
        expect(environmentOf(template, id).POWERTOOLS_LOG_LEVEL).toBe(PARAMS.logLevel);
    },
    serviceName: () => {
      for (const id of FUNCTIONS)
        expect(environmentOf(template, id).POWERTOOLS_SERVICE_NAME).toBe(PARAMS.serviceName);
    },
    alarmEmail: () =>
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: PARAMS.alarmEmail,
      }),
    'alarms.functionErrors': () => {
      expect(alarm('function-errors').Properties.Threshold).toBe(PARAMS.alarms.functionErrors);
      expect(alarm('fanout-errors').Properties.Threshold).toBe(PARAMS.alarms.functionErrors);
    },
    'alarms.reconcileErrors': () =>
      expect(alarm('reconcile-errors').Properties.Threshold).toBe(PARAMS.alarms.reconcileErrors),
    'alarms.throttles': () => expect(alarm('throttles').Properties.Threshold).toBe(PARAMS.alarms.throttles),
    'alarms.noLiveInstanceMinutes': () => {
      const { Period, EvaluationPeriods } = alarm('no-live-instance').Properties;
      expect((Period ?? 0) * (EvaluationPeriods ?? 0)).toBe((PARAMS.alarms.noLiveInstanceMinutes ?? 0) * 60);
    },
    'alarms.oldestMessageAgeMinutes': () =>
      expect(alarm('work-queue-waiting').Properties.Threshold).toBe(
        (PARAMS.alarms.oldestMessageAgeMinutes ?? 0) * 60,
      ),
    'registry.auth.secretKmsKeyArn': () =>
      expect(iamStatements(template)).toContainEqual(
        expect.objectContaining({
          Action: 'kms:Decrypt',
          Resource: at(PARAMS, 'registry.auth.secretKmsKeyArn'),
        }),
      ),
    'registry.auth.tokenEnv': () => {
      for (const id of FUNCTIONS) {
        const env = environmentOf(statics.template, id);
        expect(JSON.parse(String(env[CONFIG_ENV])).registry.auth).toEqual({
          type: 'static',
          tokenEnv: STATIC_AUTH.tokenEnv,
        });
        expect(env[STATIC_AUTH.tokenEnv]).toEqual(expect.any(String));
      }
    },
    'registry.auth.tokenSecret': () => {
      for (const id of FUNCTIONS) {
        expect(environmentOf(statics.template, id)[STATIC_AUTH.tokenEnv]).toMatch(
          new RegExp(`^\\{\\{resolve:secretsmanager:${STATIC_AUTH.tokenSecret}:SecretString:`),
        );
      }
    },
    'registry.auth.tokenSecretJsonField': () => {
      for (const id of FUNCTIONS) {
        expect(environmentOf(statics.template, id)[STATIC_AUTH.tokenEnv]).toBe(
          `{{resolve:secretsmanager:${STATIC_AUTH.tokenSecret}:SecretString:${STATIC_AUTH.tokenSecretJsonField}::}}`,
        );
      }
    },
    'webhook.enabled': () => {
      template.resourceCountIs('AWS::Lambda::Url', 1);
      template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    },
    resyncMinutes: () =>
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: `rate(${PARAMS.resyncMinutes} minutes)`,
      }),
  };

  const rows = fieldRows();
  // A field of the static variant of registry.auth is set in the static variant's file.
  const given = (p: string) => at(PARAMS, p) ?? at(withStaticAuth, p);

  it.each(rows.map((r) => [r.path]))('sets %s to a value other than its default', (field) => {
    const value = given(field);
    expect(value).toBeDefined();
    const fallback = defaultOf(field);
    if (field.includes('[]')) {
      expect((value as unknown[]).every((item) => item !== undefined && item !== fallback)).toBe(true);
    } else if (fallback !== undefined) {
      expect(value).not.toEqual(fallback);
    }
  });

  const inConfig = rows.filter((r) => r.home === 'configuration' && !DEPLOYMENT_READ.has(r.path));
  it.each(inConfig.map((r) => [r.path]))('passes %s to both functions in their configuration', (field) => {
    for (const id of FUNCTIONS) {
      const config = parseConfig(JSON.parse(String(environmentOf(template, id)[CONFIG_ENV])));
      expect(at(config, field)).toEqual(at(PARAMS, field));
    }
  });

  it('says where every other field arrives, and nothing more', () => {
    const others = rows.filter((r) => !inConfig.includes(r)).map((r) => r.path);
    expect(
      Object.keys(ARRIVES)
        .filter((k) => k !== 'resyncMinutes')
        .sort(),
    ).toEqual(others.sort());
  });

  it.each(Object.keys(ARRIVES).map((k) => [k]))('applies %s where it takes effect', (field) => {
    ARRIVES[field]?.();
  });
});
