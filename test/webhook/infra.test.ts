/**
 * infra/webhook.ts in the synthesized construct: off by default and then absent (the template is
 * the same as without the field); on, only resources of its own are added, with least privilege,
 * and it passes the AWS Solutions checks and cfn-lint.
 */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RegistryReconcilerStack } from '../../infra/registry-reconciler-stack';
import { actionsOf, minimalProps, NETWORK, newApp, synthReconciler } from '../infra/helpers';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
const resourcesOf = (t: Template) => t.toJSON().Resources as Resources;
const STATIC_AUTH = {
  url: 'https://registry.example.com',
  auth: { type: 'static', tokenSecret: 'registry-token' },
} as const;

describe('Construct: RegistryReconciler — the registry webhook receiver', () => {
  const off = synthReconciler({ alarmEmail: 'oncall@example.com' });
  const on = synthReconciler({ alarmEmail: 'oncall@example.com', webhook: { enabled: true } });
  const offResources = resourcesOf(off.template);
  const onResources = resourcesOf(on.template);
  const added = Object.keys(onResources).filter((id) => !(id in offResources));
  const one = (type: string) => {
    const found = Object.entries(onResources).filter(([id, r]) => r.Type === type && added.includes(id));
    expect(found).toHaveLength(1);
    return found[0] as [string, { Properties: Record<string, unknown> }];
  };

  it('is off by default: the template is the same as with webhook.enabled false, with nothing of it', () => {
    const explicit = synthReconciler({ alarmEmail: 'oncall@example.com', webhook: { enabled: false } });
    expect(explicit.template.toJSON()).toEqual(off.template.toJSON());
    expect(off.template.findResources('AWS::Lambda::Url')).toEqual({});
    expect(off.template.findResources('AWS::SecretsManager::Secret')).toEqual({});
    expect(off.reconciler.webhook).toBeUndefined();
  });

  it('on, keeps every resource it had exactly as it was (the dashboard gains its row) and adds only resources of its own', () => {
    const dashboard = Object.keys(off.template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard).toHaveLength(1);
    for (const [id, resource] of Object.entries(offResources))
      if (!dashboard.includes(id)) expect([id, onResources[id]]).toEqual([id, resource]);
    expect(added.every((id) => id.startsWith('ReconcilerWebhook'))).toBe(true);
    expect(added.map((id) => onResources[id]?.Type).sort()).toEqual([
      'AWS::CloudWatch::Alarm',
      'AWS::IAM::Policy',
      'AWS::IAM::Role',
      'AWS::Lambda::Function',
      'AWS::Lambda::Permission',
      'AWS::Lambda::Permission',
      'AWS::Lambda::Url',
      'AWS::Logs::LogGroup',
      'AWS::SecretsManager::Secret',
    ]);
  });

  it("adds a row to the dashboard, in place: the receiver's invocations and errors, its URL's 4xx and 5xx answers, its alarm", () => {
    const body = (t: typeof on.template) => {
      const dashboards = Object.entries(t.findResources('AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      const [id, d] = dashboards[0] as [string, { Properties: { DashboardBody: unknown } }];
      return { id, text: JSON.stringify(d.Properties.DashboardBody) };
    };
    const [fnId] = one('AWS::Lambda::Function');
    const [alarmId] = one('AWS::CloudWatch::Alarm');
    const before = body(off.template);
    const after = body(on.template);
    expect(after.id).toBe(before.id);
    expect(before.text).not.toContain('Webhook');
    for (const text of ['Webhook receiver', 'Webhook answers', 'Url4xxCount', 'Url5xxCount', 'Webhook alarm'])
      expect(after.text).toContain(text);
    expect(after.text).toContain(fnId);
    expect(after.text).toContain(alarmId);
  });

  it('generates the signing secret (letters and digits, 64 of them)', () => {
    const [, secret] = one('AWS::SecretsManager::Secret');
    expect(secret.Properties.GenerateSecretString).toEqual({
      PasswordLength: 64,
      ExcludePunctuation: true,
      IncludeSpace: false,
    });
  });

  it('runs the receiver on Node.js 24, arm64, with the configuration, the queues and the secret ARN (never the secret)', () => {
    const [, fn] = one('AWS::Lambda::Function');
    const [secretId] = one('AWS::SecretsManager::Secret');
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 10 });
    expect(fn.Properties.VpcConfig).toBeUndefined();
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const reconciler = Object.values(onResources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && r !== fn,
    ) as unknown as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(env.RECONCILER_CONFIG).toEqual(reconciler.Properties.Environment.Variables.RECONCILER_CONFIG);
    expect(env.WEBHOOK_SECRET_ARN).toEqual({ Ref: secretId });
    expect(Object.keys(env).sort()).toEqual([
      'NODE_OPTIONS',
      'POWERTOOLS_LOG_LEVEL',
      'POWERTOOLS_SERVICE_NAME',
      'RECONCILER_CONFIG',
      'TRIGGER_QUEUE_URL',
      'WEBHOOK_SECRET_ARN',
      'WORK_QUEUE_URL',
    ]);
  });

  it('gets no registry token: a static token reaches the other functions only', () => {
    const withStatic = synthReconciler({ registry: STATIC_AUTH, webhook: { enabled: true } });
    const fns = Object.entries(withStatic.template.findResources('AWS::Lambda::Function')) as [
      string,
      { Properties: { Environment: { Variables: Record<string, unknown> } } },
    ][];
    const [[, webhook]] = fns.filter(([id]) => id.startsWith('ReconcilerWebhookFunction')) as [
      [string, (typeof fns)[number][1]],
    ];
    expect(webhook.Properties.Environment.Variables.REGISTRY_API_TOKEN).toBeUndefined();
    const others = fns.filter(([id]) => !id.startsWith('ReconcilerWebhookFunction'));
    for (const [, fn] of others) expect(fn.Properties.Environment.Variables.REGISTRY_API_TOKEN).toBeDefined();
  });

  it('serves a Function URL with auth NONE (the signature is the authentication), invocable by URL only', () => {
    const [fnId] = one('AWS::Lambda::Function');
    const [, url] = one('AWS::Lambda::Url');
    expect(url.Properties).toEqual({ AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] } });
    // Function URLs need both: InvokeFunctionUrl, and InvokeFunction limited to calls through the URL.
    const permissions = Object.entries(onResources)
      .filter(([id, r]) => r.Type === 'AWS::Lambda::Permission' && added.includes(id))
      .map(([, r]) => r.Properties);
    const fnArn = { 'Fn::GetAtt': [fnId, 'Arn'] };
    expect(permissions).toEqual(
      expect.arrayContaining([
        {
          Action: 'lambda:InvokeFunctionUrl',
          FunctionName: fnArn,
          FunctionUrlAuthType: 'NONE',
          Principal: '*',
        },
        { Action: 'lambda:InvokeFunction', FunctionName: fnArn, InvokedViaFunctionUrl: true, Principal: '*' },
      ]),
    );
    expect(permissions).toHaveLength(2);
  });

  it('lets the receiver send to the two queues, read its one secret and write its own log group: nothing else', () => {
    const [roleId] = one('AWS::IAM::Role');
    const [, policy] = one('AWS::IAM::Policy');
    expect(policy.Properties.Roles).toEqual([{ Ref: roleId }]);
    const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] })
      .Statement;
    const [secretId] = one('AWS::SecretsManager::Secret');
    const [logGroupId] = one('AWS::Logs::LogGroup');
    const queueArn = (name: string) => {
      const id = Object.keys(onResources).find((k) => new RegExp(`^Reconciler${name}[0-9A-F]{8}$`).test(k));
      return { 'Fn::GetAtt': [id, 'Arn'] };
    };
    expect(statements.map((s) => ({ actions: actionsOf(s).sort(), resource: s.Resource }))).toEqual([
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
      },
      { actions: ['sqs:SendMessage'], resource: [queueArn('TriggerQueue'), queueArn('WorkQueue')] },
      { actions: ['secretsmanager:GetSecretValue'], resource: { Ref: secretId } },
    ]);
  });

  it("keeps its logs for the stack's retention and alarms on its failed invocations, to the alarm topic", () => {
    const custom = synthReconciler({
      logRetentionDays: 90,
      alarms: { functionErrors: 3 },
      webhook: { enabled: true },
    });
    const groups = Object.entries(custom.template.findResources('AWS::Logs::LogGroup')).filter(([id]) =>
      id.startsWith('ReconcilerWebhookLogGroup'),
    ) as [string, { Properties: { RetentionInDays: number } }][];
    expect(groups.map(([, g]) => g.Properties.RetentionInDays)).toEqual([90]);
    const alarms = Object.entries(custom.template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) =>
      id.startsWith('ReconcilerWebhookErrorsAlarm'),
    ) as [string, { Properties: Record<string, unknown> }][];
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.[1].Properties).toMatchObject({
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmName: 'TestStack-Reconciler-webhook-errors',
    });
    const [, alarm] = one('AWS::CloudWatch::Alarm');
    const topicId = Object.keys(onResources).find((k) => onResources[k]?.Type === 'AWS::SNS::Topic');
    expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
    expect(alarm.Properties.Dimensions).toEqual([
      { Name: 'FunctionName', Value: { Ref: one('AWS::Lambda::Function')[0] } },
    ]);
  });

  it('gives the stack outputs the registry needs: the URL and where the signing secret is', () => {
    const app = newApp();
    const stack = new RegistryReconcilerStack(app, 'WebhookStack', {
      reconciler: minimalProps({ webhook: { enabled: true } }),
    });
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<
      string,
      { Value: unknown; Description?: string }
    >;
    const urlId = Object.keys(Template.fromStack(stack).findResources('AWS::Lambda::Url'))[0];
    const secretId = Object.keys(Template.fromStack(stack).findResources('AWS::SecretsManager::Secret'))[0];
    expect(outputs.WebhookUrl?.Value).toEqual({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
    expect(outputs.WebhookUrl?.Description).toContain('REGISTRATION_WEBHOOK_URL');
    expect(outputs.WebhookSecretArn?.Value).toEqual({ Ref: secretId });
    expect(outputs.WebhookSecretArn?.Description).toContain('REGISTRATION_WEBHOOK_SIGNING_SECRET');
    const plain = new RegistryReconcilerStack(newApp(), 'PlainStack', { reconciler: minimalProps() });
    const plainOutputs = Object.keys(Template.fromStack(plain).toJSON().Outputs as object);
    expect(plainOutputs.filter((o) => o.startsWith('Webhook'))).toEqual([]);
  });

  // With follow mode and a VPC too: the receiver stays outside the VPC and the checks still pass.
  const full = synthReconciler({
    network: NETWORK,
    alarmEmail: 'oncall@example.com',
    targets: [],
    follow: { enabled: true },
    webhook: { enabled: true },
  });

  it('passes the AWS Solutions checks', () => {
    expect(new AwsSolutionsChecks().validateScope(on.stack).violations).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(full.stack).violations).toEqual([]);
  });

  it('passes cfn-lint', () => {
    if (spawnSync('cfn-lint', ['--version'], { stdio: 'ignore' }).status !== 0) {
      if (process.env.CI === 'true') throw new Error('cfn-lint is not installed; CI must run it');
      console.warn('SKIPPED: cfn-lint is not installed');
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'webhook-lint-'));
    try {
      for (const [name, t] of [
        ['on', on.template],
        ['full', full.template],
      ] as const) {
        const file = path.join(dir, `${name}.json`);
        writeFileSync(file, JSON.stringify(t.toJSON()));
        // W3005 as in test/infra/synth.test.ts: CDK's redundant DependsOn of each function on its role.
        const out = spawnSync('cfn-lint', ['--ignore-checks', 'W3005', '--format', 'parseable', '--', file], {
          encoding: 'utf8',
        });
        expect([name, out.status, out.stdout]).toEqual([name, 0, '']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
