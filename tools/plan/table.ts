import type { DecisionRecord, InstanceView } from '../../functions/lib/telemetry/record';
import { RecordCounts, recordFlags, untrustedText } from '../cli/record-text';

/** One instance: id, IPv4, Cloud Map health, ECS's view, and whether it may be written (and why not). */
function instanceText(i: InstanceView): string {
  const why = i.eligible
    ? 'eligible'
    : i.ineligible === 'ip-mismatch' || i.ineligible === 'other-service'
      ? `UNTRUSTED: ${untrustedText(i).replace(/^\S+ /, '')}`
      : `not eligible: ${i.ineligible ?? 'unknown'}`;
  return `${i.instanceId.slice(0, 12).padEnd(12)}  ${(i.ipv4 ?? '-').padEnd(15)}  ${i.health.padEnd(9)}  task ${i.task.padEnd(8)}  ${why}`;
}

/**
 * Why no instance was chosen, from the instances themselves: how many Cloud Map lists, how many of
 * their tasks ECS shows live, and why the live ones may not be written. It never says "no live
 * task" while listing live ones.
 */
function noneChosen(r: DecisionRecord): string {
  const n = r.instances.length;
  if (n === 0) return 'Cloud Map lists no instance of the service; address kept';
  const live = r.instances.filter((i) => i.task === 'live');
  const why: Record<string, number> = {};
  for (const i of live) why[i.ineligible ?? 'eligible'] = (why[i.ineligible ?? 'eligible'] ?? 0) + 1;
  const parts = Object.entries(why).map(([reason, count]) => `${count} ${reason}`);
  const liveText =
    live.length === 0
      ? 'no task of them is live in ECS'
      : `${live.length} live in ECS, none eligible (${parts.join(', ')})`;
  return `of ${n} Cloud Map instance(s), ${liveText}; address kept`;
}

/** One block per target: the entry's address, the Cloud Map instances as ECS sees them, the decision. */
export function planTable(records: DecisionRecord[]): string {
  return records
    .map((r) => {
      const head = `${r.target.kind} ${r.target.path}  (Cloud Map ${r.target.cloudMapService}${r.target.ecsService ? `, ECS ${r.target.ecsService}` : ''})`;
      const now = `  now:       ${r.currentUrl ?? '(entry not read)'}${r.securityPending ? "  SECURITY-PENDING: the registry's scan disabled the server; review it and re-enable it in the registry" : ''}`;
      const instances =
        r.instances.length === 0
          ? ['  instances: (none seen)']
          : r.instances.map((i, n) => `  ${n === 0 ? 'instances:' : '          '} ${instanceText(i)}`);
      const verdict =
        r.action === 'update' ? `  would:     update → ${r.desiredUrl}` : `  would:     ${r.action}`;
      const detail = r.reason === 'no-live-instance' ? noneChosen(r) : r.detail;
      const why = `  why:       ${r.reason}: ${detail}`;
      const notes = recordFlags(r)
        .filter((f) => !f.startsWith('security-pending'))
        .map((f) => `  note:      ${f}`);
      const follow = r.follow === undefined ? [] : [`  follow:    ${followText(r.follow)}`];
      return [head, now, ...instances, verdict, why, ...notes, ...follow].join('\n');
    })
    .join('\n\n');
}

/** `5 target(s): update 2, noop 3; 0 disabled after a write, 1 security-pending, 2 untrusted instance(s), 0 error(s); plan only, nothing written` */
export function planSummary(records: DecisionRecord[]): string {
  const counts = new RecordCounts();
  for (const r of records) counts.add(r);
  return `${records.length} target(s): ${counts.actionText() || 'none'}; ${counts.healthText()}; plan only, nothing written`;
}

/** Follow mode's word on an entry: configured, or adopted and whose it is (the owner row's state). */
function followText(f: NonNullable<DecisionRecord['follow']>): string {
  if (f.origin === 'configured') return 'configured target';
  const via = f.via === 'row' ? 'its ownership row' : 'the shared matching rule';
  switch (f.owner) {
    case 'adopting':
      return `adopt (found by ${via}; its first write records an ownership row)`;
    case 'owned':
    case 'recorded':
      return `adopted, owned (the ownership row says we wrote its address)`;
    case 'released':
      return 'released (changed by someone since our write: the row goes, the entry is theirs)';
    default:
      return `adopted, not ours to write (${via})`;
  }
}
