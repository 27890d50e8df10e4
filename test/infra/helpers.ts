/** Shared set-up for the infrastructure tests: an App configured like cdk.json, without bundling. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack, type StackProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RegistryReconciler, type RegistryReconcilerProps } from '../../infra/registry-reconciler';

export const REPO_ROOT = path.join(__dirname, '..', '..');

/** The feature flags and settings of cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/** An App with cdk.json's context; bundling is skipped unless asked for (~1 s per stack). */
export function newApp(options: { bundle?: boolean; outdir?: string } = {}): App {
  return new App({
    context: { ...cdkJsonContext(), ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
  });
}

export const SECRET_ARN =
  'arn:aws:secretsmanager:us-west-2:111122223333:secret:mcp-gateway-keycloak-m2m-client-secret-AbCdEf';
export const TOKEN_URL = 'https://keycloak.example.com/realms/mcp-gateway/protocol/openid-connect/token';

/** The registry a deployment must name: its URL and how to authenticate. */
export const REGISTRY = {
  url: 'https://registry.example.com',
  auth: { type: 'keycloak', tokenUrl: TOKEN_URL, secretArn: SECRET_ARN },
} as const;

/** The least a deployment must say; everything else takes the v1.0.16 defaults. */
export function minimalProps(overrides: Partial<RegistryReconcilerProps> = {}): RegistryReconcilerProps {
  return { registry: REGISTRY, ...overrides };
}

/** A stack holding one reconciler, and its template. */
export function synthReconciler(
  overrides: Partial<RegistryReconcilerProps> = {},
  stackProps: StackProps = {},
): { app: App; stack: Stack; reconciler: RegistryReconciler; template: Template } {
  const app = newApp();
  const stack = new Stack(app, 'TestStack', stackProps);
  const reconciler = new RegistryReconciler(stack, 'Reconciler', minimalProps(overrides));
  return { app, stack, reconciler, template: Template.fromStack(stack) };
}

/** The values CloudFormation would give the pseudo parameters, for resolving a template by hand. */
export interface PseudoParameters {
  partition: string;
  region: string;
  accountId: string;
}

/**
 * Resolves `Fn::Join` and `Ref` to pseudo parameters in a template fragment, as CloudFormation
 * would in the given account and Region. Anything else is returned as it is.
 */
export function resolvePseudo(value: unknown, params: PseudoParameters): unknown {
  if (Array.isArray(value)) return value.map((v) => resolvePseudo(v, params));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'Ref') {
    const pseudo: Record<string, string> = {
      'AWS::Partition': params.partition,
      'AWS::Region': params.region,
      'AWS::AccountId': params.accountId,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    const name = String(obj.Ref);
    if (name in pseudo) return pseudo[name];
    return value;
  }
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return (resolvePseudo(parts, params) as unknown[]).map(String).join(sep);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolvePseudo(v, params)]));
}

/** Every IAM statement of every policy in the template (inline and managed). */
export function iamStatements(template: Template): Array<Record<string, unknown>> {
  const policies = {
    ...template.findResources('AWS::IAM::Policy'),
    ...template.findResources('AWS::IAM::ManagedPolicy'),
  };
  return Object.values(policies).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties
        .PolicyDocument.Statement,
  );
}

/** A statement's actions as a list. */
export function actionsOf(statement: Record<string, unknown>): string[] {
  const action = statement.Action;
  return Array.isArray(action) ? action.map(String) : [String(action)];
}

/** A VPC and two private subnets, by id. */
export const NETWORK = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
};

/** The construct's two functions, by the id it gives them. */
export type FunctionId = 'Function' | 'FanoutFunction';

/** The logical id of the reconciler's (or the fan-out's) `AWS::Lambda::Function`. */
export function functionId(template: Template, id: FunctionId = 'Function'): string {
  // The optional webhook receiver (infra/webhook.ts) is not one of the two.
  const fns = Object.keys(template.findResources('AWS::Lambda::Function')).filter(
    (k) => !k.startsWith('ReconcilerWebhookFunction'),
  );
  expect(fns).toHaveLength(2);
  const ids = fns.filter((k) => new RegExp(`^Reconciler${id}[0-9A-F]{8}$`).test(k));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

/** The properties of the reconciler's (or the fan-out's) `AWS::Lambda::Function`. */
export function functionProps(template: Template, id: FunctionId = 'Function'): Record<string, unknown> {
  const fns = template.findResources('AWS::Lambda::Function');
  return (fns[functionId(template, id)] as { Properties: Record<string, unknown> }).Properties;
}

export function environmentOf(template: Template, id: FunctionId = 'Function'): Record<string, unknown> {
  return (functionProps(template, id).Environment as { Variables: Record<string, unknown> }).Variables;
}

/** The IAM statements of the policies attached to one role (`Role` or `FanoutRole`). */
export function roleStatements(
  template: Template,
  role: 'Role' | 'FanoutRole',
): Array<Record<string, unknown>> {
  const roleIds = Object.keys(template.findResources('AWS::IAM::Role')).filter((k) =>
    new RegExp(`^Reconciler${role}[0-9A-F]{8}$`).test(k),
  );
  expect(roleIds).toHaveLength(1);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{
    Properties: {
      Roles: Array<{ Ref: string }>;
      PolicyDocument: { Statement: Array<Record<string, unknown>> };
    };
  }>;
  return policies
    .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleIds[0]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** An ECS resource ARN as CDK writes it in an environment-agnostic stack. */
export function ecsArnJoin(resource: string) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':ecs:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:${resource}`,
      ],
    ],
  };
}

export function clusterArnJoin(cluster: string) {
  return ecsArnJoin(`cluster/${cluster}`);
}
