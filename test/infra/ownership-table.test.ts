/** infra/ownership-table.ts in the synthesized construct: follow mode's table and who may use it. */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '../../functions/lib/config/config';
import { actionsOf, iamStatements, NETWORK, roleStatements, synthReconciler } from './helpers';

describe('Construct: RegistryReconciler — follow mode and its ownership table', () => {
  const { template, stack } = synthReconciler({
    network: NETWORK,
    alarmEmail: 'oncall@example.com',
    targets: [],
    follow: { enabled: true, exclude: ['/private/'] },
  });
  const tables = template.findResources('AWS::DynamoDB::Table');
  const [tableId, table] = Object.entries(tables)[0] as [string, Record<string, unknown>];
  const props = table.Properties as Record<string, unknown>;

  it('creates one table: on demand, encrypted, point-in-time recovery, retained, indexed by ECS service', () => {
    expect(Object.keys(tables)).toHaveLength(1);
    expect(tableId).toMatch(/^ReconcilerOwnershipTable[0-9A-F]{8}$/);
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.SSESpecification).toEqual({ SSEEnabled: true });
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.KeySchema).toEqual([{ AttributeName: 'entry', KeyType: 'HASH' }]);
    expect(props.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byEcsService',
        KeySchema: [{ AttributeName: 'ecsService', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });

  it('puts the table name and follow into the configuration the function reads', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    }[];
    const config = fns[0]?.Properties.Environment.Variables.RECONCILER_CONFIG as {
      'Fn::Join': [string, unknown[]];
    };
    const parts = config['Fn::Join'][1];
    expect(parts).toContainEqual({ Ref: tableId });
    const json = parts.map((p) => (typeof p === 'string' ? p : 'registry-reconciler-ownership')).join('');
    const parsed = parseConfig(JSON.parse(json));
    expect(parsed.follow).toEqual({ enabled: true, exclude: ['/private/'] });
    expect(parsed.ownership).toEqual({ table: 'registry-reconciler-ownership' });
  });

  const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };
  const indexArn = { 'Fn::Join': ['', [tableArn, '/index/byEcsService']] };
  const dynamo = (role: 'Role' | 'FanoutRole') =>
    roleStatements(template, role)
      .filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')))
      .map((s) => ({ actions: actionsOf(s).sort(), resource: s.Resource }));

  it('lets the reconciler read, write and delete rows and query the index: on this table and index alone', () => {
    expect(dynamo('Role')).toEqual([
      {
        actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan'],
        resource: tableArn,
      },
      { actions: ['dynamodb:Query'], resource: indexArn },
    ]);
  });

  it('lets the fan-out read rows and query the index only', () => {
    expect(dynamo('FanoutRole')).toEqual([
      { actions: ['dynamodb:GetItem'], resource: tableArn },
      { actions: ['dynamodb:Query'], resource: indexArn },
    ]);
  });

  it('grants no DynamoDB action anywhere else, and none with a wildcard', () => {
    const all = iamStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(all).toHaveLength(4);
    for (const s of all) {
      expect(JSON.stringify(s.Resource)).not.toContain('*');
      for (const a of actionsOf(s)) expect(a).not.toContain('*');
    }
  });

  it('passes the AWS Solutions checks', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  it('passes cfn-lint', () => {
    if (spawnSync('cfn-lint', ['--version'], { stdio: 'ignore' }).status !== 0) {
      if (process.env.CI === 'true') throw new Error('cfn-lint is not installed; CI must run it');
      console.warn('SKIPPED: cfn-lint is not installed');
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'follow-lint-'));
    try {
      const file = path.join(dir, 'template.json');
      writeFileSync(file, JSON.stringify(template.toJSON()));
      // W3005 as in synth.test.ts: CDK's redundant DependsOn of each function on its role.
      const out = spawnSync('cfn-lint', ['--ignore-checks', 'W3005', '--format', 'parseable', '--', file], {
        encoding: 'utf8',
      });
      expect([out.status, out.stdout]).toEqual([0, '']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forwards the task events of every service of the cluster (adopted entries may be of any)', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as {
      Properties: { EventPattern?: { detail?: { group?: unknown } } };
    }[];
    const groups = rules.flatMap((r) =>
      r.Properties.EventPattern?.detail?.group === undefined ? [] : [r.Properties.EventPattern.detail.group],
    );
    expect(groups).toEqual([[{ prefix: 'service:' }]]);
  });

  it('creates no table when follow is off', () => {
    const off = synthReconciler({});
    expect(off.template.findResources('AWS::DynamoDB::Table')).toEqual({});
  });

  it('uses the table ownership.table names instead of creating one, and grants on it alone', () => {
    const named = synthReconciler({ follow: { enabled: true }, ownership: { table: 'team-ownership' } });
    expect(named.template.findResources('AWS::DynamoDB::Table')).toEqual({});
    const fns = Object.values(named.template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    }[];
    expect(fns).toHaveLength(2);
    for (const fn of fns) {
      const parsed = parseConfig(JSON.parse(String(fn.Properties.Environment.Variables.RECONCILER_CONFIG)));
      expect(parsed.ownership).toEqual({ table: 'team-ownership' });
      expect(parsed.targets).toEqual([]);
    }
    const resources = iamStatements(named.template)
      .filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')))
      .map((st) => JSON.stringify(st.Resource));
    expect(resources).toHaveLength(4);
    for (const r of resources) expect(r).toMatch(/:table\/team-ownership(\/index\/byEcsService)?"/);
  });
});
