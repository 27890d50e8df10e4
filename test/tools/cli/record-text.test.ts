/**
 * The words replay and plan print for what a decision record says beyond its action and reason,
 * and what their summaries count.
 */
import type { DecisionRecord, InstanceView } from '../../../functions/lib/telemetry/record';
import { RecordCounts, recordFlags } from '../../../tools/cli/record-text';
import { planTable } from '../../../tools/plan/table';

function record(over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    trigger: { type: 'schedule', eventId: 'r' },
    coalesced: 1,
    target: {
      kind: 'server',
      path: '/currenttime/',
      cloudMapService: 'currenttime-server',
      match: 'all-targets',
    },
    instances: [],
    currentUrl: 'http://currenttime-server:8000/',
    desiredUrl: 'http://10.0.1.11:8000/',
    action: 'update',
    reason: 'resolve-name',
    detail: 'chose live task a',
    dryRun: false,
    calls: {},
    retryable: false,
    durationMs: 1,
    ...over,
  };
}

const view = (over: Partial<InstanceView>): InstanceView => ({
  instanceId: 'aaaaaaaaaaaaaaaa',
  ipv4: '10.0.1.11',
  health: 'HEALTHY',
  task: 'live',
  eligible: true,
  ...over,
});

describe('recordFlags', () => {
  test('a write: its route, the fields it reset, the fields it may have reset, the scan disabling it', () => {
    const r = record({
      write: {
        confirmed: true,
        disabledAfterWrite: true,
        reenabled: false,
        route: 'register',
        resets: ['id', 'registered_by'],
      },
      mayReset: ['headers', 'visibility'],
    });

    expect(recordFlags(r)).toEqual([
      'route register',
      'resets id, registered_by',
      "DISABLED by the registry's scan after the write",
      'may have reset headers, visibility',
    ]);
  });

  test('a dry run that would write names what the write may reset; a security-pending entry says so', () => {
    const r = record({ dryRun: true, mayReset: ['headers'], securityPending: true });

    expect(recordFlags(r)).toEqual([
      'the write may reset headers',
      "security-pending (the registry's scan disabled the server)",
    ]);
  });

  test('untrusted instances with their reason; other ineligible ones are not untrusted', () => {
    const r = record({
      action: 'noop',
      reason: 'current-live',
      instances: [
        view({}),
        view({
          instanceId: 'bbbbbbbbbbbbbbbb',
          ipv4: '10.0.5.9',
          eligible: false,
          ineligible: 'other-service',
        }),
        view({
          instanceId: 'cccccccccccccccc',
          ipv4: '10.99.0.9',
          ecsIpv4: '10.0.1.12',
          eligible: false,
          ineligible: 'ip-mismatch',
        }),
        view({ instanceId: 'dddddddddddddddd', task: 'stopped', eligible: false, ineligible: 'not-live' }),
      ],
    });

    expect(recordFlags(r)).toEqual([
      'untrusted: bbbbbbbbbbbb other-service (10.0.5.9); cccccccccccc ip-mismatch (Cloud Map 10.99.0.9, ECS 10.0.1.12)',
    ]);
  });

  test('a plain record has no flags', () => {
    expect(recordFlags(record({ action: 'noop', reason: 'current-live' }))).toEqual([]);
  });
});

describe('RecordCounts', () => {
  test('counts actions, writes, disabled writes, security-pending entries and untrusted instances once each', () => {
    const counts = new RecordCounts();
    const rogue = view({ instanceId: 'bbbbbbbbbbbbbbbb', eligible: false, ineligible: 'other-service' });
    counts.add(
      record({ write: { confirmed: true, disabledAfterWrite: true, reenabled: false }, instances: [rogue] }),
    );
    counts.add(record({ action: 'noop', reason: 'current-live', securityPending: true, instances: [rogue] }));
    counts.add(record({ action: 'noop', reason: 'current-live', securityPending: true, instances: [rogue] }));
    counts.add(
      record({ action: 'error', reason: 'entry-missing', target: { ...record().target, path: '/x/' } }),
    );

    expect([counts.decisions, counts.actionText(), counts.writes]).toEqual([
      4,
      'update 1, noop 2, error 1',
      1,
    ]);
    expect(counts.healthText()).toBe(
      '1 disabled after a write, 1 security-pending, 1 untrusted instance(s), 1 error(s)',
    );
  });
});

describe('planTable', () => {
  test('when nothing is chosen, it says how many instances are live and why none is eligible', () => {
    const r = record({
      action: 'noop',
      reason: 'no-live-instance',
      detail: 'no live task among 2 Cloud Map instance(s); address kept',
      instances: [
        view({ eligible: false, ineligible: 'other-service' }),
        view({ instanceId: 'bbbbbbbbbbbbbbbb', task: 'stopped', eligible: false, ineligible: 'not-live' }),
      ],
    });

    const text = planTable([r]);

    expect(text).toContain(
      'why:       no-live-instance: of 2 Cloud Map instance(s), 1 live in ECS, none eligible (1 other-service); address kept',
    );
    expect(text).toMatch(/aaaaaaaaaaaa .*task live +UNTRUSTED: other-service/);
    expect(text).toMatch(/bbbbbbbbbbbb .*task stopped +not eligible: not-live/);
    expect(text).not.toContain('no live task');
  });
});
