/**
 * The CDK app: `npx cdk deploy -c params=infra/params.json` (see infra/README.fragment.md).
 * Synth is offline: no lookups, no credentials, an environment-agnostic stack.
 */
import * as path from 'node:path';
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_STACK_NAME, loadParams, toReconcilerProps } from './params';
import { RegistryReconcilerStack } from './registry-reconciler-stack';

const EXAMPLE_PARAMS = path.join(__dirname, 'params.example.json');

const app = new App();
const paramsFile = path.resolve(String(app.node.tryGetContext('params') ?? EXAMPLE_PARAMS));
const params = loadParams(paramsFile, (key) => app.node.tryGetContext(key));

const stack = new RegistryReconcilerStack(app, params.stackName ?? DEFAULT_STACK_NAME, {
  reconciler: toReconcilerProps(params),
  // Stack tags: CloudFormation propagates them to every resource that takes tags.
  ...(params.tags === undefined ? {} : { tags: params.tags }),
});
if (paramsFile === EXAMPLE_PARAMS) {
  Annotations.of(stack).addWarningV2(
    'reconciler:exampleParams',
    'Synthesized with infra/params.example.json (example names and ARNs). Deploy with -c params=<your file>.',
  );
}

// AWS Solutions checks run on every synth: an unacknowledged finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
