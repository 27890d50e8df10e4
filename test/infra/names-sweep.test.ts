/**
 * Follow mode's names sweep in the synthesized construct (infra/delivery.ts): a schedule rule of
 * its own, created only with follow on, whose target writes the message the fan-out reads as a
 * sweep; turning follow on adds resources and changes no logical id of the others.
 */
import 'aws-cdk-lib/testhelpers/jest-autoclean';
import type { Template } from 'aws-cdk-lib/assertions';
import { readTriggerMessage } from '../../functions/lib/delivery/messages';
import { DELIVERY } from '../../functions/lib/delivery/settings';
import { NETWORK, synthReconciler } from './helpers';

interface RuleProps {
  ScheduleExpression?: string;
  Targets: {
    Arn: unknown;
    InputTransformer?: { InputPathsMap: Record<string, string>; InputTemplate: string };
    RetryPolicy?: unknown;
    DeadLetterConfig?: unknown;
  }[];
}

function rules(template: Template): Record<string, RuleProps> {
  return Object.fromEntries(
    Object.entries(template.findResources('AWS::Events::Rule')).map(([id, r]) => [
      id,
      (r as { Properties: RuleProps }).Properties,
    ]),
  );
}

function resourceTypes(template: Template): Record<string, string> {
  const resources = template.toJSON().Resources as Record<string, { Type: string }>;
  return Object.fromEntries(Object.entries(resources).map(([id, r]) => [id, r.Type]));
}

/**
 * What EventBridge's input transformer delivers for an event: each `<name>` of the template
 * replaced by the value at its path; a string value is written as a JSON string unless the
 * template already quotes it.
 */
function transform(
  transformer: { InputPathsMap: Record<string, string>; InputTemplate: string },
  event: Record<string, unknown>,
): string {
  return transformer.InputTemplate.replace(/("?)<([A-Za-z0-9_-]+)>("?)/g, (_all, open, name, close) => {
    const path = transformer.InputPathsMap[name as string];
    if (path === undefined) throw new Error(`no input path for <${name}>`);
    const value = event[path.replace(/^\$\./, '')];
    if (open === '"' && close === '"') return `"${String(value)}"`;
    return `${open}${JSON.stringify(value)}${close}`;
  });
}

describe('Construct: RegistryReconciler — follow mode names sweep', () => {
  const props = { network: NETWORK, alarmEmail: 'oncall@example.com' };
  const on = synthReconciler({ ...props, targets: [], follow: { enabled: true } });
  const off = synthReconciler(props);

  const sweepRules = (template: Template) =>
    Object.entries(rules(template)).filter(([id]) => id.startsWith('ReconcilerNamesSweepRule'));

  it('schedules the sweep every minute, with follow on only', () => {
    expect(DELIVERY.namesSweepSeconds).toBe(60);
    const found = sweepRules(on.template);
    expect(found).toHaveLength(1);
    expect(found[0]?.[1].ScheduleExpression).toBe('rate(1 minute)');
    expect(sweepRules(off.template)).toEqual([]);
    expect(Object.keys(rules(off.template))).toHaveLength(2);
  });

  it('sends the trigger queue a body the fan-out reads as a sweep, with the event id and time', () => {
    const [, rule] = sweepRules(on.template)[0] as [string, RuleProps];
    const target = rule.Targets[0];
    expect(rule.Targets).toHaveLength(1);
    const triggerQueue = Object.keys(on.template.findResources('AWS::SQS::Queue')).find((id) =>
      id.startsWith('ReconcilerTriggerQueue'),
    );
    expect(target?.Arn).toEqual({ 'Fn::GetAtt': [triggerQueue, 'Arn'] });
    expect(target?.DeadLetterConfig).toBeDefined();
    const transformer = target?.InputTransformer;
    if (transformer === undefined) throw new Error('the sweep rule has no input transformer');
    const body = transform(transformer, {
      id: '5c2f8f4e-0000-4000-8000-000000000001',
      time: '2026-12-08T01:00:00Z',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
    });
    expect(readTriggerMessage(body)).toEqual({
      type: 'sweep',
      sweep: { id: '5c2f8f4e-0000-4000-8000-000000000001', time: '2026-12-08T01:00:00Z' },
    });
  });

  it('lets the sweep rule send to the trigger queue', () => {
    const [ruleId] = sweepRules(on.template)[0] as [string, RuleProps];
    const policies = JSON.stringify(on.template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toContain(JSON.stringify({ 'Fn::GetAtt': [ruleId, 'Arn'] }));
  });

  it('adds resources with follow on and changes no logical id or type of the others', () => {
    const before = resourceTypes(off.template);
    const after = resourceTypes(on.template);
    const kept = Object.fromEntries(Object.keys(before).map((id) => [id, after[id] ?? '(missing)']));
    expect(kept).toEqual(before);
    const added = Object.keys(after)
      .filter((id) => before[id] === undefined)
      .map((id) => id.replace(/[0-9A-F]{8}$/, ''))
      .sort();
    expect(added).toEqual(['ReconcilerNamesSweepRule', 'ReconcilerOwnershipTable']);
  });
});
