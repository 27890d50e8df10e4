import type { DecisionRecord } from '../../functions/reconciler/record';

/** One block per target: the entry's address, the Cloud Map instances as ECS sees them, the decision. */
export function planTable(records: DecisionRecord[]): string {
  return records
    .map((r) => {
      const head = `${r.target.kind} ${r.target.path}  (Cloud Map ${r.target.cloudMapService}${r.target.ecsService ? `, ECS ${r.target.ecsService}` : ''})`;
      const now = `  now:       ${r.currentUrl ?? '(entry not read)'}`;
      const instances =
        r.instances.length === 0
          ? ['  instances: (none seen)']
          : r.instances.map(
              (i, n) =>
                `  ${n === 0 ? 'instances:' : '          '} ${i.instanceId.slice(0, 12).padEnd(12)}  ${(i.ipv4 ?? '-').padEnd(15)}  ${i.health.padEnd(9)}  task ${i.task.padEnd(8)}${i.eligible ? '  eligible' : ''}`,
            );
      const verdict =
        r.action === 'update' ? `  would:     update → ${r.desiredUrl}` : `  would:     ${r.action}`;
      const why = `  why:       ${r.reason}: ${r.detail}`;
      const follow = r.follow === undefined ? [] : [`  follow:    ${followText(r.follow)}`];
      return [head, now, ...instances, verdict, why, ...follow].join('\n');
    })
    .join('\n\n');
}

/** `5 target(s): update 2, noop 3` */
export function planSummary(records: DecisionRecord[]): string {
  const counts: Record<string, number> = {};
  for (const r of records) counts[r.action] = (counts[r.action] ?? 0) + 1;
  const parts = Object.entries(counts).map(([a, n]) => `${a} ${n}`);
  const errors = counts.error ?? 0;
  return `${records.length} target(s): ${parts.join(', ') || 'none'}; ${errors} error(s); plan only, nothing written`;
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
