/**
 * Nothing a deployed user has breaks: the parameters file of the earlier shape (main's
 * infra/params.example.json at b9f7180, fixtures/params-0.1.json) still synthesizes the same
 * stack, with a warning for each key to rename; the function gets the configuration it got then;
 * and every resource of the template synthesized then keeps its logical id and type (an update
 * replaces no queue, function or role).
 */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { CONFIG_ENV, parseConfig } from '../../functions/lib/config/config';
import { buildApp } from '../../infra/app';
import { cdkJsonContext, environmentOf, REPO_ROOT } from './helpers';

const FIXTURES = path.join(REPO_ROOT, 'test', 'infra', 'fixtures');
const read = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
const EARLIER_RESOURCES = read('resources-b9f7180.json').resources as Record<string, string>;
const EARLIER_CONFIG = read('reconciler-config-b9f7180.json') as unknown;

function synth(context: Record<string, unknown> = {}) {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = buildApp(app);
  return { stack, template: Template.fromStack(stack) };
}

describe('An update from the earlier version', () => {
  const current = synth();
  const earlier = synth({ params: path.join(FIXTURES, 'params-0.1.json') });

  it('keeps every resource of the earlier template, with its logical id and type', () => {
    const resources = current.template.toJSON().Resources as Record<string, { Type: string }>;
    const kept = Object.fromEntries(
      Object.keys(EARLIER_RESOURCES).map((id) => [id, resources[id]?.Type ?? '(missing)']),
    );
    expect(kept).toEqual(EARLIER_RESOURCES);
  });

  it('gives both functions the very configuration document they had', () => {
    for (const id of ['Function', 'FanoutFunction'] as const) {
      const now = String(environmentOf(current.template, id)[CONFIG_ENV]);
      expect(now).toBe(JSON.stringify(EARLIER_CONFIG));
      expect(parseConfig(JSON.parse(now))).toEqual(parseConfig(EARLIER_CONFIG));
    }
  });

  it('synthesizes the same stack from the earlier parameters file as from the current one', () => {
    expect(earlier.template.toJSON()).toEqual(current.template.toJSON());
  });

  it('warns, on each synth, which keys of the earlier file to rename', () => {
    const warnings = Annotations.fromStack(earlier.stack).findWarning('*', Match.anyValue());
    expect(warnings.map((w) => String(w.entry.data))).toEqual([
      expect.stringMatching(
        /params-0\.1\.json: registryUrl is now registry\.url: the file still loads; rename it there /,
      ),
      expect.stringMatching(
        /params-0\.1\.json: auth is now registry\.auth: the file still loads; rename it there /,
      ),
    ]);
  });
});
