/**
 * The CDK app: `npx cdk deploy -c params=infra/params.json` (docs/deploy.md).
 * Synth is offline: no lookups, no credentials, an environment-agnostic stack.
 *
 * A bad parameter (a missing file, an unknown key, a bad `-c` value, a value the construct rejects)
 * is printed as one line per problem naming the key and where it came from, and the app exits 1
 * before anything is synthesized.
 */
import * as path from 'node:path';
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  DEFAULT_STACK_NAME,
  loadParams,
  ParamsError,
  paramsErrorFromProps,
  toReconcilerProps,
} from './params';
import { RegistryReconcilerStack } from './registry-reconciler-stack';
import { InvalidReconcilerPropsError } from './validation';

const EXAMPLE_PARAMS = path.join(__dirname, 'params.example.json');

/**
 * Adds the reconciler stack to `app` from its context: the parameters file named by `params`
 * (default infra/params.example.json), then the `-c` overrides. Throws `ParamsError`.
 */
export function buildApp(app: App): RegistryReconcilerStack {
  const context = (key: string) => app.node.tryGetContext(key);
  const paramsFile = path.resolve(String(context('params') ?? EXAMPLE_PARAMS));
  const { params, origin, warnings } = loadParams(paramsFile, context);
  let stack: RegistryReconcilerStack;
  try {
    stack = new RegistryReconcilerStack(app, params.stackName ?? DEFAULT_STACK_NAME, {
      reconciler: toReconcilerProps(params),
      // Stack tags: CloudFormation propagates them to every resource that takes tags.
      ...(params.tags === undefined ? {} : { tags: params.tags }),
    });
  } catch (error) {
    if (!(error instanceof InvalidReconcilerPropsError)) throw error;
    throw paramsErrorFromProps(error, origin);
  }
  // A file of an earlier version: what to rename or delete, on every synth until it is done.
  warnings.forEach((warning, i) => {
    Annotations.of(stack).addWarningV2(`reconciler:formerParams${i}`, warning);
  });
  if (paramsFile === EXAMPLE_PARAMS) {
    Annotations.of(stack).addWarningV2(
      'reconciler:exampleParams',
      'Synthesized with infra/params.example.json (example names and ARNs). Deploy with -c params=<your file>.',
    );
  }
  // AWS Solutions checks run on every synth: an unacknowledged finding fails it.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}

if (require.main === module) {
  try {
    buildApp(new App());
  } catch (error) {
    if (!(error instanceof ParamsError)) throw error;
    console.error(error.message);
    // Exit now: the App would otherwise synthesize what was built so far when the process ends.
    process.exit(1);
  }
}
